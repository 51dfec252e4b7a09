// End-to-end: presence in the browser UI, in headless Chromium against three regions sharing
// one Redis. Same setup and environment as browser.test.mjs (helpers in browser-helpers.mjs).
//
//   ui/build.sh && cargo build -p multiregion && npm ci --prefix e2e
//   node --test e2e/browser-presence.test.mjs
//
// The Presence scenario (the original's story): every pane's client a guest, then Ana logs in
// through US, Ben through EU, Chen through AS, and Chen fires an event. Every pane then lists
// exactly Ana (us), Ben (eu) and Chen (as), each with its region, and the timeline has each
// one's join once, told to every pane; Chen's event reaches every pane. Then members leave:
// the EU pane logs out (Ben leaves everywhere, the EU guest joins), and a plain WebSocket
// client named Dee connects to EU (every pane lists her) and disconnects (she is gone from
// every pane, with one leave row). Screenshots: artifacts/ui-presence.png (the scenario's end),
// ui-presence-timeline.png (its timeline: the joins, the leaves and Chen's event).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import {
  BIN, REGIONS, UI_DIR, root, startStack, stopStack, until,
} from './browser-helpers.mjs';

const artifacts = path.join(root, 'artifacts');

describe('browser UI: presence', () => {
  let stack;
  let page;

  before(async () => {
    stack = await startStack(BIN, UI_DIR, REGIONS, 'e2e-presence');
    ({ page } = stack);
    mkdirSync(artifacts, { recursive: true });
  });

  after(async () => {
    await stopStack(stack);
  });

  /** Who pane `r` lists on `global`, as `name@region`, sorted; and the count it shows. */
  async function online(r) {
    const names = await page.$$eval(`[data-testid="member-${r}"][data-channel="global"]`,
      (els) => els.map((e) => `${e.dataset.name}@${e.dataset.region}`));
    const count = await page.getAttribute(`[data-testid="online-${r}"][data-channel="global"]`, 'data-count');
    return { names: names.sort(), count: Number(count) };
  }

  /** Every pane lists exactly `want` (`name@region`), with that count. */
  async function everyPaneLists(what, want) {
    const sorted = [...want].sort();
    await until(what, async () => {
      for (const r of REGIONS) {
        const o = await online(r);
        if (JSON.stringify(o.names) !== JSON.stringify(sorted) || o.count !== sorted.length) return false;
      }
      return true;
    }, 30_000).catch(async (e) => {
      const seen = await Promise.all(REGIONS.map(async (r) => `${r}: ${JSON.stringify(await online(r))}`));
      throw new Error(`${e.message}\nwanted ${sorted}\n${seen.join('\n')}`);
    });
  }

  /** The timeline's presence rows of `name` of `kind`: per row, which panes were told. */
  async function changeRows(kind, name) {
    return page.$$eval(`[data-testid="timeline-presence"][data-kind="${kind}"]`, (els, { name, regions }) => els
      .filter((e) => e.dataset.name === name)
      .map((e) => ({
        region: e.dataset.region,
        channel: e.dataset.channel,
        own: e.dataset.own ?? null,
        waiting: e.dataset.waiting === 'true',
        told: regions.filter((r) => e.querySelector(`[data-hop="seen-${r}"]`)?.dataset.filled === 'true'),
      })), { name, regions: REGIONS });
  }

  /** One `kind` row of `name` (of `region`, on global), told to every pane but the one whose
   * own client it is (`own`: a connection is not told of its own leave, and its own join may
   * be in its list instead), waiting for none. */
  async function oneRowEverywhere(kind, name, region, own = null) {
    const others = REGIONS.filter((r) => r !== own);
    const ok = (rows) => rows.length === 1 && !rows[0].waiting && rows[0].own === own
      && others.every((r) => rows[0].told.includes(r));
    await until(`${name}'s ${kind} told to every pane`, async () => ok(await changeRows(kind, name)), 30_000)
      .catch(async (e) => {
        throw new Error(`${e.message}: ${JSON.stringify(await changeRows(kind, name))}`);
      });
    const [row] = await changeRows(kind, name);
    assert.deepEqual([row.region, row.channel], [region, 'global'], `${name}'s ${kind}`);
  }

  test('the Presence scenario: every pane lists Ana (us), Ben (eu), Chen (as); each join is one row; Chen\'s event reaches every region', async () => {
    await page.selectOption('[data-testid="scenario-pick"]', 'Presence');
    await page.click('[data-testid="scenario-run"]');
    await until('the presence scenario to finish', async () => {
      const state = await page.getAttribute('[data-testid="scenario-step"]', 'data-state');
      assert.notEqual(state, 'failed', await page.textContent('[data-testid="scenario-step"]'));
      return state === 'done';
    }, 120_000);
    assert.equal(await page.getAttribute('[data-testid="scenario-step"]', 'data-script'), 'Presence');
    await everyPaneLists('Ana, Ben and Chen in every pane', ['Ana@us', 'Ben@eu', 'Chen@as']);
    for (const [r, name] of [['us', 'Ana'], ['eu', 'Ben'], ['as', 'Chen']]) {
      assert.equal(await page.getAttribute(`[data-testid="me-${r}"]`, 'data-name'), name);
      assert.equal(await page.getAttribute(`[data-testid="me-${r}"]`, 'data-confirmed'), 'true');
      await oneRowEverywhere('join', name, r, r);
      // The guest each logged in from left once, everywhere.
      await oneRowEverywhere('leave', `guest ${r.toUpperCase()}`, r, r);
    }
    for (const r of REGIONS) {
      await page.locator(`[data-testid="event-${r}"]`, { hasText: 'Chen says hello from AS' }).waitFor();
      assert.equal(await page.locator(`[data-testid="event-${r}"]`, { hasText: 'Chen says hello' }).count(), 1,
        `${r} got Chen's event once`);
    }
    // Tall enough for the whole page: rows outside the viewport skip paint (content-visibility).
    await page.setViewportSize({ width: 1280, height: 1400 });
    await page.screenshot({ path: path.join(artifacts, 'ui-presence.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.locator('[data-testid="timeline"]').screenshot({ path: path.join(artifacts, 'ui-presence-timeline.png') });
  });

  test('a member who leaves disappears from every pane: a pane logging out, a plain client disconnecting', async () => {
    await page.click('[data-testid="logout-eu"]');
    await everyPaneLists('Ben gone, the EU guest back', ['Ana@us', 'Chen@as', 'guest EU@eu']);
    await oneRowEverywhere('leave', 'Ben', 'eu', 'eu');

    // A client that is not a pane: a plain WebSocket on EU, named Dee.
    const eu = stack.base + REGIONS.indexOf('eu');
    const ws = new WebSocket(`ws://127.0.0.1:${eu}/ws?name=Dee`);
    const welcome = await new Promise((resolve, reject) => {
      ws.once('message', (m) => resolve(JSON.parse(m.toString())));
      ws.once('error', reject);
    });
    assert.equal(welcome.member?.name, 'Dee', JSON.stringify(welcome));
    await everyPaneLists('Dee in every pane', ['Ana@us', 'Chen@as', 'guest EU@eu', 'Dee@eu']);
    await oneRowEverywhere('join', 'Dee', 'eu');
    const closed = new Promise((r) => ws.once('close', r));
    ws.close();
    await closed;
    await everyPaneLists('Dee gone from every pane', ['Ana@us', 'Chen@as', 'guest EU@eu']);
    await oneRowEverywhere('leave', 'Dee', 'eu');
    assert.equal(await page.locator('.pane .bad', { hasText: 'duplicates' }).count(), 0, 'no duplicate delivery');
  });
});
