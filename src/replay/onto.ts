/**
 * `replay --onto IFACE`: put a capture's frames on an interface at the recorded pace (or
 * `speed` times faster), to drive a real `synwatch live` elsewhere: capture and the real
 * enforcer under test.
 *
 * Frames are read into memory first (bounded by MAX_BYTES, refused beyond it) so that reading
 * never disturbs the pacing; each frame is sent when its time comes: a timer for the long waits,
 * a short spin for the last millisecond.
 */
import { readCaptureFile } from '../capture/reader';
import { CaptureError } from '../capture/record';
import { openSender } from '../capture/live';

const MAX_BYTES = 512 * 1024 * 1024;
const SPIN_MS = 1;

export interface OntoResult {
  frames: number;
  skipped: number;
  seconds: number;
}

export async function replayOnto(file: string, iface: string, speed: number): Promise<OntoResult> {
  const frames: Buffer[] = [];
  const times: number[] = [];
  let bytes = 0;
  let skipped = 0;
  let linkType = -1;
  const summary = await readCaptureFile(file, (rec) => {
    if (linkType < 0) linkType = rec.linkType;
    if (rec.linkType !== linkType || rec.caplen < rec.wirelen) {
      skipped++; // another interface's link type, or a frame cut by the snaplen: not sendable as is
      return;
    }
    bytes += rec.caplen;
    if (bytes > MAX_BYTES) throw new CaptureError('too-large', file, rec.fileOffset, `${file}: more than ${MAX_BYTES / 1048576} MiB of frames to send; cut the capture (editcap) first`);
    frames.push(Buffer.from(rec.buf.subarray(rec.offset, rec.offset + rec.caplen)));
    times.push(rec.tsUs);
  });
  void summary;
  const sender = openSender(iface);
  try {
    if (frames.length > 0 && linkType !== sender.linkType) {
      throw new CaptureError('link-type-mismatch', file, null,
        `${file}: link type ${linkType} cannot be sent onto ${iface} (link type ${sender.linkType})`);
    }
    const t0 = times[0] ?? 0;
    const start = performance.now();
    for (let i = 0; i < frames.length; i++) {
      const due = start + (times[i] - t0) / 1000 / speed;
      let wait = due - performance.now();
      if (wait > SPIN_MS) await new Promise((r) => setTimeout(r, wait - SPIN_MS));
      while ((wait = due - performance.now()) > 0) { /* spin for sub-millisecond pacing */ }
      sender.send(frames[i]);
    }
    return { frames: frames.length, skipped, seconds: (performance.now() - start) / 1000 };
  } finally {
    sender.close();
  }
}
