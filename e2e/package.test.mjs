// Install test of the desktop app's Debian package (`cargo xtask package`): `dpkg -i` it, check
// the files it put in place, start the installed binary under Xvfb (through tauri-driver, from
// an empty directory, so the UI it shows can only come from the binary itself), check the UI
// and the three regions' /health, stop it with SIGTERM, `dpkg --purge` it, and check that
// nothing is left: no file, no process, no listening socket.
//
// The package is $MULTIREGION_DEB (cargo xtask test passes the one it built), else the newest
// target/debian/multiregion-desktop_*.deb. Run from the repo root:
//   cargo xtask package && node --test e2e/package.test.mjs
// Needs root (CI runs as root; dpkg installs system-wide). A developer who is not root may set
// MULTIREGION_PACKAGE=skip to skip it on purpose (ignored when CI is set). Refuses to run when
// the package is installed already (it would remove a person's install).
// Needs: dpkg, desktop-file-validate, Xvfb (unless $DISPLAY works), tauri-driver,
// WebKitWebDriver, `ss`.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  WebDriver, alive, descendants, ensureDisplay, freePort, killAll, listening, portsOf, sleep,
  startProcess, stopProcess, waitFor,
} from './desktop-harness.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NAME = 'multiregion-desktop';
const BIN = `/usr/bin/${NAME}`;
const DESKTOP_FILE = `/usr/share/applications/${NAME}.desktop`;
const ICON_SIZES = [32, 48, 64, 128, 256, 512];
const REGIONS = ['as', 'us', 'eu'];
const DRIVER = process.env.TAURI_DRIVER ?? 'tauri-driver';
const NATIVE = process.env.WEBKIT_WEBDRIVER ?? '/usr/bin/WebKitWebDriver';
const ARTIFACTS = path.join(ROOT, 'artifacts');

const isRoot = process.getuid?.() === 0;
const optedOut = process.env.MULTIREGION_PACKAGE === 'skip' && !process.env.CI;

/** The package file to test. */
function debFile() {
  if (process.env.MULTIREGION_DEB) return path.resolve(ROOT, process.env.MULTIREGION_DEB);
  const dir = path.join(process.env.CARGO_TARGET_DIR ?? path.join(ROOT, 'target'), 'debian');
  const debs = fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((f) => f.startsWith(`${NAME}_`) && f.endsWith('.deb'))
      .map((f) => path.join(dir, f))
      .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)
    : [];
  assert.ok(debs.length, `no package in ${dir}: build it with cargo xtask package, or set MULTIREGION_DEB`);
  return debs[0];
}

const run = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** dpkg's status of the package: "install ok installed", or '' when dpkg does not know it. */
function status() {
  try {
    return run('dpkg-query', ['-W', '-f=${Status}', NAME]).trim();
  } catch {
    return '';
  }
}
/** Whether dpkg has the package in any state but gone (installed, half-installed, config-files). */
const known = () => status() !== '' && !status().endsWith('not-installed');

/** Width and height of a PNG, from its IHDR chunk. */
function pngSize(file) {
  const b = fs.readFileSync(file);
  assert.equal(b.subarray(1, 4).toString('latin1'), 'PNG', `${file} is a PNG`);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

/** Pids of running processes whose executable is the installed binary (or was, if deleted). */
function installedProcesses() {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/exe`).startsWith(BIN) && alive(pid);
    } catch {
      return false;
    }
  });
}

let weInstalled = false;
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mrs-package-'));

after(() => {
  killAll(installedProcesses());
  // Never leave the package behind when a step failed half-way.
  if (weInstalled && known()) {
    try {
      run('dpkg', ['--purge', NAME]);
    } catch (e) {
      console.error(`could not purge ${NAME}: ${e.stderr ?? e.message}`);
    }
  }
  fs.rmSync(scratch, { recursive: true, force: true });
});

test('the Debian package installs, its binary serves the UI and three regions, and it removes cleanly', {
  skip: optedOut && !isRoot ? 'MULTIREGION_PACKAGE=skip and not root' : false,
}, async () => {
  assert.ok(isRoot, 'the install test needs root (dpkg -i); set MULTIREGION_PACKAGE=skip to skip it outside CI');
  const deb = debFile();
  console.log(`# package ${deb}: ${(fs.statSync(deb).size / 1048576).toFixed(1)} MiB`);
  assert.ok(!known(), `${NAME} is installed already (${status()}): remove it first (dpkg --purge ${NAME})`);

  // The control fields: the name, and Depends computed from the binary's libraries.
  const fields = run('dpkg-deb', ['-f', deb, 'Package', 'Architecture', 'Depends']);
  assert.match(fields, new RegExp(`^Package: ${NAME}$`, 'm'));
  assert.match(fields, /^Depends: .*libwebkit2gtk-4\.1-0/m, 'Depends names WebKitGTK');
  assert.match(fields, /^Depends: .*libgtk-3-0/m, 'Depends names GTK 3');

  weInstalled = true;
  run('dpkg', ['-i', deb]);
  assert.equal(status(), 'install ok installed');

  // The files: the binary, the .desktop entry, the icon set.
  const files = run('dpkg', ['-L', NAME]).split('\n').filter((f) => f && fs.statSync(f).isFile());
  const icons = ICON_SIZES.map((s) => `/usr/share/icons/hicolor/${s}x${s}/apps/${NAME}.png`);
  const svg = `/usr/share/icons/hicolor/scalable/apps/${NAME}.svg`;
  for (const f of [BIN, DESKTOP_FILE, ...icons, svg]) assert.ok(files.includes(f), `the package installs ${f}`);
  assert.ok(fs.statSync(BIN).mode & 0o111, `${BIN} is executable`);
  ICON_SIZES.forEach((s, i) => assert.deepEqual(pngSize(icons[i]), [s, s], `${icons[i]} is ${s}x${s}`));
  assert.match(fs.readFileSync(svg, 'utf8'), /<svg[\s>]/, 'the scalable icon is an SVG');
  const entry = Object.fromEntries(fs.readFileSync(DESKTOP_FILE, 'utf8').split('\n')
    .filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.equal(entry.Type, 'Application');
  assert.equal(entry.Name, 'Multi-Region Servers');
  assert.equal(entry.Exec, NAME, 'Exec runs the binary from the PATH');
  assert.ok(fs.existsSync(path.join('/usr/bin', entry.Exec.split(' ')[0])), 'Exec names the installed binary');
  assert.equal(entry.Icon, NAME, 'Icon names the installed icon set');
  run('desktop-file-validate', [DESKTOP_FILE]); // throws, with its complaints, if not valid

  // Start it the way a menu would, from a directory with no ui/dist: HOME is a scratch directory
  // (the app's log goes there), the embedded broker keeps the test free of Redis.
  process.chdir(scratch);
  assert.ok(!fs.existsSync('ui/dist'), 'no ui/dist next to the app');
  const display = await ensureDisplay();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const env = { ...process.env, DISPLAY: display, HOME: scratch, MULTIREGION_BROKER: 'embedded' };
  for (const v of ['REDIS_URL', 'XDG_DATA_HOME', 'XDG_CONFIG_HOME', 'XDG_CACHE_HOME']) delete env[v];
  const port = await freePort();
  const nativePort = await freePort();
  const logFile = path.join(ARTIFACTS, 'package-driver.log');
  const driver = startProcess(DRIVER,
    ['--port', String(port), '--native-port', String(nativePort), '--native-driver', NATIVE],
    { env, logFile });
  const wd = new WebDriver(`http://127.0.0.1:${port}`);
  let ports = [];
  let pids = [];
  try {
    await waitFor('tauri-driver to listen', () => wd.call('GET', '/status').then(() => true), 20_000);
    await wd.newSession(BIN);
    const app = await waitFor('the installed app process', () =>
      descendants(driver.pid).find((p) => p.exe === BIN));

    // The UI, from the binary's embedded assets: three panes, each connected to its region.
    await waitFor('the three panes', async () =>
      (await wd.exec(`return document.querySelectorAll('[data-testid^="pane-"]').length;`)) >= 3);
    const origin = await wd.exec('return location.origin;');
    assert.match(origin, /^tauri:\/\//, `the page comes from the app's own protocol (${origin})`);
    const regions = await wd.invoke('regions');
    assert.deepEqual(regions.map((r) => r.name), REGIONS);
    for (const { name, url } of regions) {
      const health = await waitFor(`GET ${url}/health with the UI connected`, async () => {
        const h = await (await fetch(`${url}/health`)).json();
        return h.connected && h.clients >= 1 && h;
      });
      assert.equal(health.region, name, `${url} is region ${name}`);
      assert.equal(health.broker, 'embedded');
    }
    await sleep(300); // let the last frame paint
    fs.writeFileSync(path.join(ARTIFACTS, 'package-installed.png'), await wd.screenshot());

    pids = [app.pid, ...descendants(app.pid).map((p) => p.pid)];
    ports = portsOf(pids);
    for (const { url } of regions) assert.ok(ports.includes(Number(new URL(url).port)), `the app listens on ${url}`);

    // Stop it as a session's end would: SIGTERM, on which the app stops its regions and exits.
    process.kill(app.pid, 'SIGTERM');
    await waitFor('the installed app to exit after SIGTERM', () => !alive(app.pid), 30_000);
    assert.match(fs.readFileSync(logFile, 'utf8'), /regions stopped/, 'the app stopped its regions');
  } finally {
    await wd.deleteSession();
    stopProcess(driver);
  }
  await waitFor('every process of the app to end', () => !pids.some(alive), 15_000).catch(() => {});
  assert.deepEqual(pids.filter(alive), [], 'no process of the app is left');

  // Remove it, configuration included, and check nothing of it is left.
  run('dpkg', ['--purge', NAME]);
  assert.ok(!known(), `dpkg no longer has the package (${status()})`);
  assert.deepEqual(files.filter((f) => fs.existsSync(f)), [], 'every file of the package is gone');
  assert.deepEqual(installedProcesses(), [], `no process runs ${BIN}`);
  const open = listening().filter((l) => l.pids.some((p) => pids.includes(p)));
  assert.deepEqual(open, [], `no socket of the app listens (it had ${ports.join(', ')})`);
});
