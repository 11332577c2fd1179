// A `ws` echo server for `sio ws`. Prints "port N" once listening. Each
// connection is first told "hello <subprotocol or -> <x-token header or ->";
// text is echoed as text, binary as binary; the text "close-me" closes
// with 4001 "server bye".
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  handleProtocols: (protocols) => (protocols.has('chat.v1') ? 'chat.v1' : false),
});
wss.on('listening', () => console.log(`port ${wss.address().port}`));
wss.on('connection', (ws, req) => {
  ws.send(`hello ${ws.protocol || '-'} ${req.headers['x-token'] || '-'}`);
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.toString() === 'close-me') {
      ws.close(4001, 'server bye');
      return;
    }
    ws.send(data, { binary: isBinary });
  });
});
