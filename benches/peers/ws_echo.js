// Node `ws` echo server for the benchmarks. usage: node ws_echo.js PORT [deflate]
// With `deflate`: perMessageDeflate on (ws's defaults: threshold 1024, level
// 6, context takeover).
const { WebSocketServer } = require('ws');
const perMessageDeflate = process.argv[3] === 'deflate';
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2]), maxPayload: 64 << 20, perMessageDeflate });
wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
