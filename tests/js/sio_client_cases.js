// socket.io-client for the cases of tests/interop/socketio_cases.rs, one
// case per run, over WebSocket. usage: sio_client_cases.js URL CASE
// Prints one line per checkpoint; commands on stdin are answered with one
// line each.
//   rooms       clients a, b, c join "r", b also "s"; prints "ready". Then:
//                 "check TEXT NAMES"  waits until each of NAMES (a,b,...)
//                                     got "io" TEXT, makes a round trip on
//                                     the others, and prints "got TEXT NAMES"
//                                     if they did not get it
//                 "shout NAME TEXT"   NAME emits "shout-all" TEXT -> "shouted"
//                 "leave NAME ROOM"   NAME leaves ROOM (acked)    -> "left"
//   ping-timeout one client; prints "ready", then "disconnect REASON"
//   parse-error  sends an EVENT that is not JSON, then (on a second client)
//                a message that is not Engine.IO; prints "disconnect REASON"
//                for each
//   shutdown     clients a, b; prints "ready", then "disconnect NAME REASON"
//   ack          answers "want-bin" with a Buffer; prints "ready"
//   volatile     asks for "vol-test", waits for the last "fill" (I, N),
//                asks for "after" (HANDED); prints what came
//   dynamic      joins /dyn-42 and /nope; prints the greeting and refusal
//   broadcast-ack clients a (answers "A"), b (answers {n: 2}), c (silent)
//                print "ready ID ID ID"
//   any          onAny / onAnyOutgoing; prints "ready", then what they saw
const assert = require('assert');
const readline = require('readline');
const { io } = require('socket.io-client');

const [url, kase] = process.argv.slice(2);
const base = { transports: ['websocket'], reconnection: false, forceNew: true };
const once = (s, ev) => new Promise((resolve) => s.once(ev, (...args) => resolve(args)));
const connect = async (nsp = '/') => {
  const s = io(url + nsp, base);
  await once(s, 'connect');
  return s;
};
const ack = (s, ev, ...args) => new Promise((resolve) => s.emit(ev, ...args, resolve));
const guard = setTimeout(() => { console.log('timeout'); process.exit(2); }, 20000);
let stdin = null;
// The end of a case: the process exits by itself once the sockets are closed.
const done = (sockets) => {
  sockets.forEach((s) => s.disconnect());
  if (stdin) stdin.close();
  clearTimeout(guard);
};
const commands = (handle) => {
  stdin = readline.createInterface({ input: process.stdin });
  stdin.on('line', (line) => {
    handle(line.split(' ')).catch((e) => { console.log(`failed ${e.stack}`); process.exit(1); });
  });
};

const cases = {
  async rooms() {
    const clients = {};
    const heard = {};
    for (const name of ['a', 'b', 'c']) {
      const s = await connect();
      heard[name] = [];
      s.on('io', (text) => heard[name].push(text));
      await ack(s, 'join', 'r');
      clients[name] = s;
    }
    await ack(clients.b, 'join', 's');
    commands(async ([cmd, x, y]) => {
      if (cmd === 'check') {
        const names = y.split(',');
        await Promise.all(names.map((n) => (heard[n].includes(x) ? null : new Promise((resolve) => {
          const on = (text) => { if (text === x) { clients[n].off('io', on); resolve(); } };
          clients[n].on('io', on);
        }))));
        const others = Object.keys(clients).filter((n) => !names.includes(n));
        await Promise.all(others.map((n) => ack(clients[n], 'join', 'sync')));
        for (const n of others) assert.ok(!heard[n].includes(x), `${n} got ${x}`);
        for (const n of names) assert.deepStrictEqual(heard[n].filter((t) => t === x), [x]);
        console.log(`got ${x} ${y}`);
      } else if (cmd === 'shout') {
        clients[x].emit('shout-all', y);
        console.log('shouted');
      } else if (cmd === 'leave') {
        await ack(clients[x], 'leave', y);
        console.log('left');
      } else if (cmd === 'end') {
        done(Object.values(clients));
        console.log('ended');
      }
    });
    console.log('ready');
  },

  async 'ping-timeout'() {
    const s = await connect();
    s.on('disconnect', (reason) => { console.log(`disconnect ${reason}`); done([s]); });
    console.log('ready');
  },

  async 'parse-error'() {
    // An EVENT whose JSON does not close, in a valid Engine.IO message.
    const s = await connect();
    s.io.engine.send('2["io","unterminated');
    console.log(`disconnect ${(await once(s, 'disconnect'))[0]}`);
    // Then a WebSocket message that is not Engine.IO at all.
    const t = await connect();
    t.io.engine.transport.ws.send('x');
    console.log(`disconnect ${(await once(t, 'disconnect'))[0]}`);
    done([s, t]);
  },

  async shutdown() {
    const sockets = [];
    for (const name of ['a', 'b']) {
      const s = await connect();
      s.on('disconnect', (reason) => console.log(`disconnect ${name} ${reason}`));
      sockets.push(s);
    }
    console.log('ready');
    await Promise.all(sockets.map((s) => (s.connected ? once(s, 'disconnect') : null)));
    done(sockets);
  },

  async ack() {
    const s = await connect();
    s.on('want-bin', (q, cb) => cb(Buffer.from([1, 2, 255]), { q, nested: Buffer.from('ok') }));
    commands(async ([cmd]) => { if (cmd === 'end') { done([s]); console.log('ended'); } });
    console.log('ready');
  },

  async volatile() {
    const s = await connect();
    const got = [];
    const filled = new Promise((resolve) => s.onAny((event, i, n) => {
      got.push(event);
      if (event === 'fill' && i === n - 1) resolve();
    }));
    s.emit('vol-test');
    await filled;
    s.emit('next');
    const [handed] = await once(s, 'after');
    console.log(`got ${got.join(',')} handed ${handed}`);
    done([s]);
  },

  async dynamic() {
    // Listening before the connection: the greeting may come with it.
    const s = io(url + '/dyn-42', base);
    const [name] = await once(s, 'welcome');
    console.log(`welcome ${name}`);
    const bad = io(url + '/nope', base);
    const [err] = await once(bad, 'connect_error');
    console.log(`refused ${err.message}`);
    done([s, bad]);
  },

  async 'broadcast-ack'() {
    const answers = { a: 'A', b: { n: 2 }, c: null };
    const sockets = [];
    for (const name of ['a', 'b', 'c']) {
      const s = await connect();
      s.on('poll', (q, cb) => { if (answers[name] !== null) cb(answers[name], q); });
      sockets.push(s);
    }
    commands(async ([cmd]) => { if (cmd === 'end') { done(sockets); console.log('ended'); } });
    console.log(`ready ${sockets.map((s) => s.id).join(' ')}`);
  },

  async any() {
    const s = await connect();
    const everyone = once(s, 'everyone');
    const seen = [];
    s.onAny((event, ...args) => seen.push(`in ${event} ${JSON.stringify(args)}`));
    s.onAnyOutgoing((event, ...args) => seen.push(`out ${event} ${JSON.stringify(args)}`));
    commands(async ([cmd]) => {
      if (cmd !== 'go') return;
      // The server emitted "everyone" before sending this command.
      await everyone;
      s.emit('hello', 1);
      await once(s, 'hi');
      console.log(seen.join('; '));
      done([s]);
    });
    console.log('ready');
  },
};

cases[kase]().catch((e) => { console.log(`failed ${e.stack}`); process.exit(1); });
