/** Placeholder until the live-filter branch lands: the filter as it was in live.ts. */
export const DEFAULT_LIVE_FILTER =
  '(ip and tcp and (tcp[tcpflags] & (tcp-syn|tcp-rst) != 0' +
  ' or ip[2:2] - ((ip[0] & 0x0f) << 2) - ((tcp[12] & 0xf0) >> 2) == 0))' +
  ' or (ip6 and ip6[6] == 6 and (ip6[53] & 0x06 != 0 or ip6[4:2] - ((ip6[52] & 0xf0) >> 2) == 0))';

export function liveFilter(extra?: string): string {
  return extra ? `(${DEFAULT_LIVE_FILTER}) and (${extra})` : DEFAULT_LIVE_FILTER;
}
