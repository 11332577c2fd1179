// Official socket.io-client clients of a mixed Socket.IO cluster, for the
// cluster interop tests (tests/interop/cluster.rs): each connects to one node.
// usage: redis_cluster_clients.js
//
// Commands are JSON lines on stdin, each answered with one JSON line carrying
// its id:
//   {"id":1,"op":"connect","name":"a1","url":"http://...","auth":{...}} -> {"id":1,"sid":"..."}
//   {"id":2,"op":"emit","name":"a1","event":"join","args":["r1"],"ack":true} -> {"id":2,"ack":[...]}
//     (without "ack": {"id":2} once sent)
//   {"id":3,"op":"close","name":"a1"} -> {"id":3}
// Every event a client receives is printed as {"name":"a1","event":"bcast","args":[...]},
// and its disconnect as event "disconnect" with the reason. A client acks "ask"
// with its name.
const readline = require('readline');
const { io } = require('socket.io-client');

const clients = new Map();
const print = (m) => console.log(JSON.stringify(m));

const ops = {
  connect(m) {
    const s = io(m.url, {
      forceNew: true,
      reconnection: false,
      transports: m.transports || ['polling', 'websocket'],
      auth: m.auth || {},
    });
    clients.set(m.name, s);
    s.onAny((event, ...args) => {
      const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
      print({ name: m.name, event, args });
      if (ack && event === 'ask') ack(m.name);
    });
    s.on('disconnect', (reason) => print({ name: m.name, event: 'disconnect', args: [reason] }));
    return new Promise((resolve) => {
      s.once('connect', () => resolve({ sid: s.id }));
      s.once('connect_error', (e) => resolve({ error: e.message }));
    });
  },
  async emit(m) {
    const s = clients.get(m.name);
    if (!m.ack) {
      s.emit(m.event, ...(m.args || []));
      return {};
    }
    try {
      return { ack: await s.timeout(m.timeout || 5000).emitWithAck(m.event, ...(m.args || [])) };
    } catch (e) {
      return { error: e.message };
    }
  },
  async close(m) {
    clients.get(m.name).close();
    return {};
  },
};

async function main() {
  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const m = JSON.parse(line);
    // Not awaited: a slow command (an ack that never comes) holds no other up.
    Promise.resolve()
      .then(() => ops[m.op](m))
      .catch((e) => ({ error: `${e.message}` }))
      .then((out) => print({ id: m.id, ...out }));
  }
  for (const s of clients.values()) s.close();
  process.exit(0);
}

main().catch((e) => { console.error(e.stack); process.exit(1); });
