// engine.io-client against a server under test.
// usage: eio_client.js URL TRANSPORTS MODE
//   TRANSPORTS: polling | websocket | polling,websocket (upgrade)
//   MODE echo:         sends text, binary, ~900 KB text (right after open, so
//                      during an upgrade too); checks each echo in order; prints
//                      "echo ok <transport>" and closes; prints "closed <reason>".
//   MODE server-close: sends "close-me"; prints "closed <reason>".
const assert = require('assert');
const { Socket } = require('engine.io-client');

const [url, transports, mode] = process.argv.slice(2);
const socket = new Socket(url, { transports: transports.split(','), upgrade: transports.includes(',') });
const big = 'x'.repeat(900 * 1000);
const sent = ['hello', Buffer.from([1, 2, 3, 4]), big, 'ünïcödé ✓'];
const received = [];
let upgraded = !transports.includes(',');

function check() {
  if (received.length < sent.length || !upgraded) return;
  for (let i = 0; i < sent.length; i++) {
    const want = sent[i], got = received[i];
    if (Buffer.isBuffer(want)) assert.ok(Buffer.isBuffer(got) && want.equals(got), `binary #${i}`);
    else assert.strictEqual(got, want, `text #${i}`);
  }
  console.log(`echo ok ${socket.transport.name}`);
  socket.close();
}

socket.on('open', () => {
  if (mode === 'server-close') socket.send('close-me');
  else for (const m of sent) socket.send(m);
});
socket.on('upgrade', () => { upgraded = true; check(); });
socket.on('message', (data) => { received.push(data); check(); });
// Once closed, the process ends by itself when nothing is left to do: a
// close packet the client is still posting goes out first.
socket.on('close', (reason) => { console.log(`closed ${reason}`); clearTimeout(guard); });
socket.on('error', (e) => { console.error('error', e); process.exit(1); });
const guard = setTimeout(() => { console.error('timeout', received.length, upgraded); process.exit(2); }, 15000);
