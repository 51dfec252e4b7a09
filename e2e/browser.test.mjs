// End-to-end: the browser UI in headless Chromium against three regions sharing one Redis.
//
//   ui/build.sh && cargo build -p server-core && npm ci --prefix e2e
//   node --test e2e/browser.test.mjs
//
// Env: MULTIREGION_BIN (default target/debug/multiregion), REDIS_SERVER (default
// redis-server), CHROMIUM (default /usr/bin/chromium), E2E_BIG_BURST=N (also send a burst
// of N, e.g. 10000, and report how busy the page was; off by default: it takes ~20 s). Everything started here is stopped
// in after(), also on failure. No timing assertions: conditions are awaited with generous
// timeouts.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.resolve(root, process.env.MULTIREGION_BIN ?? 'target/debug/multiregion');
const uiDir = path.join(root, 'ui/dist');
const REGIONS = ['as', 'us', 'eu'];
const WAIT = 60_000;

/** A free TCP port, or `count` consecutive free ports (the first is returned). */
async function freePorts(count = 1) {
  for (let tries = 0; tries < 200; tries++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const ok = await Promise.all(
      Array.from({ length: count }, (_, i) => canListen(base + i)),
    );
    if (ok.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function canListen(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function until(what, check, timeout = WAIT) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** Start a child process; keep its output for failure messages. */
function start(cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  child.log = '';
  const keep = (d) => {
    child.log = (child.log + d).slice(-20_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (e) => keep(`spawn failed: ${e.message}\n`));
  return child;
}

async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

/** Distinct and total `data-id`s of a pane's event list. */
async function paneIds(page, region) {
  return page.$$eval(`[data-testid="event-${region}"]`, (els) => els.map((e) => e.dataset.id));
}

/** For each id, whether its timeline row has every hop filled in. */
async function timelineComplete(page, ids, regions) {
  return page.evaluate(
    ({ ids, regions }) => {
      const hops = ['published', 'stored', ...regions.flatMap((r) => [`received-${r}`, `delivered-${r}`])];
      return ids.every((id) => {
        const rows = document.querySelectorAll(`[data-testid="timeline-row"][data-id="${CSS.escape(id)}"]`);
        if (rows.length !== 1) return false;
        return hops.every(
          (h) => rows[0].querySelector(`[data-hop="${h}"]`)?.dataset.filled === 'true',
        );
      });
    },
    { ids, regions },
  );
}

describe('browser UI', () => {
  let redis;
  let server;
  let browser;
  let page;
  let base;

  before(async () => {
    if (!existsSync(bin)) {
      throw new Error(`${bin} is missing: build it with \`cargo build -p server-core\` (or set MULTIREGION_BIN)`);
    }
    if (!existsSync(path.join(uiDir, 'index.html'))) {
      throw new Error('ui/dist/index.html is missing: build the UI with `ui/build.sh`');
    }
    const redisPort = await freePorts(1);
    redis = start(process.env.REDIS_SERVER ?? 'redis-server', [
      '--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    ]);
    await until('redis-server', () => new Promise((resolve) => {
      const s = net.connect(redisPort, '127.0.0.1', () => { s.end(); resolve(true); });
      s.once('error', () => resolve(false));
    }), 20_000).catch((e) => { throw new Error(`${e.message}\n${redis.log}`); });

    base = await freePorts(3);
    server = start(bin, [
      'serve', '--redis', `redis://127.0.0.1:${redisPort}`, '--redis-prefix', `e2e-${process.pid}`,
      '--port-base', String(base), '--ui-dir', uiDir,
    ]);
    await until('all three regions to answer /health', async () => {
      const answers = await Promise.all(REGIONS.map((_, i) =>
        fetch(`http://127.0.0.1:${base + i}/health`).then((r) => r.ok)));
      return answers.every(Boolean);
    }, 30_000).catch((e) => { throw new Error(`${e.message}\nserver log:\n${server.log}`); });

    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`http://127.0.0.1:${base}/`);
    for (const r of REGIONS) {
      await page.locator(`[data-testid="status-${r}"][data-state="connected"]`).waitFor({ timeout: WAIT });
    }
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await stop(server);
    await stop(redis);
  });

  test('an event published in US reaches every pane and the timeline with every hop', async () => {
    const text = `hello from the test ${Date.now()}`;
    await page.fill('[data-testid="kind-us"]', 'greeting');
    await page.fill('[data-testid="text-us"]', text);
    await page.click('[data-testid="publish-us"]');
    const mine = page.locator('[data-testid="event-us"]', { hasText: text });
    await mine.waitFor({ timeout: WAIT });
    const id = await mine.getAttribute('data-id');
    assert.ok(id, 'the event has a data-id');
    for (const r of REGIONS) {
      await page.locator(`[data-testid="event-${r}"][data-id="${id}"]`).waitFor({ timeout: WAIT });
    }
    await until('its timeline row to have every hop', () => timelineComplete(page, [id], REGIONS));
    const offset = await mine.getAttribute('data-offset');
    const row = page.locator(`[data-testid="timeline-row"][data-offset="${offset}"]`);
    assert.equal(await row.count(), 1);
  });

  test('a burst of 100 from AS arrives in every pane exactly once', async () => {
    const before = {};
    for (const r of REGIONS) before[r] = new Set(await paneIds(page, r));
    await page.fill('[data-testid="burst-count-as"]', '100');
    await page.click('[data-testid="burst-as"]');
    const fresh = {};
    for (const r of REGIONS) {
      await until(`100 new events in the ${r} pane`, async () => {
        const ids = await paneIds(page, r);
        fresh[r] = ids.filter((id) => !before[r].has(id));
        return fresh[r].length >= 100;
      });
      // Give stragglers (duplicates) a chance to show before counting exactly.
      const ids = await paneIds(page, r);
      const news = ids.filter((id) => !before[r].has(id));
      assert.equal(new Set(news).size, 100, `${r}: distinct new ids`);
      assert.equal(news.length, 100, `${r}: no id listed twice`);
    }
    const ids = fresh.as;
    assert.deepEqual(new Set(fresh.us), new Set(ids));
    assert.deepEqual(new Set(fresh.eu), new Set(ids));
    await until('every burst event to be complete in the timeline', () => timelineComplete(page, ids, REGIONS));
    const dupes = await page.locator('.pane .bad', { hasText: 'duplicates' }).count();
    assert.equal(dupes, 0, 'no pane counted a duplicate delivery');

    mkdirSync(path.join(root, 'artifacts'), { recursive: true });
    await page.screenshot({ path: path.join(root, 'artifacts/ui.png') });
  });

  const big = Number(process.env.E2E_BIG_BURST ?? 0);
  test(`a burst of ${big} from US arrives in every pane`, { skip: !big && 'set E2E_BIG_BURST=N' }, async () => {
    const count = (r) => page.$eval(`[data-testid="count-${r}"]`, (e) => parseInt(e.textContent, 10));
    const start = {};
    for (const r of REGIONS) start[r] = await count(r);
    await page.evaluate(() => {
      window.__longTasks = [];
      new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__longTasks.push(e.duration)))
        .observe({ type: 'longtask' });
    });
    await page.fill('[data-testid="burst-count-us"]', String(big));
    await page.click('[data-testid="burst-us"]');
    // The UI keeps the newest 10,000 events (ui/src/log.rs MAX_EVENTS) and drops older ones.
    const cap = 10_000;
    for (const r of REGIONS) {
      const want = Math.min(start[r] + big, cap);
      await until(`${big} new events in the ${r} pane`, async () => (await count(r)) >= want, 300_000);
      assert.equal(await count(r), want, `${r}: every event of the burst, none twice`);
      const newest = await page.$eval(`[data-testid="event-${r}"]`, (e) => e.textContent);
      assert.match(newest, new RegExp(`${big}/${big}`), `${r}: the burst's last event is the newest`);
    }
    const long = await page.evaluate(() => window.__longTasks);
    // Reported, not asserted: timing depends on the machine.
    console.log(`long tasks during the burst: ${long.length}, longest ${Math.round(Math.max(0, ...long))} ms, ` +
      `total ${Math.round(long.reduce((a, b) => a + b, 0))} ms`);
    await page.screenshot({ path: path.join(root, 'artifacts/ui-burst.png') });
  });
});
