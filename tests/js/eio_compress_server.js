// The official engine.io server with its default options (httpCompression
// on, threshold 1024), for the HTTP compression differential: a message
// "send L:C,L:C,..." makes it send, for each item, a message of L "x"s with
// { compress: C === "1" }. Prints its port.
const http = require('http');
const { Server } = require('engine.io');

const httpServer = http.createServer();
const server = new Server();
server.attach(httpServer);
// Before engine.io's own listener (attach takes over those already there):
// prints "encoded <coding>" for each response it sends compressed.
httpServer.prependListener('request', (req, res) => {
  const writeHead = res.writeHead;
  res.writeHead = function (status, headers) {
    if (headers && headers['Content-Encoding']) console.log(`encoded ${headers['Content-Encoding']}`);
    return writeHead.apply(this, arguments);
  };
});
server.on('connection', (socket) => {
  socket.on('message', (data) => {
    const m = /^send (.*)$/.exec(data);
    if (!m) return;
    for (const item of m[1].split(',')) {
      const [len, c] = item.split(':');
      socket.send('x'.repeat(Number(len)), { compress: c === '1' });
    }
  });
});
httpServer.listen(0, '127.0.0.1', () => console.log(`port ${httpServer.address().port}`));
