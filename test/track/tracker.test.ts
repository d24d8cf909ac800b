import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HandshakeTracker, DEFAULT_TRACKER_OPTIONS, TrackerEvents } from '../../src/track/tracker';
import { ACK, RST, RSTACK, SYN, SYNACK, Seg, handshake, viewOf } from './segments';
import { ipToWords } from '../../src/decode/address';

class Events implements TrackerEvents {
  syns = 0; ends: boolean[] = []; unsolicited = 0;
  onSyn(): void { this.syns++; }
  onAttemptEnd(_src: number, completed: boolean): void { this.ends.push(completed); }
  onUnsolicitedSynAck(): void { this.unsolicited++; }
  onTime(): void {}
}

function run(segs: Seg[], opts = DEFAULT_TRACKER_OPTIONS, stepUs = 1000) {
  const t = new HandshakeTracker(opts);
  const ev = new Events();
  t.setEvents(ev);
  let ts = 1_700_000_000_000_000;
  for (const s of segs) t.onSegment(viewOf(s), (ts += stepUs));
  t.flush();
  return { t, ev };
}

function source(t: HandshakeTracker, ip: string) {
  const k = ipToWords(ip)!;
  const slot = t.sources.table.find(k, t.sources.table.hashKey(k));
  assert.ok(slot >= 0, `source ${ip} is tracked`);
  const s = t.sources;
  return { syn: s.syn[slot], attempts: s.attempts[slot], completed: s.completed[slot], incomplete: s.incomplete[slot], halfOpen: s.halfOpen[slot] };
}

const C = '192.0.2.10', S = '198.51.100.1';

test('a complete handshake is one completed attempt', () => {
  const { t, ev } = run(handshake(C, S, 40000, 80, 1000, 5000));
  assert.equal(t.totals.attempts, 1);
  assert.equal(t.totals.completed, 1);
  assert.deepEqual(ev.ends, [true]);
  assert.deepEqual(source(t, C), { syn: 1, attempts: 1, completed: 1, incomplete: 0, halfOpen: 0 });
});

test('a retransmitted SYN is the same attempt', () => {
  const syn: Seg = { src: C, dst: S, sport: 40000, dport: 80, flags: SYN, seq: 7 };
  const { t } = run([syn, syn, syn, ...handshake(C, S, 40000, 80, 7, 9).slice(1)]);
  assert.equal(t.totals.synOnly, 3);
  assert.equal(t.totals.attempts, 1);
  assert.equal(t.totals.synRetransmits, 2);
  assert.equal(t.totals.completed, 1);
});

test('a new ISN on the same ports is a new attempt', () => {
  const { t } = run([
    { src: C, dst: S, sport: 40000, dport: 80, flags: SYN, seq: 7 },
    { src: C, dst: S, sport: 40000, dport: 80, flags: SYN, seq: 8 },
  ]);
  assert.equal(t.totals.attempts, 2);
  assert.equal(source(t, C).halfOpen, 2);
});

test('the final ACK must carry seq = ISN+1 and ack = server ISN+1', () => {
  const [syn, synack] = handshake(C, S, 40000, 80, 100, 500);
  const { t } = run([syn, synack,
    { src: C, dst: S, sport: 40000, dport: 80, flags: ACK, seq: 101, ack: 999 },
    { src: C, dst: S, sport: 40000, dport: 80, flags: ACK, seq: 102, ack: 501 }]);
  assert.equal(t.totals.completed, 0);
});

test('an ACK before the SYN-ACK does not complete (capture order)', () => {
  const [syn, synack, ack] = handshake(C, S, 40000, 80, 100, 500);
  const { t } = run([syn, ack, synack]);
  assert.equal(t.totals.completed, 0);
  assert.equal(source(t, C).halfOpen, 1);
});

test('a client RST after the SYN-ACK ends the attempt incomplete', () => {
  const [syn, synack] = handshake(C, S, 40000, 80, 100, 500);
  const { t, ev } = run([syn, synack, { src: C, dst: S, sport: 40000, dport: 80, flags: RST, seq: 101 }]);
  assert.equal(t.totals.clientResets, 1);
  assert.deepEqual(ev.ends, [false]);
  assert.deepEqual(source(t, C), { syn: 1, attempts: 1, completed: 0, incomplete: 1, halfOpen: 0 });
});

test('a server RST+ACK (port closed) ends the attempt incomplete', () => {
  const { t } = run([
    { src: C, dst: S, sport: 40000, dport: 81, flags: SYN, seq: 100 },
    { src: S, dst: C, sport: 81, dport: 40000, flags: RSTACK, seq: 0, ack: 101 },
  ]);
  assert.equal(t.totals.serverResets, 1);
  assert.equal(source(t, C).incomplete, 1);
});

test('TCP Fast Open: a SYN-ACK acknowledging ISN+1+len completes with the matching ACK', () => {
  const { t } = run([
    { src: C, dst: S, sport: 40000, dport: 80, flags: SYN, seq: 100, len: 50 },
    { src: S, dst: C, sport: 80, dport: 40000, flags: SYNACK, seq: 500, ack: 151 },
    { src: C, dst: S, sport: 40000, dport: 80, flags: ACK, seq: 151, ack: 501 },
  ]);
  assert.equal(t.totals.synWithData, 1);
  assert.equal(t.totals.completed, 1);
});

test('a SYN-ACK with no SYN is unsolicited, and its sender is not a source', () => {
  const { t, ev } = run([{ src: S, dst: C, sport: 80, dport: 40000, flags: SYNACK, seq: 1, ack: 2 }]);
  assert.equal(t.totals.unsolicitedSynAck, 1);
  assert.equal(ev.unsolicited, 1);
  assert.equal(t.sources.table.size, 0);
});

test('an unanswered attempt times out after the handshake timeout, in packet time', () => {
  const opts = { ...DEFAULT_TRACKER_OPTIONS, handshakeTimeoutUs: 5e6 };
  const t = new HandshakeTracker(opts);
  const ev = new Events();
  t.setEvents(ev);
  const t0 = 1_700_000_000_000_000;
  t.onSegment(viewOf({ src: C, dst: S, sport: 1, dport: 80, flags: SYN, seq: 1 }), t0);
  t.advanceTo(t0 + 4.9e6);
  assert.equal(t.totals.timedOut, 0);
  t.advanceTo(t0 + 5.2e6);
  assert.equal(t.totals.timedOut, 1);
  assert.deepEqual(source(t, C), { syn: 1, attempts: 1, completed: 0, incomplete: 1, halfOpen: 0 });
  // A late retransmission of the same SYN is still the same attempt.
  t.onSegment(viewOf({ src: C, dst: S, sport: 1, dport: 80, flags: SYN, seq: 1 }), t0 + 6e6);
  t.flush();
  assert.equal(t.totals.attempts, 1);
});

test('a completion after the timeout still counts and corrects the source', () => {
  const opts = { ...DEFAULT_TRACKER_OPTIONS, handshakeTimeoutUs: 1e6 };
  const t = new HandshakeTracker(opts);
  t.setEvents(new Events());
  const [syn, synack, ack] = handshake(C, S, 40000, 80, 100, 500);
  const t0 = 1_700_000_000_000_000;
  t.onSegment(viewOf(syn), t0);
  t.onSegment(viewOf(synack), t0 + 1000);
  t.advanceTo(t0 + 1.5e6);
  assert.equal(t.totals.timedOut, 1);
  t.onSegment(viewOf(ack), t0 + 1.6e6);
  t.flush();
  assert.equal(t.totals.completed, 1);
  assert.equal(t.totals.lateCompletions, 1);
  assert.deepEqual(source(t, C), { syn: 1, attempts: 1, completed: 1, incomplete: 0, halfOpen: 0 });
});

test('the tables stay bounded under a million distinct sources, and evictions are counted', () => {
  const opts = { ...DEFAULT_TRACKER_OPTIONS, maxSources: 4096, maxAttempts: 8192 };
  const t = new HandshakeTracker(opts);
  t.setEvents(new Events());
  const v = viewOf({ src: '10.0.0.0', dst: S, sport: 1000, dport: 80, flags: SYN, seq: 1 });
  let ts = 1_700_000_000_000_000;
  for (let i = 0; i < 1_000_000; i++) {
    v.src[3] = i;
    v.seq = i;
    t.onSegment(v, (ts += 1));
  }
  t.flush();
  assert.equal(t.totals.attempts, 1_000_000);
  assert.equal(t.sources.table.size, 4096);
  assert.equal(t.attemptCount, 8192);
  assert.equal(t.attemptEvictions, 1_000_000 - 8192);
  assert.equal(t.sources.table.evictions, 1_000_000 - 4096);
  assert.equal(t.totals.evictedOpen, 1_000_000 - 8192);
});

test('IPv6 handshakes are tracked like IPv4 ones', () => {
  const { t } = run(handshake('2001:db8::10', '2001:db8::1', 50000, 443, 0xfffffffe, 0xffffffff));
  assert.equal(t.totals.completed, 1, 'sequence numbers wrap at 2^32');
});

test('IPv4 and IPv6 attempts share one budget: the oldest of either is evicted first', () => {
  const opts = { ...DEFAULT_TRACKER_OPTIONS, maxAttempts: 3 };
  const t = new HandshakeTracker(opts);
  const ev = new Events();
  t.setEvents(ev);
  const ts0 = 1_700_000_000_000_000;
  const syn = (src: string, dst: string, isn: number) => ({ src, dst, sport: 40000, dport: 80, flags: SYN, seq: isn });
  t.onSegment(viewOf(syn(C, S, 1)), ts0); // oldest: IPv4
  t.onSegment(viewOf(syn('2001:db8::10', '2001:db8::1', 2)), ts0 + 1);
  t.onSegment(viewOf(syn(C, S, 3)), ts0 + 2);
  t.onSegment(viewOf(syn('2001:db8::10', '2001:db8::1', 4)), ts0 + 3); // evicts ISN 1 (IPv4)
  t.onSegment(viewOf(syn('2001:db8::11', '2001:db8::1', 5)), ts0 + 4); // evicts ISN 2 (IPv6)
  t.flush();
  assert.equal(t.attemptCount, 3);
  assert.equal(t.attempts4.size, 1);
  assert.equal(t.attempts6.size, 2);
  assert.equal(t.attemptEvictions, 2);
  assert.equal(t.totals.evictedOpen, 2);
  assert.deepEqual(source(t, C), { syn: 2, attempts: 2, completed: 0, incomplete: 1, halfOpen: 1 });
  assert.deepEqual(source(t, '2001:db8::10'), { syn: 2, attempts: 2, completed: 0, incomplete: 1, halfOpen: 1 });
  // The survivors are still found: a SYN-ACK for ISN 3 (IPv4) and ISN 4 (IPv6) is solicited.
  t.onSegment(viewOf({ src: S, dst: C, sport: 80, dport: 40000, flags: SYNACK, seq: 9, ack: 4 }), ts0 + 5);
  t.onSegment(viewOf({ src: '2001:db8::1', dst: '2001:db8::10', sport: 80, dport: 40000, flags: SYNACK, seq: 9, ack: 5 }), ts0 + 6);
  t.flush();
  assert.equal(t.totals.unsolicitedSynAck, 0);
});

test('an IPv6 packet between IPv4-mapped addresses is the same attempt as its IPv4 form', () => {
  const { t } = run([
    { src: C, dst: S, sport: 40000, dport: 80, flags: SYN, seq: 7 },
    { src: `::ffff:${C}`, dst: `::ffff:${S}`, sport: 40000, dport: 80, flags: SYN, seq: 7 },
  ]);
  assert.equal(t.totals.attempts, 1);
  assert.equal(t.totals.synRetransmits, 1);
});

test('evicting a TCP Fast Open attempt removes its alias', () => {
  for (const [client, server] of [[C, S], ['2001:db8::10', '2001:db8::1']]) {
    const t = new HandshakeTracker({ ...DEFAULT_TRACKER_OPTIONS, maxAttempts: 1 });
    t.setEvents(new Events());
    t.onSegment(viewOf({ src: client, dst: server, sport: 40000, dport: 80, flags: SYN, seq: 100, len: 20 }), 1_700_000_000_000_000);
    t.flush();
    assert.equal(t.aliases.table.size, 1, `${client}: the SYN with data has an alias`);
    t.onSegment(viewOf({ src: client, dst: server, sport: 40001, dport: 80, flags: SYN, seq: 5 }), 1_700_000_000_000_001);
    t.flush();
    assert.equal(t.attemptEvictions, 1);
    assert.equal(t.aliases.table.size, 0, `${client}: the evicted attempt's alias is gone`);
  }
});

test('reserve(): both attempt tables hold their storage before any SYN, and the first SYNs keep it', () => {
  const opts = { ...DEFAULT_TRACKER_OPTIONS, maxAttempts: 1024 };
  const lazy = new HandshakeTracker(opts);
  assert.equal(lazy.attempts4.firstUs.length, 0, 'without reserve(), nothing before the first insert');
  const t = new HandshakeTracker(opts);
  t.reserve();
  const rec4 = t.attempts4.rec;
  assert.equal(t.attempts4.firstUs.length, 1024);
  assert.equal(t.attempts6.firstUs.length, 1024);
  assert.equal(rec4.length, 1024 * 8);
  t.reserve(); // a second call changes nothing
  assert.equal(t.attempts4.rec, rec4);
  t.setEvents(new Events());
  let ts = 1_700_000_000_000_000;
  for (const s of handshake('198.51.100.7', '203.0.113.10', 40000, 80, 1000, 5000)) t.onSegment(viewOf(s), (ts += 1000));
  t.flush();
  assert.equal(t.attempts4.rec, rec4, 'the first insert used the reserved storage');
  assert.equal(t.attempts4.size, 1);
});
