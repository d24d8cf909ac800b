/**
 * Handshake oracle: attempts and completions over a list of TCP segment facts, by the project's
 * definition, in capture order. Independent of synwatch's tracker on purpose: the fixture
 * generator feeds it the segments it wrote, and golden tests compare synwatch against the result.
 *
 * Definition (same as ../shared/corpus/truth.sh `strict`):
 * - an attempt is a distinct (src, sport, dst, dport, client ISN) of a SYN without ACK; a
 *   retransmitted SYN with the same ISN is the same attempt;
 * - it is completed iff a later SYN-ACK from the peer acknowledges ISN+1 (or ISN+1+SYN payload,
 *   e.g. TCP Fast Open), and after that SYN-ACK the client sends a segment with ACK set and SYN
 *   and RST clear whose seq equals that acknowledgement and whose ack equals the SYN-ACK's
 *   ISN+1 (or ISN+1+SYN-ACK payload).
 * Only segments whose flags were captured belong in the list (a frame cut before the TCP flags,
 * or a non-first fragment, is no segment).
 */

export interface SegmentFacts {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  /** TCP flag bits. */
  flags: number;
  /** TCP payload length on the wire. */
  payloadLen: number;
}

export interface HandshakeTotals {
  attempts: number;
  completed: number;
  /** Segments with SYN set and ACK clear (retransmissions counted each time). */
  synOnly: number;
  /** Segments with SYN and ACK set. */
  synAck: number;
}

const SYN = 0x02;
const RST = 0x04;
const ACK = 0x10;
const U32 = 0x1_0000_0000;

const plus = (a: number, b: number): number => (a + b) % U32;

interface Attempt { index: number; isn: number; synLen: number; done: boolean }

export function handshakeTotals(segs: readonly SegmentFacts[]): HandshakeTotals {
  const attempts = new Map<string, Attempt>();
  let synOnly = 0, synAck = 0;
  segs.forEach((s, index) => {
    if (s.flags & SYN && !(s.flags & ACK)) {
      synOnly++;
      const key = `${s.src}|${s.sport}|${s.dst}|${s.dport}|${s.seq}`;
      if (!attempts.has(key)) attempts.set(key, { index, isn: s.seq, synLen: s.payloadLen, done: false });
    } else if (s.flags & SYN) {
      synAck++;
    }
  });
  for (const [key, a] of attempts) {
    const [c, cp, sv, sp] = key.split('|');
    const acceptable = new Set([plus(a.isn, 1), plus(a.isn, 1 + a.synLen)]);
    for (let i = a.index + 1; i < segs.length && !a.done; i++) {
      const sa = segs[i];
      const isPeerSynAck = sa.flags & SYN && sa.flags & ACK && sa.src === sv && String(sa.sport) === sp &&
        sa.dst === c && String(sa.dport) === cp && acceptable.has(sa.ack);
      if (!isPeerSynAck) continue;
      const wantAck = new Set([plus(sa.seq, 1), plus(sa.seq, 1 + sa.payloadLen)]);
      a.done = segs.slice(i + 1).some((f) => f.flags & ACK && !(f.flags & (SYN | RST)) &&
        f.src === c && String(f.sport) === cp && f.dst === sv && String(f.dport) === sp &&
        f.seq === sa.ack && wantAck.has(f.ack));
    }
  }
  const completed = [...attempts.values()].filter((a) => a.done).length;
  return { attempts: attempts.size, completed, synOnly, synAck };
}
