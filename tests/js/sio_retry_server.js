// The official socket.io server for tests/interop/client_retry.rs: our
// client's retries and ackTimeout.
// usage: sio_retry_server.js IGNORED
// Prints "port N" once listening. Each "job" (n, ack) is ignored (no ack)
// the first IGNORED times that n arrives; the next time it prints
// "processed n (delivery k)" and acknowledges with "done n". Later copies
// (a retry that crossed the ack) print "again n" and are acknowledged too.
const http = require('http');
const { Server } = require('socket.io');

const ignored = Number(process.argv[2] || 0);
const httpServer = http.createServer();
const io = new Server(httpServer);

io.on('connection', (socket) => {
  const deliveries = new Map();
  socket.on('job', (n, ack) => {
    const k = (deliveries.get(n) || 0) + 1;
    deliveries.set(n, k);
    if (k <= ignored) return;
    console.log(k === ignored + 1 ? `processed ${n} (delivery ${k})` : `again ${n}`);
    if (typeof ack === 'function') ack(`done ${n}`);
  });
});

httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
