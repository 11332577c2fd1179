// Node `ws` with permessage-deflate, against our server or our client.
//
//   ws_deflate.js client URL takeover|nocontext
//     Offers perMessageDeflate (nocontext: both no_context_takeover params),
//     prints `extensions <negotiated>`, sends compressible text, incompressible
//     binary, a small text, a large compressible binary and a fragmented
//     compressed text; checks every echo byte for byte; prints `echoes ok`,
//     closes with 1000.
//   ws_deflate.js server takeover|nocontext
//     Prints `port N`; echoes every message with its type (compressed above
//     Node's 1024-byte threshold). On the text "fragment-me" it sends a
//     compressed text in three fragments. Prints `extensions <negotiated>`
//     per connection.
const assert = require('assert');
const crypto = require('crypto');
const WebSocket = require('ws');

const [role, a, b] = process.argv.slice(2);
const mode = role === 'client' ? b : a;
const deflate = mode === 'nocontext'
  ? { serverNoContextTakeover: true, clientNoContextTakeover: true }
  : true;

function json(n) {
  const rows = [];
  for (let i = 0; i < n; i++) rows.push({ id: i, name: `user${i % 97}`, ok: i % 3 === 0 });
  return JSON.stringify(rows);
}

if (role === 'server') {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0, perMessageDeflate: deflate, maxPayload: 64 << 20 });
  wss.on('listening', () => console.log(`port ${wss.address().port}`));
  wss.on('connection', (ws) => {
    console.log(`extensions ${ws.extensions}`);
    ws.on('message', (data, isBinary) => {
      if (!isBinary && data.toString() === 'fragment-me') {
        const text = Buffer.from(json(2000));
        const third = Math.floor(text.length / 3);
        ws.send(text.subarray(0, third), { binary: false, fin: false, compress: true });
        ws.send(text.subarray(third, 2 * third), { fin: false });
        ws.send(text.subarray(2 * third), { fin: true });
        return;
      }
      ws.send(data, { binary: isBinary });
    });
  });
} else {
  const ws = new WebSocket(a, { perMessageDeflate: deflate, maxPayload: 64 << 20 });
  const next = () => new Promise((resolve) => ws.once('message', (d, bin) => resolve([d, bin])));
  ws.on('upgrade', (res) => console.log(`extensions ${res.headers['sec-websocket-extensions'] || ''}`));
  ws.on('close', (code) => { console.log(`closed ${code}`); process.exit(0); });
  ws.on('error', (e) => { console.error(e); process.exit(1); });
  ws.on('open', async () => {
    try {
      const big = Buffer.from(json(60000)); // ~2.5 MiB
      const cases = [
        [json(1500), false],
        [crypto.randomBytes(64 << 10), true],
        ['small', false],
        [big, true],
        [json(100), false],
      ];
      for (let round = 0; round < 2; round++) {
        for (const [data, binary] of cases) {
          const reply = next();
          ws.send(data, { binary });
          const [got, isBinary] = await reply;
          assert.strictEqual(isBinary, binary);
          assert.ok(Buffer.from(data).equals(got), 'echo differs');
        }
        // A compressed message in three fragments.
        const text = Buffer.from(json(3000));
        const third = Math.floor(text.length / 3);
        const reply = next();
        ws.send(text.subarray(0, third), { binary: false, fin: false, compress: true });
        ws.send(text.subarray(third, 2 * third), { fin: false });
        ws.send(text.subarray(2 * third), { fin: true });
        const [got, isBinary] = await reply;
        assert.strictEqual(isBinary, false);
        assert.ok(text.equals(got), 'fragmented echo differs');
      }
      console.log('echoes ok');
      ws.close(1000, 'node done');
    } catch (e) {
      console.error(e);
      process.exit(1);
    }
  });
}
