// The official socket.io-client over WebSocket (Node's ws offers
// permessage-deflate by default): emits "big" (3000 "y"s) as is, then
// with compress(false), then "done".
const { io } = require('socket.io-client');

const socket = io(process.argv[2], { transports: ['websocket'], reconnection: false });
socket.on('connect', () => {
  const big = 'y'.repeat(3000);
  socket.emit('big', big);
  socket.compress(false).emit('big', big);
  socket.emit('done');
  setTimeout(() => socket.disconnect(), 200);
});
socket.on('connect_error', (e) => {
  console.error(e);
  process.exit(1);
});
