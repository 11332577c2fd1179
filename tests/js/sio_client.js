// socket.io-client against a Socket.IO server under test (the scenario
// server of tests/interop/socketio.rs). usage: sio_client.js URL TRANSPORTS
// Prints one line per checkpoint; exits 0 when every step passed.
const assert = require('assert');
const { io, Manager } = require('socket.io-client');

const [url, transports] = process.argv.slice(2);
const base = { transports: transports.split(','), upgrade: transports.includes(','), reconnection: false, forceNew: true };
// SIO_PARSER=msgpack: socket.io-msgpack-parser on this side (the server must use it too).
if (process.env.SIO_PARSER === 'msgpack') base.parser = require('socket.io-msgpack-parser');
const once = (s, ev) => new Promise((resolve) => s.once(ev, (...args) => resolve(args)));
const timeout = setTimeout(() => { console.log('timeout'); process.exit(2); }, 20000);
// A round trip on `sock`'s connection: whatever the server sent it before
// answering has arrived once this resolves.
const roundTrip = (sock) => new Promise((resolve) => sock.emit('join', 'sync', resolve));

async function main() {
  // Middleware rejection, with the error's message and data.
  const bad = io(url, { ...base, auth: { token: 'bad' } });
  const [err] = await once(bad, 'connect_error');
  console.log(`refused ${err.message} ${JSON.stringify(err.data)}`);
  bad.close();

  // Connect with auth; the server greets with our socket id.
  const s = io(url, { ...base, auth: { token: 'ok' } });
  const [welcome] = await once(s, 'welcome');
  assert.strictEqual(welcome, s.id);
  console.log('welcome');

  // Events both ways, nested binary included.
  const args = ['text', 42, { a: [1, { deep: Buffer.from([1, 2, 3]) }] }, Buffer.from([255, 0])];
  s.emit('echo', ...args);
  const back = await once(s, 'echo-back');
  assert.deepStrictEqual(back, args);
  console.log('echo ok');

  // Ack from the server, binary in the answer.
  const acked = await new Promise((resolve) => s.emit('ack-me', 'x', Buffer.from([9]), (...a) => resolve(a)));
  assert.deepStrictEqual(acked, ['x', Buffer.from([9])]);
  console.log('ack ok');

  // Ack to the server: it asks, we answer, it reports what it got.
  s.on('question', (q, cb) => cb({ age: 30, q }));
  s.emit('ask');
  const [answer] = await once(s, 'answer-received');
  console.log(`answer ${JSON.stringify(answer)}`);

  // A second namespace on the same connection: refused without admin, then accepted.
  const manager = s.io;
  // (Manager.socket connects by itself.)
  const admin = manager.socket('/admin', { auth: { token: 'ok' } });
  const [adminErr] = await once(admin, 'connect_error');
  console.log(`admin refused ${adminErr.message}`);
  // The manager keeps one socket per namespace: retry it with other credentials.
  admin.auth = { token: 'ok', admin: true };
  admin.connect();
  await once(admin, 'welcome');
  console.log('admin ok');

  // Rooms: a second client; a shout to the room reaches the others, not the sender.
  const s2 = io(url, { ...base, auth: { token: 'ok' } });
  await once(s2, 'welcome');
  const joined = (sock) => new Promise((resolve) => sock.emit('join', 'r1', resolve));
  await joined(s);
  await joined(s2);
  let senderGot = false;
  s.on('shouted', () => { senderGot = true; });
  s.emit('shout', 'r1', 'hi room');
  const [heard] = await once(s2, 'shouted');
  // The shout went out to the room before s2 heard it; one sent to s too
  // would be ahead of this answer.
  await roundTrip(s);
  assert.strictEqual(senderGot, false);
  console.log(`room ok ${heard}`);

  // Disconnects: the server's, then ours.
  s.emit('bye');
  const [reason] = await once(s, 'disconnect');
  console.log(`disconnected ${reason}`);
  s2.disconnect();
  admin.disconnect();
  // The process ends by itself once the disconnects are out.
  clearTimeout(timeout);
}
main().catch((e) => { console.log(`failed ${e.stack}`); process.exit(1); });
