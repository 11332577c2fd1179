// The axum_app chat in real headless Chromium: the official JS client's page
// (/) and the same page written in Rust (/rust/, examples/wasm-chat, our
// socketio-client compiled to wasm32) side by side, in one room.
// usage: wasm_chat.js URL
//
// Alice (JS) and Ferris (Rust) join room r1 and chat through each page's form,
// as a person would: each message must show on the other page, in real time
// (within WAIT), and the sender must get its own back from the room. Both
// pages read what they show from their DOM. Ends with screenshots
// (wasm-chat.png of the Rust page, wasm-chat-js.png of the JS page) and
// {"ok":true,...}; a failure goes to stderr with both pages' state and logs,
// and the exit code is non-zero.
// env: CHROMIUM (default /usr/bin/chromium), SCREENSHOTS (default ./target).
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const [url] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const shots = process.env.SCREENSHOTS || path.join(__dirname, '../../target');
// The network here is closed: without these Chromium's own background
// connections fail and get in the way.
const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
// The Rust page's first load compiles its wasm: allow it more.
const LOAD = 20000;
const WAIT = 5000;

// What a page shows: status, room label, Send enabled, and the chat lines.
function state(page) {
  return page.evaluate(() => {
    const $ = (id) => document.getElementById(id);
    return JSON.stringify({
      status: $('status').textContent,
      room: $('room-label').textContent,
      canSend: !document.querySelector('#send button').disabled,
      lines: [...$('log').querySelectorAll('li')].map((li) => li.textContent),
    });
  }).catch((e) => `unreadable: ${e.message}`);
}

async function until(who, what, fn, arg, timeout = WAIT) {
  try {
    await who.page.waitForFunction(fn, arg, { timeout, polling: 50 });
  } catch (e) {
    throw new Error(`${who.name}: ${what}, not within ${timeout} ms (${e.message.split('\n')[0]})`);
  }
}

// In the room (its label says so) with Send enabled: the page had the
// server's ack of its join.
function joined(who, timeout) {
  return until(who, 'in room r1 with Send enabled', () =>
    document.getElementById('room-label').textContent.startsWith('#r1') &&
    !document.querySelector('#send button').disabled, undefined, timeout);
}

// A chat line from `name` with `text` on the page (<li><b>name</b>text</li>).
const shows = ([name, text]) => [...document.querySelectorAll('#log li')].some((li) => {
  const b = li.querySelector('b');
  return b && b.textContent === name && li.textContent === name + text;
});

async function say(from, to, text) {
  await from.page.fill('#text', text);
  const sent = Date.now();
  await from.page.click('#send button', { timeout: WAIT });
  await until(to, `shows "${text}" from ${from.name}`, shows, [from.name, text]);
  const latency = Date.now() - sent;
  await until(from, `shows its own "${text}"`, shows, [from.name, text]);
  return latency;
}

async function open(browser, name, url) {
  const context = await browser.newContext({ viewport: { width: 640, height: 480 } });
  const page = await context.newPage();
  const who = { name, page, logs: [] };
  page.on('console', (m) => who.logs.push(`console.${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => who.logs.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => who.logs.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) who.logs.push(`HTTP ${r.status()}: ${r.url()}`); });
  await page.goto(url, { timeout: LOAD });
  return who;
}

async function main() {
  const browser = await chromium.launch({ executablePath, args, headless: true, timeout: 20000 });
  const pages = [];
  try {
    const alice = await open(browser, 'alice', `${url}/?name=alice&room=r1`);
    pages.push(alice);
    const ferris = await open(browser, 'ferris', `${url}/rust/?name=ferris&room=r1`);
    pages.push(ferris);
    await joined(alice, LOAD);
    await joined(ferris, LOAD);
    // The Rust page is the Rust one: wasm-bindgen's module, no socket.io.js.
    const rust = await ferris.page.evaluate(() => typeof window.io === 'undefined' &&
      [...document.scripts].some((s) => s.type === 'module'));
    if (!rust) throw new Error('the /rust/ page loaded the JS client');

    const latencies = [];
    latencies.push(await say(alice, ferris, 'hello from JS'));
    latencies.push(await say(ferris, alice, 'hello from Rust'));
    for (let i = 0; i < 3; i++) {
      latencies.push(await say(alice, ferris, `js ${i}`));
      latencies.push(await say(ferris, alice, `rust ${i}`));
    }
    // Ferris saw alice join before it, and its own join.
    await until(ferris, 'shows its own join', () =>
      document.getElementById('log').textContent.includes('ferris joined #r1'));

    fs.mkdirSync(shots, { recursive: true });
    const screenshots = [path.join(shots, 'wasm-chat.png'), path.join(shots, 'wasm-chat-js.png')];
    await ferris.page.screenshot({ path: screenshots[0] });
    await alice.page.screenshot({ path: screenshots[1] });
    const problems = pages.flatMap((who) => who.logs.filter((l) => l.startsWith('page error'))
      .map((l) => `${who.name}: ${l}`));
    if (problems.length) throw new Error(`page errors: ${problems.join('; ')}`);
    console.log(JSON.stringify({ ok: true, latencies, screenshots }));
  } catch (e) {
    console.error(`wasm_chat: ${e.message}`);
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

main().catch((e) => { console.error(`wasm_chat: ${e.stack || e}`); process.exit(1); });
