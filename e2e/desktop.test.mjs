// Desktop app end-to-end: the real app binary under Xvfb, driven by tauri-driver + WebKitWebDriver
// over W3C WebDriver (plain fetch, no npm dependencies). Run from the repo root:
//   cargo build -p multiregion-desktop && node --test e2e/desktop.test.mjs
// The app is $MULTIREGION_DESKTOP_BIN, else $CARGO_TARGET_DIR/debug/multiregion-desktop, else
// target/debug/multiregion-desktop (relative to the repo root).
// Needs: Xvfb (unless $DISPLAY works), tauri-driver on the PATH (or $TAURI_DRIVER),
// /usr/bin/WebKitWebDriver (or $WEBKIT_WEBDRIVER), redis-server on the PATH, `ss`.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  WebDriver, alive, descendants, ensureDisplay, freePort, holdPort, killAll, listening,
  portsOf, sleep, startProcess, stopProcess, waitFor,
} from './desktop-harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const APP = path.resolve(
  ROOT,
  process.env.MULTIREGION_DESKTOP_BIN ??
    path.join(process.env.CARGO_TARGET_DIR ?? 'target', 'debug', 'multiregion-desktop'),
);
const DRIVER = process.env.TAURI_DRIVER ?? 'tauri-driver';
const NATIVE = process.env.WEBKIT_WEBDRIVER ?? '/usr/bin/WebKitWebDriver';
const ARTIFACTS = path.join(ROOT, 'artifacts');
const REGIONS = ['as', 'us', 'eu'];

// Pids of the app and its children seen by a run, killed in after() if anything is left.
const appPids = new Set();
let display;

after(() => {
  killAll([...appPids].filter(alive));
});

/** Start tauri-driver for one broker mode and open a session on the app. */
async function openApp(mode) {
  assert.ok(fs.existsSync(APP), `app binary missing: ${APP} (build it: cargo build -p multiregion-desktop, or set MULTIREGION_DESKTOP_BIN)`);
  display ??= await ensureDisplay();
  const port = await freePort();
  const nativePort = await freePort();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const env = { ...process.env, DISPLAY: display, MULTIREGION_BROKER: mode };
  delete env.REDIS_URL; // the mode alone decides the broker
  const logFile = path.join(ARTIFACTS, `desktop-${mode}-driver.log`);
  const driver = startProcess(
    DRIVER,
    ['--port', String(port), '--native-port', String(nativePort), '--native-driver', NATIVE],
    { env, logFile },
  );
  const wd = new WebDriver(`http://127.0.0.1:${port}`);
  await waitFor('tauri-driver to listen', () => wd.call('GET', '/status').then(() => true), 20_000);
  await wd.newSession(APP);
  const app = await waitFor('the app process', () =>
    descendants(driver.pid).find((p) => p.exe === APP || p.exe.startsWith(`${APP} `)));
  appPids.add(app.pid);
  return { wd, driver, app, logFile };
}

/** Wait until every pane shows a connected WebSocket, and every region (as restarted after a
 * broker switch) counts the UI's client and reaches its broker. */
async function waitConnected(wd, regions) {
  for (const { name, url } of regions) {
    await waitFor(`region ${name} to see the UI connected`, async () => {
      const health = await (await fetch(`${url}/health`)).json();
      return health.connected && health.clients >= 1;
    });
  }
  for (const r of REGIONS) {
    await waitFor(`status-${r} to say connected`, async () => {
      const text = await wd.exec(
        `const e = document.querySelector('[data-testid="status-' + arguments[0] + '"]');
         return e ? (e.getAttribute('data-state') || '') + ' ' + e.textContent : null;`,
        [r],
      );
      return text !== null && /(^|[^a-z])(connected|live|online)/i.test(text);
    });
  }
}

/** The `[data-id, data-offset]` of event items in `region`'s pane, optionally with `needle` in the text. */
function events(wd, region, needle = '') {
  return wd.exec(
    `return [...document.querySelectorAll('[data-testid="event-' + arguments[0] + '"]')]
       .filter((e) => e.textContent.includes(arguments[1]))
       .map((e) => [e.getAttribute('data-id'), e.getAttribute('data-offset')]);`,
    [region, needle],
  );
}

/** Publish from the EU pane; assert the event reaches the AS and US panes with one offset. */
async function publishFromEu(wd, mode) {
  const marker = `desktop-${mode}-${process.pid}-${Date.now()}`;
  await wd.fill('[data-testid="text-eu"]', marker);
  await wd.click('[data-testid="publish-eu"]');
  const [[id, offset]] = await waitFor('the event in the EU pane', async () => {
    const found = await events(wd, 'eu', marker);
    return found.length ? found : null;
  });
  assert.ok(id, 'event items carry data-id');
  for (const r of ['as', 'us']) {
    const got = await waitFor(`the EU event in the ${r.toUpperCase()} pane`, async () => {
      const found = (await events(wd, r)).filter(([i]) => i === id);
      return found.length ? found : null;
    });
    assert.equal(got.length, 1, `exactly once in ${r}`);
    assert.equal(got[0][1], offset, `same offset in ${r}`);
  }
  const rows = await wd.exec(`return document.querySelectorAll('[data-testid="timeline-row"]').length;`);
  assert.ok(rows >= 1, 'the sync timeline has rows');
  return marker;
}

async function screenshot(wd, name) {
  await sleep(300); // let the last frame paint
  fs.writeFileSync(path.join(ARTIFACTS, name), await wd.screenshot());
}

/** The CSP lets the page reach the local regions (proved by the panes) and nothing remote. */
async function assertCspBlocksRemote(wd) {
  const violations = await wd.call('POST', wd.s('/execute/async'), {
    script: `const done = arguments[0];
      const seen = [];
      document.addEventListener('securitypolicyviolation', (e) => seen.push(e.violatedDirective));
      fetch('https://example.com/').then(() => done(seen), () => setTimeout(() => done(seen), 100));`,
    args: [],
  });
  assert.ok(violations.includes('connect-src'), `a remote fetch violates connect-src (${violations})`);
}

/** Submit `url` in the settings panel (opening it if needed). */
async function submitRedisUrl(wd, url) {
  if (!(await wd.has('[data-testid="redis-url"]'))) await wd.click('[data-testid="settings-toggle"]');
  await waitFor('the settings panel', () => wd.has('[data-testid="redis-url"]'));
  await wd.fill('[data-testid="redis-url"]', url);
  await wd.click('[data-testid="settings"] button[type="submit"]');
}

/** redis-server children of the app (under its watchdog). */
const redisChildren = (app) => descendants(app.pid).filter((p) => p.comm === 'redis-server');

/** From the settings panel: refuse a bad URL, move to a Redis we run, then back to automatic.
 * Events keep flowing on the same region URLs, and the replaced private redis-server stops. */
async function switchBrokers(wd, app, regions, privateStatus) {
  await submitRedisUrl(wd, 'redis://127.0.0.1:1');
  await waitFor('the refusal in the settings panel', async () =>
    /127\.0\.0\.1:1/.test((await wd.text('[data-testid="settings-error"]')) ?? ''));
  assert.deepEqual(await wd.invoke('broker_status'), privateStatus, 'a refused URL changes nothing');

  const port = await freePort();
  startProcess('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1']);
  const ours = `redis://127.0.0.1:${port}`;
  await waitFor('our redis-server', () => tryRedisCli(port, 'PING') === 'PONG');
  await submitRedisUrl(wd, ours);
  await waitFor('the switch to our Redis', async () => (await wd.invoke('broker_status')).url === ours);
  assert.equal((await wd.invoke('broker_status')).private, false, 'a Redis the user chose is not private');
  assert.deepEqual(await wd.invoke('regions'), regions, 'regions restart on the same URLs');
  await waitFor('the replaced private redis-server to stop', () => redisChildren(app).length === 0);
  await waitConnected(wd, regions);
  const marker = await publishFromEu(wd, 'switched');
  // The log is partitioned (docs/scaling.md): the event is in one of the partitions' streams.
  const logs = tryRedisCli(port, '--scan', '--pattern', '*:log').split('\n').filter(Boolean);
  assert.ok(logs.length > 0, `our Redis holds the log's partitions (${logs})`);
  assert.ok(
    logs.some((key) => tryRedisCli(port, 'XRANGE', key, '-', '+').includes(marker)),
    'the event is in our Redis',
  );

  await submitRedisUrl(wd, '');
  const back = await waitFor('the automatic choice again', async () => {
    const s = await wd.invoke('broker_status');
    return s.url !== ours && s;
  });
  assert.equal(back.kind, 'redis', back.description);
  assert.equal(back.private, true, back.description);
  assert.equal(redisChildren(app).length, 1, 'a new private redis-server');
  await waitConnected(wd, regions);
  return back;
}

function tryRedisCli(port, ...args) {
  try {
    return execFileSync('redis-cli', ['-p', String(port), '--raw', ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

/** Close the window, wait for the app to exit, and check it left no port or process behind. */
async function closeAndCheck(wd, app, regions, broker, logFile) {
  const tree = descendants(app.pid);
  const pids = [app.pid, ...tree.map((p) => p.pid)];
  pids.forEach((p) => appPids.add(p));
  const ports = portsOf(pids);
  for (const r of regions) {
    assert.ok(ports.includes(Number(new URL(r.url).port)), `region ${r.name} listens (${r.url})`);
  }
  const redisKids = tree.filter((p) => p.comm === 'redis-server');
  if (broker.kind === 'redis' && broker.url) {
    assert.equal(redisKids.length, 1, 'one private redis-server under the app');
    assert.ok(ports.includes(Number(new URL(broker.url).port)), 'private redis listens');
  } else {
    assert.equal(redisKids.length, 0, 'no redis-server with the embedded broker');
  }

  // Close the window the way its close button does (CloseRequested, then the app exits).
  // Not WebDriver's "close window": WebKitWebDriver then SIGKILLs the app, which tests
  // nothing about a clean exit.
  // Deferred so this script returns before the page goes away.
  await wd.exec(`setTimeout(() => window.__TAURI_INTERNALS__.invoke('plugin:window|close', { label: 'main' }), 50);
                 return true;`);
  await waitFor('the app to exit after its window closed', () => !alive(app.pid), 30_000);
  await wd.deleteSession();
  // The app's stderr (through the drivers) shows it ran its shutdown, not that it was killed.
  assert.match(fs.readFileSync(logFile, 'utf8'), /regions stopped/, 'the app stopped its regions');

  const open = () => listening().filter((l) => ports.includes(l.port));
  await waitFor('the ports to close', () => open().length === 0, 15_000).catch(() => {});
  assert.deepEqual(open(), [], `ports ${ports.join(', ')} are closed after exit`);
  // WebKit's helper processes end on their own shortly after the app; wait for them.
  const procs = [{ pid: app.pid, comm: 'app' }, ...tree];
  await waitFor('every process of the app to end', () => !pids.some(alive), 15_000).catch(() => {});
  const running = procs.filter((p) => alive(p.pid)).map((p) => `${p.pid} ${p.comm}`);
  assert.deepEqual(running, [], 'no process of the app is left (app, watchdog, redis-server)');
}

for (const mode of ['private', 'embedded']) {
  test(`desktop app, ${mode} broker: EU event reaches AS and US${mode === 'private' ? '; broker switch from settings' : '; port 4000 taken'}; clean exit`, async (t) => {
    // In the embedded run, hold port 4000 to prove the app falls back to a free port.
    const blocker = mode === 'embedded' ? await holdPort(4000) : null;
    t.after(() => blocker?.close());
    const { wd, driver, app, logFile } = await openApp(mode);
    try {
      await waitFor('the three panes', async () => {
        const n = await wd.exec(`return document.querySelectorAll('[data-testid^="pane-"]').length;`);
        return n >= 3;
      });
      const regions = await wd.invoke('regions');
      assert.deepEqual(regions.map((r) => r.name), REGIONS);
      if (blocker) {
        assert.notEqual(new URL(regions[0].url).port, '4000', 'as moved off the taken port 4000');
      }
      let broker = await wd.invoke('broker_status');
      assert.equal(broker.kind, mode === 'private' ? 'redis' : 'embedded', broker.description);
      assert.equal(broker.private, mode === 'private', 'the private redis-server is flagged as such');

      await waitConnected(wd, regions);
      await publishFromEu(wd, mode);
      await screenshot(wd, `desktop-${mode}.png`);
      if (mode === 'private') {
        broker = await switchBrokers(wd, app, regions, broker);
        await screenshot(wd, `desktop-${mode}-switched.png`);
      } else {
        await assertCspBlocksRemote(wd);
      }
      await closeAndCheck(wd, app, regions, broker, logFile);
    } finally {
      await wd.deleteSession();
      stopProcess(driver);
      await waitFor('tauri-driver to stop', () => driver.exitCode !== null || driver.signalCode !== null, 10_000)
        .catch(() => {});
    }
  });
}
