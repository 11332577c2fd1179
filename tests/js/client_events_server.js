// The official socket.io server for tests/interop/client_events.rs: the
// manager's events and the reserved "message" event, with our client.
// usage: client_events_server.js PING_INTERVAL_MS
// Prints "port N" once listening, and "message <json args>" for each
// "message" a client sends.
//   "message" (socket.send): printed, and sent back with socket.send(...args);
//   "cut": closes the socket's transport (socket.conn.close());
//   "typed": emits "typed" with "not a number", then with 7.
const http = require('http');
const { Server } = require('socket.io');

const pingInterval = Number(process.argv[2] || 25000);
const httpServer = http.createServer();
const io = new Server(httpServer, { pingInterval, pingTimeout: 5000 });

io.on('connection', (socket) => {
  socket.on('message', (...args) => {
    console.log(`message ${JSON.stringify(args)}`);
    socket.send(...args);
  });
  socket.on('cut', () => socket.conn.close());
  socket.on('typed', () => {
    socket.emit('typed', 'not a number');
    socket.emit('typed', 7);
  });
});

httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
