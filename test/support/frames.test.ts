/**
 * Self-tests of the shared test support: the frame builder writes bytes tshark accepts, the
 * handshake oracle follows the project's definition, and fixtures/ is what the generator writes
 * (so the golden tests' expectations cannot silently drift from the captures).
 * Checks that need tshark or ../shared/corpus/truth.sh skip with a message when those are absent.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

import {
  ETHERTYPE, IPPROTO, LINKTYPE, TCP_FLAGS, TcpSpec, ethernet, inetChecksum, ipBytes, ipv4, ipv4Fragments,
  pcapFile, pcapngFile, sll2, tcp, tcpIpv4, tcpIpv6,
} from './frames';
import { SegmentFacts, handshakeTotals } from './handshake-oracle';
import { repoRoot, staleFixtures } from '../../fixtures/make-fixtures';

const { SYN, ACK, RST, PSH } = TCP_FLAGS;
const dir = mkdtempSync(path.join(tmpdir(), 'synwatch-frames-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const hasTshark = spawnSync('tshark', ['--version']).status === 0;
const truthSh = path.join(repoRoot(), '..', 'shared', 'corpus', 'truth.sh');

const SYN_SPEC: TcpSpec = {
  sport: 40000, dport: 80, seq: 0xfffffff0, flags: SYN,
  options: [{ kind: 'mss', value: 1460 }, { kind: 'sack-perm' }, { kind: 'ts', val: 7, ecr: 0 }, { kind: 'nop' }, { kind: 'ws', shift: 7 }],
};

test('an IPv4 header and a TCP segment over IPv4 or IPv6 each sum to zero with their checksum', () => {
  const p4 = tcpIpv4({ src: '192.0.2.1', dst: '198.51.100.2', id: 0x1234 }, SYN_SPEC);
  assert.equal(inetChecksum(p4.subarray(0, 20)), 0);
  const pseudo4 = Buffer.concat([ipBytes('192.0.2.1'), ipBytes('198.51.100.2'), Buffer.from([0, 6, 0, p4.length - 20])]);
  assert.equal(inetChecksum(pseudo4, p4.subarray(20)), 0);

  const p6 = tcpIpv6({ src: '2001:db8::1', dst: '2001:db8::2' }, SYN_SPEC);
  const len = p6.length - 40;
  const pseudo6 = Buffer.concat([ipBytes('2001:db8::1'), ipBytes('2001:db8::2'), Buffer.from([0, 0, len >> 8, len & 255, 0, 0, 0, 6])]);
  assert.equal(inetChecksum(pseudo6, p6.subarray(40)), 0);
});

test('TCP options are laid out as on the wire and padded to a multiple of 4', () => {
  const seg = tcp(SYN_SPEC, '192.0.2.1', '192.0.2.2');
  assert.equal(seg.length, 40);
  assert.equal(seg[12] >> 4, 10, 'data offset counts 32-bit words');
  assert.deepEqual([...seg.subarray(20, 26)], [2, 4, 0x05, 0xb4, 4, 2]);
  const tfo = tcp({ ...SYN_SPEC, options: [{ kind: 'tfo' }] }, '192.0.2.1', '192.0.2.2');
  assert.deepEqual([...tfo.subarray(20)], [34, 2, 0, 0], 'a cookie request, EOL-padded');
});

test('addresses parse in every IPv6 shorthand and bad text throws', () => {
  assert.equal(ipBytes('2001:db8::').toString('hex'), '20010db8000000000000000000000000');
  assert.equal(ipBytes('::1').toString('hex'), '00000000000000000000000000000001');
  assert.equal(ipBytes('2001:db8:1:2:3:4:5:6').toString('hex'), '20010db8000100020003000400050006');
  for (const bad of ['1.2.3', '256.1.1.1', '2001:db8::1::2', '2001:db8:1:2:3:4:5', 'g::1']) {
    assert.throws(() => ipBytes(bad), /bad IPv/);
  }
});

test('Ethernet pads short frames only when asked, and writes VLAN tags outermost first', () => {
  const tags = [{ tpid: ETHERTYPE.QINQ, vid: 200, pcp: 3 }, { vid: 300, dei: true }];
  const f = ethernet({ etherType: ETHERTYPE.IPV4, tags, pad: true }, Buffer.alloc(20));
  assert.equal(f.length, 60);
  assert.equal(f.readUInt16BE(12), 0x88a8);
  assert.equal(f.readUInt16BE(14), (3 << 13) | 200);
  assert.equal(f.readUInt16BE(16), 0x8100);
  assert.equal(f.readUInt16BE(18), 0x1000 | 300);
  assert.equal(f.readUInt16BE(20), 0x0800);
  assert.equal(ethernet({ etherType: ETHERTYPE.IPV4 }, Buffer.alloc(20)).length, 34);
});

test('IPv4 fragments carry offsets in 8-byte units and MF on all but the last', () => {
  const seg = tcp({ ...SYN_SPEC, payload: Buffer.alloc(60) }, '192.0.2.1', '192.0.2.2');
  const frags = ipv4Fragments({ src: '192.0.2.1', dst: '192.0.2.2', protocol: IPPROTO.TCP, id: 9 }, seg, [24, 48]);
  assert.deepEqual(frags.map((f) => f.readUInt16BE(6)), [0x2000, 0x2000 | 3, 9]);
  assert.equal(Buffer.concat(frags.map((f) => f.subarray(20))).compare(seg), 0);
  assert.throws(() => ipv4Fragments({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 6 }, seg, [20]), /multiple of 8/);
});

test('pcap records keep the wire length when the snaplen cuts the frame; ns magic keeps ns', () => {
  const data = Buffer.alloc(100, 1);
  const us = pcapFile({ linkType: LINKTYPE.ETHERNET, snaplen: 68 }, [{ tsNs: 1_700_000_000_123_456_789n, data }]);
  assert.equal(us.readUInt32LE(0), 0xa1b2c3d4);
  assert.deepEqual([us.readUInt32LE(24), us.readUInt32LE(28), us.readUInt32LE(32), us.readUInt32LE(36)], [1_700_000_000, 123_456, 68, 100]);
  const ns = pcapFile({ linkType: LINKTYPE.ETHERNET, nanosecond: true, bigEndian: true }, [{ tsNs: 1_700_000_000_123_456_789n, data, caplen: 54 }]);
  assert.equal(ns.readUInt32BE(0), 0xa1b23c4d);
  assert.deepEqual([ns.readUInt32BE(28), ns.readUInt32BE(32), ns.readUInt32BE(36)], [123_456_789, 54, 100]);
});

test('pcapng EPB timestamps follow each interface\'s if_tsresol', () => {
  const tsNs = 1_700_000_000_123_456_789n;
  const file = pcapngFile({ interfaces: [{ linkType: 1 }, { linkType: 101, tsresol: 9 }, { linkType: 1, tsresol: 0x80 | 20 }] },
    [0, 1, 2].map((iface) => ({ tsNs, data: Buffer.alloc(40), iface })));
  const units: bigint[] = [];
  for (let at = 0; at < file.length; at += file.readUInt32LE(at + 4)) {
    if (file.readUInt32LE(at) === 6) units.push((BigInt(file.readUInt32LE(at + 12)) << 32n) | BigInt(file.readUInt32LE(at + 16)));
  }
  assert.deepEqual(units, [tsNs / 1000n, tsNs, (tsNs << 20n) / 1_000_000_000n]);
});

test('tshark decodes every builder feature with good checksums and nothing malformed', { skip: !hasTshark && 'tshark is not installed' }, () => {
  const t0 = 1_709_294_400_000_000_000n;
  const v6ext = tcpIpv6({ src: '2001:db8::1', dst: '2001:db8::2', ext: [{ type: 'hop-by-hop' },
    { type: 'destination', options: Buffer.from([1, 12, ...Array(12).fill(0)]) },
    { type: 'routing', routingType: 2, segmentsLeft: 1, addresses: ['2001:db8::9'] }] }, SYN_SPEC);
  const v4opts = ipv4({ src: '192.0.2.1', dst: '192.0.2.2', protocol: 6, options: Buffer.from([0x94, 4, 0, 0]) },
    tcp({ ...SYN_SPEC, options: [{ kind: 'mss', value: 1460 }, { kind: 'tfo', cookie: Buffer.alloc(8, 7) }], payload: Buffer.from('hi') }, '192.0.2.1', '192.0.2.2'));
  const data = tcpIpv4({ src: '192.0.2.1', dst: '192.0.2.2' }, { sport: 40000, dport: 80, seq: 1, ack: 1, flags: PSH | ACK, payload: Buffer.from('GET / HTTP/1.0\r\n\r\n') });
  const frames = [
    ethernet({ etherType: ETHERTYPE.IPV6, tags: [{ vid: 7 }] }, v6ext),
    ethernet({ etherType: ETHERTYPE.IPV4, pad: true }, v4opts),
    ethernet({ etherType: ETHERTYPE.IPV4, pad: true }, data),
  ].map((f, i) => ({ tsNs: t0 + BigInt(i) * 1000n, data: f }));
  const files = {
    'a.pcap': pcapFile({ linkType: LINKTYPE.ETHERNET }, frames),
    'b.pcapng': pcapngFile({ interfaces: [{ linkType: LINKTYPE.ETHERNET }, { linkType: LINKTYPE.LINUX_SLL2, tsresol: 9 }] },
      [...frames, { tsNs: t0 + 5000n, iface: 1, data: sll2({ protocol: ETHERTYPE.IPV4 }, data) }]),
  };
  for (const [name, bytes] of Object.entries(files)) {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    const out = execFileSync('tshark', ['-n', '-r', file, '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE',
      '-T', 'fields', '-E', 'occurrence=l', '-e', 'tcp.checksum.status', '-e', 'ip.checksum.status', '-e', '_ws.malformed'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const rows = out.replace(/\n+$/, '').split('\n').map((l) => l.split('\t'));
    assert.equal(rows.length, name === 'a.pcap' ? 3 : 4, name);
    for (const [tcpStatus, ipStatus, malformed] of rows) {
      assert.equal(tcpStatus, '1', `${name}: TCP checksum good`);
      assert.ok(ipStatus === '' || ipStatus === '1', `${name}: IPv4 checksum good`);
      assert.equal(malformed, '', `${name}: nothing malformed`);
    }
  }
});

const seg = (src: string, dst: string, sport: number, dport: number, seq: number, ack: number, flags: number, payloadLen = 0): SegmentFacts =>
  ({ src, dst, sport, dport, seq, ack, flags, payloadLen });

test('the oracle counts a retransmitted SYN once and needs the exact final ACK', () => {
  const c = '192.0.2.1', s = '198.51.100.1';
  const isn = 0xffffffff, sisn = 500;
  const synAck = seg(s, c, 80, 1234, sisn, 0, SYN | ACK);
  const hs = [seg(c, s, 1234, 80, isn, 0, SYN), seg(c, s, 1234, 80, isn, 0, SYN), { ...synAck, ack: 0 }];
  assert.deepEqual(handshakeTotals([...hs, seg(c, s, 1234, 80, 0, sisn + 1, ACK)]), { attempts: 1, completed: 1, synOnly: 2, synAck: 1 });
  assert.equal(handshakeTotals([...hs, seg(c, s, 1234, 80, 0, sisn + 1, RST | ACK)]).completed, 0, 'RST+ACK is not the final ACK');
  assert.equal(handshakeTotals([...hs, seg(c, s, 1234, 80, 0, sisn + 2, ACK)]).completed, 0, 'wrong ack');
  assert.equal(handshakeTotals([seg(c, s, 1234, 80, 0, sisn + 1, ACK), ...hs]).completed, 0, 'ACK before the SYN-ACK');
});

test('the oracle accepts a SYN-ACK that acks TCP Fast Open data (ISN+1+len)', () => {
  const c = '192.0.2.1', s = '198.51.100.1';
  const segs = [seg(c, s, 1, 80, 100, 0, SYN, 50), seg(s, c, 80, 1, 900, 151, SYN | ACK), seg(c, s, 1, 80, 151, 901, ACK)];
  assert.equal(handshakeTotals(segs).completed, 1);
});

test('fixtures/ holds exactly what fixtures/make-fixtures writes', () => {
  assert.deepEqual(staleFixtures(path.join(repoRoot(), 'fixtures')), [], 'run npm run fixtures');
});

test('every fixture\'s attempts and completions agree with ../shared/corpus/truth.sh',
  { skip: !(hasTshark && existsSync(truthSh)) && 'needs tshark and ../shared/corpus/truth.sh' }, () => {
    const fixtures = path.join(repoRoot(), 'fixtures');
    for (const json of ['scenarios.json', 'real-tools.json']) {
      const expected: Record<string, { attempts: number; completed: number; synOnly: number; synAck: number }> =
        JSON.parse(readFileSync(path.join(fixtures, json), 'utf8'));
      for (const [file, e] of Object.entries(expected)) {
        const t = JSON.parse(execFileSync('bash', [truthSh, path.join(fixtures, file)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
        assert.deepEqual([t.strict.attempts, t.strict.completed, t.syn_only, t.syn_ack], [e.attempts, e.completed, e.synOnly, e.synAck], file);
      }
    }
  });
