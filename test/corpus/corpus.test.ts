/**
 * The real-capture acceptance tests: totals equal tshark's ground truth, and the verdicts an
 * operator expects (../shared/corpus/README.md) hold with default settings.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CORPUS, HAVE_CORPUS, NO_CORPUS_REASON } from '../support/paths';
import { analyzeJson } from '../support/cli';

const captures = HAVE_CORPUS
  ? ['A-synflood', 'B-benign'].flatMap((d) => fs.readdirSync(path.join(CORPUS, d)).sort().map((f) => path.join(CORPUS, d, f)))
  : [];
const reports = new Map<string, any>();
function report(name: string): any {
  const file = captures.find((c) => path.basename(c) === name);
  assert.ok(file, `corpus capture ${name} exists`);
  if (!reports.has(name)) reports.set(name, analyzeJson(file));
  return reports.get(name);
}
const flaggedIps = (r: any) => r.sources.filter((s: any) => s.flagged).map((s: any) => s.ip).sort();
const alertKinds = (r: any) => r.alerts.map((a: any) => a.kind);

describe('totals equal the tshark ground truth (strict attempts and completions)', { skip: HAVE_CORPUS ? false : NO_CORPUS_REASON }, () => {
  for (const file of captures) {
    const name = path.basename(file);
    test(name, () => {
      const truth = JSON.parse(fs.readFileSync(path.join(CORPUS, 'truth', `${name}.json`), 'utf8'));
      const t = report(name).totals;
      assert.deepEqual(
        { attempts: t.attempts, completed: t.completed, tcpSegments: t.tcpSegments, synOnly: t.synOnly, synAck: t.synAck, tcpInIcmp: t.tcpInIcmp },
        { attempts: truth.strict.attempts, completed: truth.strict.completed, tcpSegments: truth.tcp_segments, synOnly: truth.syn_only, synAck: truth.syn_ack, tcpInIcmp: truth.tcp_in_icmp_errors },
      );
      assert.equal(t.incomplete, truth.strict.never_completed);
      assert.equal(t.packets, truth.total_frames);
    });
  }
});

describe('verdicts with default settings', { skip: HAVE_CORPUS ? false : NO_CORPUS_REASON }, () => {
  const attackers: [string, string, string][] = [
    ['evgenii-moriakhin__syn_flood.pcap', '192.168.1.52', 'flood'],
    ['doriguzzi__CIC-DDoS-2019-SynFlood.pcap', '172.16.0.5', ''],
    ['niesuv__syn.pcap', '192.168.42.163', 'flood'],
    ['chrissanders__synscan.pcapng', '172.16.0.8', 'scan'],
    ['StopDDoS__amp.TCP.syn.optionallyACK.optionallysamePort.pcapng', '136.243.174.154', ''],
  ];
  for (const [name, ip, reason] of attackers) {
    test(`${ip} is flagged in ${name}${reason ? ` as a ${reason}` : ''}`, () => {
      const s = report(name).sources.find((x: any) => x.ip === ip);
      assert.ok(s?.flagged, `${ip} flagged`);
      if (reason) assert.equal(s.reason, reason);
      assert.ok(s.incomplete >= 100, 'a real attacker with hundreds of incomplete attempts');
      assert.ok(s.flaggedAt >= s.firstSeen);
    });
  }

  const spoofed = [
    'StopDDoS__pkt.TCP.synflood.spoofed.pcap', 'StopDDoS__pkt.TCP.DOMINATE.syn.ecn.cwr.pcapng',
    'SniperDZ-Pro__tcp_syn_flood.pcap', 'GrigorDimitrov__syn_flood.pcapng', 'carvalhomariana__synflood.pcap',
    'mufeng121__tcpflood.pcap', 'chrissanders__ppa1e_dosattack.pcap',
  ];
  for (const name of spoofed) {
    test(`${name}: reported as one spoofed flood, no random source flagged`, () => {
      const r = report(name);
      assert.deepEqual(alertKinds(r), ['spoofed-flood']);
      assert.deepEqual(flaggedIps(r), []);
      const a = r.alerts[0];
      assert.ok(a.targets.length >= 1, 'the attacked destinations are named');
      assert.match(a.advice, /SYN cookies/);
    });
  }

  test('SniperDZ: 192.168.1.175 completes its handshakes mid-flood and is not flagged', () => {
    const s = report('SniperDZ-Pro__tcp_syn_flood.pcap').sources.find((x: any) => x.ip === '192.168.1.175');
    assert.equal(s?.flagged ?? false, false);
  });

  test('StopDDoS SYN-ACK reflection: backscatter alert, no SYN source flagged', () => {
    const r = report('StopDDoS__amp.TCP.reflection.SYNACK.pcap');
    assert.deepEqual(alertKinds(r), ['backscatter']);
    assert.deepEqual(flaggedIps(r), []);
    assert.ok(r.alerts[0].count > 1000);
  });

  const benign = [...captures.filter((c) => c.includes('B-benign')).map((c) => path.basename(c)), 'doriguzzi__CIC-DDoS-2019-WebDDoS.pcap'];
  for (const name of benign) {
    test(`${name}: nothing flagged, no alert`, () => {
      const r = report(name);
      assert.deepEqual(flaggedIps(r), []);
      assert.deepEqual(alertKinds(r), []);
      assert.deepEqual(r.decisions, []);
    });
  }
});
