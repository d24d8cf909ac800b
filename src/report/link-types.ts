/** LINKTYPE_* names for reports (https://www.tcpdump.org/linktypes.html); unknown ones as numbers. */
const NAMES: Record<number, string> = {
  0: 'null', 1: 'ether', 12: 'raw', 14: 'raw', 101: 'raw', 108: 'loop', 113: 'linux-sll',
  228: 'ipv4', 229: 'ipv6', 276: 'linux-sll2',
};

export function linkTypeName(lt: number): string {
  return NAMES[lt] ?? `linktype-${lt}`;
}
