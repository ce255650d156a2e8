#!/usr/bin/env bash
# Side-by-side vSwitch benchmark: nfv-switch against OVS-DPDK and testpmd, L2 forwarding
# between two vhost-user ports, on one PMD core each.
#
#   sudo flock /tmp/nfv-dpdk.lock tests/bench/vswitch.sh [--rounds N] [--seconds S]
#        [--sizes "64 1518"] [--out DIR] [--warmup W] [--setups "nfv ovs testpmd"]
#
# For every frame size, rounds alternate between the switches under test:
#   nfv-switch : $NFV_BUILD_DIR/dataplane/nfv-switch (default <repo>/build), two vhost-user
#                server ports, [switch] cores = [1], idle = "poll"
#   ovs-dpdk   : OVS-DPDK 3.1 (Debian's openvswitch-switch-dpdk), NORMAL bridge with two
#                dpdkvhostuser ports, pmd-cpu-mask=0x2, configured as shared/bench/vswitch_anchor.sh
#                does, in a private rundir and database, torn down after every round
#   testpmd-io : dpdk-testpmd io forwarding between two net_vhost ports (the vhost copy limit)
# The generator is the anchor's: dpdk-testpmd flowgen (1024 flows) on two net_virtio_user ports,
# forwarding lcore on CPU 0 (its main lcore, which only prints statistics, on CPU 1), with
# --in-memory added (no hugepage files) and a 1 s statistics period; the switch's PMD is on CPU 1.
#
# Figures of a round, over a window of S one-second generator statistics periods that follows W
# periods of warm-up:
#   Mpps      packets received back by the generator, both ports summed: the mean of testpmd's
#             per-period Rx-pps over the window (the anchor takes its one last 5 s period)
#   Gbit/s    Mpps * (len + 4 + 20) * 8 / 1000: the Ethernet wire rate those frames would take,
#             len = bytes the generator sends (--txpkts; vhost-user carries no FCS), + 4 B FCS,
#             + 20 B preamble, SFD and inter-frame gap. l2_gbps in the CSV is Mpps * len * 8 / 1000.
#   cyc/pkt   nfv-switch: delta over the window of pmd.stats busy_cycles / packets (TSC cycles of
#             the polling iterations that received packets, per received packet);
#             OVS: "processing cycles" / "packets received" of pmd-stats-show after a
#             pmd-stats-clear at the window's start; testpmd: not measured
#   peak      the window's best 1 s period: on a shared machine, closest to the undisturbed rate
#   loss%     generator's Tx-pps minus Rx-pps over the window, relative to Tx-pps
#   sw_drops  drops the switch itself reported in the window (nfv-switch stats, OVS interface
#             statistics)
#
# Output in --out (default <repo>/results/vswitch-<timestamp>): rounds.csv (one row a round),
# medians.csv (medians per setup and size, with the nfv-switch ratios), results.json (both, with
# the run's parameters), summary.txt (the table printed at the end), vswitch.png (grouped bars of
# the medians with min..max over rounds, and Mpps per round), logs/ (every process's log).
#
# Needs root, CPUs 0 and 1, 2 MiB hugepages (reserves up to ~2.1 GiB more when too few are free,
# and gives them back at the end), dpdk-testpmd, Debian's openvswitch-switch-dpdk, python3 and
# gnuplot; nothing from the network. Every process it starts runs under `timeout` and is stopped at
# the end, on error and on Ctrl-C; DPDK processes use --in-memory (OVS: --huge-unlink, as the anchor)
# so no hugepage file is left; sockets live in a private directory under /tmp that is removed.
# The machine may be shared: serialise DPDK experiments with flock /tmp/nfv-dpdk.lock, and trust
# only ratios measured in the same run.
set -u
set -o pipefail

usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
die() { echo "vswitch.sh: $*" >&2; exit 2; }

REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=$(realpath -m -- "${NFV_BUILD_DIR:-$REPO/build}")
NFV_SWITCH=$BUILD_DIR/dataplane/nfv-switch
OVS_VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
TESTPMD=dpdk-testpmd
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

rounds=5 seconds=10 sizes="64 1518" out="" warmup=2 setups="nfv ovs testpmd"
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=${2:?}; shift 2 ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --sizes) sizes=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --setups) setups=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive integer"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup must be a non-negative integer"
sizes=$(echo $sizes | tr ',' ' ')
for s in $sizes; do
  [[ $s =~ ^[0-9]+$ ]] && (( s >= 60 && s <= 1518 )) || die "frame size '$s': expected 60..1518"
done
[ -n "$sizes" ] || die "--sizes is empty"
setups=$(echo $setups | tr ',' ' ')
for s in $setups; do
  case $s in nfv|ovs|testpmd) ;; *) die "--setups: '$s' is not one of nfv ovs testpmd" ;; esac
done
[ -n "$setups" ] || die "--setups is empty"

# ---- preconditions ----------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "needs root (hugepages, DPDK, OVS)"
[ -e /sys/devices/system/cpu/cpu1 ] || die "needs two CPUs (generator on 0, switch on 1)"
[ "$(cat /sys/devices/system/cpu/cpu1/online 2>/dev/null || echo 1)" = 1 ] || die "CPU 1 is offline"
taskset -p 3 $$ >/dev/null 2>&1 || true   # CPUs 0 and 1 must be usable by what we start
for t in timeout flock pgrep awk "$PY" gnuplot "$TESTPMD"; do
  command -v "$t" >/dev/null || die "$t not found"
done
for s in $setups; do
  case $s in
    nfv) [ -x "$NFV_SWITCH" ] || die "$NFV_SWITCH not found: build it (ninja -C <dir> dataplane/nfv-switch) and set NFV_BUILD_DIR" ;;
    ovs) for t in "$OVS_VSWITCHD" ovsdb-tool ovsdb-server ovs-vsctl ovs-appctl; do
           command -v "$t" >/dev/null || die "$t not found (Debian packages openvswitch-switch-dpdk)"
         done
         [ -r "$OVS_SCHEMA" ] || die "$OVS_SCHEMA not found" ;;
  esac
done

[ -n "$out" ] || out=$REPO/results/vswitch-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out/logs" || die "cannot create $out"
out=$(cd "$out" && pwd)

# ---- state for the clean-up (lib/procs.sh: PIDS, RUNDIR, HP_ORIG, HP_MOUNTED, stop_proc, cleanup,
# the INT/TERM/HUP and EXIT traps) ------------------------------------------------------------------
SCRIPT=vswitch.sh
# shellcheck source=lib/procs.sh
. "$REPO/tests/bench/lib/procs.sh"
PFX=nfvbench-$$    # DPDK file prefixes of ours

RUNDIR=$(mktemp -d /tmp/nfv-vswitch-bench.XXXXXX) || die "mktemp failed"
: > "$RUNDIR/switch-prefixes"

# ---- hugepages ---------------------------------------------------------------------------------
hm=$(huge_mount)
if [ -z "$hm" ]; then
  mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages || die "cannot mount hugetlbfs"
  HP_MOUNTED=/dev/hugepages
  hm=/dev/hugepages
fi
HUGE_BEFORE=$(list_dir "$hm")
RUN_BEFORE=$(list_dir "$DPDK_RUN")
page_kb=$(meminfo Hugepagesize)
need_kb=$(( (1024 + 1024 + 64) * 1024 ))   # switch (OVS/testpmd: 1024 MB) + generator (1024 MB)
free_kb=$(( $(meminfo HugePages_Free) * page_kb ))
if (( free_kb < need_kb )); then
  HP_ORIG=$(cat /proc/sys/vm/nr_hugepages)
  want=$(( HP_ORIG + (need_kb - free_kb + page_kb - 1) / page_kb ))
  echo "$want" > /proc/sys/vm/nr_hugepages
  free_kb=$(( $(meminfo HugePages_Free) * page_kb ))
  (( free_kb >= need_kb )) || die "only $((free_kb / 1024)) MB of hugepages free after asking for $want pages; need $((need_kb / 1024)) MB"
fi

# ---- helpers ------------------------------------------------------------------------------------
stats_periods() { local n; n=$(grep -ac 'Rx-pps' "$1" 2>/dev/null); echo $(( ${n:-0} / 2 )); }
periods_at_least() { (( $(stats_periods "$1") >= $2 )); }

# rpc SOCKET METHOD... (JSON-RPC) comes from lib/procs.sh

LIMIT=$(( warmup + seconds + 120 ))   # upper bound of any process's life in a round

# ---- the switches under test -------------------------------------------------------------------
# start_X RD: start the switch with its vhost-user server sockets RD/p0 and RD/p1; SW_PIDS gets
# what to stop (in order). snap_X RD FILE: counters at a window edge. stop_X RD.
SW_PIDS=()
track() { PIDS+=("$1"); SW_PIDS+=("$1"); }

start_nfv() {
  local rd=$1
  cat > "$rd/switch.toml" <<EOF
[switch]
cores = [1]
idle = "poll"
socket = "$rd/switch.sock"
log_level = "info"

[[port]]
name = "p0"
type = "vhost-user"
path = "$rd/p0"
mode = "server"
queues = 1

[[port]]
name = "p1"
type = "vhost-user"
path = "$rd/p1"
mode = "server"
queues = 1
EOF
  # NFV_SWITCH_EXTRA_TOML: a file appended to the switch's config (e.g. [[rule]] tables).
  if [ -n "${NFV_SWITCH_EXTRA_TOML:-}" ]; then cat -- "$NFV_SWITCH_EXTRA_TOML" >> "$rd/switch.toml"; fi
  timeout -k 5 "$LIMIT" "$NFV_SWITCH" --config "$rd/switch.toml" </dev/null > "$rd/switch.log" 2>&1 &
  local pid=$!
  track "$pid"
  sleep 0.2
  local child
  child=$(pgrep -P "$pid" 2>/dev/null | head -1)
  [ -n "$child" ] && echo "nfv-switch-$child" >> "$RUNDIR/switch-prefixes"
  wait_until 30 "$pid" have_sockets "$rd/switch.sock" "$rd/p0" "$rd/p1" || return 1
  wait_until 10 "$pid" log_has "$rd/switch.log" "ready: control socket"
}
snap_nfv() { rpc "$1/switch.sock" pmd.stats stats > "$2"; }
stop_nfv() { local p; for p in ${SW_PIDS[@]+"${SW_PIDS[@]}"}; do stop_proc "$p" TERM 15; done; }

start_testpmd() {
  local rd=$1
  timeout -k 5 "$LIMIT" "$TESTPMD" -l 0,1 --main-lcore 0 --no-pci --file-prefix="$PFX-sw" -m 1024 --in-memory \
    --vdev "net_vhost0,iface=$rd/p0,queues=1" --vdev "net_vhost1,iface=$rd/p1,queues=1" \
    -- --no-mlockall --forward-mode=io --nb-cores=1 --auto-start --stats-period 10 \
    </dev/null > "$rd/switch.log" 2>&1 &
  local pid=$!
  track "$pid"
  wait_until 30 "$pid" have_sockets "$rd/p0" "$rd/p1" || return 1
  # testpmd re-creates its sockets while it configures the ports: wait until it forwards
  wait_until 30 "$pid" log_has "$rd/switch.log" "start packet forwarding" || return 1
  sleep 1
  alive "$pid"
}
snap_testpmd() { :; }
stop_testpmd() { local p; for p in ${SW_PIDS[@]+"${SW_PIDS[@]}"}; do stop_proc "$p" INT 15; done; }

start_ovs() {
  local rd=$1
  ovs_up "$rd" || return 1
  local vpid=$OVS_VPID
  vsctl "$rd" add-port br0 p0 -- set Interface p0 type=dpdkvhostuser || return 1
  vsctl "$rd" add-port br0 p1 -- set Interface p1 type=dpdkvhostuser || return 1
  wait_until 30 "$vpid" have_sockets "$rd/p0" "$rd/p1" || return 1
  sleep 1
  alive "$vpid"
}
snap_ovs() {  # pmd statistics since the last snapshot (cleared at each), interface statistics
  local rd=$1 f=$2
  {
    echo "## pmd-stats-show"
    ovs-appctl -t "$rd/vswitchd.ctl" --timeout=10 dpif-netdev/pmd-stats-show 2>&1
    echo "## interfaces"
    for p in p0 p1; do echo "$p $(vsctl "$rd" get Interface $p statistics 2>&1)"; done
  } > "$f"
  ovs-appctl -t "$rd/vswitchd.ctl" --timeout=10 dpif-netdev/pmd-stats-clear > /dev/null 2>&1
  return 0
}
stop_ovs() { local p; for p in ${SW_PIDS[@]+"${SW_PIDS[@]}"}; do stop_proc "$p" TERM 20; done; }

# ---- one round -----------------------------------------------------------------------------------
declare -A NAME=([nfv]=nfv-switch [ovs]=ovs-dpdk [testpmd]=testpmd-io)
CSV=$out/rounds.csv
echo "setup,size,round,status,mpps,peak_mpps,gbps,l2_gbps,gen_tx_mpps,loss_pct,cycles_per_pkt,pmd_busy_pct,sw_drops,window_s,load1,other_dpdk,note" > "$CSV"
failures=0

run_round() {
  local setup=$1 len=$2 k=$3
  local tag=$setup-$len-r$k
  local rd=$RUNDIR/$tag ld=$out/logs/$tag status=ok note=""
  mkdir -p "$rd" "$ld"
  SW_PIDS=()
  local load1 others
  load1=$(cut -d' ' -f1 /proc/loadavg)
  others=$(count_others)
  if ! "start_$setup" "$rd" > "$rd/start.out" 2>&1; then
    status=fail note="${NAME[$setup]} did not start (see logs/$tag)"
  else
    timeout -k 5 "$LIMIT" "$TESTPMD" -l 1,0 --main-lcore 1 --no-pci --single-file-segments --in-memory \
      --file-prefix="$PFX-gen" -m 1024 \
      --vdev "net_virtio_user0,path=$rd/p0,queues=1,mac=02:00:00:00:00:01" \
      --vdev "net_virtio_user1,path=$rd/p1,queues=1,mac=02:00:00:00:00:02" \
      -- --no-mlockall --forward-mode=flowgen --eth-peer=0,02:00:00:00:00:02 --eth-peer=1,02:00:00:00:00:01 \
      --txpkts="$len" --nb-cores=1 --auto-start --stats-period 1 --txd=1024 --rxd=1024 \
      </dev/null > "$rd/gen.log" 2>&1 &
    local gpid=$!
    PIDS+=("$gpid")
    # statistics period 1 only sets the rate base; warm-up; then the window
    if ! wait_until $(( warmup + 40 )) "$gpid" periods_at_least "$rd/gen.log" $(( warmup + 1 )); then
      status=fail note="generator produced no statistics (see logs/$tag/gen.log)"
    else
      "snap_$setup" "$rd" "$rd/snap0" 2> "$rd/snap0.err" || note="counters at window start unavailable"
      if ! wait_until $(( seconds + 30 )) "$gpid" periods_at_least "$rd/gen.log" $(( warmup + seconds + 1 )); then
        status=fail note="generator stopped before the window ended (see logs/$tag/gen.log)"
      else
        "snap_$setup" "$rd" "$rd/snap1" 2> "$rd/snap1.err" || note="counters at window end unavailable"
      fi
    fi
    stop_proc "$gpid" INT 15
  fi
  "stop_$setup" "$rd"
  # safety net: a daemon that wrote a pidfile here and still runs from this directory
  local pf pid
  for pf in "$rd"/*.pid; do
    [ -f "$pf" ] || continue
    pid=$(cat "$pf" 2>/dev/null)
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$rd" || continue
    echo "  ($pf: pid $pid still runs: SIGKILL)" >&2
    kill -KILL "$pid" 2>/dev/null
  done
  remove_dpdk_rundirs
  # keep the logs, drop sockets and the database
  find "$rd" -maxdepth 1 -type f ! -name 'conf.db' ! -name '*.pid' -exec cp -t "$ld" {} + 2>/dev/null
  rm -rf -- "$rd"
  "$PY" - "$CSV" "$setup" "$len" "$k" "$status" "$note" "$ld" "$warmup" "$seconds" "$load1" "${NAME[$setup]}" "$rounds" "$others" <<'PY'
import csv, json, re, sys
csvf, setup, length, k, status, note, ld, warm, secs, load1, name, rounds, others = sys.argv[1:]
length, warm, secs = int(length), int(warm), int(secs)
row = dict(setup=name, size=length, round=k, status=status, mpps="", peak_mpps="", gbps="", l2_gbps="",
           gen_tx_mpps="", loss_pct="", cycles_per_pkt="", pmd_busy_pct="", sw_drops="",
           window_s=secs, load1=load1, other_dpdk=others, note=note)

def fmt(x, nd=3):
    return "" if x is None else f"{x:.{nd}f}"

def read(p):
    try:
        with open(p, "rb") as f:
            return f.read().decode("latin-1")
    except OSError:
        return None

if status == "ok":
    rx, tx = [], []
    for line in (read(f"{ld}/gen.log") or "").splitlines():
        m = re.search(r"Rx-pps:\s+(\d+)", line)
        if m: rx.append(int(m.group(1)))
        m = re.search(r"Tx-pps:\s+(\d+)", line)
        if m: tx.append(int(m.group(1)))
    # one Rx-pps and one Tx-pps line per port per period; period 1 has no rate yet
    prx = [rx[2 * i] + rx[2 * i + 1] for i in range(len(rx) // 2)][warm + 1: warm + 1 + secs]
    ptx = [tx[2 * i] + tx[2 * i + 1] for i in range(len(tx) // 2)][warm + 1: warm + 1 + secs]
    if len(prx) < secs:
        row["status"], row["note"] = "fail", f"only {len(prx)} of {secs} statistics periods"
    else:
        mpps = sum(prx) / len(prx) / 1e6
        txm = sum(ptx) / len(ptx) / 1e6 if ptx else None
        row.update(mpps=fmt(mpps), peak_mpps=fmt(max(prx) / 1e6), gbps=fmt(mpps * (length + 24) * 8 / 1000),
                   l2_gbps=fmt(mpps * length * 8 / 1000), gen_tx_mpps=fmt(txm),
                   loss_pct=fmt(100 * (txm - mpps) / txm, 2) if txm else "")
        s0, s1 = read(f"{ld}/snap0"), read(f"{ld}/snap1")
        try:
            if setup == "nfv" and s0 and s1:
                a, b = json.loads(s0), json.loads(s1)
                d = lambda key: sum(p[key] for p in b["pmd.stats"]) - sum(p[key] for p in a["pmd.stats"])
                busy, pk, idle = d("busy_cycles"), d("packets"), d("idle_cycles")
                if pk > 0:
                    row["cycles_per_pkt"] = fmt(busy / pk, 1)
                if busy + idle > 0:
                    row["pmd_busy_pct"] = fmt(100 * busy / (busy + idle), 1)
                drops = lambda s: sum(sum(p["drops"].values()) for p in s["stats"]["ports"])
                row["sw_drops"] = str(drops(b) - drops(a))
            elif setup == "ovs" and s1:
                # counters were cleared at the window start: s1 holds the window alone
                pmd = s1.split("## interfaces")[0]
                blk = re.search(r"core_id 1:(.*?)(?=pmd thread|\Z)", pmd, re.S)
                if blk:
                    g = lambda pat: (lambda m: int(m.group(1)) if m else None)(re.search(pat, blk.group(1)))
                    pk, idle, proc = g(r"packets received:\s+(\d+)"), g(r"idle cycles:\s+(\d+)"), g(r"processing cycles:\s+(\d+)")
                    if pk and proc is not None:
                        row["cycles_per_pkt"] = fmt(proc / pk, 1)
                    if idle is not None and proc is not None and idle + proc > 0:
                        row["pmd_busy_pct"] = fmt(100 * proc / (idle + proc), 1)
                def ifdrops(s):
                    tot = 0
                    for m in re.finditer(r"([a-z_]*drop[a-z_]*)=(\d+)", s.split("## interfaces")[-1]):
                        tot += int(m.group(2))
                    return tot
                if s0:
                    row["sw_drops"] = str(ifdrops(s1) - ifdrops(s0))
        except (ValueError, KeyError, TypeError) as e:
            row["note"] = (row["note"] + "; " if row["note"] else "") + f"counters unreadable: {e}"

with open(csvf, "a", newline="") as f:
    csv.DictWriter(f, fieldnames=list(row)).writerow(row)
extra = ""
if row["cycles_per_pkt"]:
    extra += f", {row['cycles_per_pkt']} cyc/pkt"
if row["loss_pct"]:
    extra += f", loss {row['loss_pct']}%"
if row["sw_drops"] not in ("", "0"):
    extra += f", switch drops {row['sw_drops']}"
res = f"{row['mpps']} Mpps ({row['gbps']} Gbit/s{extra})" if row["status"] == "ok" else f"FAILED: {row['note']}"
print(f"  {name:<11} {length:>5} B  round {k}/{rounds}: {res}", flush=True)
sys.exit(0 if row["status"] == "ok" else 1)
PY
  [ $? -eq 0 ] || failures=$((failures + 1))
}

# ---- the run -------------------------------------------------------------------------------------
nset=$(wc -w <<< "$setups"); nsize=$(wc -w <<< "$sizes")
echo "vswitch benchmark: setups [$setups], sizes [$sizes] B, $rounds rounds of ${seconds}s (+${warmup}s warm-up)"
echo "  switch PMD on CPU 1, generator (testpmd flowgen, 2 x virtio_user) forwarding on CPU 0"
echo "  nfv-switch: $NFV_SWITCH"
echo "  output: $out   (about $(( nset * nsize * rounds * (seconds + warmup + 12) / 60 + 1 )) min)"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
n=$(count_others)
[ "${n:-0}" -gt 0 ] && echo "  warning: $n other DPDK/OVS/VM process(es) running now: figures will be disturbed"
START_TS=$(date -Iseconds)
for len in $sizes; do
  for ((k = 1; k <= rounds; k++)); do
    for setup in $setups; do run_round "$setup" "$len" "$k"; done
  done
done
END_TS=$(date -Iseconds)

# ---- summary --------------------------------------------------------------------------------------
git_rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null)" ] && git_rev="$git_rev+dirty"
"$PY" - "$out" "$setups" "$sizes" "$rounds" "$seconds" "$warmup" "$START_TS" "$END_TS" "$git_rev" \
  "$NFV_SWITCH" "$(uname -r)" "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)" \
  "$(cut -d' ' -f1-3 /proc/loadavg)" "$( { "$OVS_VSWITCHD" --version 2>/dev/null || true; } | head -1)" \
  "$(dpkg-query -W -f='${Version}' dpdk 2>/dev/null || true)" <<'PY' | tee "$out/summary.txt"
import csv, json, statistics, sys
(out, setups, sizes, rounds, secs, warm, t0, t1, rev, binary, kernel, cpu, load_end, ovs_ver,
 dpdk_ver) = sys.argv[1:]
NAME = {"nfv": "nfv-switch", "ovs": "ovs-dpdk", "testpmd": "testpmd-io"}
setups = [NAME[s] for s in setups.split()]
sizes = [int(s) for s in sizes.split()]
rows = list(csv.DictReader(open(f"{out}/rounds.csv")))
num = lambda v: float(v) if v not in ("", None) else None

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None

medians, ratios = [], []
for size in sizes:
    by = {}
    for s in setups:
        ok = [r for r in rows if r["setup"] == s and int(r["size"]) == size and r["status"] == "ok"]
        mp = [num(r["mpps"]) for r in ok]
        m = dict(setup=s, size=size, rounds_ok=len(ok),
                 rounds_failed=sum(1 for r in rows if r["setup"] == s and int(r["size"]) == size and r["status"] != "ok"),
                 mpps=med(mp), peak_mpps=med([num(r["peak_mpps"]) for r in ok]), gbps=med([num(r["gbps"]) for r in ok]), l2_gbps=med([num(r["l2_gbps"]) for r in ok]),
                 cycles_per_pkt=med([num(r["cycles_per_pkt"]) for r in ok]),
                 pmd_busy_pct=med([num(r["pmd_busy_pct"]) for r in ok]),
                 loss_pct=med([num(r["loss_pct"]) for r in ok]),
                 min_mpps=min(mp) if mp else None, max_mpps=max(mp) if mp else None)
        medians.append(m)
        by[s] = m
    for other in ("ovs-dpdk", "testpmd-io"):
        if "nfv-switch" in by and other in by and by["nfv-switch"]["mpps"] and by[other]["mpps"]:
            # paired: the ratio of the rounds measured side by side, then its median
            pr = []
            for r in rows:
                if r["setup"] == "nfv-switch" and int(r["size"]) == size and r["status"] == "ok":
                    o = [x for x in rows if x["setup"] == other and int(x["size"]) == size and x["round"] == r["round"] and x["status"] == "ok"]
                    if o and num(o[0]["mpps"]):
                        pr.append(num(r["mpps"]) / num(o[0]["mpps"]))
            ratios.append(dict(ratio=f"nfv-switch/{other}", size=size,
                               mpps_ratio=by["nfv-switch"]["mpps"] / by[other]["mpps"],
                               paired_median=med(pr),
                               peak_ratio=by["nfv-switch"]["peak_mpps"] / by[other]["peak_mpps"]
                               if by["nfv-switch"]["peak_mpps"] and by[other]["peak_mpps"] else None))

f = lambda v, nd=2: "-" if v is None else f"{v:.{nd}f}"
fields = ["setup", "size", "rounds_ok", "rounds_failed", "mpps", "min_mpps", "max_mpps", "peak_mpps", "gbps", "l2_gbps",
          "cycles_per_pkt", "pmd_busy_pct", "loss_pct", "ratio_vs_ovs", "ratio_vs_testpmd"]
with open(f"{out}/medians.csv", "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=fields)
    w.writeheader()
    for m in medians:
        r = {k: ("" if m.get(k) is None else (round(m[k], 4) if isinstance(m[k], float) else m[k])) for k in fields if k in m}
        for other, key in (("ovs-dpdk", "ratio_vs_ovs"), ("testpmd-io", "ratio_vs_testpmd")):
            x = [q for q in ratios if q["size"] == m["size"] and q["ratio"] == f"nfv-switch/{other}"]
            r[key] = round(x[0]["mpps_ratio"], 4) if x and m["setup"] == "nfv-switch" else ""
        w.writerow(r)

meta = dict(start=t0, end=t1, rounds=int(rounds), seconds=int(secs), warmup_s=int(warm), sizes=sizes,
            setups=setups, git=rev, nfv_switch=binary, kernel=kernel, cpu=cpu, ovs=ovs_ver, dpdk=dpdk_ver,
            load_average_end=load_end, pinning="switch PMD on CPU 1; generator forwarding lcore on CPU 0",
            generator="dpdk-testpmd flowgen (1024 flows), 2 x net_virtio_user, --txpkts=size, stats period 1 s",
            formulas={"mpps": "mean over the window's 1 s periods of the generator's Rx-pps, both ports summed",
                      "peak_mpps": "the window's best 1 s period (least disturbed by other load)",
                      "gbps": "mpps * (size + 4 FCS + 20 preamble/SFD/IFG) * 8 / 1000",
                      "l2_gbps": "mpps * size * 8 / 1000",
                      "cycles_per_pkt": "nfv-switch: delta busy_cycles / delta packets (pmd.stats); "
                                        "ovs: processing cycles / packets received (pmd-stats-show, cleared at window start)",
                      "ratios": "median Mpps of nfv-switch / median Mpps of the other; paired_median: median of "
                                "per-round ratios; peak_ratio: the same of the median peaks"},
            note="shared, noisy machine: compare ratios from the same run only")
json.dump(dict(meta=meta, rounds=rows, medians=medians, ratios=ratios), open(f"{out}/results.json", "w"), indent=2)

print()
print(f"Medians over {rounds} rounds of {secs} s (after {warm} s warm-up), {t0} .. {t1}, git {rev}")
print(f"{'size':>6}  {'setup':<11} {'Mpps':>6} {'min..max':>11} {'peak':>6} {'Gbit/s':>7} {'cyc/pkt':>8} {'busy%':>6} {'loss%':>6} {'ok':>5}")
for m in medians:
    rng = "-" if m["min_mpps"] is None else f"{m['min_mpps']:.2f}..{m['max_mpps']:.2f}"
    print(f"{m['size']:>5}B  {m['setup']:<11} {f(m['mpps']):>6} {rng:>11} {f(m['peak_mpps']):>6} {f(m['gbps']):>7} "
          f"{f(m['cycles_per_pkt'], 0):>8} {f(m['pmd_busy_pct'], 0):>6} {f(m['loss_pct'], 1):>6} "
          f"{m['rounds_ok']:>2}/{m['rounds_ok'] + m['rounds_failed']}")
if ratios:
    print()
    print(f"{'ratio of median Mpps':<24}" + "".join(f"{str(s) + ' B':>32}" for s in sizes))
    for name in sorted({r["ratio"] for r in ratios}):
        cells = []
        for s in sizes:
            x = [r for r in ratios if r["ratio"] == name and r["size"] == s]
            cells.append(f"{x[0]['mpps_ratio']:.2f} (paired {f(x[0]['paired_median'])}, peak {f(x[0]['peak_ratio'])})" if x else "-")
        print(f"{name:<24}" + "".join(f"{c:>32}" for c in cells))
print()
print("Mpps: received back by the generator, both directions summed (mean of the window's 1 s Rx-pps);")
print("  min..max over rounds; peak: median over rounds of the window's best 1 s period")
print("Gbit/s = Mpps * (size + 4 FCS + 20 preamble/SFD/IFG) * 8 / 1000  (size = --txpkts; l2_gbps in the CSV: size * 8)")
print("cyc/pkt: TSC cycles of the switch PMD's busy iterations per received packet; busy%: busy share of its cycles")
print("The machine may be shared and noisy: compare ratios from the same run only.")

# gnuplot data: medians with min/max per size and setup; Mpps per round
with open(f"{out}/medians.dat", "w") as fh:
    fh.write("# size " + " ".join(f"{s}_med {s}_min {s}_max" for s in setups) + "\n")
    for size in sizes:
        cells = []
        for s in setups:
            m = [x for x in medians if x["setup"] == s and x["size"] == size][0]
            cells += [f(m["mpps"], 4) if m["mpps"] is not None else "NaN",
                      f(m["min_mpps"], 4) if m["min_mpps"] is not None else "NaN",
                      f(m["max_mpps"], 4) if m["max_mpps"] is not None else "NaN"]
        fh.write(f"{size}B " + " ".join(cells) + "\n")
with open(f"{out}/rounds.dat", "w") as fh:
    for size in sizes:
        for s in setups:
            fh.write(f"# {s} {size}B\n")
            for r in rows:
                if r["setup"] == s and int(r["size"]) == size and r["status"] == "ok":
                    fh.write(f"{r['round']} {r['mpps']}\n")
            fh.write("\n\n")
PY
rc=$?

# ---- plot -------------------------------------------------------------------------------------------
{
  echo "set terminal pngcairo size 1400,560 font ',10'"
  echo "set output '$out/vswitch.png'"
  echo "set multiplot layout 1,2 title 'vhost-user L2 forwarding, one PMD core (CPU 1); generator testpmd flowgen on CPU 0 — $(date +%F), shared machine'"
  echo "set style data histogram; set style histogram errorbars gap 1 lw 1; set style fill solid 0.8 border -1"
  echo "set ylabel 'Mpps received (both directions)'; set yrange [0:*]; set grid ytics; set key top right"
  echo "set title 'median of $rounds rounds (bars: min..max)'"
  plot="plot"
  i=0
  for s in $setups; do
    c=$((2 + 3 * i))
    plot+=" '$out/medians.dat' using $c:$((c + 1)):$((c + 2)):xtic(1) title '${NAME[$s]}' lc $((i + 1)),"
    i=$((i + 1))
  done
  echo "${plot%,}"
  echo "set style data linespoints; set title 'Mpps per round'; set xlabel 'round'; set xtics 1"
  echo "set xrange [0.5:$rounds.5]; set yrange [*:*]; set logscale y; set key outside bottom center horizontal"
  plot="plot"
  idx=0 j=0
  for len in $sizes; do
    i=0
    for s in $setups; do
      plot+=" '$out/rounds.dat' index $idx using 1:2 title '${NAME[$s]} ${len}B' lc $((i + 1)) dt $((j + 1)) pt $((j + 5)),"
      idx=$((idx + 1)) i=$((i + 1))
    done
    j=$((j + 1))
  done
  echo "${plot%,}"
  echo "unset multiplot"
} > "$out/vswitch.gp"
if ! gnuplot "$out/vswitch.gp" 2> "$out/gnuplot.err"; then
  echo "gnuplot failed: $(head -3 "$out/gnuplot.err")" >&2
fi
[ -s "$out/gnuplot.err" ] || rm -f "$out/gnuplot.err"

cleanup
hm=$(huge_mount)
[ -n "$hm" ] && [ "$(list_dir "$hm")" != "$HUGE_BEFORE" ] && echo "warning: $hm differs from before the run" >&2
[ "$(list_dir "$DPDK_RUN")" != "$RUN_BEFORE" ] && echo "note: $DPDK_RUN differs from before the run: $(comm -3 <(echo "$RUN_BEFORE") <(list_dir "$DPDK_RUN") | tr -s ' \t\n' ' ')" >&2
echo "results: $out (rounds.csv medians.csv results.json summary.txt vswitch.png logs/)"
(( rc == 0 )) || exit 1
(( failures == 0 )) || { echo "$failures round(s) failed" >&2; exit 1; }
exit 0
