// Node socket.io server configured as our bench_server: `echo` acknowledged
// with its arguments, `broadcast` re-sent as `bcast` to every socket.
// usage: node sio_bench.js PORT
const http = require('http');
const { Server } = require('socket.io');
const httpServer = http.createServer();
const io = new Server(httpServer);
io.on('connection', (socket) => {
  socket.on('echo', (...args) => { const ack = args.pop(); if (typeof ack === 'function') ack(...args); });
  socket.on('broadcast', (...args) => io.emit('bcast', ...args));
});
httpServer.listen(Number(process.argv[2]), '127.0.0.1');
