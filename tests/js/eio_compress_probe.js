// Raw long-polling against an Engine.IO server (ours or the official one)
// with chosen Accept-Encoding headers: for each case, a new session, a POST
// asking the server to queue messages ("send L:C,...": L "x"s, compress C),
// then a GET. Prints one JSON line per case: the status, the
// Content-Encoding and Vary headers, and whether the body, decoded with
// Node's zlib by its Content-Encoding, is the expected payload. Then "done".
const http = require('http');
const zlib = require('zlib');

const base = new URL(process.argv[2]);
const path = process.argv[3] || '/engine.io/';

function request(method, query, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: base.hostname, port: base.port, method, path: `${path}?EIO=4&transport=polling${query}`, headers, agent: false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, raw: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

function decode(res) {
  switch (res.headers['content-encoding']) {
    case undefined: return res.raw;
    case 'gzip': return zlib.gunzipSync(res.raw);
    case 'deflate': return zlib.inflateSync(res.raw);
    default: throw new Error(`unexpected encoding ${res.headers['content-encoding']}`);
  }
}

const cases = [
  ['gzip above the threshold', '2000:1', 'gzip, deflate'],
  ['deflate above the threshold', '2000:1', 'deflate'],
  ['deflate first', '2000:1', 'deflate, gzip'],
  ['one byte below the threshold', '1022:1', 'gzip'],
  ['at the threshold', '1023:1', 'gzip'],
  ['no Accept-Encoding', '2000:1', null],
  ['identity only', '2000:1', 'identity'],
  ['unsupported coding', '2000:1', 'br'],
  ['q=0 for gzip', '2000:1', 'gzip;q=0, deflate'],
  ['any coding', '2000:1', '*'],
  ['compress false', '2000:0', 'gzip'],
  ['every packet compress false', '2000:0,1500:0', 'gzip, deflate'],
  ['one packet of several may be compressed', '2000:0,10:1', 'gzip'],
  ['several packets, all small', '300:1,300:1,300:1,300:1', 'gzip'],
];

(async () => {
  for (const [name, spec, accept] of cases) {
    const open = await request('GET', '');
    const sid = JSON.parse(open.raw.toString().slice(1)).sid;
    const posted = await request('POST', `&sid=${sid}`, { 'content-type': 'text/plain;charset=UTF-8' }, `4send ${spec}`);
    if (posted.status !== 200) throw new Error(`POST ${posted.status}`);
    const headers = accept === null ? {} : { 'accept-encoding': accept };
    const res = await request('GET', `&sid=${sid}`, headers);
    const want = spec.split(',').map((item) => `4${'x'.repeat(Number(item.split(':')[0]))}`).join('\x1e');
    const body = decode(res).toString();
    console.log(JSON.stringify({
      name,
      status: res.status,
      encoding: res.headers['content-encoding'] || null,
      vary: res.headers.vary || null,
      body: body === want ? 'as sent' : `differs: ${body.slice(0, 40)} (${body.length} bytes)`,
    }));
    await request('POST', `&sid=${sid}`, { 'content-type': 'text/plain;charset=UTF-8' }, '1');
  }
  console.log('done');
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
