// socket.io-client against a server with connection state recovery on (the
// recovery_server example), which broadcasts `tick` n every 10 ms.
// usage: sio_recovery_client.js URL TRANSPORTS CUTS AWAY_MS
// Cuts the transport (`socket.io.engine.close()`) CUTS times, each after
// some ticks, and reconnects after about AWAY_MS. Prints one JSON line per
// connection ({"connect": n, "recovered", "hello", "id"}), then a summary:
// {"ticks": count, "gaps": [...], "dups": [...]}.
const { io } = require('socket.io-client');

const [url, transports, cuts, awayMs] = process.argv.slice(2);
const away = Number(awayMs);
const socket = io(url, {
  transports: transports.split(','),
  upgrade: transports.includes(','),
  forceNew: true,
  // A fixed delay: how long the client stays away is the test's choice.
  reconnectionDelay: away,
  reconnectionDelayMax: away,
  randomizationFactor: 0,
});
setTimeout(() => { console.log('timeout'); process.exit(2); }, 60000);

const seen = [];
let connects = 0;
let sinceConnect = 0;
let lastHello = null;

socket.on('hello', (h) => { lastHello = h; });
socket.on('tick', (n) => {
  seen.push(n);
  sinceConnect += 1;
  // Cut after 20 ticks on each connection (the upgrade done, when there is one).
  if (sinceConnect === 20) {
    if (connects <= Number(cuts)) {
      socket.io.engine.close();
    } else {
      finish();
    }
  }
});
socket.on('connect', () => {
  connects += 1;
  sinceConnect = 0;
  // `hello` comes after the CONNECT answer: report once it is here.
  const id = socket.id;
  const recovered = socket.recovered;
  const report = () => {
    if (lastHello === null) return setTimeout(report, 5);
    console.log(JSON.stringify({ connect: connects, recovered, hello: lastHello.recovered, id }));
    lastHello = null;
  };
  report();
});

function finish() {
  const gaps = [];
  const dups = [];
  for (let i = 1; i < seen.length; i++) {
    if (seen[i] === seen[i - 1]) dups.push(seen[i]);
    else if (seen[i] !== seen[i - 1] + 1) gaps.push([seen[i - 1], seen[i]]);
  }
  console.log(JSON.stringify({ ticks: seen.length, gaps, dups }));
  socket.close();
  process.exit(0);
}
