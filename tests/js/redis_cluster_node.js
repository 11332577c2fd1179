// A Node node of a mixed Socket.IO cluster: socket.io 4.8 with the official
// @socket.io/redis-adapter 8.3 on a real Redis, for the cluster interop tests.
// usage: redis_cluster_node.js REDIS_URL classic|sharded
//
// Clients get the same events as our `cluster_node` example:
//   broadcast ...args        -> every socket of "/" on every node gets bcast(...args)
//   join room (ack)          -> the socket joins room; acked
//   to-room room ...args     -> sockets in room, on every node, get bcast(...args)
//   count (ack)              -> ack(number of sockets of "/" across the cluster)
// Server-side emits "whoami" are answered with {node: "node"}.
//
// The test drives the node's own cluster operations as JSON lines on stdin
// ({"id":1,"op":...}); each gets one JSON line back on stdout ({"id":1,...}).
// The first line printed is {"port":N} once listening.
const http = require('http');
const readline = require('readline');
const { Server } = require('socket.io');
const { createClient } = require('redis');
const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');
const { Emitter } = require('@socket.io/redis-emitter');

const [redisUrl, mode] = process.argv.slice(2);

async function main() {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', (e) => console.error(`redis: ${e.message}`));
  await Promise.all([pub.connect(), sub.connect()]);
  const httpServer = http.createServer();
  const adapter = mode === 'sharded'
    ? createShardedAdapter(pub, sub)
    : createAdapter(pub, sub, { requestsTimeout: 2000 });
  const io = new Server(httpServer, { adapter });

  io.on('connection', (socket) => {
    socket.data = { node: 'node', auth: socket.handshake.auth };
    socket.on('broadcast', (...args) => io.emit('bcast', ...args));
    socket.on('join', (room, ack) => { socket.join(room); if (ack) ack(); });
    socket.on('to-room', (room, ...args) => io.to(room).emit('bcast', ...args));
    socket.on('count', async (ack) => ack((await io.fetchSockets()).length));
  });
  io.on('whoami', (arg, ack) => ack({ node: 'node', arg }));

  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  console.log(JSON.stringify({ port: httpServer.address().port }));

  const emitter = mode === 'sharded' ? null : new Emitter(pub);
  const target = (m) => {
    let op = io;
    for (const r of m.to || []) op = op.to(r);
    for (const r of m.except || []) op = op.except(r);
    return op;
  };
  const ops = {
    async emit(m) { target(m).emit(m.event, ...(m.args || [])); return {}; },
    async emitWithAck(m) {
      try {
        const answers = await target(m).timeout(m.timeout || 2000).emitWithAck(m.event, ...(m.args || []));
        return { answers };
      } catch (e) {
        return { error: e.message };
      }
    },
    // `timeout` bounds the sharded adapter's wait; the classic one waits
    // its requestsTimeout whatever the flag says.
    async fetch(m) {
      const op = m.timeout ? target(m).timeout(m.timeout) : target(m);
      const sockets = await op.fetchSockets();
      return { sockets: sockets.map((s) => ({ id: s.id, rooms: [...s.rooms], data: s.data })) };
    },
    async join(m) { target(m).socketsJoin(m.rooms); return {}; },
    async leave(m) { target(m).socketsLeave(m.rooms); return {}; },
    async disconnect(m) { target(m).disconnectSockets(!!m.close); return {}; },
    // Bounded by the adapter: requestsTimeout (classic), 5 s (sharded). A
    // broadcast operator has no serverSideEmitWithAck, so no io.timeout().
    async serverSideEmit(m) {
      try {
        const answers = await io.serverSideEmitWithAck(m.event, ...(m.args || []));
        return { answers };
      } catch (e) {
        return { error: e.message, answers: e.responses };
      }
    },
    async allRooms() { return { rooms: [...(await io.of('/').adapter.allRooms())] }; },
    async emitterEmit(m) {
      let op = emitter;
      for (const r of m.to || []) op = op.to(r);
      op.emit(m.event, ...(m.args || []));
      return {};
    },
  };
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const m = JSON.parse(line);
    let out;
    try {
      out = await ops[m.op](m);
    } catch (e) {
      out = { error: `${e.message}` };
    }
    console.log(JSON.stringify({ id: m.id, ...out }));
  }
  io.close();
  await Promise.allSettled([pub.quit(), sub.quit()]);
  process.exit(0);
}

main().catch((e) => { console.error(e.stack); process.exit(1); });
