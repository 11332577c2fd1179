// engine.io-client over WebSocket with its default perMessageDeflate
// ({ threshold: 1024 }, through `ws`), against a server under test.
// usage: eio_deflate_client.js URL
//   Prints `extensions <what ws negotiated>`, sends a ~100 KB JSON text and,
//   once it is echoed unchanged, `echo ok <bytes read from the socket> <length>`,
//   then closes.
const assert = require('assert');
const { Socket } = require('engine.io-client');

const [url] = process.argv.slice(2);
const rows = [];
for (let i = 0; i < 2500; i++) rows.push({ id: i, name: `user${i % 97}`, ok: i % 3 === 0 });
const text = JSON.stringify(rows);
const socket = new Socket(url, { transports: ['websocket'] });
socket.on('open', () => {
  console.log(`extensions ${socket.transport.ws.extensions}`);
  socket.send(text);
});
socket.on('message', (data) => {
  assert.strictEqual(data, text);
  console.log(`echo ok ${socket.transport.ws._socket.bytesRead} ${text.length}`);
  socket.close();
});
socket.on('close', (reason) => { console.log(`closed ${reason}`); clearTimeout(guard); });
socket.on('error', (e) => { console.error('error', e); process.exit(1); });
const guard = setTimeout(() => { console.error('timeout'); process.exit(2); }, 15000);
