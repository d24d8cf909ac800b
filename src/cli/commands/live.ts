/**
 * `synwatch live -i IFACE`: capture, detect and block in real time (src/live/runner.ts has the
 * log-line contract). Start-up failures are one line on stderr and exit 1: not root or missing
 * CAP_NET_RAW / CAP_NET_ADMIN, unknown interface, libpcap missing, invalid BPF filter, state
 * directory not writable, a --user that does not exist or cannot be dropped to, the nftables
 * backend asked for without its addon (libnftables) or with someone else's `table inet synwatch`
 * in the way. Bad options (an unknown --backend among them) exit 2.
 * Privileges: the block backend is opened here, before anything else touches the kernel (its
 * rtnetlink socket, the nftables context the process keeps: backends.ts, nftables.ts), the rest
 * of set-up in runLive, which then drops to the --user (src/live/privilege.ts) before the first
 * packet.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { addDetectionOptions } from '../detection-options';
import { addPolicyOptions } from '../policy-options';
import { intInRange, positiveInt, positiveSeconds, usage, usageAsync, usageOnRouteError, UsageError } from '../errors';
import { readHostFacts } from '../../enforce/allowlist';
import { CliEnforceOptions, resolveConfig } from '../../enforce/config';
import { openBlockBackend, parseBackendSpec } from '../../enforce/backends';
import { RecordingBackend } from '../../enforce/recording';
import { CAP_NET_ADMIN, CAP_NET_RAW, effectiveCapabilities, hasCapability } from '../../enforce/capabilities';
import { DEFAULT_BUFFER_BYTES, DEFAULT_COALESCE_US, DEFAULT_SNAPLEN, MAX_COALESCE_US, MAX_SNAPLEN, MIN_SNAPLEN } from '../../capture/live';
import { LiveRunOptions, runLive } from '../../live/runner';
import { DetectionFlags, pipelineOptions } from '../../pipeline-options';
import { createLogger } from '../log';
import { ListenAddress, parseListenAddress } from '../../observe/metrics-server';
import { DEFAULT_RUN_USER, loadPrivilegeAddon, PrivilegeDrop, PrivilegeError, resolveRunUser } from '../../live/privilege';
import { addNotifyOptions, NotifyFlags, notifiersFor } from '../notify-options';

type LiveFlags = DetectionFlags & Omit<CliEnforceOptions, 'threshold'> & NotifyFlags & {
  interface: string;
  filter?: string;
  bufferMib?: number;
  snaplen?: number;
  coalesceUs?: number;
  /** --no-warm-up sets it false. */
  warmUp?: boolean;
  write?: string;
  writeMaxMib?: number;
  writeFiles?: number;
  statusInterval?: number;
  unblockOnExit?: boolean;
  metricsListen?: ListenAddress;
};


export function register(program: Command): void {
  const cmd = program
    .command('live')
    .description('capture on an interface, flag SYN-flood sources and block them with reject routes')
    .requiredOption('-i, --interface <iface>', 'interface to capture on (any: all, as Linux SLL)')
    .option('--filter <expr>', 'BPF expression ANDed with the default filter (e.g. "dst port 80 or src port 80")')
    .addOption(new Option('--buffer-mib <n>', `kernel capture ring, MiB (default ${DEFAULT_BUFFER_BYTES / 1048576}: ~190,000 frames at the default snaplen)`).argParser(positiveInt('--buffer-mib', 2047)))
    .addOption(new Option('--snaplen <bytes>', `bytes captured per packet (default ${DEFAULT_SNAPLEN}: Ethernet, two VLAN tags, IPv6 extension headers, TCP options)`).argParser(intInRange('--snaplen', MIN_SNAPLEN, MAX_SNAPLEN)))
    .addOption(new Option('--coalesce-us <us>', `under a sustained flood, read the capture ring at most every US microseconds instead of on every packet; the wait starts at 100 us and grows with the flood's age (1/64 of it) up to US, and never past ~48 packets' worth at the flood's rate (default ${DEFAULT_COALESCE_US}; 0: every packet, more CPU)`).argParser(intInRange('--coalesce-us', 0, MAX_COALESCE_US)))
    .option('--no-warm-up', 'skip compiling the packet path on a synthetic flood at start (~0.1-0.2 s of CPU; without it the first flood meets interpreted code)')
    .option('--write <file>', 'also write what the filter passed to FILE, nanosecond pcap (as tcpdump -w)')
    .addOption(new Option('--write-max-mib <n>', 'rotate the --write file at this size: FILE.000001.pcap, FILE.000002.pcap, ...').argParser(positiveInt('--write-max-mib', 1024 * 1024)))
    .addOption(new Option('--write-files <n>', 'with --write-max-mib: keep only the newest N files').argParser(positiveInt('--write-files')))
    .addOption(new Option('--status-interval <s>', 'seconds between status lines (default 10)').argParser(positiveSeconds('--status-interval')))
    .option('--unblock-on-exit', 'remove all blocks when stopped (default: keep them, ledger-backed)')
    .option('--backend <backend>', 'route | nftables | route,nftables (default route; route may be spelt auto, netlink or iproute); config key "backend"')
    .addOption(new Option('--metrics-listen <addr:port>', 'serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9464; default: off)').argParser(listenAddress))
    .option('--user <name>', `user to run as once the capture, routes socket and state are open (default: ${DEFAULT_RUN_USER} when it exists, else root with a warning; root: no drop)`);
  addDetectionOptions(cmd);
  addPolicyOptions(cmd);
  addNotifyOptions(cmd);
  cmd.action(async (flags: LiveFlags) => {
    const logLevel = program.opts().logLevel === 'warn' ? 'info' : program.opts().logLevel;
    const log = createLogger(logLevel, program.opts().logFormat);
    const cli = { ...flags, threshold: flags.threshold };
    const config = usage(() => resolveConfig(cli));
    const spec = usageOnRouteError(() => parseBackendSpec(config.backend)); // resolveConfig checked it
    const notifiers = notifiersFor(flags, config.dryRun, log); // throws UsageError itself
    checkPrivileges(config.dryRun);
    const loaded = loadPrivilegeAddon();
    const runUser = resolveRunUser(config.user, loaded);
    const privilege = new PrivilegeDrop(runUser.name, loaded.addon, !config.dryRun, { warning: runUser.warning, warn: (m) => log.warn(m) });
    const opened = config.dryRun ? new RecordingBackend() : openBlockBackend(spec, { warn: (m) => log.warn(m) });
    if (privilege.enabled && opened.name.split('+').includes('iproute')) {
      // `ip route` would run as the dropped user, without the capability: every block would fail.
      throw new PrivilegeError(`--user ${runUser.name}: the ip route backend cannot change routes after the drop; use the netlink addon (npm run build:native, --backend netlink) or --user root`);
    }
    const backend = config.dryRun ? opened : privilege.guardBackend(opened);
    // runLive builds its EnforcementSession before it returns: a bad allowlist is a usage error.
    const code = await usageAsync(() => runLive({
      iface: flags.interface,
      filter: flags.filter,
      snaplen: flags.snaplen ?? DEFAULT_SNAPLEN,
      coalesceUs: flags.coalesceUs ?? DEFAULT_COALESCE_US,
      warmUp: flags.warmUp !== false,
      write: writeOptions(flags),
      bufferBytes: (flags.bufferMib ?? DEFAULT_BUFFER_BYTES / 1048576) * 1048576,
      pipeline: pipelineOptions(flags, config.threshold),
      config,
      backend,
      hostFacts: readHostFacts(), // live protects this host's own addresses, gateways, nameservers
      statusIntervalMs: Math.round((flags.statusInterval ?? 10) * 1000),
      unblockOnExit: flags.unblockOnExit === true,
      reloadConfig: () => resolveConfig(cli),
      metricsListen: flags.metricsListen,
      privilege,
      notifiers,
    }, log));
    process.exitCode = code;
  });
}

function listenAddress(value: string): ListenAddress {
  try {
    return parseListenAddress(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** One clear line instead of a libpcap or netlink error deep inside. */
function checkPrivileges(dryRun: boolean): void {
  const eff = effectiveCapabilities();
  if (eff === null) return; // no /proc: let the capture open say what is wrong
  const has = (bit: number) => hasCapability(eff, bit);
  const missing = [];
  if (!has(CAP_NET_RAW)) missing.push('CAP_NET_RAW (to capture)');
  if (!dryRun && !has(CAP_NET_ADMIN)) missing.push('CAP_NET_ADMIN (to add routes)');
  if (missing.length > 0) {
    throw new Error(`live needs ${missing.join(' and ')}, which this process does not have: run it as root with its capabilities, or grant them (setcap, or AmbientCapabilities in the systemd unit)${dryRun ? '' : '; --dry-run needs only CAP_NET_RAW'}`);
  }
}

function writeOptions(flags: LiveFlags): LiveRunOptions['write'] {
  if (flags.write === undefined) {
    if (flags.writeMaxMib !== undefined || flags.writeFiles !== undefined) throw new UsageError('--write-max-mib and --write-files need --write FILE');
    return undefined;
  }
  if (flags.writeFiles !== undefined && flags.writeMaxMib === undefined) throw new UsageError('--write-files needs --write-max-mib (files are kept by number only when they rotate)');
  return { path: flags.write, maxFileBytes: flags.writeMaxMib === undefined ? undefined : flags.writeMaxMib * 1048576, keepFiles: flags.writeFiles };
}
