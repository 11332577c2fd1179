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
  let heard = 0;
  let selfHeard = false;
  clients.forEach((c, i) => c.on('shouted', () => { if (i === 0) selfHeard = true; else heard++; }));
  clients[0].emit('shout', 'big', 'to all');
  await new Promise((r) => setTimeout(r, 300));
  assert.strictEqual(selfHeard, false);
  console.log(`broadcast ok ${heard}`);

  const c0 = clients[0];
  // The client's ack timeout: nobody answers "silent".
  const err = await new Promise((r) => c0.timeout(300).emit('silent', (e) => r(e)));
  console.log(`client ack timeout ${err && err.message}`);

  // The server's ack timeout: we do not answer its "unanswered".
  c0.emit('ask-silent');
  await once(c0, 'server-ack-timeout');
  console.log('server ack timeout');

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

  // What the server sees when clients leave: a transport close, a namespace disconnect.
  clients[1].io.engine.close();
  clients[2].disconnect();
  await new Promise((r) => setTimeout(r, 300));
  clients.forEach((c) => c.close());
  clearTimeout(timeout);
  setTimeout(() => process.exit(0), 200);
}
main().catch((e) => { console.log(`failed ${e.stack}`); process.exit(1); });
