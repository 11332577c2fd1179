// The official socket.io-client over long-polling with the Fetch transport
// (Node's fetch sends Accept-Encoding and decodes the body, as a browser
// does). fetch is wrapped to see the Content-Encoding of the poll response
// that carried the bulk of the data (3000 "y"s, or 3000 bytes of 7s as
// base64). For each step: emits "go" (step), waits for "big" (step, data),
// prints "<step> <encoding or identity> <length of data>". Then "done".
const { io } = require('socket.io-client');
// socket.io-client's own re-export of Fetch is undefined in its CJS build.
const { Fetch } = require('engine.io-client');

const seen = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const res = await realFetch(url, init);
  if ((init && init.method) === 'GET') {
    const text = await res.clone().text();
    if (text.includes('yyyyyyyy') || text.includes('BwcHBwcH')) {
      seen.push(res.headers.get('content-encoding') || 'identity');
    }
  }
  return res;
};

const steps = process.argv.slice(3);
const socket = io(process.argv[2], { transports: [Fetch], reconnection: false });
socket.on('connect_error', (e) => {
  console.error(e);
  process.exit(1);
});
socket.on('connect', async () => {
  for (const step of steps) {
    const got = new Promise((resolve) => socket.once('big', (s, data) => resolve([s, data])));
    seen.length = 0;
    socket.emit('go', step);
    const [s, data] = await got;
    if (s !== step) throw new Error(`step ${step} got ${s}`);
    console.log(`${step} ${seen.join('+') || 'none'} ${data.length}`);
  }
  console.log('done');
  socket.disconnect();
});
