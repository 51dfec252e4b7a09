// End-to-end: the browser UI in headless Chromium against three regions sharing one Redis.
//
//   ui/build.sh && cargo build -p multiregion && npm ci --prefix e2e
//   node --test e2e/browser.test.mjs
//
// Env: MULTIREGION_BIN (default target/debug/multiregion), REDIS_SERVER (default
// redis-server), CHROMIUM (default /usr/bin/chromium), E2E_BIG_BURST=N (the size of the
// burst sent from US, 1000 by default; 10000 takes ~20 s and reports how busy the page was).
// Everything started here is stopped in after(), also on failure. No upper timing bounds:
// conditions are awaited with generous timeouts; the simulated-WAN test only checks that
// farther regions receive later. Screenshots: artifacts/ui-sim.png (the timeline under the
// global preset), ui-sim-cut.png (EU cut off), ui-scenario.png (the scripted demo mid-way).
// Publishing, token, export and the desktop shell's label: browser-publishing.test.mjs.
// The scripted scenario test takes about 30 s. Helpers are in browser-helpers.mjs.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  BIN, GLOBAL, REGIONS, UI_DIR, WAIT, backlog, paneEvents, paneIds, publishOne as publishIn,
  root, startStack, stopStack,
  timelineComplete, until,
} from './browser-helpers.mjs';

const bin = BIN;
const uiDir = UI_DIR;

describe('browser UI', () => {
  let stack;
  let page;
  let base;

  before(async () => {
    stack = await startStack(bin, uiDir, REGIONS, 'e2e');
    ({ page, base } = stack);
  });

  after(async () => {
    await stopStack(stack);
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

  const big = Number(process.env.E2E_BIG_BURST ?? 1000);
  test(`a burst of ${big} from US arrives in every pane`, async () => {
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

  /** Region `r`'s `GET /sim`. */
  async function sim(r) {
    const res = await fetch(`http://127.0.0.1:${base + REGIONS.indexOf(r)}/sim`);
    assert.equal(res.status, 200);
    return res.json();
  }

  const publishOne = (r, text) => publishIn(page, r, text);

  /** A hop's time after publish (ms) on the timeline row of event `id`. */
  async function hopMs(id, hop) {
    return page.$eval(`[data-testid="timeline-row"][data-id="${id}"] [data-hop="${hop}"]`,
      (e) => parseFloat(e.dataset.ms));
  }

  test('simulated WAN: the global preset, arrival by distance, a cut-off region catching up in order', async () => {
    try {
      await page.selectOption('[data-testid="sim-preset"]', 'global');
      for (const r of REGIONS) {
        await until(`${r} on the global preset`, async () => {
          const s = await sim(r);
          return s.latency_ms === GLOBAL[r] && s.jitter_ms === Math.floor(GLOBAL[r] / 10) && !s.cut_off;
        });
      }
      await page.locator('[data-testid="sim-preset"][data-current="global"]').waitFor({ timeout: WAIT });
      await page.locator('[data-testid="sim-value-eu"]', { hasText: '45 ms' }).waitFor({ timeout: WAIT });

      // An event from AS reaches the US server (20 ms from the broker) before the EU one (45 ms),
      // and AS itself (90 ms) last. Lower bounds only: the link adds delay, never takes it away.
      const id = await publishOne('as', `far from the broker ${Date.now()}`);
      await until('its timeline row to have every hop', () => timelineComplete(page, [id], REGIONS));
      const [us, eu, as] = [await hopMs(id, 'received-us'), await hopMs(id, 'received-eu'), await hopMs(id, 'received-as')];
      assert.ok(eu > us, `EU received it after US (US +${us} ms, EU +${eu} ms)`);
      assert.ok(as > eu, `AS received it after EU (EU +${eu} ms, AS +${as} ms)`);
      assert.ok(await hopMs(id, 'stored') >= GLOBAL.as, 'storing took at least AS\'s one-way latency');

      // A few from every region, for a timeline worth showing.
      const seen = new Set(await paneIds(page, 'eu'));
      for (const r of REGIONS) {
        await page.fill(`[data-testid="burst-count-${r}"]`, '4');
        await page.click(`[data-testid="burst-${r}"]`);
      }
      let recent = [];
      await until('the bursts in the EU pane', async () => {
        recent = (await paneIds(page, 'eu')).filter((i) => !seen.has(i));
        return recent.length === 12;
      });
      await until('the bursts complete in the timeline', () => timelineComplete(page, recent, REGIONS));
      mkdirSync(path.join(root, 'artifacts'), { recursive: true });
      await page.screenshot({ path: path.join(root, 'artifacts/ui-sim.png'), fullPage: true });

      // Cut EU off: AS's events pile up in EU's backlog and do not reach its pane.
      await page.click('[data-testid="sim-cutoff-eu"]');
      await until('EU cut off', async () => (await sim('eu')).cut_off);
      await page.locator('[data-testid="pane-eu"][data-cut-off="true"]').waitFor({ timeout: WAIT });
      await page.locator('[data-testid="cutoff-eu"]').waitFor({ timeout: WAIT });
      const before = new Set(await paneIds(page, 'as'));
      await page.fill('[data-testid="burst-count-as"]', '6');
      await page.click('[data-testid="burst-as"]');
      let missed = [];
      await until('6 new events in the AS pane', async () => {
        missed = (await paneIds(page, 'as')).filter((i) => !before.has(i));
        return missed.length === 6;
      });
      await until('EU\'s backlog to count them', async () => (await backlog(page, 'eu')) >= 6);
      assert.ok((await backlog(page, 'eu')) > 0);
      const euNow = new Set(await paneIds(page, 'eu'));
      assert.ok(missed.every((i) => !euNow.has(i)), 'nothing published while cut off is in the EU pane');
      await page.screenshot({ path: path.join(root, 'artifacts/ui-sim-cut.png'), fullPage: true });

      // Heal: the backlog drains to 0 and EU gets every event once, in offset order.
      await page.click('[data-testid="sim-cutoff-eu"]');
      await until('EU healed', async () => !(await sim('eu')).cut_off);
      await until('EU\'s backlog to drain', async () => (await backlog(page, 'eu')) === 0);
      await until('the missed events in the EU pane', async () => {
        const ids = new Set(await paneIds(page, 'eu'));
        return missed.every((i) => ids.has(i));
      });
      const eu2 = await paneEvents(page, 'eu');
      const asEvents = await paneEvents(page, 'as');
      assert.equal(new Set(eu2.map((e) => e.id)).size, eu2.length, 'no event twice in the EU pane');
      for (let i = 1; i < eu2.length; i++) {
        assert.equal(eu2[i].offset, eu2[i - 1].offset + 1, `no gap in EU's offsets at ${eu2[i].offset}`);
        assert.ok(eu2[i].at >= eu2[i - 1].at, `EU got offset ${eu2[i].offset} after ${eu2[i - 1].offset}`);
      }
      const byOffset = new Map(asEvents.map((e) => [e.offset, e.id]));
      assert.ok(eu2.every((e) => !byOffset.has(e.offset) || byOffset.get(e.offset) === e.id),
        'EU and AS agree on every offset');
      assert.equal(await page.locator('.pane .bad', { hasText: 'duplicates' }).count(), 0);
    } finally {
      await page.selectOption('[data-testid="sim-preset"]', 'off').catch(() => {});
      for (const r of REGIONS) {
        await until(`${r} back to no simulated distance`, async () => {
          const s = await sim(r);
          return s.latency_ms === 0 && !s.cut_off;
        }, 10_000).catch(() => {});
      }
    }
  });

  test('link controls: the slider sets a latency, a refused change is shown', async () => {
    await page.$eval('[data-testid="sim-latency-us"]', (e) => {
      e.value = '250';
      e.dispatchEvent(new Event('input', { bubbles: true }));
      e.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await until('US at 250 ms', async () => {
      const s = await sim('us');
      return s.latency_ms === 250 && s.jitter_ms === 25;
    });
    await page.locator('[data-testid="sim-value-us"]', { hasText: '250 ms' }).waitFor({ timeout: WAIT });
    await page.locator('[data-testid="sim-preset"][data-current="custom"]').waitFor({ timeout: WAIT });

    // The page is served by AS, so its PUT is same-origin: answer it with the server's refusal.
    await page.route(`http://127.0.0.1:${base}/sim`, (route) => (route.request().method() === 'PUT'
      ? route.fulfill({
        status: 400,
        contentType: 'application/json',
        body: JSON.stringify({ type: 'error', code: 'invalid_sim', message: 'latency_ms must be at most 10000', temporary: false }),
      })
      : route.continue()));
    try {
      await page.click('[data-testid="sim-cutoff-as"]');
      const err = page.locator('[data-testid="sim-error-as"]');
      await err.waitFor({ timeout: WAIT });
      assert.match(await err.textContent(), /invalid_sim: latency_ms must be at most 10000/);
      assert.equal((await sim('as')).cut_off, false);
      assert.equal(await page.getAttribute('[data-testid="sim-cutoff-as"]', 'data-on'), 'false');
    } finally {
      await page.unroute(`http://127.0.0.1:${base}/sim`);
    }
    await page.selectOption('[data-testid="sim-preset"]', 'off');
    await until('US back to 0 ms', async () => (await sim('us')).latency_ms === 0);
  });

  test('the scripted scenario runs every step and ends where it began', async () => {
    const steps = new Set();
    let sawBacklog = 0;
    const start = new Set(await paneIds(page, 'eu'));
    await page.click('[data-testid="scenario-run"]');
    await until('the scenario to finish', async () => {
      const state = await page.getAttribute('[data-testid="scenario-step"]', 'data-state');
      assert.notEqual(state, 'failed', await page.textContent('[data-testid="scenario-step"]'));
      steps.add(await page.getAttribute('[data-testid="scenario-step"]', 'data-step'));
      const behind = (await backlog(page, 'eu')) || 0;
      if (behind > sawBacklog && steps.has('3')) {
        await page.screenshot({ path: path.join(root, 'artifacts/ui-scenario.png'), fullPage: true });
      }
      sawBacklog = Math.max(sawBacklog, behind);
      return state === 'done';
    }, 120_000);
    assert.ok(steps.size >= 6, `saw steps ${[...steps]}`);
    assert.ok(sawBacklog > 0, 'EU had a backlog while it was cut off');
    for (const r of REGIONS) {
      const s = await sim(r);
      assert.equal(s.latency_ms, 0, `${r} back on preset off`);
      assert.equal(s.cut_off, false, `${r} not cut off`);
    }
    // 10 per region, then 10 from AS: EU ends up with all 40, none twice.
    await until('EU to have all 40 scenario events', async () => {
      const ids = (await paneIds(page, 'eu')).filter((i) => !start.has(i));
      return ids.length >= 40;
    });
    const ids = (await paneIds(page, 'eu')).filter((i) => !start.has(i));
    assert.equal(ids.length, 40);
    assert.equal(new Set(ids).size, 40);
    assert.equal(await backlog(page, 'eu'), 0);
  });
});
