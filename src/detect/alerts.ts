/**
 * What the detector reports beyond single sources: floods as a whole and backscatter.
 * Times are packet time (integer microseconds); the report turns them into ISO-8601 UTC.
 */

export type AlertKind =
  /**
   * Many one-SYN sources, few completions: random spoofed sources. No per-source route helps.
   * Also the one-shot part of a mixed flood, beside that flood's `syn-flood` alert (flood.ts).
   */
  | 'spoofed-flood'
  /** A surge of unfinished handshakes from few sources (they are flagged one by one). */
  | 'syn-flood'
  /** SYN-ACKs that acknowledge no SYN seen here: reflection, or backscatter of a spoofed flood. */
  | 'backscatter';

export interface Endpoint {
  ip: string;
  port: number;
  attempts: number;
}

export interface AddressCount {
  ip: string;
  count: number;
}

export interface Alert {
  kind: AlertKind;
  startUs: number;
  endUs: number;
  /** Handshake attempts during the span (floods) or SYN-ACKs without a SYN (backscatter). */
  count: number;
  /** Attempts completed during the span (floods). */
  completed: number;
  /** Peak per second, in packet time. */
  peakRate: number;
  /** Attempts whose source had no earlier attempt (floods): the spoofing signal. */
  newSourceAttempts: number;
  /**
   * The share of the flood's attempts this alert speaks for, rounded to 4 decimals: 1, except
   * for a mixed flood, whose spoofed-flood part has its one-shot sources' share and whose
   * syn-flood alert the rest.
   */
  share: number;
  /** Most-hit destinations (floods) or the addresses the SYN-ACKs went to (backscatter). */
  targets: Endpoint[];
  /** Top senders: flood sources, or reflectors for backscatter. */
  sources: AddressCount[];
  /** What an operator should do about it. */
  advice: string;
}

export const ADVICE: Record<AlertKind, string> = {
  'spoofed-flood':
    'Sources are random (spoofed): per-source routes cannot stop this. Enable SYN cookies ' +
    '(sysctl net.ipv4.tcp_syncookies=1), raise net.ipv4.tcp_max_syn_backlog, and ask the ' +
    'upstream provider to filter or scrub traffic to the targets listed.',
  'syn-flood':
    'Repeat senders (real addresses, not spoofed ones) send most unfinished handshakes: each is ' +
    'flagged and the enforcer can block it, however many there are (new blocks are paced by ' +
    '--max-new-blocks-per-second). Keep SYN cookies on while it lasts.',
  'backscatter':
    'SYN-ACKs arrive for connections this host never opened: someone spoofs this address ' +
    '(reflection), or these are replies to a spoofed flood elsewhere. Do not block the ' +
    'reflectors; filter the unsolicited SYN-ACKs upstream if they hurt.',
};

/** The advice of a mixed flood's two alerts (flood.ts): each names the other part. */
export const MIXED_ADVICE = {
  repeat:
    'Most unfinished handshakes come from repeat senders: they are flagged individually and the ' +
    'enforcer can block them. Part of this flood comes from one-shot random (spoofed) sources ' +
    '(the spoofed-flood alert of the same span), which no route stops: enable SYN cookies ' +
    '(sysctl net.ipv4.tcp_syncookies=1) and raise net.ipv4.tcp_max_syn_backlog while it lasts.',
  oneShot:
    'This part of a flood comes from one-shot random (spoofed) sources: per-source routes cannot ' +
    'stop it. Enable SYN cookies (sysctl net.ipv4.tcp_syncookies=1), raise ' +
    'net.ipv4.tcp_max_syn_backlog, and ask the upstream provider to filter or scrub traffic to ' +
    'the targets listed. The repeat senders of the same flood (its syn-flood alert) are flagged ' +
    'and can be blocked.',
};
