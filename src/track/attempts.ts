/**
 * Handshake attempts: one entry per (client, server, client port, server port, client ISN).
 *
 * Contract: a FIFO table (entries are never touched, so age order is first-SYN order, which is
 * the order they time out in). An entry is kept after it ends (completed, reset, timed out) until
 * its retention runs out, so that a late retransmission of the same SYN is recognised as the same
 * attempt and not counted twice. The tracker owns the state transitions; this file is storage.
 *
 * Key layout (ATTEMPT_KEY_WORDS words): client address (4), server address (4),
 * clientPort << 16 | serverPort (1), client ISN (1).
 */
import { FlowTable, resized } from './flow-table';

export const ATTEMPT_KEY_WORDS = 10;
export const KEY_PORTS = 8;
export const KEY_ISN = 9;

/** Status bits. */
export const OPEN = 1; // counted in its source's half-open count
export const SYNACKED = 2; // a SYN-ACK acknowledging the SYN was seen
export const COMPLETED = 4; // the client's final ACK was seen
export const ENDED_INCOMPLETE = 8; // reset, timed out, or evicted while open
export const HAS_ALIAS = 16; // the SYN carried data; an alias entry maps ISN+len back to it

export class AttemptTable extends FlowTable {
  firstUs = new Float64Array(this.capacity);
  status = new Uint8Array(this.capacity);
  /** SYN payload length (TCP Fast Open). */
  synLen = new Uint16Array(this.capacity);
  /** From the matching SYN-ACK: its ISN, payload length, and the value it acknowledged. */
  synAckSeq = new Uint32Array(this.capacity);
  synAckLen = new Uint16Array(this.capacity);
  synAckAck = new Uint32Array(this.capacity);

  /** Called before an entry is evicted for space (the tracker ends it as incomplete). */
  onEvicting: ((slot: number) => void) | null = null;

  constructor(maxAttempts: number) {
    super(ATTEMPT_KEY_WORDS, maxAttempts);
  }

  protected override onInsert(s: number): void {
    this.firstUs[s] = 0;
    this.status[s] = 0;
    this.synLen[s] = 0;
    this.synAckSeq[s] = 0;
    this.synAckLen[s] = 0;
    this.synAckAck[s] = 0;
  }

  protected override onEvict(s: number): void {
    if (this.onEvicting) this.onEvicting(s);
  }

  protected override growValues(n: number): void {
    this.firstUs = resized(this.firstUs, n);
    this.status = resized(this.status, n);
    this.synLen = resized(this.synLen, n);
    this.synAckSeq = resized(this.synAckSeq, n);
    this.synAckLen = resized(this.synAckLen, n);
    this.synAckAck = resized(this.synAckAck, n);
  }
}

/**
 * TCP Fast Open aliases: a SYN with data may be acknowledged at ISN+1+len, so lookups by
 * "acknowledged value - 1" land on ISN+len. This small table maps that alias back to the ISN.
 * Rare (only SYNs with payload), so it stays small; same key layout as AttemptTable.
 */
export class AliasTable extends FlowTable {
  isn = new Uint32Array(this.capacity);

  constructor(maxAliases: number) {
    super(ATTEMPT_KEY_WORDS, maxAliases);
  }

  protected override growValues(n: number): void {
    this.isn = resized(this.isn, n);
  }
}
