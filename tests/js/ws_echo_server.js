// Node `ws` echo server for our client: prints its port, echoes every message
// with its type, and on the text "close-me" closes with 4001 "server bye".
const { WebSocketServer } = require('ws');

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 << 20 });
wss.on('listening', () => console.log(`port ${wss.address().port}`));
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.toString() === 'close-me') {
      ws.close(4001, 'server bye');
      return;
    }
    ws.send(data, { binary: isBinary });
  });
  ws.on('close', (code, reason) => console.log(`closed ${code} ${reason}`));
});
