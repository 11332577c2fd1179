// The axum_app chat page in real headless Chromium, driven for tests/browser.
// usage: browser_chat.js URL_A URL_B
//
// Alice (long-polling) and Bob (WebSocket) join room r1, each through its own
// proxy, and chat through the page's form. Then Bob's connections are cut:
// the script prints {"step":"cut"} and waits for one answer line on stdin.
// Bob's page must come back by itself and the chat flow again both ways.
// Ends with a screenshot of each page and {"ok":true,...}; a failure goes to
// stderr with both pages' state, and the exit code is non-zero.
// env: CHROMIUM (default /usr/bin/chromium), SCREENSHOTS (default ./target).
//
// The server runs the official default heartbeat, so a page drops only when
// the test cuts it: any other drop, and any lost message, fails the test.
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');

const [urlA, urlB] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const shots = process.env.SCREENSHOTS || path.join(__dirname, '../../target');
// The network here is closed: without these Chromium's own background
// connections fail and get in the way.
const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = 5000;

const answers = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(step) {
  console.log(JSON.stringify({ step }));
  const { value, done } = await answers.next();
  if (done) throw new Error(`no answer to step ${step}: stdin closed`);
  return JSON.parse(value);
}

// What a page's chat state looks like, for failure messages.
function state(page) {
  return page.evaluate(() => {
    const c = window.chat;
    if (!c) return 'no window.chat';
    const engine = c.socket.io.engine;
    return JSON.stringify({
      connected: c.socket.connected, room: c.room, connects: c.connects,
      disconnects: c.disconnects, transport: engine && engine.transport && engine.transport.name,
      messages: c.messages, status: document.getElementById('status').textContent,
    });
  }).catch((e) => `unreadable: ${e.message}`);
}

// Waits in real time (polled, not per animation frame) for `fn(arg)` to be
// true on the page of `who`.
async function until(who, what, fn, arg) {
  try {
    await who.page.waitForFunction(fn, arg, { timeout: WAIT, polling: 50 });
  } catch (e) {
    throw new Error(`${who.name}: ${what}, not within ${WAIT} ms (${e.message.split('\n')[0]})`);
  }
}

// In room r1, after more than `connects` connects.
function joined(who, connects = 0) {
  return until(who, `in room r1 after connect #${connects + 1}`,
    (n) => window.chat && window.chat.room === 'r1' && window.chat.connects > n, connects);
}

const chatState = (who) => who.page.evaluate(() =>
  ({ connects: window.chat.connects, disconnects: window.chat.disconnects.slice() }));
// Types into the page's form and clicks Send, as a person would; both pages
// must then show the message (the sender gets its own back from the room).
async function say(from, to, text) {
  await joined(to);
  await from.page.fill('#text', text);
  // Playwright waits for the button to be enabled: the page enables it in a room.
  await from.page.click('#send button', { timeout: WAIT }).catch(() => {
    throw new Error(`${from.name}: Send stayed disabled (not in a room) for ${WAIT} ms`);
  });
  const has = (t) => window.chat.messages.some((m) => m.text === t);
  await until(to, `receives "${text}" from ${from.name}`, has, text);
  await until(from, `gets its own "${text}" back`, has, text);
  const got = await to.page.evaluate((t) => window.chat.messages.find((m) => m.text === t), text);
  if (got.name !== from.name) throw new Error(`${to.name}: "${text}" came from ${got.name}, not ${from.name}`);
}

async function transport(who) {
  return who.page.evaluate(() => window.chat.socket.io.engine.transport.name);
}

async function open(browser, name, url) {
  // A context each: separate cookies, caches and connection pools.
  const context = await browser.newContext({ viewport: { width: 640, height: 480 } });
  const page = await context.newPage();
  const who = { name, page, logs: [] };
  page.on('console', (m) => who.logs.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => who.logs.push(`page error: ${e.message}`));
  page.on('response', async (r) => {
    if (r.status() < 400) return;
    const body = await r.text().catch(() => '');
    who.logs.push(`HTTP ${r.status()} ${body.slice(0, 100)}: ${r.url()}`);
  });
  page.on('requestfailed', (r) => who.logs.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  await page.goto(url, { timeout: WAIT });
  return who;
}

async function main() {
  const browser = await chromium.launch({ executablePath, args, headless: true, timeout: 20000 });
  const pages = [];
  try {
    const alice = await open(browser, 'alice', `${urlA}/?name=alice&room=r1&transport=polling`);
    pages.push(alice);
    const bob = await open(browser, 'bob', `${urlB}/?name=bob&room=r1&transport=websocket`);
    pages.push(bob);

    await joined(alice);
    await joined(bob);
    // Only one transport each: a drop cannot change these.
    const transports = { alice: await transport(alice), bob: await transport(bob) };
    if (transports.alice !== 'polling' || transports.bob !== 'websocket') {
      throw new Error(`transports: alice on ${transports.alice} (want polling), bob on ${transports.bob} (want websocket)`);
    }
    await say(alice, bob, 'hello from alice');
    await say(bob, alice, 'hello from bob');

    await joined(bob);
    const beforeCut = await chatState(bob);
    const { cut } = await ask('cut');
    if (!(cut > 0)) throw new Error(`the test cut ${cut} of bob's connections`);
    // A WebSocket whose TCP connection is closed ends with "transport close".
    await until(bob, 'sees its connection closed',
      (n) => window.chat.disconnects.slice(n).includes('transport close'), beforeCut.disconnects.length);
    // The reconnection is the client's own, through the same proxy.
    await joined(bob, beforeCut.connects);
    await say(alice, bob, 'alice again');
    await say(bob, alice, 'bob is back');

    fs.mkdirSync(shots, { recursive: true });
    const screenshots = [];
    for (const who of pages) {
      const file = path.join(shots, `browser-chat-${who.name}.png`);
      await who.page.screenshot({ path: file });
      screenshots.push(file);
    }
    const disconnects = {
      alice: (await chatState(alice)).disconnects,
      bob: (await chatState(bob)).disconnects,
    };
    // Exactly the drop the test made: none for alice, one for bob.
    if (disconnects.alice.length !== 0 || disconnects.bob.length !== 1) {
      throw new Error(`unexpected drops: ${JSON.stringify(disconnects)}`);
    }
    console.log(JSON.stringify({ ok: true, transports, cut, disconnects, screenshots }));
  } catch (e) {
    console.error(`browser_chat: ${e.message}`);
    for (const who of pages) {
      console.error(`  ${who.name}: ${await state(who.page)}`);
      for (const line of who.logs.slice(-20)) console.error(`    ${line}`);
    }
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
  process.exit();
}

main().catch((e) => { console.error(`browser_chat: ${e.stack || e}`); process.exit(1); });
