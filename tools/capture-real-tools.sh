#!/usr/bin/env bash
# capture-real-tools.sh [OUTDIR]  — captures of real attack and client tools, for fixtures/.
#
# Contract: run as root on Linux with iproute2, nftables, tcpdump, hping3, nmap, curl, python3.
# Builds three private network namespaces joined to a server namespace by veth pairs (never
# attached to a real interface), with documentation addresses only (RFC 5737 / RFC 3849):
#
#   attacker 203.0.113.66  --veth--  server 198.51.100.10, 2001:db8:100::10  --veth--  client 192.0.2.20, 2001:db8:192::20
#
# The server runs `python3 -m http.server` bound to its addresses, with SYN cookies off so a
# flood leaves half-open connections instead of being absorbed. The attacker namespace drops its
# own outgoing RSTs (nftables): otherwise its kernel resets every SYN-ACK it never asked for and
# nothing stays half-open. tcpdump in the server namespace (-s 128) writes one capture per tool:
#
#   real-hping3-flood.pcap   hping3 -S -p 80 -c 300 -i u2000   (300 SYNs in ~0.6 s)
#   real-nmap-syn-scan.pcap  nmap -sS -p 1-200                 (a SYN scan; only port 80 open)
#   real-curl.pcap           curl of the index page, 3x over IPv4 and 2x over IPv6
#
# Then it writes OUTDIR/real-tools.json, shaped like scenarios.json: what synwatch should
# conclude (flagged, reasons, alerts) plus attempts/completed/synOnly/synAck/frames from
# ../shared/corpus/truth.sh (omitted when that checkout is absent). Every tool runs bounded in count and under `timeout`.
# A trap removes the namespaces and stops the processes this script started (by PID) on any exit.
# The captures differ from run to run (ISNs, ports, timing); the committed ones are the reference.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=$(cd "${1:-$repo/fixtures}" && pwd)
truth="$repo/../shared/corpus/truth.sh"

SERVER4=198.51.100.10
ATTACKER4=203.0.113.66
CLIENT4=192.0.2.20
SERVER6=2001:db8:100::10
CLIENT6=2001:db8:192::20
HTTP_PORT=80
SNAPLEN=128
# Long enough for the SYN-ACK retransmissions at 1 s and 3 s to land in the capture.
LINGER_S=4
TOOL_TIMEOUT_S=30

# Unique names so two runs (or another user's namespaces) never collide.
tag=sw$$
NS_SRV=$tag-srv NS_ATK=$tag-atk NS_CLI=$tag-cli
work=$(mktemp -d)
pids=()

# For foreground commands only: a background process is started with `ip netns exec` itself,
# which execs the program, so that $! is the program's own PID (a function would fork a subshell
# that ignores SIGINT and outlives a kill).
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Each capture gets a fresh topology: a server that still retransmits SYN-ACKs for the previous
# tool's half-open connections would leak them into the next capture.
topology_up() {
  local ns
  for ns in "$NS_SRV" "$NS_ATK" "$NS_CLI"; do
    ip netns add "$ns"
    in_ns "$ns" ip link set lo up
  done
  # veths are created in the root namespace before they are moved: names unique there too.
  ip link add "${tag}a0" type veth peer name "${tag}a1"
  ip link add "${tag}c0" type veth peer name "${tag}c1"
  ip link set "${tag}a0" netns "$NS_SRV"; ip link set "${tag}a1" netns "$NS_ATK"
  ip link set "${tag}c0" netns "$NS_SRV"; ip link set "${tag}c1" netns "$NS_CLI"
  # RFC 7042 documentation MACs, and no fe80:: addresses: every address in a capture is ours.
  local i=0 pair dev
  for pair in "$NS_SRV ${tag}a0" "$NS_ATK ${tag}a1" "$NS_SRV ${tag}c0" "$NS_CLI ${tag}c1"; do
    set -- $pair; ns=$1; dev=$2; i=$((i + 1))
    in_ns "$ns" ip link set dev "$dev" address "00:00:5e:00:53:1$i" addrgenmode none
  done

  in_ns "$NS_SRV" sysctl -qw net.ipv4.tcp_syncookies=0
  # IPv6 only on the client side: no router solicitations or MLD in the attack captures.
  in_ns "$NS_ATK" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  in_ns "$NS_SRV" sysctl -qw "net.ipv6.conf.${tag}a0.disable_ipv6=1"

  in_ns "$NS_SRV" ip addr add "$SERVER4/32" dev "${tag}a0"
  in_ns "$NS_SRV" ip addr add "$SERVER6/128" dev "${tag}c0" nodad
  in_ns "$NS_SRV" ip link set "${tag}a0" up
  in_ns "$NS_SRV" ip link set "${tag}c0" up
  in_ns "$NS_SRV" ip route add "$ATTACKER4/32" dev "${tag}a0"
  in_ns "$NS_SRV" ip route add "$CLIENT4/32" dev "${tag}c0" src "$SERVER4"
  in_ns "$NS_SRV" ip -6 route add "$CLIENT6/128" dev "${tag}c0"

  in_ns "$NS_ATK" ip addr add "$ATTACKER4/32" dev "${tag}a1"
  in_ns "$NS_ATK" ip link set "${tag}a1" up
  in_ns "$NS_ATK" ip route add "$SERVER4/32" dev "${tag}a1"

  in_ns "$NS_CLI" ip addr add "$CLIENT4/32" dev "${tag}c1"
  in_ns "$NS_CLI" ip addr add "$CLIENT6/128" dev "${tag}c1" nodad
  in_ns "$NS_CLI" ip link set "${tag}c1" up
  in_ns "$NS_CLI" ip route add "$SERVER4/32" dev "${tag}c1"
  in_ns "$NS_CLI" ip -6 route add "$SERVER6/128" dev "${tag}c1"

  # The attacker's kernel would reset each SYN-ACK (no socket asked for it); drop its RSTs.
  in_ns "$NS_ATK" nft -f - <<'NFT'
table inet swdrop {
  chain out {
    type filter hook output priority 0; policy accept;
    tcp flags & rst == rst drop
  }
}
NFT

  local addr
  for addr in "$SERVER4" "$SERVER6"; do
    ip netns exec "$NS_SRV" python3 -m http.server "$HTTP_PORT" --bind "$addr" --directory "$work/www" \
      >>"$work/http.log" 2>&1 &
    pids+=($!)
  done
  for _ in $(seq 50); do
    [ "$(in_ns "$NS_SRV" ss -Hltn "sport = :$HTTP_PORT" | wc -l)" -ge 2 ] && return 0
    sleep 0.1
  done
  echo "capture-real-tools: the HTTP servers did not start (see $work/http.log)" >&2
  return 1
}

# Stops what this script started (by PID) and deletes the namespaces (their veths go with them).
topology_down() {
  local pid ns
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  pids=()
  for ns in "$NS_SRV" "$NS_ATK" "$NS_CLI"; do ip netns del "$ns" 2>/dev/null || true; done
}

cleanup() {
  local rc=$?
  topology_down
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in ip nft tcpdump hping3 nmap curl python3 ss; do
  command -v "$tool" >/dev/null || { echo "capture-real-tools: $tool is not installed" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "capture-real-tools: run as root (namespaces, raw sockets)" >&2; exit 2; }

mkdir -p "$work/www"
printf '<!doctype html>\n<title>synwatch test page</title>\n<p>%s</p>\n' "$(printf 'hello %.0s' {1..40})" >"$work/www/index.html"

# capture NAME IFACE CMD...: fresh topology; tcpdump on IFACE in the server namespace while CMD
# runs, then LINGER_S more seconds for the server's SYN-ACK retransmissions; topology removed.
capture() {
  local name=$1 iface=$2; shift 2
  local file="$work/$name" log="$work/$name.tcpdump"
  topology_up
  ip netns exec "$NS_SRV" tcpdump -n -U -Z root -s "$SNAPLEN" -i "$iface" -w "$file" 2>"$log" &
  local tpid=$!
  pids+=("$tpid")
  for _ in $(seq 50); do grep -q 'listening on' "$log" && break; sleep 0.1; done
  local rc=0
  "$@" || rc=$?
  sleep "$LINGER_S"
  # TERM, not INT: a background job of a non-interactive shell starts with SIGINT ignored.
  kill -TERM "$tpid"; wait "$tpid" || true
  echo "$name: tool exit $rc; $(grep -E 'packets captured' "$log" || true)"
  topology_down
  [ "$rc" -eq 0 ] || return "$rc"
  cp "$file" "$out/$name"
}

# Tools run under `timeout`, which needs a program, hence `ip netns exec` rather than in_ns.
# hping3 exits 1 when it counts no reply (its RSTs are dropped and the SYN queue fills).
hping_flood() { timeout "$TOOL_TIMEOUT_S" ip netns exec "$NS_ATK" hping3 -q -S -p "$HTTP_PORT" -c 300 -i u2000 "$SERVER4" || [ $? -eq 1 ]; }
# -Pn -n: no host discovery, no DNS, so the capture holds only the scan's TCP probes.
nmap_scan() { timeout "$TOOL_TIMEOUT_S" ip netns exec "$NS_ATK" nmap -sS -Pn -n --max-retries 1 -p 1-200 "$SERVER4" >"$work/nmap.txt"; }
curl_pages() {
  local i
  for i in 1 2 3; do timeout "$TOOL_TIMEOUT_S" ip netns exec "$NS_CLI" curl -sS -o /dev/null "http://$SERVER4/"; sleep 0.2; done
  for i in 1 2; do timeout "$TOOL_TIMEOUT_S" ip netns exec "$NS_CLI" curl -sS -o /dev/null "http://[$SERVER6]/"; sleep 0.2; done
}

capture real-hping3-flood.pcap "${tag}a0" hping_flood
capture real-nmap-syn-scan.pcap "${tag}a0" nmap_scan
capture real-curl.pcap "${tag}c0" curl_pages
grep -E '^[0-9]+/tcp' "$work/nmap.txt" || true

# --- expectations ---------------------------------------------------------------------------
python3 - "$out" "$truth" "$ATTACKER4" <<'PY'
import json, os, subprocess, sys
out, truth, attacker = sys.argv[1:4]
# Verdicts in synwatch's vocabulary, as in scenarios.json (see tools/make-fixtures.ts AlertKind).
plan = {
    'real-hping3-flood.pcap': {'flagged': [attacker], 'reasons': {attacker: 'flood'}, 'alerts': ['syn-flood']},
    'real-nmap-syn-scan.pcap': {'flagged': [attacker], 'reasons': {attacker: 'scan'}, 'alerts': ['syn-flood']},
    'real-curl.pcap': {'flagged': [], 'reasons': {}, 'alerts': []},
}
res = {}
for name, want in plan.items():
    entry = {}
    if os.path.exists(truth):
        t = json.loads(subprocess.run(['bash', truth, os.path.join(out, name)], check=True,
                                      capture_output=True, text=True).stdout)
        entry = {'attempts': t['strict']['attempts'], 'completed': t['strict']['completed'],
                 'synOnly': t['syn_only'], 'synAck': t['syn_ack'], 'frames': t['total_frames']}
    res[name] = {**entry, **want}
    print(name, res[name])
with open(os.path.join(out, 'real-tools.json'), 'w') as f:
    json.dump(res, f, indent=1)
    f.write('\n')
PY
