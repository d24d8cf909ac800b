/**
 * /proc/net/tcp{,6} parsing from real-format lines (captured from a namespace with a dual-stack
 * listener on :8080 receiving hping3 SYNs from 198.51.100.2 and one IPv6 connection), and the
 * poller's flag/activity/forget cycle with injected tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ActivityEvent, FlagEvent } from '../../src/detect/events';
import { countHalfOpen, parseProcAddress, parseProcNetTcp, TCP_SYN_RECV } from '../../src/poll/proc-net-tcp';
import { SynRecvPoller } from '../../src/poll/poller';

const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 36358 6 00000000f365d33d 100 0 0 10 0
   1: B80D0120000001000000000001000000:1F90 B80D0120000001000000000002000000:A63C 06 00000000:00000000 03:00001750 00000000     0        0 0 3 00000000ef2aa2bd
   2: 0000000000000000FFFF0000016433C6:1F90 0000000000000000FFFF0000026433C6:0A31 03 00000000:00000000 01:00000036 00000000     0        0 0 0 0000000076a5ac6c
   3: 0000000000000000FFFF0000016433C6:1F90 0000000000000000FFFF0000026433C6:0A34 03 00000000:00000000 01:0000003A 00000000     0        0 0 0 000000007c1e883f
   4: 0000000000000000FFFF0000016433C6:1F90 0000000000000000FFFF0000026433C6:0A35 03 00000000:00000000 01:0000003A 00000000     0        0 0 0 000000006f25f2f6
`;

const TCP4 = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0035 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1586 1 000000009247a76e 100 0 0 10 0
   1: 016433C6:0016 026433C6:0A31 03 00000000:00000000 01:00000036 00000000     0        0 0 0 0000000076a5ac6c
   2: 016433C6:0017 026433C6:0A32 03 00000000:00000000 01:00000036 00000000     0        0 0 0 0000000076a5ac6d
   3: 016433C6:0016 057100CB:C001 03 00000000:00000000 01:00000036 00000000     0        0 0 0 0000000076a5ac6e
   4: 016433C6:0016 057100CB:C002 01 00000000:00000000 00:00000000 00000000     0        0 77 1 0000000076a5ac6f 20 4 30 10 -1
`;

test('addresses: host-order hex words to canonical text, IPv4, IPv6 and mapped', () => {
  assert.deepEqual(parseProcAddress('0100007F:1F90', 'LE'), ['127.0.0.1', 8080]);
  assert.deepEqual(parseProcAddress('7F000001:1F90', 'BE'), ['127.0.0.1', 8080]);
  assert.deepEqual(parseProcAddress('B80D0120000001000000000002000000:A63C', 'LE'), ['2001:db8:1::2', 42556]);
  assert.deepEqual(parseProcAddress('20010DB8000100000000000000000002:A63C', 'BE'), ['2001:db8:1::2', 42556]);
  assert.deepEqual(parseProcAddress('0000000000000000FFFF0000026433C6:0A31', 'LE'), ['198.51.100.2', 2609]);
  assert.equal(parseProcAddress('XYZ:1', 'LE'), null);
  assert.equal(parseProcAddress('0100007F', 'LE'), null);
});

test('parseProcNetTcp reads every socket line and skips headers and junk', () => {
  const six = parseProcNetTcp(TCP6, 'LE');
  assert.equal(six.length, 5);
  assert.deepEqual(six[1], { localIp: '2001:db8:1::1', localPort: 8080, remoteIp: '2001:db8:1::2', remotePort: 42556, state: 6 });
  assert.deepEqual(six[2], { localIp: '198.51.100.1', localPort: 8080, remoteIp: '198.51.100.2', remotePort: 2609, state: TCP_SYN_RECV });
  assert.equal(parseProcNetTcp(`${TCP4}garbage line\n  7: zz:zz 00 00\n`, 'LE').length, 5);
});

test('countHalfOpen: SYN_RECV only, mapped and plain IPv4 are one source, distinct local ports', () => {
  const counts = countHalfOpen([...parseProcNetTcp(TCP6, 'LE'), ...parseProcNetTcp(TCP4, 'LE')]);
  assert.deepEqual(counts, [
    { ip: '198.51.100.2', family: 4, halfOpen: 5, distinctPorts: 3 },
    { ip: '203.0.113.5', family: 4, halfOpen: 1, distinctPorts: 1 },
  ]);
});

test('poller: flags once at the threshold, activity at most once a second, forgets below it', () => {
  let tables = [TCP4, TCP6];
  const calls: string[] = [];
  const target = {
    onFlag: (ev: FlagEvent) => calls.push(`flag ${ev.ip} ${ev.halfOpen} ${ev.distinctPorts} ${ev.tsUs}`),
    onActivity: (ev: ActivityEvent) => calls.push(`activity ${ev.ip} ${ev.tsUs}`),
    tick: (now: number) => calls.push(`tick ${now}`),
  };
  const poller = new SynRecvPoller({ threshold: 5, readTables: () => tables, endianness: 'LE' }, target);
  poller.pollOnce(1_000_000);
  poller.pollOnce(1_500_000);
  poller.pollOnce(2_000_000);
  tables = [TCP4, ''];
  poller.pollOnce(3_000_000);
  tables = [TCP4, TCP6];
  poller.pollOnce(4_000_000);
  assert.deepEqual(calls, [
    'flag 198.51.100.2 5 3 1000000', 'tick 1000000',
    'tick 1500000',
    'activity 198.51.100.2 2000000', 'tick 2000000',
    'tick 3000000',
    'flag 198.51.100.2 5 3 4000000', 'tick 4000000',
  ]);
  assert.throws(() => new SynRecvPoller({ threshold: 0 }, target), /threshold must be an integer >= 1/);
});
