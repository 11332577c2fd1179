// The official engine.io server with perMessageDeflate ({ threshold: 1024 }),
// for our client: prints its port, then per session `extensions <agreed>`;
// echoes every message; answers "bytes" with `bytes <bytes read from the
// socket so far>`.
const http = require('http');
const { Server } = require('engine.io');

const httpServer = http.createServer();
const server = new Server({ perMessageDeflate: { threshold: 1024 }, transports: ['websocket'] });
server.attach(httpServer);
server.on('connection', (socket) => {
  const ws = socket.transport.socket;
  console.log(`extensions ${ws.extensions}`);
  socket.on('message', (data) => {
    if (data === 'bytes') socket.send(`bytes ${ws._socket.bytesRead}`);
    else socket.send(data);
  });
});
httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
