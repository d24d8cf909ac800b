/**
 * Never throw, never read past caplen: every real frame of the unit tests, cut at every length
 * and with every byte of its headers flipped, decoded twice with different bytes after the
 * capture. A decoder that peeked beyond caplen would see the difference.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeFrame } from '../../src/decode/frame';
import { DecodeCounters, PacketView } from '../../src/decode/packet';
import { hex, LINKTYPE, linkTypeOf, PKT } from './packets';


function snapshot(view: PacketView, result: number): string {
  return JSON.stringify({ result, ...view, src: [...view.src], dst: [...view.dst] });
}

/** Decodes frame[0, caplen) placed in a buffer whose bytes after the capture are all `fill`. */
function decodeWithTail(frame: Buffer, caplen: number, linkType: number, fill: number, view: PacketView, c: DecodeCounters): string {
  const buf = Buffer.alloc(caplen + 64, fill);
  frame.copy(buf, 0, 0, caplen);
  const result = decodeFrame(view, buf, 0, caplen, frame.length + 100, linkType, c);
  return snapshot(view, result);
}

test('every prefix and every single-byte mutation of the real frames: no throw, no peeking', () => {
  const view = new PacketView();
  const counters = new DecodeCounters();
  let cases = 0;
  for (const [name, h] of Object.entries(PKT)) {
    const linkType = linkTypeOf(name);
    const original = hex(h);
    const variants: Buffer[] = [original];
    for (let i = 0; i < Math.min(original.length, 96); i++) {
      for (const v of [0x00, 0xff, original[i] ^ 0x80, original[i] + 1]) {
        const m = Buffer.from(original);
        m[i] = v & 0xff;
        variants.push(m);
      }
    }
    for (const frame of variants) {
      for (let caplen = 0; caplen <= frame.length; caplen += frame === original ? 1 : 7) {
        const a = decodeWithTail(frame, caplen, linkType, 0x00, view, counters);
        const b = decodeWithTail(frame, caplen, linkType, 0xff, view, counters);
        assert.equal(a, b, `${name} caplen ${caplen} read past the capture`);
        cases++;
      }
    }
  }
  assert.ok(cases > 10_000);
});

test('nonsense arguments: caplen past the buffer, negative, NaN; offset past the end', () => {
  const view = new PacketView();
  const c = new DecodeCounters();
  const buf = hex(PKT.synEth);
  for (const [offset, caplen, wirelen] of [
    [0, 10_000, 10_000], [0, -5, 54], [60, 54, 54], [-3, 54, 54], [0, NaN, NaN], [NaN, 54, 54], [0, 54, -1],
  ]) {
    assert.doesNotThrow(() => decodeFrame(view, buf, offset, caplen, wirelen, LINKTYPE.ETHERNET, c));
  }
  assert.doesNotThrow(() => decodeFrame(view, Buffer.alloc(0), 0, 0, 0, LINKTYPE.ETHERNET, c));
});
