// The official socket.io server for the `sio` command line's tests.
// Prints "port N" once listening, and "record <args as JSON>" for each
// `record` event. On connection to "/" it emits `hello` ("world", 1),
// `blob` (bytes 0 1 2 255) and `auth` (the handshake's auth), in that order.
// `echo` is acked with its arguments, or answered with `echo-back` when sent
// without an ack; `silent` is never acked. "/admin" refuses everyone with
// "admins only" and data {code: 403}.
const http = require('http');
const { Server } = require('socket.io');

const httpServer = http.createServer();
const io = new Server(httpServer);

io.of('/admin').use((socket, next) => {
  const err = new Error('admins only');
  err.data = { code: 403 };
  next(err);
});

io.on('connection', (socket) => {
  socket.on('echo', (...args) => {
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args.pop();
      last(...args);
    } else {
      socket.emit('echo-back', ...args);
    }
  });
  socket.on('silent', () => {});
  socket.on('record', (...args) => console.log(`record ${JSON.stringify(args)}`));
  socket.emit('hello', 'world', 1);
  socket.emit('blob', Buffer.from([0, 1, 2, 255]));
  socket.emit('auth', socket.handshake.auth);
});

httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
