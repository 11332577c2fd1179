// The official socket.io-client over WebSocket with permessage-deflate
// (offered by Node's ws by default), reading the server's frames off the
// wire beside ws: prints "frame compressed" for each data frame with RSV1
// set, "frame plain, 1000 bytes or more" for each large one without. It
// emits "go"; the server answers with "big" twice (as is, then with
// compress(false)); then "done".
const { io } = require('socket.io-client');

const socket = io(process.argv[2], { transports: ['websocket'], reconnection: false });
socket.on('connect', () => {
  const raw = socket.io.engine.transport.ws._socket;
  let buf = Buffer.alloc(0);
  raw.on('data', (chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      if (buf[1] & 0x80) at += 4;
      if (buf.length < at + len) return;
      const opcode = buf[0] & 0x0f;
      if ((opcode === 1 || opcode === 2) && (buf[0] & 0x40)) console.log('frame compressed');
      else if ((opcode === 1 || opcode === 2) && len >= 1000) console.log('frame plain, 1000 bytes or more');
      buf = buf.subarray(at + len);
    }
  });
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
