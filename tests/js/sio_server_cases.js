// The official socket.io server for the cases of
// tests/interop/socketio_client_cases.rs.
// usage: sio_server_cases.js [PING_INTERVAL_MS PING_TIMEOUT_MS]
// Prints "port N" once listening, and "disconnect <nsp> <reason>" for every
// socket that leaves.
//   /        join, leave (acked); shout-all (socket.broadcast); disconnect-me;
//            garbage (sends a packet socket.io cannot decode); vol-test
//            ("before", a volatile "vol" while the transport is busy with
//            "before", then "mid"); ask-bin (asks for an ack, prints it)
//   /any     logs "any-in EVENT ARGS" (onAny) and "any-out EVENT ARGS"
//            (onAnyOutgoing); answers "hello" with "hi"
//   /dyn-N   (a regular expression) and /fn-* (a function): dynamic
//            namespaces; each greets with its name
// stdin, one line each, answered with one line:
//   to ROOM TEXT        io.to(ROOM).emit('io', TEXT)                -> "sent"
//   except ROOM TEXT    io.except(ROOM).emit('io', TEXT)            -> "sent"
//   poll MS             io.timeout(MS).emit('poll', ...)            -> "poll <error or ok> <answers>"
//   close               io.close()                                  -> "closed", after the disconnects
const http = require('http');
const readline = require('readline');
const { Server } = require('socket.io');

const [pingInterval, pingTimeout] = process.argv.slice(2).map(Number);
const httpServer = http.createServer();
const io = new Server(httpServer, {
  ...(pingInterval ? { pingInterval, pingTimeout } : {}),
});
const show = (args) => JSON.stringify(args.map((a) => (Buffer.isBuffer(a) ? { bin: [...a] } : a)));

io.on('connection', (socket) => {
  socket.on('disconnect', (reason) => console.log(`disconnect / ${reason}`));
  socket.on('join', (room, cb) => { socket.join(room); cb(); });
  socket.on('leave', (room, cb) => { socket.leave(room); cb(); });
  socket.on('shout-all', (text) => socket.broadcast.emit('io', text));
  socket.on('disconnect-me', () => socket.disconnect());
  // An EVENT whose JSON does not close: the client cannot parse it.
  socket.on('garbage', () => socket.conn.send('2["io","unterminated'));
  socket.on('vol-test', () => {
    socket.emit('before');
    // The transport is still writing "before": socket.io drops this.
    socket.volatile.emit('vol');
    socket.emit('mid');
  });
  socket.on('ask-bin', async () => {
    try {
      const answer = await socket.timeout(2000).emitWithAck('want-bin', 'question');
      console.log(`ask-bin ${show([answer])}`);
    } catch (e) {
      console.log(`ask-bin failed ${e.message}`);
    }
  });
});

io.of('/any').on('connection', (socket) => {
  socket.onAny((event, ...args) => console.log(`any-in ${event} ${show(args)}`));
  socket.onAnyOutgoing((event, ...args) => console.log(`any-out ${event} ${show(args)}`));
  socket.on('hello', () => socket.emit('hi', 'there', Buffer.from([7])));
});

const greet = (socket) => socket.emit('welcome', socket.nsp.name);
io.of(/^\/dyn-\d+$/).on('connection', greet);
io.of((name, auth, next) => next(null, name.startsWith('/fn-'))).on('connection', greet);

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const [cmd, a, b] = line.split(' ');
  if (cmd === 'to') { io.to(a).emit('io', b); console.log('sent'); }
  else if (cmd === 'except') { io.except(a).emit('io', b); console.log('sent'); }
  else if (cmd === 'poll') {
    io.timeout(Number(a)).emit('poll', (err, answers) => {
      const sorted = answers.map((x) => JSON.stringify(x)).sort();
      console.log(`poll ${err ? err.message : 'ok'} [${sorted.join(',')}]`);
    });
  } else if (cmd === 'close') {
    io.close(() => console.log('closed'));
  } else throw new Error(`unknown command ${line}`);
});

httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
