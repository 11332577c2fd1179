// socket.io-msgpack-parser as a line-based service for the differential
// tests. Each stdin line is a JSON request; each stdout line the JSON answer.
//   {"op":"encode","packet":{"type":2,"nsp":"/","id":1,"data":[...]}}
//       -> {"bytes":"<base64>"}   (keys type, data, nsp, id; null id/data left out)
//   {"op":"decode","bytes":"<base64>"}
//       -> {"ok":true,"packet":{"type","nsp","id","data"}} or {"ok":false,"error":"..."}
// Bytes inside data travel as {"$bin": base64} both ways. A decoded packet is
// given as JSON.stringify writes it (a Date as its ISO string, undefined left
// out of objects and null in arrays), with ArrayBuffers as bytes too.
const readline = require('readline');
const { Encoder, Decoder } = require('socket.io-msgpack-parser');

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
  if (v instanceof ArrayBuffer) return { $bin: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.map(fromBuffers);
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    const out = {};
    for (const k of Object.keys(v)) out[k] = fromBuffers(v[k]);
    return out;
  }
  return v;
};

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line);
  let res;
  if (req.op === 'encode') {
    const p = req.packet;
    const packet = { type: p.type };
    if (p.data !== null) packet.data = toBuffers(p.data);
    packet.nsp = p.nsp;
    if (p.id !== null) packet.id = p.id;
    res = { bytes: new Encoder().encode(packet)[0].toString('base64') };
  } else {
    const decoder = new Decoder();
    let packet = null;
    decoder.on('decoded', (p) => {
      packet = JSON.parse(JSON.stringify({
        type: p.type, nsp: p.nsp, id: p.id === undefined ? null : p.id,
        data: p.data === undefined ? null : fromBuffers(p.data),
      }));
    });
    try {
      decoder.add(Buffer.from(req.bytes, 'base64'));
      res = { ok: true, packet };
    } catch (e) {
      res = { ok: false, error: e.message };
    }
  }
  process.stdout.write(JSON.stringify(res) + '\n');
});
