// socket.io-parser as a line-based service for the differential tests.
// Each stdin line is a JSON request; each stdout line the JSON answer.
//   {"op":"encode","packet":{"type":2,"nsp":"/","id":1,"data":[...]}}
//       -> {"parts":["<text>", {"$bin":"<base64>"}, ...]}
//   {"op":"decode","parts":["<text>", {"$bin":"<base64>"}, ...]}
//       -> {"ok":true,"packets":[{"type","nsp","id","data"}]} or {"ok":false,"error":"..."}
// Bytes travel as {"$bin": base64} both ways.
const readline = require('readline');
const { Encoder, Decoder } = require('socket.io-parser');

const toBuffers = (v) => {
  if (Array.isArray(v)) return v.map(toBuffers);
  if (v && typeof v === 'object') {
    if (typeof v.$bin === 'string') return Buffer.from(v.$bin, 'base64');
    const out = {};
    for (const k of Object.keys(v)) out[k] = toBuffers(v[k]);
    return out;
  }
  return v;
};
const fromBuffers = (v) => {
  if (Buffer.isBuffer(v)) return { $bin: v.toString('base64') };
  if (Array.isArray(v)) return v.map(fromBuffers);
  if (v && typeof v === 'object') {
    const out = {};
    for (const k of Object.keys(v)) out[k] = fromBuffers(v[k]);
    return out;
  }
  return v;
};
const part = (p) => (typeof p === 'string' ? p : Buffer.from(p.$bin, 'base64'));

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line);
  let res;
  if (req.op === 'encode') {
    const packet = { ...req.packet, data: toBuffers(req.packet.data) };
    if (packet.id === null) delete packet.id;
    if (packet.data === null) delete packet.data;
    res = { parts: new Encoder().encode(packet).map((p) => (typeof p === 'string' ? p : fromBuffers(p))) };
  } else {
    const decoder = new Decoder();
    const packets = [];
    decoder.on('decoded', (p) => packets.push({
      type: p.type, nsp: p.nsp, id: p.id === undefined ? null : p.id,
      data: p.data === undefined ? null : fromBuffers(p.data),
    }));
    try {
      for (const p of req.parts) decoder.add(part(p));
      res = { ok: true, packets };
    } catch (e) {
      res = { ok: false, error: e.message };
    }
  }
  process.stdout.write(JSON.stringify(res) + '\n');
});
