// The official socket.io server with connection state recovery, for
// tests/interop/client_recovery.rs (our client recovering its session).
// usage: sio_recovery_server.js MAX_DISCONNECTION_MS
// Prints "port N" once listening, and "connection <id> recovered=<bool>"
// for each connection.
//   broadcasts "tick" with 0, 1, 2, ... to "/" every 10 ms (each carries the
//   adapter's offset as its last argument);
//   on connection, emits "hello" {recovered: socket.recovered};
//   "cut": closes the socket's transport (socket.conn.close()), a
//   recoverable disconnection ("forced close").
const http = require('http');
const { Server } = require('socket.io');

const maxDisconnectionDuration = Number(process.argv[2] || 60000);
const httpServer = http.createServer();
const io = new Server(httpServer, {
  connectionStateRecovery: { maxDisconnectionDuration, skipMiddlewares: true },
});

io.on('connection', (socket) => {
  console.log(`connection ${socket.id} recovered=${socket.recovered}`);
  socket.emit('hello', { recovered: socket.recovered });
  socket.on('cut', () => socket.conn.close());
});

let n = 0;
setInterval(() => io.emit('tick', n++), 10);

httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
