// The official socket.io server (default options: httpCompression on) for
// the compress(false) differential. On "go" (step), it emits "big" (step,
// text) as the step says; the socket is in room "r". Prints its port.
const http = require('http');
const { Server } = require('socket.io');

const httpServer = http.createServer();
const io = new Server(httpServer);
const big = 'y'.repeat(3000);
io.on('connection', (socket) => {
  socket.join('r');
  socket.on('go', (step) => {
    switch (step) {
      case 'socket': socket.emit('big', step, big); break;
      case 'socket small': socket.emit('big', step, 'y'); break;
      case 'socket compress false': socket.compress(false).emit('big', step, big); break;
      case 'socket compress true': socket.compress(true).emit('big', step, big); break;
      case 'io': io.emit('big', step, big); break;
      case 'io compress false': io.compress(false).emit('big', step, big); break;
      case 'namespace compress false': io.of('/').compress(false).emit('big', step, big); break;
      case 'room': io.to('r').emit('big', step, big); break;
      case 'room compress false': io.to('r').compress(false).emit('big', step, big); break;
      case 'socket to room compress false': socket.to('nobody').compress(false).emit('big', step, big); socket.compress(false).emit('big', step, big); break;
      case 'binary compress false': socket.compress(false).emit('big', step, Buffer.alloc(3000, 7)); break;
      case 'binary': socket.emit('big', step, Buffer.alloc(3000, 7)); break;
      default: throw new Error(`unknown step ${step}`);
    }
  });
});
httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
