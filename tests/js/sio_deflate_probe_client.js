// The official socket.io-client over WebSocket with permessage-deflate
// (offered by Node's ws by default), reading the server's frames off the
// wire beside ws: prints "frame compressed" for each data frame with RSV1
// set, "frame plain, 1000 bytes or more" for each large one without. It
// emits "go"; the server answers with "big" twice (as is, then with
// compress(false)); then "done".
const { io } = require('socket.io-client');
const watchFrames = require('./ws_frame_watch');

const socket = io(process.argv[2], { transports: ['websocket'], reconnection: false });
socket.on('connect', () => {
  watchFrames(socket.io.engine.transport.ws._socket);
  let bigs = 0;
  socket.on('big', () => {
    if (++bigs === 2) {
      console.log('done');
      socket.disconnect();
    }
  });
  socket.emit('go');
});
socket.on('connect_error', (e) => {
  console.error(e);
  process.exit(1);
});
