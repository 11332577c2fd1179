// The official engine.io server for our client: prints its port, echoes
// every message, closes the session on "close-me", and logs each session's
// transport, upgrade and close reason (with the error's message and
// description for anything but "transport close").
// On stdin, "heartbeats N" is answered with "heartbeats N" once the latest
// session has answered N more of the server's pings: the answer comes right
// after a pong, when the server's next ping is a full pingInterval away.
const http = require('http');
const readline = require('readline');
const { Server } = require('engine.io');

const httpServer = http.createServer();
// Pings come often, so a test sees several; each side waits long for the
// other's, so a loaded machine does not end a session with "ping timeout".
const server = new Server({ pingInterval: 300, pingTimeout: 2000, maxHttpBufferSize: 1e6 });
server.attach(httpServer);
let latest = null;
server.on('connection', (socket) => {
  latest = socket;
  console.log(`connection ${socket.transport.name}`);
  socket.on('upgrade', (t) => console.log(`upgrade ${t.name}`));
  socket.on('message', (data) => {
    if (data === 'close-me') socket.close();
    else socket.send(data);
  });
  socket.on('close', (reason, err) => {
    if (reason === 'transport close' || !err) console.log(`close ${reason}`);
    else console.log(`close ${reason}: ${err.message} ${String(err.description || '').split('\n')[0]}`.trim());
  });
});
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, arg] = line.split(' ');
  if (cmd !== 'heartbeats' || !latest) throw new Error(`bad command ${line}`);
  const socket = latest;
  let left = Number(arg);
  const onBeat = () => {
    if (--left > 0) return;
    socket.off('heartbeat', onBeat);
    console.log(line);
  };
  socket.on('heartbeat', onBeat);
});
httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
