/**
 * In-process stage breakdown: how much of synwatch's time each pipeline stage adds.
 *
 * Contract: `node dist/bench/stages.js STAGE FILE` runs ONE stage over FILE once, in a fresh
 * process (so no run warms the JIT or the heap for the next), and prints one JSON line
 * (StageResult). The clock starts just before readCaptureFile and stops after the stage's last
 * step, so process start-up, module loading and the CLI are excluded. Stages are cumulative:
 *   read    readCaptureFile with a no-op sink (I/O and pcap record parsing)
 *   decode  + decodeFrame of every record into one PacketView
 *   track   + the HandshakeTracker for every TCP segment, fed as the Pipeline feeds it (decoded
 *           into its batch); tracker events go nowhere
 *   detect  the Pipeline (tracker + Detector) with a sink that keeps alerts and drops flags, and
 *           pipeline.finish()
 *   analyze + the enforcement policy (recording backend) and the report: analyzeCapture() from
 *           src/analyze.ts, the in-process entry point of `analyze`, plus JSON.stringify, i.e.
 *           everything `analyze --json` does after start-up
 * The totals in the result let the caller check that the stage did the real work.
 */
import { readCaptureFile } from '../src/capture/reader';
import { CaptureRecord } from '../src/capture/record';
import { decodeFrame } from '../src/decode/frame';
import { DecodeCounters, DecodeResult, PacketView } from '../src/decode/packet';
import { HandshakeTracker, TrackerEvents } from '../src/track/tracker';
import { DEFAULT_PIPELINE_OPTIONS, Pipeline } from '../src/pipeline';
import { DetectorSink } from '../src/detect/detector';
import { Alert } from '../src/detect/alerts';
import { analyzeCapture } from '../src/analyze';

export const STAGES = ['read', 'decode', 'track', 'detect', 'analyze'] as const;
export type Stage = (typeof STAGES)[number];

export interface StageResult {
  stage: Stage;
  file: string;
  records: number;
  /** Wall milliseconds of the stage (see the file contract for what is inside). */
  ms: number;
  /** User + system CPU milliseconds over the same span. */
  cpuMs: number;
  /** Peak resident set of the whole process, KiB. */
  maxRssKb: number;
  /** Decoded TCP segments (0 for `read`). */
  tcpSegments: number;
  /** Tracker totals (0 below `track`). */
  synOnly: number;
  attempts: number;
  completed: number;
  /** Bytes of the JSON report (`analyze` only). */
  reportBytes: number;
}

const NO_EVENTS: TrackerEvents = {
  onSyn() {},
  onAttemptEnd() {},
  onUnsolicitedSynAck() {},
  onTime() {},
};

export async function runStage(stage: Stage, file: string): Promise<StageResult> {
  const view = new PacketView();
  const counters = new DecodeCounters();
  const tracker = new HandshakeTracker(DEFAULT_PIPELINE_OPTIONS.tracker);
  tracker.setEvents(NO_EVENTS);
  const alerts: Alert[] = [];
  const sink: DetectorSink = {
    onFlag() {},
    onActivity() {},
    onAlert(a, phase) {
      if (phase === 'end') alerts.push(a);
    },
    onTime() {},
  };
  const pipeline = new Pipeline(DEFAULT_PIPELINE_OPTIONS, sink);
  let seen = 0;
  let onRecord: (rec: CaptureRecord) => void;
  switch (stage) {
    case 'read':
      // Touch the record so the call cannot be optimised away.
      onRecord = (rec) => {
        seen += rec.caplen;
      };
      break;
    case 'decode':
      onRecord = (rec) => {
        decodeFrame(view, rec.buf, rec.offset, rec.caplen, rec.wirelen, rec.linkType, counters);
      };
      break;
    case 'track':
      onRecord = (rec) => {
        const r = decodeFrame(tracker.segmentView(), rec.buf, rec.offset, rec.caplen, rec.wirelen, rec.linkType, counters);
        if (r === DecodeResult.TcpSegment) tracker.commit(rec.tsUs);
      };
      break;
    default:
      onRecord = pipeline.onRecord;
  }

  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let records: number;
  let reportBytes = 0;
  let p: Pipeline | null = null;
  if (stage === 'analyze') {
    const a = await analyzeCapture(file);
    reportBytes = JSON.stringify(a.report, null, 2).length + 1;
    records = a.summary.records;
    p = a.pipeline;
  } else {
    const summary = await readCaptureFile(file, onRecord);
    records = summary.records;
    if (stage === 'track') {
      tracker.flush();
      tracker.advanceTo(tracker.nowUs);
    }
    if (stage === 'detect') {
      pipeline.finish();
      p = pipeline;
    }
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);

  const c = p ? p.counters : counters;
  const t = p ? p.tracker.totals : tracker.totals;
  if (stage === 'read' && seen < 0) throw new Error('unreachable');
  return {
    stage, file, records, ms, cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssKb: process.resourceUsage().maxRSS,
    tcpSegments: c.tcpSegments, synOnly: t.synOnly, attempts: t.attempts, completed: t.completed, reportBytes,
  };
}

if (require.main === module) {
  const [stage, file] = process.argv.slice(2);
  if (!(STAGES as readonly string[]).includes(stage) || file === undefined) {
    process.stderr.write(`usage: node dist/bench/stages.js ${STAGES.join('|')} FILE\n`);
    process.exit(2);
  }
  runStage(stage as Stage, file).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (e) => {
      process.stderr.write(`${(e as Error).stack ?? e}\n`);
      process.exit(1);
    },
  );
}
