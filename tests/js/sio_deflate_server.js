// The official socket.io server with permessage-deflate on, for the
// client's compress(false) over WebSocket. It reads each client's raw TCP
// stream beside ws and prints "frame compressed" for each data frame with
// RSV1 set, "frame plain, 1000 bytes or more" for each large one without.
// "done" from the client prints "done".
const http = require('http');
const { Server } = require('socket.io');

const httpServer = http.createServer();
const io = new Server(httpServer, { perMessageDeflate: true, transports: ['websocket'] });
io.on('connection', (socket) => {
  const raw = socket.conn.transport.socket._socket;
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
  socket.on('big', () => {});
  socket.on('done', () => console.log('done'));
});
httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
