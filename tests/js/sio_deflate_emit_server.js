// The official socket.io server with permessage-deflate on: on "go", emits
// "big" (3000 "y"s) as is, then with compress(false). Prints its port.
const http = require('http');
const { Server } = require('socket.io');

const httpServer = http.createServer();
const io = new Server(httpServer, { perMessageDeflate: true, transports: ['websocket'] });
io.on('connection', (socket) => {
  socket.on('go', () => {
    const big = 'y'.repeat(3000);
    socket.emit('big', big);
    socket.compress(false).emit('big', big);
  });
});
httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
