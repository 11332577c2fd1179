// The official socket.io server for our client. usage: sio_server.js [PORT]
// Prints "port N" once listening, and "record X" for each "record" event.
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 0);
const httpServer = http.createServer();
// SIO_PARSER=msgpack: socket.io-msgpack-parser (the clients must use it too).
const io = new Server(httpServer, process.env.SIO_PARSER === 'msgpack' ? { parser: require('socket.io-msgpack-parser') } : {});

io.of('/').use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === 'ok') return next();
  const err = new Error('not authorized');
  err.data = { code: 401 };
  next(err);
});
io.of('/admin').use((socket, next) => next(new Error('admins only')));

io.on('connection', (socket) => {
  socket.on('record', (x) => console.log(`record ${x}`));
  socket.on('echo', (...args) => socket.emit('echo-back', ...args));
  socket.on('ack-me', (...args) => { const cb = args.pop(); cb(...args); });
  socket.on('ask', () => {
    socket.timeout(5000).emit('question', 'how long?', (err, n) => socket.emit('answer', err ? -1 : n));
  });
  socket.on('join', (room, cb) => { socket.join(room); cb(); });
  socket.on('shout', (room, text) => socket.to(room).emit('shouted', text));
});

httpServer.listen(port, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
