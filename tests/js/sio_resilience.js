// socket.io-client against the resilience scenario of tests/interop/socketio.rs.
// usage: sio_resilience.js URL TRANSPORTS
const assert = require('assert');
const { io } = require('socket.io-client');

const [url, transports] = process.argv.slice(2);
const base = { transports: transports.split(','), upgrade: transports.includes(','), forceNew: true, auth: { token: 'ok' } };
const once = (s, ev) => new Promise((resolve) => s.once(ev, (...args) => resolve(args)));
const timeout = setTimeout(() => { console.log('timeout'); process.exit(2); }, 20000);

async function main() {
  // Ten clients in one room; one shouts, the nine others hear it.
  const clients = [];
  for (let i = 0; i < 10; i++) {
    const c = io(url, { ...base, reconnection: i === 0, reconnectionDelay: 100, reconnectionDelayMax: 200 });
    await once(c, 'welcome');
    await new Promise((r) => c.emit('join', 'big', r));
    clients.push(c);
  }
  let selfHeard = false;
  clients[0].on('shouted', () => { selfHeard = true; });
  const heard = Promise.all(clients.slice(1).map((c) => once(c, 'shouted')));
  clients[0].emit('shout', 'big', 'to all');
  const texts = await heard;
  // The shout was on its way to the room before anyone heard it: one to
  // the sender would have come ahead of this answer on its connection.
  await new Promise((r) => clients[0].emit('join', 'sync', r));
  assert.strictEqual(selfHeard, false);
  assert.ok(texts.every(([t]) => t === 'to all'));
  console.log(`broadcast ok ${texts.length}`);

  const c0 = clients[0];
  // The client's ack timeout: nobody answers "silent".
  const asked = Date.now();
  const err = await new Promise((r) => c0.timeout(300).emit('silent', (e) => r(e)));
  assert.ok(Date.now() - asked >= 300, `timed out after ${Date.now() - asked} ms`);
  console.log(`client ack timeout ${err && err.message}`);

  // The server's ack timeout: we do not answer its "unanswered".
  c0.emit('ask-silent');
  const [verdict] = await once(c0, 'server-ack-timeout');
  console.log(`server ack timeout ${verdict}`);

  // Volatile emits still arrive to a client keeping up.
  c0.emit('vol-please');
  await once(c0, 'vol');
  console.log('volatile ok');

  // The server drops the connection: the client comes back by itself.
  const firstId = c0.id;
  c0.emit('drop-me');
  const [reason] = await once(c0, 'disconnect');
  console.log(`dropped ${reason}`);
  await once(c0, 'welcome');
  assert.notStrictEqual(c0.id, firstId);
  console.log('reconnected');

  // What the server sees when clients leave: one transport close, then a
  // namespace disconnect from each of the others.
  clients[1].io.engine.close();
  clients.slice(2).concat([c0]).forEach((c) => c.disconnect());
  // The process ends by itself once the disconnects are out.
  clearTimeout(timeout);
}
main().catch((e) => { console.log(`failed ${e.stack}`); process.exit(1); });
