// End-to-end across hosts: the README's multi-machine recipe on the network-namespace testbed
// (`cargo xtask testbed up`, root only), and the browser UI opened at region AS's testbed
// address with the token in the URL. Chromium runs in the root namespace, which reaches every
// host over the testbed's bridge; the page connects to the three regions at the URLs
// `/regions` advertises, sending the token.
//
//   cargo xtask testbed up --token T   (what before() runs)
//   node --test e2e/testbed.test.mjs
//
// Needs root (CI runs as root). A developer who is not root may set MULTIREGION_TESTBED=skip
// to skip it on purpose (ignored when CI is set). Env: CHROMIUM (default /usr/bin/chromium).
// The testbed is removed in after() (`cargo xtask testbed down`), also on failure.

import { after, before, describe, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { WAIT, openUi, root } from './browser-helpers.mjs';

const REGIONS = ['as', 'us', 'eu'];
const TOKEN = `e2e-${process.pid}-${Date.now()}`;
const AS_PAGE = 'http://10.203.77.11:4000';
const optedOut = process.env.MULTIREGION_TESTBED === 'skip' && !process.env.CI;

function xtask(...args) {
  const r = spawnSync(process.env.CARGO ?? 'cargo', ['run', '--quiet', '-p', 'xtask', '--', ...args], {
    cwd: root, stdio: 'inherit', timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`cargo xtask ${args.join(' ')} failed (${r.status ?? r.signal})`);
}

describe('browser UI across testbed hosts', { skip: optedOut && 'MULTIREGION_TESTBED=skip' }, () => {
  let browser;
  let page;

  before(async () => {
    if (process.getuid?.() !== 0) {
      throw new Error('the testbed needs root (ip netns, iptables); set MULTIREGION_TESTBED=skip to skip it on purpose');
    }
    xtask('testbed', 'up', '--token', TOKEN);
    ({ browser, page } = await openUi(`${AS_PAGE}/?token=${encodeURIComponent(TOKEN)}`, REGIONS,
      ' (the page must send ?token= on every socket)'));
  });

  after(async () => {
    await browser?.close().catch(() => {});
    if (!optedOut) {
      try { xtask('testbed', 'down'); } catch (e) { console.error(e.message); }
    }
  });

  test('an event published in EU reaches all three panes of the page served by AS', async () => {
    const text = `across hosts ${Date.now()}`;
    await page.fill('[data-testid="kind-eu"]', 'greeting');
    await page.fill('[data-testid="text-eu"]', text);
    await page.click('[data-testid="publish-eu"]');
    const mine = page.locator('[data-testid="event-eu"]', { hasText: text });
    await mine.waitFor({ timeout: WAIT });
    const id = await mine.getAttribute('data-id');
    for (const r of REGIONS) {
      await page.locator(`[data-testid="event-${r}"][data-id="${id}"]`).waitFor({ timeout: WAIT });
    }
  });
});
