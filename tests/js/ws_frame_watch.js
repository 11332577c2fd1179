// Reads a WebSocket's raw TCP stream beside ws and prints, per data frame,
// "frame compressed" when RSV1 is set, else "frame plain, 1000 bytes or
// more" for large ones: how the compress tests see what went on the wire.
module.exports = function watchFrames(raw) {
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
};
