// socket.io-client 2.x (Engine.IO v3, Socket.IO v4 protocol) against a
// server with allowEIO3 (tests/interop/eio3.rs).
// usage: sio_v2_client.js URL TRANSPORTS PING_INTERVAL_MS [refused]
// (`refused`: the server does not allow v3; print how the client hears it.)
// Prints one line per checkpoint; exits 0 when every step passed.
const assert = require('assert');
const io = require('socket.io-client-v2');

const [url, transports, pingInterval, mode] = process.argv.slice(2);
const base = { transports: transports.split(','), upgrade: transports.includes(','), reconnection: false, forceNew: true };
const once = (s, ev) => new Promise((resolve) => s.once(ev, (...args) => resolve(args)));
const timeout = setTimeout(() => { console.log('timeout'); process.exit(2); }, 20000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
// Binary may arrive as an ArrayBuffer (WebSocket) or a Buffer (polling).
const norm = (v) => {
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  if (Buffer.isBuffer(v)) return v;
  if (Array.isArray(v)) return v.map(norm);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
};

async function main() {
  if (mode === 'refused') {
    const s = io(url, base);
    const [e] = await once(s, 'connect_error');
    console.log(`refused ${e.message} ${e.description}`);
    s.close();
    clearTimeout(timeout);
    return;
  }
  // The implicit `/` join refused by its middleware: the client's `error`
  // event, with the refusal's message as a string.
  const bad = io(url, { ...base, query: { token: 'bad' } });
  const [err] = await once(bad, 'error');
  console.log(`refused ${JSON.stringify(err)}`);
  bad.close();

  // Accepted: the server greets with our socket id (the Engine.IO id on `/`).
  const s = io(url, { ...base, query: { token: 'ok' } });
  const [welcome] = await once(s, 'welcome');
  assert.strictEqual(welcome, s.id);
  assert.strictEqual(s.id, s.io.engine.id);
  console.log('welcome');

  // Events both ways, binary (Buffer) included, nested too.
  const args = ['text', 42, 'é😀', { a: [1, { deep: Buffer.from([1, 2, 3]) }] }, Buffer.from([255, 0])];
  s.emit('echo', ...args);
  const back = await once(s, 'echo-back');
  assert.deepStrictEqual(norm(back), args);
  console.log('echo ok');

  // An ack from the server, binary in the answer.
  const acked = await new Promise((resolve) => s.emit('ack-me', 'x', Buffer.from([9]), (...a) => resolve(a)));
  assert.deepStrictEqual(norm(acked), ['x', Buffer.from([9])]);
  console.log('ack ok');

  // An ack to the server: it asks with binary, we answer with binary.
  s.on('question', (q, bin, cb) => cb({ q, got: norm(bin).toString('hex') }, Buffer.from([7, 7])));
  s.emit('ask');
  const [answer] = await once(s, 'answer-received');
  console.log(`answer ${JSON.stringify(answer)}`);

  // A second namespace with a query: refused, then accepted.
  const deny = io(`${url}/admin`, { ...base, query: { token: 'no' } });
  const [adminErr] = await once(deny, 'error');
  console.log(`admin refused ${JSON.stringify(adminErr)}`);
  deny.close();
  const admin = io(`${url}/admin`, { ...base, query: { token: 'x', n: 'a b' } });
  const [adminId, adminAuth] = await once(admin, 'welcome');
  assert.strictEqual(adminId, admin.id);
  assert.strictEqual(adminId, `/admin#${admin.io.engine.id}`);
  console.log(`admin ok ${JSON.stringify(adminAuth)}`);
  admin.close();

  // The heartbeat: the client pings, the server answers, well past
  // several ping intervals.
  let pongs = 0;
  s.on('pong', () => { pongs += 1; });
  await sleep(6 * Number(pingInterval));
  assert.ok(s.connected, 'still connected');
  assert.ok(pongs >= 3, `only ${pongs} pongs`);
  s.emit('echo', 'after');
  const [after] = await once(s, 'echo-back');
  assert.strictEqual(after, 'after');
  console.log(`heartbeat ok on ${s.io.engine.transport.name}`);

  // Disconnects: the server's, then ours (on a second client).
  const s2 = io(url, { ...base, query: { token: 'ok' } });
  await once(s2, 'welcome');
  s.emit('bye');
  const [reason] = await once(s, 'disconnect');
  console.log(`disconnected ${reason}`);
  s2.disconnect();
  clearTimeout(timeout);
}

main().catch((e) => { console.log(`error ${e && e.stack}`); process.exit(1); });
