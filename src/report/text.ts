/**
 * The human report: what an operator reads at 3 a.m. Same data as the JSON report, in the order
 * an operator asks the questions: what happened, who did it, what was hit, what would be blocked,
 * and what in the input was odd.
 */
import { Report } from './model';

export function renderText(r: Report): string {
  const out: string[] = [];
  const t = r.totals as Record<string, number>;
  const c = r.capture;
  out.push(`synwatch analysis of ${c.file}`);
  out.push(`  capture   ${c.format}${c.compressed ? ' (gzip)' : ''}, ${c.linkTypes.join('+') || 'no interfaces'}, ` +
    `${c.records} records, ${c.first ?? '-'} .. ${c.last ?? '-'} (${c.durationSeconds.toFixed(3)} s)`);
  out.push(`  packets   ${t.packets} (${t.tcpSegments} TCP segments, ${t.tcpInIcmp} TCP headers inside ICMP errors)`);
  out.push(`  SYN       ${t.synOnly} SYN, ${t.synAck} SYN-ACK, ${t.rst} RST`);
  out.push(`  attempts  ${t.attempts} handshake attempts: ${t.completed} completed, ${t.incomplete} incomplete ` +
    `(${t.clientResets} reset by client, ${t.serverResets} by server, ${t.timedOut} timed out)`);
  out.push('');

  const flagged = r.sources.filter((s) => s.flagged);
  out.push(`Flagged sources: ${flagged.length}`);
  if (flagged.length > 0) {
    out.push(table(
      ['source', 'reason', 'first seen', 'flagged at', 'SYN', 'attempts', 'completed', 'incomplete', 'ports'],
      flagged.map((s) => [s.ip, s.reason ?? '', s.firstSeen, s.flaggedAt ?? '', s.syn, s.attempts, s.completed, s.incomplete, s.distinctPorts]),
    ));
  }
  const others = r.sources.filter((s) => !s.flagged).slice(0, 5);
  if (others.length > 0) {
    out.push('Top unflagged sources by incomplete attempts:');
    out.push(table(['source', 'SYN', 'attempts', 'completed', 'incomplete'],
      others.map((s) => [s.ip, s.syn, s.attempts, s.completed, s.incomplete])));
  }
  out.push('');

  out.push(`Alerts: ${r.alerts.length}`);
  for (const a of r.alerts) {
    out.push(`  ${a.kind}  ${a.start} .. ${a.end}  ${a.count} ${a.kind === 'backscatter' ? 'SYN-ACKs' : 'attempts'}, ` +
      `${a.completed} completed, peak ${a.peakRate}/s` +
      (a.kind === 'backscatter' ? '' : `, ${a.newSourceAttempts} from new sources`) +
      (a.share < 1 ? `, ${(a.share * 100).toFixed(1)}% of the flood's attempts (${a.kind === 'spoofed-flood' ? 'its one-shot part' : 'its repeat senders'})` : ''));
    if (a.targets.length > 0) out.push(`    ${a.kind === 'backscatter' ? 'sent to' : 'targets'}: ${a.targets.map((e) => `${endpoint(e.ip, e.port)} (${e.attempts})`).join(', ')}`);
    if (a.sources.length > 0) out.push(`    ${a.kind === 'backscatter' ? 'reflectors' : 'sources'}: ${a.sources.map((s) => `${s.ip} (${s.count})`).join(', ')}`);
    out.push(`    advice: ${a.advice}`);
  }
  out.push('');

  if (r.targets.length > 0) {
    out.push('Targets (destinations by attempts):');
    out.push(table(['destination', 'attempts', 'completed', 'incomplete'],
      r.targets.slice(0, 10).map((e) => [endpoint(e.ip, e.port), e.attempts, e.completed, e.incomplete])));
    out.push('');
  }

  out.push(`Decisions under the policy in force: ${r.decisions.length}`);
  for (const d of r.decisions.slice(0, 50)) {
    out.push(`  ${d.at}  ${d.action.padEnd(8)} ${d.ip || '-'}  ${d.reason}${d.expires ? ` until ${d.expires}` : ''}${d.detail ? ` (${d.detail})` : ''}`);
  }
  if (r.decisions.length > 50) out.push(`  ... ${r.decisions.length - 50} more (see --json)`);

  const anomalies = Object.entries(t.anomalies as unknown as Record<string, number>);
  const unknown = Object.entries(r.totals.unknownLinkTypes as Record<string, number>);
  const evicted = Object.entries(r.tables).filter(([, v]) => v.evictions > 0);
  if (anomalies.length + unknown.length + evicted.length + c.warnings.length > 0) {
    out.push('');
    out.push('Input and table notes:');
    for (const [k, n] of anomalies) out.push(`  anomaly ${k}: ${n}`);
    for (const [k, n] of unknown) out.push(`  unknown link type ${k}: ${n} frames`);
    for (const [k, v] of evicted) out.push(`  ${k} table full (${v.max}): ${v.evictions} evictions`);
    for (const w of c.warnings) out.push(`  warning at byte ${w.offset}: ${w.message}`);
  }
  return out.join('\n') + '\n';
}

/** `ip:port`, an IPv6 address in brackets. */
export function endpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => '  ' + r.map((v, i) => v.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}
