// Helpers of the end-to-end tests (e2e/*.test.mjs): processes, ports, waiting, a private
// redis-server, a headless Chromium on the UI, and reading the page's data attributes.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** The repository root: child processes run there. */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const WAIT = 60_000;

/** The server binary the tests run (MULTIREGION_BIN, else the debug build). */
export const BIN = path.resolve(root, process.env.MULTIREGION_BIN ?? 'target/debug/multiregion');
/** The built UI the regions serve. */
export const UI_DIR = path.join(root, 'ui/dist');
/** The three regions, in pane order. */
export const REGIONS = ['as', 'us', 'eu'];
/** wire::sim::presets "global": one-way ms from each region to the broker (jitter 10 %). */
export const GLOBAL = { us: 20, eu: 45, as: 90 };

/** A free TCP port, or `count` consecutive free ports (the first is returned). */
export async function freePorts(count = 1) {
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

export async function until(what, check, timeout = WAIT) {
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
export function start(cmd, args) {
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

export async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await gone;
  clearTimeout(timer);
}

/**
 * Start a private, non-persistent redis-server (REDIS_SERVER, default `redis-server`) on a
 * free loopback port and wait until it accepts connections. Returns the child process, with
 * its port as `.port`; stop it with `stop()`. On failure the error carries the server's log.
 */
export async function startRedis() {
  const port = await freePorts(1);
  const redis = start(process.env.REDIS_SERVER ?? 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
  ]);
  redis.port = port;
  await until('redis-server', () => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(true); });
    s.once('error', () => resolve(false));
  }), 20_000).catch(async (e) => {
    await stop(redis);
    throw new Error(`${e.message}\n${redis.log}`);
  });
  return redis;
}

/**
 * Launch headless Chromium (CHROMIUM, default /usr/bin/chromium), open `url` in a 1280x800
 * page (page errors go to stderr) and wait until the status of every region of `regions`
 * says connected. Returns `{ browser, page }`; the caller closes `browser`. If the page never
 * gets there, the browser is closed and the error thrown, with every pane's state and `hint`.
 */
export async function openUi(url, regions, hint = '') {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(url);
    for (const r of regions) {
      await page.locator(`[data-testid="status-${r}"][data-state="connected"]`).waitFor({ timeout: WAIT })
        .catch(async (e) => {
          const states = await Promise.all(regions.map(async (q) => `${q}: ${await page
            .locator(`[data-testid="status-${q}"]`).getAttribute('data-state').catch(() => '?')}`));
          throw new Error(`${e.message}\npane states${hint}: ${states.join(', ')}`);
        });
    }
    return { browser, page };
  } catch (e) {
    await browser.close().catch(() => {});
    throw e;
  }
}

/** Distinct and total `data-id`s of a pane's event list. */
export async function paneIds(page, region) {
  return page.$$eval(`[data-testid="event-${region}"]`, (els) => els.map((e) => e.dataset.id));
}

/** For each id, whether its timeline row has every hop filled in. */
export async function timelineComplete(page, ids, regions) {
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

/** Offsets and delivery times of a pane's list, oldest first. */
export async function paneEvents(page, region) {
  const rows = await page.$$eval(`[data-testid="event-${region}"]`, (els) => els.map((e) => ({
    id: e.dataset.id, offset: Number(e.dataset.offset), at: Number(e.dataset.at),
  })));
  return rows.reverse();
}

/** A pane's backlog counter (NaN while unknown). */
export async function backlog(page, region) {
  return page.$eval(`[data-testid="backlog-${region}"]`, (e) => parseInt(e.dataset.count, 10));
}

/** Redis, `multiregion serve` (three regions on free ports, serving the built UI) and the UI
 * open in Chromium on region AS's page. `stopStack` stops all of it, also after a failure. */
export async function startStack(bin, uiDir, regions, prefix) {
  if (!existsSync(bin)) {
    throw new Error(`${bin} is missing: build it with \`cargo build -p multiregion\` (or set MULTIREGION_BIN)`);
  }
  if (!existsSync(path.join(uiDir, 'index.html'))) {
    throw new Error('ui/dist/index.html is missing: build the UI with `ui/build.sh`');
  }
  const stack = { redis: await startRedis() };
  stack.redisPort = stack.redis.port;
  stack.base = await freePorts(3);
  stack.server = start(bin, [
    'serve', '--redis', `redis://127.0.0.1:${stack.redisPort}`, '--redis-prefix', `${prefix}-${process.pid}`,
    '--port-base', String(stack.base), '--ui-dir', uiDir,
  ]);
  try {
    await until('all three regions to answer /health', async () => {
      const answers = await Promise.all(regions.map((_, i) =>
        fetch(`http://127.0.0.1:${stack.base + i}/health`).then((r) => r.ok)));
      return answers.every(Boolean);
    }, 30_000).catch((e) => { throw new Error(`${e.message}\nserver log:\n${stack.server.log}`); });
    ({ browser: stack.browser, page: stack.page } = await openUi(`http://127.0.0.1:${stack.base}/`, regions));
  } catch (e) {
    await stopStack(stack);
    throw e;
  }
  return stack;
}

/** Stop what `startStack` started. */
export async function stopStack(stack) {
  await stack?.browser?.close().catch(() => {});
  await stop(stack?.server);
  await stop(stack?.redis);
}

/** Publish one event in region `r` from its pane; wait until that pane has it; its id. */
export async function publishOne(page, r, text) {
  await page.fill(`[data-testid="text-${r}"]`, text);
  await page.click(`[data-testid="publish-${r}"]`);
  const mine = page.locator(`[data-testid="event-${r}"]`, { hasText: text });
  await mine.waitFor({ timeout: WAIT });
  return mine.getAttribute('data-id');
}
