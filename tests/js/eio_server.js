// The official engine.io server for our client: prints its port, echoes
// every message, closes the session on "close-me", and logs each session's
// transport, upgrade and close reason.
const http = require('http');
const { Server } = require('engine.io');

const httpServer = http.createServer();
const server = new Server({ pingInterval: 300, pingTimeout: 200, maxHttpBufferSize: 1e6 });
server.attach(httpServer);
server.on('connection', (socket) => {
  console.log(`connection ${socket.transport.name}`);
  socket.on('upgrade', (t) => console.log(`upgrade ${t.name}`));
  socket.on('message', (data) => {
    if (data === 'close-me') socket.close();
    else socket.send(data);
  });
  socket.on('close', (reason) => console.log(`close ${reason}`));
});
httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
