// engine.io-client with `withCredentials: true` against a server under test
// that sets a cookie on the response opening the session. In Node the
// client keeps such cookies in its own jar (engine.io-client 6.5+) and sends
// them back on its later requests: polling GETs and POSTs, and the
// WebSocket upgrade.
// usage: eio_cookie_client.js URL TRANSPORTS
//   TRANSPORTS: polling | polling,websocket (upgrade)
// Sends "hello"; once echoed (and upgraded, when asked), prints the jar as
// "jar name=value; ...", then "echo ok <transport>", and closes.
const { Socket } = require('engine.io-client');

const [url, transports] = process.argv.slice(2);
const upgrade = transports.includes(',');
const socket = new Socket(url, {
  transports: transports.split(','),
  upgrade,
  withCredentials: true,
});
let echoed = false;
let upgraded = !upgrade;

function done() {
  if (!echoed || !upgraded) return;
  const jar = [];
  for (const [name, cookie] of socket._cookieJar.cookies) jar.push(`${name}=${cookie.value}`);
  console.log(`jar ${jar.join('; ')}`);
  console.log(`echo ok ${socket.transport.name}`);
  clearTimeout(guard);
  // Not from inside the "upgrade" event: the client still counts itself as
  // upgrading there, and a close would wait for an upgrade that never comes.
  setImmediate(() => socket.close());
}

socket.on('open', () => socket.send('hello'));
socket.on('upgrade', () => { upgraded = true; done(); });
socket.on('message', (data) => {
  if (data === 'hello') { echoed = true; done(); }
});
socket.on('error', (e) => { console.error('error', e); process.exit(1); });
const guard = setTimeout(() => { console.error('timeout', echoed, upgraded); process.exit(2); }, 15000);
