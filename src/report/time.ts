/** Packet time (integer microseconds since the epoch) as ISO-8601 UTC with microseconds. */
export function isoUs(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const frac = String(us - Math.floor(us / 1e6) * 1e6).padStart(6, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/** Seconds with microsecond precision, for durations and offsets from the capture start. */
export function secondsUs(us: number): number {
  return Math.round(us) / 1e6;
}
