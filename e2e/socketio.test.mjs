// End-to-end: the original system's clients (socket.io-client 4) against `multiregion serve`
// on a real, private Redis: every region serves Socket.IO at /socket.io/ on its own port.
//
//   cargo build -p server-core && npm ci --prefix e2e
//   node --test e2e/socketio.test.mjs
//
// Env: MULTIREGION_BIN (default target/debug/multiregion), REDIS_SERVER (default redis-server).
// Everything started here is stopped in after(), also on failure. No timing assertions: every
// condition is awaited with a generous timeout, and "no duplicate" is checked by sending a
// last marker after the messages: the log's order puts any duplicate before it.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { WAIT, freePorts, root, start, startRedis, stop, until } from './browser-helpers.mjs';

const bin = path.resolve(root, process.env.MULTIREGION_BIN ?? 'target/debug/multiregion');
const REGIONS = ['as', 'us', 'eu'];
const TRANSPORTS = {
  polling: { transports: ['polling'] },
  websocket: { transports: ['websocket'] },
  upgrade: { transports: ['polling', 'websocket'] },
};
const TOKEN = 's3cret';

/** A connected socket.io client that records every `broadcast`, `event` and `error`. */
function connect(url, opts = {}) {
  const socket = io(url, { reconnection: false, forceNew: true, timeout: WAIT, ...opts });
  socket.broadcasts = [];
  socket.events = [];
  socket.errors = [];
  socket.on('broadcast', (text) => socket.broadcasts.push(text));
  socket.on('event', (event) => socket.events.push(event));
  socket.on('error', (error) => socket.errors.push(error));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (e) => {
      socket.close();
      reject(e);
    });
  });
}

/** The connect error a refused client gets. */
async function refused(url, opts) {
  try {
    const s = await connect(url, opts);
    s.close();
  } catch (e) {
    return e;
  }
  throw new Error('the connect was accepted');
}

/** A native `/ws` client that records every event frame. */
async function wsClient(url) {
  const ws = new WebSocket(url);
  ws.frames = [];
  ws.on('message', (data) => ws.frames.push(JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  await until('the welcome frame', () => ws.frames.some((f) => f.type === 'welcome'));
  return ws;
}

const withPrefix = (list, prefix) => list.filter((t) => t.startsWith(prefix));

/**
 * The value of one sample of a `/metrics` text: `name` with exactly `labels` (besides
 * `region`), 0 when absent. The label values read here have no commas or quotes to escape.
 */
function metric(text, name, labels) {
  const want = JSON.stringify(Object.entries(labels).sort());
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.startsWith(`${name}{`)) continue;
    const [series, value] = [line.slice(0, line.lastIndexOf(' ')), line.slice(line.lastIndexOf(' ') + 1)];
    const pairs = series.slice(name.length + 1, -1).split(',').map((kv) => {
      const [k, v] = kv.split('=');
      return [k, v.slice(1, -1)];
    }).filter(([k]) => k !== 'region');
    if (JSON.stringify(pairs.sort()) === want) return Number(value);
  }
  return 0;
}

describe('Socket.IO on every region', () => {
  let redis;
  let server;
  let guarded;
  let base;
  let guardedPort;
  const open = [];
  const url = (region) => `http://127.0.0.1:${base + REGIONS.indexOf(region)}`;
  const keep = (s) => {
    open.push(s);
    return s;
  };

  before(async () => {
    if (!existsSync(bin)) {
      throw new Error(`${bin} is missing: build it with \`cargo build -p server-core\` (or set MULTIREGION_BIN)`);
    }
    redis = await startRedis();
    const redisUrl = `redis://127.0.0.1:${redis.port}`;
    base = await freePorts(3);
    server = start(bin, ['serve', '--redis', redisUrl, '--redis-prefix', `sio-${process.pid}`,
      '--port-base', String(base)]);
    // One more region with a token, on its own log.
    guardedPort = await freePorts(1);
    guarded = start(bin, ['serve', '--redis', redisUrl, '--redis-prefix', `sio-guarded-${process.pid}`,
      '--region', 'as', '--port', String(guardedPort), '--token', TOKEN]);
    const health = (port) => fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok);
    await until('every region to answer /health', async () => {
      const answers = await Promise.all([base, base + 1, base + 2, guardedPort].map(health));
      return answers.every(Boolean);
    }, 30_000).catch((e) => {
      throw new Error(`${e.message}\nserver log:\n${server.log}\nguarded log:\n${guarded.log}`);
    });
  });

  after(async () => {
    for (const s of open) s.close?.();
    await stop(server);
    await stop(guarded);
    await stop(redis);
  });

  test('every client of every region gets each broadcast exactly once, in the order sent', async () => {
    const clients = [];
    for (const r of REGIONS) {
      for (const [name, opts] of Object.entries(TRANSPORTS)) {
        const s = keep(await connect(url(r), opts));
        clients.push({ label: `${r}/${name}`, s });
      }
    }
    for (const { label, s } of clients.filter((c) => c.label.endsWith('/upgrade'))) {
      await until(`${label} to upgrade to WebSocket`, () => s.io.engine.transport.name === 'websocket');
    }
    const sender = keep(await connect(url('as'), TRANSPORTS.websocket));
    const run = `run-${Date.now()}`;
    const sent = Array.from({ length: 200 }, (_, i) => `${run} ${i}`);
    for (const text of sent) sender.emit('message', text);
    const marker = `${run} end`;
    sender.emit('message', marker);
    const expected = [...sent, marker].map((t) => `[From AS] ${t}`);
    for (const { label, s } of [...clients, { label: 'sender', s: sender }]) {
      await until(`${label} to get the marker`, () => s.broadcasts.includes(`[From AS] ${marker}`));
      assert.deepEqual(withPrefix(s.broadcasts, `[From AS] ${run}`), expected, `${label}: each broadcast once, in order`);
      const events = s.events.filter((e) => e.payload?.text?.startsWith(run));
      assert.equal(events.length, expected.length, `${label}: one event per broadcast`);
      for (const [i, e] of events.entries()) {
        assert.equal(e.origin, 'as');
        assert.equal(e.kind, 'message');
        assert.deepEqual(e.payload, { text: expected[i].slice('[From AS] '.length) });
        assert.match(e.id, /^sio-/);
        for (const hop of ['published_at', 'stored_at', 'received_at']) assert.equal(typeof e[hop], 'number', hop);
        if (i > 0) assert.equal(e.offset, events[i - 1].offset + 1, `${label}: dense offsets`);
      }
      assert.deepEqual(s.errors, [], `${label}: no error`);
    }
    // Every region saw the same offsets.
    const offsets = clients.map(({ s }) => s.events.filter((e) => e.payload?.text?.startsWith(run)).map((e) => e.offset));
    for (const o of offsets) assert.deepEqual(o, offsets[0]);
  });

  test('a /ws publish reaches Socket.IO clients and a Socket.IO message reaches /ws clients', async () => {
    const sio = {};
    for (const r of REGIONS) sio[r] = keep(await connect(url(r), TRANSPORTS.websocket));
    const native = keep(await wsClient(`${url('as').replace('http', 'ws')}/ws`));
    const publisher = keep(await wsClient(`${url('us').replace('http', 'ws')}/ws`));
    const id = `ws-${Date.now()}`;
    publisher.send(JSON.stringify({ type: 'publish', id, kind: 'click', payload: { text: 'from ws' } }));
    publisher.send(JSON.stringify({ type: 'publish', id: `${id}-n`, kind: 'click', payload: { n: 1 } }));
    for (const r of REGIONS) {
      await until(`${r} to get both /ws publishes`, () => sio[r].events.some((e) => e.id === `${id}-n`));
      assert.deepEqual(withPrefix(sio[r].broadcasts, '[From US]'), ['[From US] from ws', '[From US] click: {"n":1}']);
      assert.equal(sio[r].events.find((e) => e.id === id).kind, 'click');
    }
    const text = `from socket.io ${Date.now()}`;
    sio.eu.emit('message', text);
    await until('the /ws client to get the Socket.IO message', () =>
      native.frames.some((f) => f.type === 'event' && f.payload?.text === text));
    const event = native.frames.find((f) => f.type === 'event' && f.payload?.text === text);
    assert.equal(event.origin, 'eu');
    assert.equal(event.kind, 'message');
    assert.match(event.id, /^sio-/);
    assert.equal(native.frames.filter((f) => f.id === event.id).length, 1, 'once');
  });

  test('rooms are channels: join gets a room\'s events, leave stops them, global stays', async () => {
    const member = keep(await connect(url('eu'), TRANSPORTS.websocket));
    const outsider = keep(await connect(url('us'), TRANSPORTS.polling));
    const publisher = keep(await wsClient(`${url('as').replace('http', 'ws')}/ws`));
    const room = `room-${Date.now()}`;
    const joined = await member.emitWithAck('join', room);
    assert.deepEqual(joined, { ok: true, channel: room, offset: 0 });
    const id = `in-${Date.now()}`;
    const publish = (i, channel, text) => publisher.send(JSON.stringify(
      { type: 'publish', id: `${id}-${i}`, kind: 'message', channel, payload: { text } }));
    publish(1, room, 'hello room');
    publish(2, 'global', 'hello all');
    await until('the member to get both', () => member.events.some((e) => e.id === `${id}-2`)
      && member.events.some((e) => e.id === `${id}-1`));
    await until('the outsider to get global', () => outsider.events.some((e) => e.id === `${id}-2`));
    const inRoom = member.events.find((e) => e.id === `${id}-1`);
    assert.equal(inRoom.channel, room);
    assert.equal(inRoom.offset, 1);
    assert.ok(member.broadcasts.includes('[From AS] hello room'));
    assert.ok(!outsider.events.some((e) => e.id === `${id}-1`), 'a room reaches its members only');
    const left = await member.emitWithAck('leave', room);
    assert.deepEqual(left, { ok: true, channel: room });
    publish(3, room, 'after leaving');
    publish(4, 'global', 'marker');
    await until('the member to get the marker', () => member.events.some((e) => e.id === `${id}-4`));
    assert.ok(!member.events.some((e) => e.id === `${id}-3`), 'nothing of the room after leave');
    const bad = await member.emitWithAck('join', 'no spaces');
    assert.equal(bad.ok, false);
    assert.equal(bad.error.code, 'invalid_channel');
    await until('the error event', () => member.errors.some((e) => e.code === 'invalid_channel'));
  });

  test('a Socket.IO client is a member of global, named by its auth, seen by /ws clients', async () => {
    const name = `Ana ${process.pid}`;
    const watcher = keep(await wsClient(`${url('eu').replace('http', 'ws')}/ws?presence=1&name=watcher`));
    await until('the first presence list', () => watcher.frames.some((f) => f.type === 'presence'));
    const page = await connect(url('us'), { ...TRANSPORTS.upgrade, auth: { name } });
    const joined = () => watcher.frames.find((f) => f.type === 'join' && f.member.name === name);
    await until('the join of the Socket.IO client', () => joined() !== undefined);
    assert.equal(joined().channel, 'global');
    assert.equal(joined().member.region, 'us');
    const listed = await (await fetch(`${url('as')}/presence?channel=global`)).json();
    assert.ok(listed.members.some((m) => m.id === joined().member.id), 'GET /presence lists it');
    assert.equal(listed.count, listed.members.length);
    page.close();
    await until('its leave', () => watcher.frames.some((f) => f.type === 'leave'
      && f.member.id === joined().member.id));
    const bad = await refused(url('us'), { ...TRANSPORTS.websocket, auth: { name: '<b>' } });
    assert.match(bad.message, /^invalid_name/);
  });

  test('bad input gets an error event, stores nothing, and the connection carries on', async () => {
    const client = keep(await connect(url('as'), TRANSPORTS.websocket));
    const observer = keep(await connect(url('eu'), TRANSPORTS.polling));
    const before = (await (await fetch(`${url('as')}/health`)).json()).offset;
    const cases = [
      ['a number', () => client.emit('message', 42), 'invalid_frame'],
      ['an object', () => client.emit('message', { text: 'x' }), 'invalid_frame'],
      ['two strings', () => client.emit('message', 'a', 'b'), 'invalid_frame'],
      ['no argument', () => client.emit('message'), 'invalid_frame'],
      ['binary', () => client.emit('message', Buffer.from([1, 2, 3])), 'binary_not_supported'],
      ['an oversized text', () => client.emit('message', 'x'.repeat(20_000)), 'payload_too_large'],
      ['an unknown event', () => client.emit('shout', 'hi'), 'unknown_type'],
    ];
    for (const [what, send, code] of cases) {
      const seen = client.errors.length;
      send();
      await until(`an error for ${what}`, () => client.errors.length > seen);
      assert.equal(client.errors[seen].code, code, what);
      assert.equal(client.errors[seen].temporary, false, what);
    }
    // An ack says the same.
    const answer = await client.timeout(WAIT).emitWithAck('message', 7);
    assert.equal(answer.ok, false);
    assert.equal(answer.error.code, 'invalid_frame');
    const good = `still here ${Date.now()}`;
    const ack = await client.timeout(WAIT).emitWithAck('message', good);
    assert.equal(ack.ok, true);
    assert.equal(ack.offset, before + 1, 'nothing was stored for the bad input');
    await until('the observer to get the good message', () => observer.broadcasts.includes(`[From AS] ${good}`));
    assert.equal(client.connected, true);
  });

  test('a malformed packet closes only that socket', async () => {
    const observer = keep(await connect(url('us'), TRANSPORTS.websocket));
    const raw = new WebSocket(`${url('as').replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const closed = new Promise((resolve) => raw.once('close', resolve));
    await new Promise((resolve, reject) => { raw.once('open', resolve); raw.once('error', reject); });
    raw.send('40');
    raw.send('42["message",{{{');
    raw.send('4zzz');
    await closed;
    const after = keep(await connect(url('as'), TRANSPORTS.websocket));
    const text = `after garbage ${Date.now()}`;
    after.emit('message', text);
    await until('the observer to get the next message', () => observer.broadcasts.includes(`[From AS] ${text}`));
  });

  test('foreign origins are refused; loopback pages get CORS headers', async () => {
    const evil = await refused(url('as'), { transports: ['polling'], extraHeaders: { Origin: 'http://evil.example' } });
    assert.match(String(evil.description?.status ?? evil.message), /403|xhr poll error/);
    const page = 'http://localhost:4000';
    const s = keep(await connect(url('as'), { transports: ['polling'], extraHeaders: { Origin: page } }));
    assert.equal(s.connected, true);
    const res = await fetch(`${url('as')}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: page } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), page);
    const foreign = await fetch(`${url('as')}/socket.io/?EIO=4&transport=polling`, { headers: { Origin: 'http://evil.example' } });
    assert.equal(foreign.status, 403);
    assert.equal((await foreign.json()).code, 'forbidden_origin');
  });

  test('with --token, a connect needs the token in auth or the query', async () => {
    const at = `http://127.0.0.1:${guardedPort}`;
    const none = await refused(at, TRANSPORTS.websocket);
    assert.match(none.message, /unauthorized/);
    const wrong = await refused(at, { ...TRANSPORTS.polling, auth: { token: 'nope' } });
    assert.match(wrong.message, /unauthorized/);
    keep(await connect(at, { ...TRANSPORTS.websocket, auth: { token: TOKEN } }));
    keep(await connect(at, { ...TRANSPORTS.polling, query: { token: TOKEN } }));
  });

  test('a flood over the rate limit is refused with rate_limited and stores only what was acked', async () => {
    const at = `http://127.0.0.1:${guardedPort}`;
    const client = keep(await connect(at, { ...TRANSPORTS.websocket, auth: { token: TOKEN } }));
    const first = (await (await fetch(`${at}/health?token=${TOKEN}`)).json()).offset;
    assert.equal((await fetch(`${at}/metrics`)).status, 401, '/metrics needs the token too');
    const scrape = async () => (await fetch(`${at}/metrics?token=${TOKEN}`)).text();
    const before = await scrape();
    const answers = await Promise.all(Array.from({ length: 3000 }, (_, i) =>
      client.timeout(WAIT).emitWithAck('message', `flood ${i}`)));
    const stored = answers.filter((a) => a.ok);
    const limited = answers.filter((a) => !a.ok);
    assert.ok(limited.length > 0, 'some were over the limit');
    for (const a of limited) {
      assert.equal(a.error.code, 'rate_limited');
      assert.equal(a.error.temporary, true);
    }
    await until('the region to read every stored message', async () =>
      (await (await fetch(`${at}/health`)).json()).offset >= first + stored.length);
    const last = (await (await fetch(`${at}/health`)).json()).offset;
    assert.equal(last, first + stored.length, 'exactly the acked messages were stored');
    assert.equal(client.connected, true);
    // /metrics counted each answer under its outcome, as Socket.IO.
    const now = await scrape();
    const moved = (labels) => metric(now, 'multiregion_publishes_total', labels)
      - metric(before, 'multiregion_publishes_total', labels);
    assert.equal(moved({ transport: 'socketio', outcome: 'stored' }), stored.length);
    assert.equal(moved({ transport: 'socketio', outcome: 'refused', code: 'rate_limited' }), limited.length);
    assert.ok(metric(now, 'multiregion_connections', { transport: 'socketio' }) >= 1);
  });
});
