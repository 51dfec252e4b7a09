// Harness for the desktop end-to-end test: Xvfb, tauri-driver, a W3C WebDriver client over
// plain fetch, and process/port inspection through /proc and `ss`. No npm dependencies.

import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll `fn` until it returns a truthy value; fail with `what` (and the last error) at the deadline. */
export async function waitFor(what, fn, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await sleep(200);
  }
}

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Hold `port` on 127.0.0.1 (to prove the app falls back); null if someone else holds it. */
export function holdPort(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(null));
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

/** Children started here, killed (whole process group) by `killAll`. */
const started = [];

/** Spawn a long-running helper in its own process group; its output goes to `logFile`. */
export function startProcess(cmd, args, { env, logFile } = {}) {
  const out = logFile ? fs.openSync(logFile, 'w') : 'ignore';
  const child = spawn(cmd, args, { env, detached: true, stdio: ['ignore', out, out] });
  started.push(child);
  child.once('error', () => {});
  return child;
}

/** Kill one helper and its process group. */
export function stopProcess(child) {
  if (child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      signal(child.pid, 'SIGKILL');
    }
  }
}

/** Kill every helper started here (and their process groups), plus extra pids. */
export function killAll(extraPids = []) {
  for (const pid of extraPids) signal(pid, 'SIGKILL');
  for (const child of started.splice(0)) stopProcess(child);
}

export function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Use $DISPLAY if it works, else start Xvfb on a free display. Returns the DISPLAY value. */
export async function ensureDisplay() {
  if (process.env.DISPLAY && displayWorks(process.env.DISPLAY)) return process.env.DISPLAY;
  let n = 99;
  while (fs.existsSync(`/tmp/.X${n}-lock`) || fs.existsSync(`/tmp/.X11-unix/X${n}`)) n++;
  startProcess('Xvfb', [`:${n}`, '-screen', '0', '1280x800x24', '-nolisten', 'tcp']);
  await waitFor(`Xvfb on :${n}`, () => fs.existsSync(`/tmp/.X11-unix/X${n}`), 10_000);
  return `:${n}`;
}

function displayWorks(display) {
  const m = /^:(\d+)/.exec(display);
  return m ? fs.existsSync(`/tmp/.X11-unix/X${m[1]}`) : true;
}

/** Minimal W3C WebDriver client. */
export class WebDriver {
  constructor(base) {
    this.base = base;
    this.session = null;
  }

  async call(method, path, body) {
    const res = await fetch(this.base + path, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) {
      throw new Error(`${method} ${path}: HTTP ${res.status} ${JSON.stringify(json.value ?? json)}`);
    }
    return json.value;
  }

  s(path) {
    return `/session/${this.session}${path}`;
  }

  async newSession(application) {
    const value = await this.call('POST', '/session', {
      capabilities: { alwaysMatch: { 'tauri:options': { application } } },
    });
    this.session = value.sessionId;
    return value;
  }

  async deleteSession() {
    if (!this.session) return;
    const id = this.session;
    this.session = null;
    await this.call('DELETE', `/session/${id}`).catch(() => {});
  }

  /** Run `script` in the page (sync). */
  exec(script, args = []) {
    return this.call('POST', this.s('/execute/sync'), { script, args });
  }

  /** Invoke an app command through the page's IPC; rejects with the command's error. */
  async invoke(cmd, args = {}) {
    const r = await this.call('POST', this.s('/execute/async'), {
      script: `const done = arguments[arguments.length - 1];
        window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
          .then((ok) => done({ ok }), (err) => done({ err: String(err) }));`,
      args: [cmd, args],
    });
    if ('err' in r) throw new Error(r.err);
    return r.ok;
  }

  /** The element for a CSS selector (its WebDriver reference), or throw. */
  async find(css) {
    const value = await this.call('POST', this.s('/element'), { using: 'css selector', value: css });
    return Object.values(value)[0];
  }

  /** Clear an input, type `text` into it, and check it holds exactly that. */
  async fill(css, text) {
    const el = await this.find(css);
    await this.call('POST', this.s(`/element/${el}/clear`), {});
    if (text) await this.call('POST', this.s(`/element/${el}/value`), { text });
    const value = await this.call('GET', this.s(`/element/${el}/property/value`));
    if (value !== text) throw new Error(`${css} holds ${JSON.stringify(value)}, not ${JSON.stringify(text)}`);
  }

  /** Whether an element matches `css` now. */
  has(css) {
    return this.exec('return !!document.querySelector(arguments[0]);', [css]);
  }

  /** The text of the element matching `css`, or null. */
  text(css) {
    return this.exec('const e = document.querySelector(arguments[0]); return e && e.textContent;', [css]);
  }

  async click(css) {
    const el = await this.find(css);
    await this.call('POST', this.s(`/element/${el}/click`), {});
  }

  async screenshot() {
    return Buffer.from(await this.call('GET', this.s('/screenshot')), 'base64');
  }
}

/** Parent pid of `pid` from /proc, or null if it is gone. */
function ppid(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/** Every live descendant of `root`, with its command name and executable. */
export function descendants(root) {
  const all = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number);
  const byParent = new Map();
  for (const pid of all) {
    const p = ppid(pid);
    if (p !== null) byParent.set(p, [...(byParent.get(p) ?? []), pid]);
  }
  const out = [];
  const queue = [...(byParent.get(root) ?? [])];
  while (queue.length) {
    const pid = queue.shift();
    out.push({ pid, comm: readProc(pid, 'comm').trim(), exe: readLink(`/proc/${pid}/exe`) });
    queue.push(...(byParent.get(pid) ?? []));
  }
  return out;
}

function readProc(pid, file) {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

function readLink(p) {
  try {
    return fs.readlinkSync(p);
  } catch {
    return '';
  }
}

/** Whether `pid` is running (a zombie waiting to be reaped does not count). */
export function alive(pid) {
  const stat = readProc(pid, 'stat');
  if (!stat) return false;
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** Listening TCP sockets as `{ port, pids }`, from `ss -ltnpH`. */
export function listening() {
  const out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const cols = line.trim().split(/\s+/);
      const port = Number(cols[3].slice(cols[3].lastIndexOf(':') + 1));
      const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
      return { port, pids };
    });
}

/** Ports that `pids` listen on. */
export function portsOf(pids) {
  const set = new Set(pids);
  return listening()
    .filter((l) => l.pids.some((p) => set.has(p)))
    .map((l) => l.port);
}
