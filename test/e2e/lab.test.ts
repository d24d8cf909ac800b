/**
 * The namespace lab itself (test/e2e/lab.ts): it builds and tears down, the client is served,
 * and a bounded flood leaves half-open entries on the server only when the attacker drops its own
 * RSTs. Needs root and the lab tools; skipped (with the reason) otherwise.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Lab, labUnavailableReason, findScapyPython, sleep } from './lab';

const unavailable = labUnavailableReason();
const labs: Lab[] = [];

async function newLab(...args: Parameters<typeof Lab.create>): Promise<Lab> {
  const lab = await Lab.create(...args);
  labs.push(lab);
  return lab;
}

describe('e2e lab', { skip: unavailable ?? false, concurrency: false }, () => {
  after(async () => {
    for (const lab of labs) await lab.destroy();
  });

  it('creates four namespaces and removes them (and its processes) on destroy', async () => {
    const lab = await newLab();
    const names = Object.values(lab.ns);
    for (const n of names) assert.ok(fs.existsSync(`/run/netns/${n}`), `${n} exists`);
    assert.match(lab.ns.server, /^sw-\d+-[0-9a-f]{6}-srv$/);
    const pids = [...lab.procs].map((p) => p.pid);
    assert.ok(pids.length >= 1, 'the HTTP server runs');
    // The server's default gateway is the router's lab address (spoofable by a test).
    const routes = await lab.routes('server');
    const def4 = routes.find((r) => r.family === 4 && r.dst === 'default');
    assert.equal(def4?.gateway, lab.addr.gateway4);
    await lab.destroy();
    for (const n of names) assert.ok(!fs.existsSync(`/run/netns/${n}`), `${n} removed`);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} gone`);
  });

  it('serves the client over IPv4 and IPv6', async () => {
    const lab = await newLab();
    const v4 = await lab.curl('client');
    assert.ok(v4.ok, `IPv4 curl: ${v4.status} ${v4.stderr}`);
    assert.match(v4.body, /synwatch lab ok/);
    const v6 = await lab.curl('client', `http://[${lab.addr.server6}]:${lab.httpPort}/`);
    assert.ok(v6.ok, `IPv6 curl: ${v6.status} ${v6.stderr}`);
  });

  it('a bounded hping3 flood leaves SYN_RECV entries when the attacker drops its RSTs', async () => {
    const lab = await newLab();
    const from = lab.addr.attacker4[0];
    const r = await lab.hping3Flood({ from, to: lab.addr.server4, count: 100, intervalUs: 1000 });
    assert.ok(r.elapsedMs < 10_000);
    await sleep(300);
    const half = (await lab.synRecv('server')).get(from) ?? 0;
    assert.ok(half >= 90, `expected ~100 half-open from ${from}, got ${half}`);
  });

  it('leaves none when the attacker kernel resets the SYN-ACKs', async () => {
    const lab = await newLab({ attackerDropsRst: false });
    const from = lab.addr.attacker4[0];
    await lab.hping3Flood({ from, to: lab.addr.server4, count: 100, intervalUs: 1000 });
    await sleep(300);
    assert.equal((await lab.synRecv('server')).get(from) ?? 0, 0);
  });

  it('floods over IPv6 with scapy, spoofs random sources and the gateway', { skip: findScapyPython() ? false : 'no python3 with scapy' }, async () => {
    const lab = await newLab();
    await lab.scapyFlood6({ from: lab.addr.attacker6[0], to: lab.addr.server6, count: 50, intervalUs: 1000 });
    await lab.spoofedFlood({ to: lab.addr.server4, count: 100, intervalUs: 500 });
    await lab.hping3Flood({ from: lab.addr.gateway4, to: lab.addr.server4, count: 30, intervalUs: 1000 });
    await sleep(300);
    const half = await lab.synRecv('server');
    assert.ok((half.get(lab.addr.attacker6[0]) ?? 0) >= 45, `IPv6 half-open: ${half.get(lab.addr.attacker6[0])}`);
    assert.ok((half.get(lab.addr.gateway4) ?? 0) >= 25, `gateway-spoofed half-open: ${half.get(lab.addr.gateway4)}`);
    assert.ok(half.size >= 50, `random sources half-open: ${half.size}`);
  });
});
