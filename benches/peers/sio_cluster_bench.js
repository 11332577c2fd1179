// One node of a Node socket.io cluster on Redis, with the official
// @socket.io/redis-adapter as its README sets it up (the `redis` package),
// configured as our cluster_node example: `broadcast` re-sent as `bcast` to
// every socket of "/" on every node; heartbeats every 300 ms, as the
// example sends them, so every contender carries the same pings. The
// example's 200 ms to answer is not copied: in the bursts of 16 this event
// loop stays busy for longer than that, runs its ping timers before it reads
// the pongs waiting in its sockets, and closed live clients; the timeout
// stays socket.io's default (20 s).
// usage: node sio_cluster_bench.js PORT REDIS_URL
const http = require('http');
const { Server } = require('socket.io');
const { createClient } = require('redis');
const { createAdapter } = require('@socket.io/redis-adapter');

const [port, redisUrl] = process.argv.slice(2);

async function main() {
  const pubClient = createClient({ url: redisUrl });
  const subClient = pubClient.duplicate();
  for (const c of [pubClient, subClient]) c.on('error', (e) => console.error(`redis: ${e.message}`));
  await Promise.all([pubClient.connect(), subClient.connect()]);
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    adapter: createAdapter(pubClient, subClient),
    pingInterval: 300,
  });
  io.on('connection', (socket) => {
    socket.on('broadcast', (...args) => io.emit('bcast', ...args));
  });
  httpServer.listen(Number(port), '127.0.0.1');
}

main().catch((e) => { console.error(e); process.exit(1); });
