/**
 * The terminal log format alone (test/e2e/notify.test.ts runs it under a real pseudo-terminal):
 * one readable line per pino record, the status record as a line redrawn in place, erased before
 * each log line and drawn again after it, cut to the terminal's width.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatRecord, formatStatus, formatValue, TerminalLogStream } from '../../src/observe/terminal-log';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sw-tty-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('terminal log lines', () => {
  it('are time of day (UTC), level, message, then key=value in pino\'s order, without pino\'s own fields', () => {
    const line = formatRecord({ level: 30, time: '2026-12-02T01:02:03.456Z', name: 'synwatch', pid: 1, hostname: 'h', action: 'block', ip: '203.0.113.66', latencyUs: 812, msg: 'decision' });
    assert.equal(line, '01:02:03.456 INFO  decision action=block ip=203.0.113.66 latencyUs=812');
  });

  it('quote strings with spaces, quotes or =, and write objects as compact JSON', () => {
    assert.equal(formatValue('the kernel ring overflowed'), '"the kernel ring overflowed"');
    assert.equal(formatValue('a=b'), '"a=b"');
    assert.equal(formatValue('eth0'), 'eth0');
    assert.equal(formatValue(''), '""');
    assert.equal(formatValue({ p50: 1, p99: 2 }), '{"p50":1,"p99":2}');
    assert.equal(formatValue(null), 'null');
    assert.equal(formatRecord({ level: 40, time: '2026-12-02T01:02:03.456Z', msg: 'capture drops', kernelDrops: 3 }, true),
      '01:02:03.456 \x1b[33mWARN \x1b[0m capture drops kernelDrops=3');
  });

  it('show the status record as a short status line', () => {
    assert.equal(formatStatus({ msg: 'status', packetsPerSecond: 1200, captured: 5000, kernelDrops: 0, ifDrops: 0, attempts: 40, completed: 12, flagged: 1, activeBlocks: 1, eventLoopLagMs: { p50: 0.1, p99: 0.4 }, deliveryLagUs: null, tcpSegments: 9 }),
      'status pps=1200 captured=5000 drops=0 flagged=1 blocks=1 attempts=40 completed=12 ifDrops=0 loopLagMs.p99=0.4');
  });
});

describe('the terminal stream', () => {
  it('redraws the status line in place and keeps log lines above it', () => {
    const file = path.join(dir, 'out');
    const fd = fs.openSync(file, 'w');
    const s = new TerminalLogStream({ fd, colour: false, columns: () => 40 });
    const rec = (o: Record<string, unknown>) => s.write(`${JSON.stringify({ level: 30, time: '2026-12-02T01:02:03.456Z', ...o })}\n`);
    rec({ msg: 'capturing', iface: 'eth0' });
    rec({ msg: 'status', packetsPerSecond: 10, captured: 20 });
    rec({ msg: 'status', packetsPerSecond: 11, captured: 31, attempts: 123456789, completed: 123456789 });
    rec({ msg: 'decision', action: 'block' });
    s.clearStatus();
    s.write('not json\n');
    fs.closeSync(fd);
    const longStatus = 'status pps=11 captured=31 attempts=123456789 completed=123456789'.slice(0, 39);
    assert.equal(fs.readFileSync(file, 'utf8'), [
      '01:02:03.456 INFO  capturing iface=eth0\n',
      '\r\x1b[Kstatus pps=10 captured=20',
      `\r\x1b[K${longStatus}`,
      `\r\x1b[K01:02:03.456 INFO  decision action=block\n${longStatus}`,
      '\r\x1b[K',
      'not json\n',
    ].join(''));
  });
});
