/**
 * LiveCapture (src/capture/live.ts) on a real kernel: frames put on one end of a veth pair with
 * openSender (pcap_inject) from one network namespace, captured on the other end in a second one.
 *
 * The test process stays in the root namespace; each capture runs in a small node child inside
 * the receiving namespace (RECEIVER below), each send in another inside the sending one
 * (SENDER). The namespaces carry no other traffic: no addresses, IPv6 off, and frames addressed
 * to a documentation MAC that is not the receiver's, so its kernel ignores them and answers
 * nothing. Both namespaces are deleted in `after`, and by an exit hook should the run die first.
 * Skipped, with the reason, when not root or when the capture addon was not built.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import type { CaptureStats } from '../../src/capture/live';
import { DIST, netnsUnavailable, TestNetns } from '../enforce/netns';
import { ethernet, ETHERTYPE, LINKTYPE, pcapFile, tcpIpv4, TCP_FLAGS } from '../support/frames';
import { REPO_ROOT } from '../support/paths';

const CAPTURE_ADDON = path.join(REPO_ROOT, 'native/build/Release/synwatch_capture.node');
const skip = netnsUnavailable() ?? (fs.existsSync(CAPTURE_ADDON) ? false : `${CAPTURE_ADDON} not built (libpcap-dev missing?)`);

/** Interface names inside the two private namespaces. */
const TX = 'tx0';
const RX = 'rx0';
/** Where the TCP sequence number sits in an untagged Ethernet/IPv4 (no options)/TCP frame. */
const SEQ_OFFSET = 14 + 20 + 4;
/** The pcap record header the addon puts before each frame (capture.c, "Batch layout"). */
const RECORD_HEADER = 16;
const FILTER = 'ip and tcp and src host 203.0.113.66';
const CHILD_TIMEOUT_MS = 60_000;

/**
 * Opens a LiveCapture on SW_ARGS.iface, prints {"ready"} and waits for a line on stdin (the
 * frames were sent). Then, started: waits until `expect` records arrived (at most waitMs) and
 * 200 ms more for any extra one; not started: one drain(). Prints the records, the counters and
 * the realtime clock read after the last record was in hand.
 */
const RECEIVER = `
const { LiveCapture, LiveClock } = require(process.env.SW_DIST + '/src/capture/live.js');
const a = JSON.parse(process.env.SW_ARGS);
const records = [];
const cap = new LiveCapture({ iface: a.iface, filter: () => a.filter, snaplen: a.snaplen, bufferBytes: a.bufferBytes }, (r) => {
  records.push({ seq: r.buf.readUInt32BE(r.offset + ${SEQ_OFFSET}), caplen: r.caplen, wirelen: r.wirelen, tsUs: r.tsUs,
    tsNsRem: r.tsNsRem, linkType: r.linkType, hex: a.hex ? r.buf.toString('hex', r.offset, r.offset + r.caplen) : undefined });
}, { onFailure: (e) => { console.log(JSON.stringify({ failure: e.message })); process.exit(3); } });
const clock = new LiveClock();
console.log(JSON.stringify({ ready: true, snaplen: cap.snaplen, linkType: cap.linkType }));
if (a.start) cap.start();
const finish = (extra) => {
  const doneUs = clock.nowUs();
  const stats = cap.stats();
  cap.close();
  // Exit only once the (large) line is out: process.exit would cut a pipe write short.
  process.stdout.write(JSON.stringify({ records, stats, doneUs, ...extra }) + '\\n', () => process.exit(0));
};
process.stdin.setEncoding('utf8').once('data', () => {
  if (!a.start) {
    const deliveredBeforeDrain = records.length;
    const drained = cap.drain();
    finish({ deliveredBeforeDrain, drained, deliveredByDrain: records.length - deliveredBeforeDrain });
    return;
  }
  const deadline = Date.now() + a.waitMs;
  const poll = setInterval(() => {
    if (records.length < a.expect && Date.now() < deadline) return;
    clearInterval(poll);
    setTimeout(() => finish({}), 200);
  }, 5);
});
`;

/** Sends every frame of the pcap file SW_ARGS.file onto SW_ARGS.iface; prints the clock around it. */
const SENDER = `
const fs = require('fs');
const { openSender, LiveClock } = require(process.env.SW_DIST + '/src/capture/live.js');
const a = JSON.parse(process.env.SW_ARGS);
const file = fs.readFileSync(a.file);
const frames = [];
for (let at = 24; at < file.length; at += 16 + file.readUInt32LE(at + 8)) frames.push(file.subarray(at + 16, at + 16 + file.readUInt32LE(at + 8)));
const sender = openSender(a.iface);
const clock = new LiveClock();
const beforeUs = clock.nowUs();
for (const f of frames) sender.send(f);
const afterUs = clock.nowUs();
sender.close();
console.log(JSON.stringify({ beforeUs, afterUs, sent: frames.length, linkType: sender.linkType }));
`;

interface Seen {
  seq: number;
  caplen: number;
  wirelen: number;
  tsUs: number;
  tsNsRem: number;
  linkType: number;
  hex?: string;
}

interface RunResult {
  records: Seen[];
  stats: CaptureStats;
  /** The sender's realtime clock just before its first frame and just after its last. */
  sentBeforeUs: number;
  sentAfterUs: number;
  /** The receiver's realtime clock after the last record reached it. */
  doneUs: number;
  snaplen: number;
  /** Not started: records delivered before drain(), drain()'s return, records delivered by it. */
  deliveredBeforeDrain?: number;
  drained?: number;
  deliveredByDrain?: number;
}

interface RunOptions {
  frames: Buffer[];
  /** Begin delivery before sending (true), or only drain() after it (false). */
  start: boolean;
  snaplen?: number;
  bufferBytes?: number;
  /** Also return each record's bytes as hex. */
  hex?: boolean;
}

/** A SYN from 203.0.113.66 carrying `seq` as its ISN, padded with payload to `length` bytes. */
function syn(seq: number, length = 54): Buffer {
  const payload = Buffer.alloc(length - 54, 0xa5);
  return ethernet({ etherType: ETHERTYPE.IPV4, dst: '00:00:5e:00:53:01', src: '00:00:5e:00:53:02' },
    tcpIpv4({ src: '203.0.113.66', dst: '198.51.100.10', id: seq & 0xffff }, { sport: 40000, dport: 80, seq, flags: TCP_FLAGS.SYN, payload }));
}

function syns(n: number, length?: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => syn(i, length));
}

/** The last line of a child's stdout, as JSON. */
function lastJson(text: string, who: string): Record<string, any> {
  const line = text.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line);
  } catch {
    throw new Error(`${who} printed no JSON result: ${JSON.stringify(text.slice(-500))}`);
  }
}

describe('LiveCapture on a veth pair between two namespaces', { skip, concurrency: false }, () => {
  let tx: TestNetns | undefined;
  let rx: TestNetns | undefined;
  let dir = '';
  const children = new Set<ChildProcess>();
  const cleanUp = () => {
    for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(c.pid, 'SIGKILL');
    rx?.delete();
    tx?.delete();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  };

  before(() => {
    process.on('exit', cleanUp);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-live-capture-'));
    tx = TestNetns.create('cap');
    rx = TestNetns.create('cap');
    spawnOk('ip', ['link', 'add', TX, 'netns', tx.name, 'type', 'veth', 'peer', 'name', RX, 'netns', rx.name]);
    for (const [ns, iface] of [[tx, TX], [rx, RX]] as const) {
      ns.exec('sysctl', ['-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      ns.ip(['link', 'set', iface, 'up']);
    }
    waitForCarrier(rx, RX);
  });

  after(() => {
    cleanUp();
    process.removeListener('exit', cleanUp);
  });

  function spawnOk(cmd: string, args: string[]): void {
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  }

  /** A veth end reports carrier only once both ends are up; frames sent before are lost. */
  function waitForCarrier(ns: TestNetns, iface: string): void {
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      const link = JSON.parse(ns.ip(['-j', 'link', 'show', 'dev', iface])) as Array<{ operstate?: string }>;
      if (link[0]?.operstate === 'UP') return;
      spawnSync('sleep', ['0.05']);
    }
    throw new Error(`${iface} in ${ns.name} never came up`);
  }

  /** Opens a capture on RX, sends `frames` from TX, and returns what the capture saw. */
  async function run(o: RunOptions): Promise<RunResult> {
    const file = path.join(dir, 'frames.pcap');
    fs.writeFileSync(file, pcapFile({ linkType: LINKTYPE.ETHERNET }, o.frames.map((data) => ({ tsNs: 0n, data }))));
    const args = { iface: RX, filter: FILTER, snaplen: o.snaplen, bufferBytes: o.bufferBytes, start: o.start, hex: o.hex, expect: o.frames.length, waitMs: 10_000 };
    const child = spawn('ip', ['netns', 'exec', rx!.name, process.execPath, '-e', RECEIVER], {
      env: { ...process.env, SW_ARGS: JSON.stringify(args), SW_DIST: DIST }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    children.add(child);
    const killer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const check = () => (stdout.includes('"ready"') ? resolve() : undefined);
        child.stdout!.on('data', check);
        void exited.then(() => reject(new Error(`receiver exited before it was ready: ${stderr}${stdout}`)));
      });
      const ready = lastJson(stdout, 'receiver');
      const sent = tx!.nodeIn(SENDER, { iface: TX, file });
      assert.equal(sent.status, 0, `sender: ${sent.stderr}`);
      const s = lastJson(sent.stdout, 'sender');
      assert.equal(s.sent, o.frames.length);
      child.stdin!.end('sent\n');
      const code = await exited;
      assert.equal(code, 0, `receiver exited ${code}: ${stderr}${stdout.slice(-500)}`);
      const r = lastJson(stdout, 'receiver');
      return { ...r, sentBeforeUs: s.beforeUs, sentAfterUs: s.afterUs, snaplen: ready.snaplen } as RunResult;
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null) child.kill('SIGKILL');
      children.delete(child);
    }
  }

  it('delivers every injected frame exactly once, in order, with kernel timestamps, in batches', async () => {
    const N = 3000;
    const frames = syns(N);
    const r = await run({ frames, start: true });
    assert.deepEqual(r.records.map((x) => x.seq), frames.map((_, i) => i), 'each SYN once, in the order sent');
    for (const x of r.records) {
      assert.equal(x.caplen, 54, `caplen of #${x.seq}`);
      assert.equal(x.wirelen, 54, `wirelen of #${x.seq}`);
      assert.equal(x.linkType, LINKTYPE.ETHERNET);
      assert.ok(Number.isInteger(x.tsNsRem) && x.tsNsRem >= 0 && x.tsNsRem <= 999, `tsNsRem of #${x.seq}: ${x.tsNsRem}`);
      // The kernel stamps a frame inside the sender's send(): veth hands it to the receive path
      // there, so every stamp lies within the sender's clock readings around its loop.
      assert.ok(x.tsUs >= r.sentBeforeUs && x.tsUs <= r.sentAfterUs,
        `tsUs of #${x.seq} is ${x.tsUs}, outside the sending [${r.sentBeforeUs}, ${r.sentAfterUs}]`);
    }
    for (let i = 1; i < r.records.length; i++) {
      const [a, b] = [r.records[i - 1], r.records[i]];
      assert.ok(b.tsUs * 1000 + b.tsNsRem >= a.tsUs * 1000 + a.tsNsRem, `time runs backwards at #${b.seq}`);
    }
    assert.equal(r.stats.captured, N);
    assert.equal(r.stats.received, N);
    assert.equal(r.stats.kernelDrops, 0);
    assert.equal(r.stats.ifDrops, 0);
    assert.equal(r.stats.clamped, 0);
    assert.equal(r.stats.bytes, N * (RECORD_HEADER + 54));
    assert.ok(r.stats.batches >= 1 && r.stats.batches < r.stats.captured, `records batched: ${r.stats.batches} batches for ${r.stats.captured}`);
  });

  it('cuts a frame longer than the snaplen: caplen is the snaplen, wirelen the frame', async () => {
    const frame = syn(7, 1000);
    const r = await run({ frames: [frame], start: true, snaplen: 128, hex: true });
    assert.equal(r.snaplen, 128);
    assert.equal(r.records.length, 1);
    const [x] = r.records;
    assert.equal(x.seq, 7);
    assert.equal(x.caplen, 128);
    assert.equal(x.wirelen, 1000);
    assert.equal(x.hex, frame.subarray(0, 128).toString('hex'), 'the first 128 bytes of the frame, unchanged');
    assert.equal(r.stats.clamped, 0, 'libpcap applied the snaplen itself');
    assert.equal(r.stats.bytes, RECORD_HEADER + 128);
  });

  it('drain() before start() delivers what the ring holds, synchronously, and counts it', async () => {
    // One batch at the default batch size (963 records); drain() stops after 1024 batches a call.
    const N = 500;
    const r = await run({ frames: syns(N), start: false });
    assert.equal(r.deliveredBeforeDrain, 0, 'nothing is delivered without start() or drain()');
    assert.equal(r.drained, N, 'drain() returns the records it delivered');
    assert.equal(r.deliveredByDrain, N, 'all of them reached the sink before drain() returned');
    assert.deepEqual(r.records.map((x) => x.seq), Array.from({ length: N }, (_, i) => i));
    // Delivered after the sending, stamped during it: the timestamps are the kernel's.
    assert.ok(r.records.every((x) => x.tsUs >= r.sentBeforeUs && x.tsUs <= r.sentAfterUs), 'kernel timestamps, not delivery time');
    assert.equal(r.stats.captured, N);
    assert.equal(r.stats.received, N);
    assert.equal(r.stats.kernelDrops, 0);
    assert.equal(r.stats.wakeups, 0, 'never woken from the event loop');
  });

  it('accounts for a kernel-ring overflow: captured + kernelDrops == received == frames sent', async () => {
    const N = 20_000;
    // 1 MiB at snaplen 256 holds ~3,000 frames; nothing is read until the drain after the sending.
    const r = await run({ frames: syns(N), start: false, snaplen: 256, bufferBytes: 1024 * 1024 });
    assert.ok(r.stats.kernelDrops > 0, `the ring overflowed: ${JSON.stringify(r.stats)}`);
    assert.ok(r.stats.captured > 0 && r.stats.captured < N, `some frames fit: ${r.stats.captured}`);
    // The kernel reports tp_packets with the drops added (PACKET_STATISTICS), libpcap passes
    // that on as ps_recv: received counts every frame that passed the filter, kept or not.
    assert.equal(r.stats.received, N);
    assert.equal(r.stats.captured + r.stats.kernelDrops, r.stats.received);
    assert.equal(r.stats.ifDrops, 0);
    // A full ring refuses the newest frames: what was kept is the first `captured` sent.
    assert.equal(r.records.length, r.stats.captured);
    assert.deepEqual(r.records.map((x) => x.seq), Array.from({ length: r.stats.captured }, (_, i) => i));
    assert.equal(r.drained, r.stats.captured);
  });

  it('reports errors as CaptureError with a code and a one-line message', () => {
    const code = `
      const { LiveCapture } = require(process.env.SW_DIST + '/src/capture/live.js');
      const { CaptureError } = require(process.env.SW_DIST + '/src/capture/record.js');
      const out = [];
      for (const o of JSON.parse(process.env.SW_ARGS)) {
        try {
          new LiveCapture({ iface: o.iface, filter: () => o.filter, userFilter: o.userFilter }, () => {}, { onFailure() {} }).close();
          out.push(null);
        } catch (e) {
          out.push({ isCaptureError: e instanceof CaptureError, code: e.code, message: e.message });
        }
      }
      console.log(JSON.stringify(out));`;
    const r = rx!.nodeIn(code, [
      { iface: 'nope0', filter: 'tcp' },
      { iface: RX, filter: 'tcp and and', userFilter: 'tcp and and' },
      { iface: RX, filter: 'tcp and and' },
    ]);
    assert.equal(r.status, 0, r.stderr);
    const [unknown, badUser, badOwn] = lastJson(r.stdout, 'error child') as Array<{ isCaptureError: boolean; code: string; message: string } | null>;
    for (const e of [unknown, badUser, badOwn]) {
      assert.ok(e, 'an error was thrown');
      assert.ok(e.isCaptureError, `a CaptureError: ${JSON.stringify(e)}`);
      assert.ok(!e.message.includes('\n'), `one line: ${JSON.stringify(e.message)}`);
    }
    assert.equal(unknown!.code, 'unknown-interface');
    const have = /^unknown interface 'nope0' \(have: (.*)\)$/.exec(unknown!.message);
    assert.ok(have, unknown!.message);
    const names = have[1].split(', ');
    assert.ok(names.includes(RX) && names.includes('lo'), `lists the namespace's interfaces: ${have[1]}`);
    assert.ok(!names.includes('nope0'));
    assert.equal(badUser!.code, 'bad-filter');
    assert.match(badUser!.message, /^invalid --filter 'tcp and and': \S/);
    assert.equal(badOwn!.code, 'bad-filter');
    assert.match(badOwn!.message, new RegExp(`^the capture filter does not compile on ${RX}: \\S`));
  });

  it('reports an addon that was not built as libpcap-missing', () => {
    const code = `
      const { loadCaptureAddon } = require(process.env.SW_DIST + '/src/capture/live.js');
      const { CaptureError } = require(process.env.SW_DIST + '/src/capture/record.js');
      try { loadCaptureAddon(); console.log('null'); }
      catch (e) { console.log(JSON.stringify({ isCaptureError: e instanceof CaptureError, code: e.code, message: e.message })); }`;
    const r = spawnSync(process.execPath, ['-e', code], {
      encoding: 'utf8', timeout: 30_000, env: { ...process.env, SW_DIST: DIST, SYNWATCH_NATIVE_DIR: '/nonexistent' },
    });
    assert.equal(r.status, 0, r.stderr);
    const e = lastJson(r.stdout, 'loader child') as { isCaptureError: boolean; code: string; message: string } | null;
    assert.ok(e, 'loadCaptureAddon threw');
    assert.ok(e.isCaptureError);
    assert.equal(e.code, 'libpcap-missing');
    assert.ok(!e.message.includes('\n'), e.message);
    assert.match(e.message, /^live capture unavailable: cannot load \/nonexistent\/synwatch_capture\.node: .*libpcap was missing at build time/);
  });
});
