// Node `ws` client for our server. usage: ws_client.js URL MODE
//   echo:    sends text, binary, 1 MiB binary, a ping; checks each echo and the
//            pong; closes with 1000 "node done"; prints the close it got back.
//   badutf8: sends a text frame that is not UTF-8; prints the close it gets.
const assert = require('assert');
const WebSocket = require('ws');

const [url, mode] = process.argv.slice(2);
const ws = new WebSocket(url, { maxPayload: 64 << 20 });
const next = () => new Promise((resolve) => ws.once('message', (d, bin) => resolve([d, bin])));

ws.on('close', (code, reason) => {
  console.log(`closed ${code} ${reason}`);
  process.exit(0);
});
ws.on('error', (e) => { console.error(e); process.exit(1); });

ws.on('open', async () => {
  try {
    if (mode === 'badutf8') {
      ws.send(Buffer.from([0x68, 0x69, 0xff]), { binary: false });
      return;
    }
    const big = Buffer.alloc(1 << 20, 7);
    const cases = [['hello from node', false], [Buffer.from([1, 2, 3]), true], [big, true]];
    for (const [data, binary] of cases) {
      const reply = next();
      ws.send(data, { binary });
      const [got, isBinary] = await reply;
      assert.strictEqual(isBinary, binary);
      assert.ok(Buffer.from(data).equals(got));
    }
    const pong = new Promise((resolve) => ws.once('pong', resolve));
    ws.ping('node-ping');
    assert.strictEqual((await pong).toString(), 'node-ping');
    console.log('echoes ok');
    ws.close(1000, 'node done');
  } catch (e) {
    console.error(e);
    process.exit(1);
  }
});
