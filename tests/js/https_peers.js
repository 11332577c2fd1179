// One Node `https` server for our TLS clients. usage: https_peers.js CERT KEY
// (PEM files the test made). Prints "port N" once listening, and serves:
//   /ws          the `ws` WebSocketServer: echoes every message with its type;
//   /engine.io/  an engine.io server: echoes every message; logs
//                "eio connection <transport>" and "eio upgrade <transport>";
//   /socket.io/  a socket.io server: "echo" is acknowledged with its arguments.
// A client that refuses the certificate shows up as "tls error <code>".
const fs = require('fs');
const https = require('https');
const engine = require('engine.io');
const { Server } = require('socket.io');
const { WebSocketServer } = require('ws');

const [certPath, keyPath] = process.argv.slice(2);
const server = https.createServer({ cert: fs.readFileSync(certPath), key: fs.readFileSync(keyPath) });
server.on('tlsClientError', (err) => console.log(`tls error ${err.code}`));

// Three servers share the upgrade event; each takes only its own path, and
// none may end the others' upgrades (engine.io's destroyUpgrade would).
const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req, socket, head) => {
  if (new URL(req.url, 'https://localhost').pathname !== '/ws') return;
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
});

const eio = engine.attach(server, { path: '/engine.io/', destroyUpgrade: false });
eio.on('connection', (socket) => {
  console.log(`eio connection ${socket.transport.name}`);
  socket.on('upgrade', (t) => console.log(`eio upgrade ${t.name}`));
  socket.on('message', (data) => socket.send(data));
});

const io = new Server(server, { destroyUpgrade: false });
io.on('connection', (socket) => {
  socket.on('echo', (...args) => {
    const ack = args.pop();
    ack(...args);
  });
});

server.listen(0, '127.0.0.1', () => console.log(`port ${server.address().port}`));
