// End-to-end: channels in the browser UI, in headless Chromium against three regions sharing
// one Redis. Same setup and environment as browser.test.mjs (helpers in browser-helpers.mjs).
//
//   ui/build.sh && cargo build -p multiregion && npm ci --prefix e2e
//   node --test e2e/browser-channels.test.mjs
//
// The chat-rooms scenario (AS in room-1 and room-2, US in room-2 and room-3, EU in room-1 and
// room-3; posts into every room from its members, and into room-1 from US, which is not in
// it): each pane lists only its rooms, each room has the same events at the same offsets in
// every pane in it, the timeline shows one row per channel and offset and filters by channel.
// Then a pane's channel bar and publish form: names checked before anything is sent, follow
// and leave on the live socket, publish to any channel. Then the regions restart: every socket
// resumes each of its channels after its own offset, nothing lost or doubled. Last, the
// partition demo, run after the rooms: it puts every pane back on global first.
// Screenshots: artifacts/ui-channels.png (after the scenario), ui-channels-filter.png (the
// timeline on room-2), ui-channels-refused.png (the EU pane refusing two names),
// ui-channels-bar.png (EU in three rooms).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  BIN, REGIONS, UI_DIR, WAIT, root, start, startStack, stop, stopStack, until,
} from './browser-helpers.mjs';

/** The rooms of the scenario (ui/src/scenario/scripts.rs ROOM_MEMBERS). */
const MEMBERS = { as: ['room-1', 'room-2'], us: ['room-2', 'room-3'], eu: ['room-1', 'room-3'] };
/** What the scenario posts into each room: 5 from each member, and 3 from US into room-1. */
const POSTED = { 'room-1': 13, 'room-2': 10, 'room-3': 10 };
const ROOMS = Object.keys(POSTED);

const artifacts = path.join(root, 'artifacts');

describe('browser UI: channels', () => {
  let stack;
  let page;

  before(async () => {
    stack = await startStack(BIN, UI_DIR, REGIONS, 'e2e-channels');
    ({ page } = stack);
    mkdirSync(artifacts, { recursive: true });
  });

  after(async () => {
    await stopStack(stack);
  });

  /** A pane's events as listed (newest first): `{ channel, offset, id }`. */
  async function paneRows(r) {
    return page.$$eval(`[data-testid="event-${r}"]`, (els) => els.map((e) => ({
      channel: e.dataset.channel, offset: Number(e.dataset.offset), id: e.dataset.id,
    })));
  }

  /** The pane's events of `channel`, by offset: `[offset, id]`. */
  function ofChannel(rows, channel) {
    return rows.filter((e) => e.channel === channel).map((e) => [e.offset, e.id]).sort((a, b) => a[0] - b[0]);
  }

  /** The channels pane `r` follows, as its chips show them: `{ name: live }`. */
  async function chips(r) {
    const list = await page.$$eval(`[data-testid="follows-${r}"]`, (els) => els.map((e) => [e.dataset.channel, e.dataset.live === 'true']));
    return Object.fromEntries(list);
  }

  /** The timeline rows shown: `{ channel, offset, id }`, newest first. */
  async function timelineRows() {
    return page.$$eval('[data-testid="timeline-row"]', (els) => els.map((e) => ({
      channel: e.dataset.channel, offset: Number(e.dataset.offset), id: e.dataset.id,
    })));
  }

  /** Every pane lists only the channels it follows (`members`), each channel's events once,
   * in offset order, dense from 1 (or from where the pane joined it, `joined[r][c]`) up to
   * `counts[c]`, and the same event at each offset in every pane: one order per channel. */
  async function assertOneOrderPerChannel(members, counts, joined = {}) {
    const byChannel = {};
    for (const r of REGIONS) {
      const rows = await paneRows(r);
      const foreign = rows.filter((e) => !members[r].includes(e.channel));
      assert.deepEqual(foreign, [], `${r} lists only its channels (${members[r]})`);
      for (const c of members[r]) {
        const from = joined[r]?.[c] ?? 1;
        const mine = ofChannel(rows, c);
        assert.deepEqual(mine.map(([o]) => o), Array.from({ length: counts[c] - from + 1 }, (_, i) => from + i),
          `${r}: ${c}'s offsets ${from}..${counts[c]}, each once`);
        // Listed newest first, a channel's own events keep their offset order.
        const listed = rows.filter((e) => e.channel === c).map((e) => e.offset);
        assert.deepEqual(listed, [...listed].sort((x, y) => y - x), `${r}: ${c} listed in offset order`);
        byChannel[c] ??= new Map();
        for (const [offset, id] of mine) {
          const seen = byChannel[c].get(offset);
          assert.ok(seen === undefined || seen === id, `${c} #${offset}: ${seen} elsewhere, ${id} in ${r}`);
          byChannel[c].set(offset, id);
        }
      }
    }
    assert.equal(await page.locator('.pane .bad', { hasText: 'duplicates' }).count(), 0, 'no duplicate delivery');
    return Object.fromEntries(Object.entries(byChannel).map(([c, m]) => [c, [...m].sort((x, y) => x[0] - y[0])]));
  }

  test('the chat-rooms scenario: each pane gets only its rooms, each room in one order everywhere; the timeline filters by room', async () => {
    await page.selectOption('[data-testid="scenario-pick"]', 'Chat rooms');
    await page.click('[data-testid="scenario-run"]');
    await until('the chat-rooms scenario to finish', async () => {
      const state = await page.getAttribute('[data-testid="scenario-step"]', 'data-state');
      assert.notEqual(state, 'failed', await page.textContent('[data-testid="scenario-step"]'));
      return state === 'done';
    }, 120_000);
    assert.equal(await page.getAttribute('[data-testid="scenario-step"]', 'data-script'), 'Chat rooms');
    for (const r of REGIONS) {
      const live = Object.fromEntries(MEMBERS[r].map((c) => [c, true]));
      assert.deepEqual(await chips(r), live, `${r} follows its two rooms, both subscribed`);
      const counts = Object.fromEntries(MEMBERS[r].map((c) => [c, POSTED[c]]));
      await until(`${r}'s rooms complete`, async () => {
        const rows = await paneRows(r);
        return MEMBERS[r].every((c) => rows.filter((e) => e.channel === c).length >= counts[c]);
      });
    }
    const byChannel = await assertOneOrderPerChannel(MEMBERS, POSTED);
    // US posted 3 into room-1 and got its acks, but does not list them: it is not in room-1.
    assert.match(await page.textContent('[data-testid="sent-us"]'), /sent 13 · acked 13/);
    const fromUs = byChannel['room-1'].filter(([, id]) => id.startsWith('us-'));
    assert.equal(fromUs.length, 3, 'AS and EU got the posts of US into room-1');

    // The timeline: one row per channel and offset (three rows at offset 1), every hop there.
    const all = await timelineRows();
    assert.equal(all.length, 33, 'every event of every room, once');
    assert.deepEqual(all.filter((e) => e.offset === 1).map((e) => e.channel).sort(), ROOMS);
    for (const c of ROOMS) {
      const ids = all.filter((e) => e.channel === c).map((e) => [e.offset, e.id]).sort((a, b) => a[0] - b[0]);
      assert.deepEqual(ids, byChannel[c], `${c}: the timeline agrees with the panes`);
    }
    await page.setViewportSize({ width: 1280, height: 1290 });
    await page.screenshot({ path: path.join(artifacts, 'ui-channels.png'), fullPage: true });

    // Filtered to one room: only its rows, newest first, its count in the header.
    await page.selectOption('[data-testid="timeline-channel"]', 'room-2');
    await until('only room-2 on the timeline', async () => {
      const rows = await timelineRows();
      return rows.length === POSTED['room-2'] && rows.every((e) => e.channel === 'room-2');
    });
    assert.deepEqual((await timelineRows()).map((e) => e.offset), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    assert.equal(await page.getAttribute('[data-testid="timeline-count"]', 'data-count'), '10');
    await page.locator('[data-testid="timeline"]').scrollIntoViewIfNeeded();
    await page.locator('[data-testid="timeline"]').screenshot({ path: path.join(artifacts, 'ui-channels-filter.png') });
    await page.selectOption('[data-testid="timeline-channel"]', '');
    await until('every room on the timeline again', async () => (await timelineRows()).length === 33);
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('a channel bar refuses a bad name before sending, follows and leaves on the live socket; the form publishes to any channel', async () => {
    // Checked in the page with the protocol's rule: nothing is sent, the error says why.
    await page.fill('[data-testid="follow-input-eu"]', 'room 4');
    await page.click('[data-testid="follow-eu"]');
    const err = page.locator('[data-testid="follow-error-eu"]');
    await err.waitFor({ timeout: WAIT });
    assert.match(await err.textContent(), /A-Z a-z 0-9 _ - \. : \(found ' '\)/);
    assert.deepEqual(Object.keys(await chips('eu')), MEMBERS.eu);
    const sent = await page.textContent('[data-testid="sent-eu"]');
    await page.fill('[data-testid="publish-channel-eu"]', 'no/slash');
    await page.click('[data-testid="publish-eu"]');
    await page.locator('[data-testid="publish-error-eu"]', { hasText: "found '/'" }).waitFor({ timeout: WAIT });
    assert.equal(await page.textContent('[data-testid="sent-eu"]'), sent, 'nothing sent');
    await page.locator('[data-testid="pane-eu"]').screenshot({ path: path.join(artifacts, 'ui-channels-refused.png') });

    // EU joins room-2 too: subscribed on its open socket.
    await page.fill('[data-testid="follow-input-eu"]', 'room-2');
    await page.click('[data-testid="follow-eu"]');
    await until('EU subscribed to room-2', async () => (await chips('eu'))['room-2'] === true);
    await err.waitFor({ state: 'detached', timeout: WAIT });
    await page.screenshot({ path: path.join(artifacts, 'ui-channels-bar.png') });

    // AS posts into room-2 from its form: AS, US and now EU get it, at room-2's next offset.
    const text = `room-2 from the form ${Date.now()}`;
    await page.fill('[data-testid="publish-channel-as"]', 'room-2');
    await page.fill('[data-testid="text-as"]', text);
    await page.click('[data-testid="publish-as"]');
    for (const r of REGIONS) {
      const mine = page.locator(`[data-testid="event-${r}"]`, { hasText: text });
      await mine.waitFor({ timeout: WAIT });
      assert.equal(await mine.getAttribute('data-channel'), 'room-2');
      assert.equal(await mine.getAttribute('data-offset'), String(POSTED['room-2'] + 1));
    }
    // EU posts into a room nobody follows: acked, listed nowhere.
    const acked = async () => Number((await page.textContent('[data-testid="sent-eu"]')).match(/acked (\d+)/)[1]);
    const before = await acked();
    const lonely = `nobody listens ${Date.now()}`;
    await page.fill('[data-testid="publish-channel-eu"]', 'room-9');
    await page.fill('[data-testid="text-eu"]', lonely);
    await page.click('[data-testid="publish-eu"]');
    await until('EU\'s post acked', async () => (await acked()) === before + 1);
    await page.locator('[data-testid="publish-error-eu"]').waitFor({ state: 'detached', timeout: WAIT });
    assert.equal(await page.locator('.event', { hasText: lonely }).count(), 0);

    // EU leaves room-1: its chip and its events go; AS keeps them.
    await page.click('[data-testid="unfollow-eu-room-1"]');
    await until('EU out of room-1', async () => !('room-1' in await chips('eu')));
    await until('room-1 gone from the EU pane', async () => (await paneRows('eu')).every((e) => e.channel !== 'room-1'));
    assert.equal(ofChannel(await paneRows('as'), 'room-1').length, POSTED['room-1']);
  });

  test('after the regions restart every socket resumes each of its channels after its own offset', async () => {
    const members = { as: MEMBERS.as, us: MEMBERS.us, eu: ['room-3', 'room-2'] };
    const counts = { ...POSTED, 'room-2': POSTED['room-2'] + 1 };
    const joined = { eu: { 'room-2': counts['room-2'] } };
    await assertOneOrderPerChannel(members, counts, joined);
    const urls = [];
    page.on('websocket', (ws) => urls.push(decodeURIComponent(ws.url())));
    await stop(stack.server);
    stack.server = start(BIN, [
      'serve', '--redis', `redis://127.0.0.1:${stack.redisPort}`, '--redis-prefix', `e2e-channels-${process.pid}`,
      '--port-base', String(stack.base), '--ui-dir', UI_DIR,
    ]);
    // Each pane's resume names its channels and each one's own offset (and epoch).
    const resume = (r) => {
      const since = members[r].map((c) => `${c}:${counts[c]}`).join(',');
      return `:${stack.base + REGIONS.indexOf(r)}/ws?channels=${members[r].join(',')}&since=${since}&epoch=`;
    };
    await until('every pane to reconnect resuming each channel', async () =>
      REGIONS.every((r) => urls.some((u) => u.includes(resume(r)))), WAIT)
      .catch((e) => { throw new Error(`${e.message}\nsockets opened: ${urls.join(' | ')}\nserver log:\n${stack.server.log}`); });
    for (const r of REGIONS) {
      await page.locator(`[data-testid="status-${r}"][data-state="connected"]`).waitFor({ timeout: WAIT });
    }
    // One more post per room after the restart: every pane in it gets it once, next in line.
    for (const [room, from] of [['room-1', 'as'], ['room-2', 'us'], ['room-3', 'eu']]) {
      await page.fill(`[data-testid="publish-channel-${from}"]`, room);
      await page.fill(`[data-testid="text-${from}"]`, `after the restart in ${room}`);
      await page.click(`[data-testid="publish-${from}"]`);
      counts[room] += 1;
    }
    for (const r of REGIONS) {
      await until(`${r} to get the posts after the restart`, async () => {
        const rows = await paneRows(r);
        return members[r].every((c) => rows.filter((e) => e.channel === c).length === counts[c] - (joined[r]?.[c] ?? 1) + 1);
      });
    }
    await assertOneOrderPerChannel(members, counts, joined);
  });

  test('the partition demo, run after the rooms, first puts every pane back on global', async () => {
    await page.selectOption('[data-testid="scenario-pick"]', 'Partition');
    await page.click('[data-testid="scenario-run"]');
    await until('the partition demo to finish', async () => {
      const state = await page.getAttribute('[data-testid="scenario-step"]', 'data-state');
      assert.notEqual(state, 'failed', await page.textContent('[data-testid="scenario-step"]'));
      return state === 'done';
    }, 120_000);
    // 10 per region, then 10 from AS while EU was cut off: 40 on global, in every pane.
    for (const r of REGIONS) {
      assert.deepEqual(await chips(r), { global: true }, `${r} on global alone`);
      await until(`${r} to list the 40 events of the demo`, async () => (await paneRows(r)).length === 40);
    }
    await assertOneOrderPerChannel({ as: ['global'], us: ['global'], eu: ['global'] }, { global: 40 });
  });
});
