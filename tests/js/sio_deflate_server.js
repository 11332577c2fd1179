// The official socket.io server with permessage-deflate on, for the
// client's compress(false) over WebSocket. It reads each client's raw TCP
// stream beside ws and prints "frame compressed" for each data frame with
// RSV1 set, "frame plain, 1000 bytes or more" for each large one without.
// "done" from the client prints "done".
const http = require('http');
const watchFrames = require('./ws_frame_watch');
const { Server } = require('socket.io');

const httpServer = http.createServer();
const io = new Server(httpServer, { perMessageDeflate: true, transports: ['websocket'] });
io.on('connection', (socket) => {
  watchFrames(socket.conn.transport.socket._socket);
  socket.on('big', () => {});
  socket.on('done', () => console.log('done'));
});
httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
