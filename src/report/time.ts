/**
 * A time in integer microseconds since the epoch (packet time, or the live clock) as ISO-8601
 * UTC with microseconds: the one formatter of reports, logs, the ledger and `blocks`.
 */
export function isoUs(us: number): string {
  if (!Number.isFinite(us)) return String(us);
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const frac = String(us - Math.floor(us / 1e6) * 1e6).padStart(6, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/** Seconds with microsecond precision, for durations and offsets from the capture start. */
export function secondsUs(us: number): number {
  return Math.round(us) / 1e6;
}
