#!/usr/bin/env bash
# VSPERF-style scenarios: nfv-switch against OVS-DPDK and testpmd, same generator, same cores,
# alternating rounds in one run.
#
#   sudo flock /tmp/nfv-dpdk.lock tests/bench/vsperf.sh [--scenarios "p2p pvp pvvp"]
#        [--setups "nfv ovs testpmd"] [--vnf process|vm] [--rounds N] [--seconds S]
#        [--sizes "64 imix"] [--no-ndr] [--trial-seconds T] [--resolution F] [--warmup W]
#        [--forwarding flows|normal] [--vnf-idle poll|adaptive] [--queue-size N] [--out DIR]
#        [--vnf-cpu 0|1] [--gen-cpu 0|1] [--gen-idle poll|yield] [--switch-idle poll|adaptive]
#        [--layout shared|vnf-core]
#
# Scenarios (the generator sends one direction: into g0, back from g1):
#   p2p   nfv-gen -> g0 [switch] g1 -> nfv-gen
#   pvp   nfv-gen -> g0 [switch] a0 -> VNF A -> a1 [switch] g1 -> nfv-gen
#   pvvp  nfv-gen -> g0 [switch] a0 -> VNF A -> a1 [switch] b0 -> VNF B -> b1 [switch] g1 -> nfv-gen
# The switch cross-connects the pairs (g0,a0) (a1,b0) (b1,g1) both ways with explicit flows:
#   nfv      nfv-switch ([[rule]] in_port=X actions=output:Y), vhost-user server ports, cores=[1], idle poll
#   ovs      OVS-DPDK 3.1 (Debian openvswitch-switch-dpdk), dpdkvhostuser ports, OpenFlow
#            in_port=X,actions=output:Y, pmd-cpu-mask=0x2, private rundir and database per round
#   testpmd  dpdk-testpmd io forwarding between net_vhost ports, paired topology (the vhost copy limit)
#   nfvvm    (pvp only, added by --vnf vm) nfv-switch with the VNF as a VM: l2fwd.elf under nfv-vmm
# --forwarding normal (p2p only): nfv-switch's L2 bridge and OVS NORMAL instead of flows (with a
# one-way generator the destination is never learnt: both flood to the one other port).
# VNF: nfv-l2fwd --mode forward --cpus 0 --idle adaptive (the same process for every switch); in the
# nfvvm setup, nfv-vmm --kernel l2fwd.elf --cpus 1 --memory 256M --cmdline "mode=forward idle=MODE" under
# taskset -c 0 (the same idle mode). --vnf-cpu 1 puts the VNFs on the switch's CPU instead (the
# generator then has CPU 0 to itself; give the switch --switch-idle adaptive so that it sleeps when
# it has nothing to do, as the VNFs do; OVS and testpmd always poll). --gen-cpu 1 puts the generator
# on the switch's CPU (with --vnf-cpu 0: the VNF has a CPU of its own); --gen-idle yield makes the
# generator give its CPU away whenever its tx ring is full (nfv-gen --idle yield). --layout
# presets them: shared (the default: generator and adaptive VNFs on CPU 0, polling switch on CPU 1)
# or vnf-core (the VNF polls alone on CPU 0; a yielding generator and an adaptive switch share
# CPU 1: the VNF's rate on a core of its own, issue 5's VM/process comparison). Generator: nfv-gen --cpu 0, one UDP stream over 1024 flows,
# udp_checksum=off, size 64 (bytes without FCS, as vswitch.sh's --txpkts) or imix (64/570/1518
# with FCS at 7:4:1). Switch PMD on CPU 1; generator and VNFs share CPU 0. --queue-size N: the
# VNFs' virtqueue size (process: vhost-user:PATH,queue-size=N; VM: queue-size=N on the guest's
# command line; default the SDK's 256); the generator keeps its default rings (1024).
#
# A round (one scenario, size and setup) starts the switch and the VNFs, probes with 1 s nfv-gen
# runs until traffic comes back (at most 20), runs W s of warm-up, then:
#   max   nfv-gen unpaced for S s: rx Mpps (received back at g1), tx Mpps, loss
#   ndr   nfv-gen --rfc2544 ndr from the max run's rx rate down, trials of T s, resolution F of it
# Setups alternate within a round, their order rotating every round.
#
# Output in --out (default <repo>/results/vsperf-<timestamp>): rounds.csv, medians.csv (with
# ratio_vs_ovs, ratio_vs_testpmd on the nfv rows, ratio_vs_process on nfvvm), results.json,
# summary.txt (a markdown table), vsperf.png, logs/<scenario>-<setup>-<size>-r<k>/.
# Needs root, CPUs 0 and 1, ~3 GB of 2 MiB hugepages free (raised when short, given back),
# dpdk-testpmd, openvswitch-switch-dpdk, python3, gnuplot; $NFV_BUILD_DIR (default <repo>/build)
# with dataplane/nfv-switch, tools/nfv-gen/nfv-gen, sample-vnfs/l2fwd/nfv-l2fwd, and for
# --vnf vm vmm/nfv-vmm and sample-vnfs/l2fwd/l2fwd.elf. Every process runs under timeout and is
# stopped at the end, on error and on Ctrl-C; nothing is left in /dev/hugepages or /var/run/dpdk.
set -u
set -o pipefail
SCRIPT=vsperf.sh
usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$HERE/../.." && pwd)
source "$HERE/lib/procs.sh"

BUILD_DIR=$(realpath -m -- "${NFV_BUILD_DIR:-$REPO/build}")
NFV_SWITCH=$BUILD_DIR/dataplane/nfv-switch
NFV_GEN=$BUILD_DIR/tools/nfv-gen/nfv-gen
NFV_L2FWD=$BUILD_DIR/sample-vnfs/l2fwd/nfv-l2fwd
NFV_VMM=$BUILD_DIR/vmm/nfv-vmm
L2FWD_ELF=$BUILD_DIR/sample-vnfs/l2fwd/l2fwd.elf
OVS_VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk
OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
TESTPMD=dpdk-testpmd

scenarios="p2p pvp pvvp" setups="nfv ovs testpmd" vnf=process rounds=5 seconds=10 sizes="64 imix"
ndr=1 trial=2 resolution=0.02 warmup=2 forwarding=flows vnf_idle=adaptive qsize="" out="" vnf_cpu=0 gen_cpu=0 gen_idle=poll switch_idle=poll
while [ $# -gt 0 ]; do
  case $1 in
    --scenarios) scenarios=${2:?}; shift 2 ;;
    --setups) setups=${2:?}; shift 2 ;;
    --vnf) vnf=${2:?}; shift 2 ;;
    --rounds) rounds=${2:?}; shift 2 ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --sizes) sizes=${2:?}; shift 2 ;;
    --no-ndr) ndr=0; shift ;;
    --trial-seconds) trial=${2:?}; shift 2 ;;
    --resolution) resolution=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --forwarding) forwarding=${2:?}; shift 2 ;;
    --vnf-idle) vnf_idle=${2:?}; shift 2 ;;
    --vnf-cpu) vnf_cpu=${2:?}; shift 2 ;;
    --gen-cpu) gen_cpu=${2:?}; shift 2 ;;
    --switch-idle) switch_idle=${2:?}; shift 2 ;;
    --gen-idle) gen_idle=${2:?}; shift 2 ;;
    --layout)  # presets of the five options above; later options still override
      case ${2:?} in
        shared) vnf_cpu=0 gen_cpu=0 gen_idle=poll switch_idle=poll vnf_idle=adaptive ;;
        vnf-core) vnf_cpu=0 gen_cpu=1 gen_idle=yield switch_idle=adaptive vnf_idle=poll ;;
        *) die "--layout: shared or vnf-core" ;;
      esac
      shift 2 ;;
    --queue-size) qsize=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive integer"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup must be a non-negative integer"
[[ $trial =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--trial-seconds must be a number"
[[ $resolution =~ ^0?\.[0-9]+$ ]] || die "--resolution must be a fraction, e.g. 0.02"
scenarios=$(echo $scenarios | tr ',' ' '); setups=$(echo $setups | tr ',' ' '); sizes=$(echo $sizes | tr ',' ' ')
for s in $scenarios; do case $s in p2p|pvp|pvvp) ;; *) die "--scenarios: '$s' is not one of p2p pvp pvvp" ;; esac; done
for s in $setups; do case $s in nfv|ovs|testpmd|nfvvm) ;; *) die "--setups: '$s' is not one of nfv ovs testpmd" ;; esac; done
for s in $sizes; do
  [ "$s" = imix ] || { [[ $s =~ ^[0-9]+$ ]] && (( s >= 60 && s <= 1514 )); } || die "size '$s': expected 60..1514 or imix"
done
[ -n "$scenarios" ] && [ -n "$setups" ] && [ -n "$sizes" ] || die "empty --scenarios, --setups or --sizes"
case $vnf in process) ;; vm) [[ " $setups " == *" nfvvm "* ]] || setups="$setups nfvvm" ;; *) die "--vnf: process or vm" ;; esac
case $forwarding in flows) ;; normal) [ "$scenarios" = p2p ] || die "--forwarding normal needs --scenarios p2p (a one-way generator floods)" ;; *) die "--forwarding: flows or normal" ;; esac
case $vnf_idle in poll|adaptive) ;; *) die "--vnf-idle: poll or adaptive" ;; esac
case $switch_idle in poll|adaptive) ;; *) die "--switch-idle: poll or adaptive" ;; esac
case $vnf_cpu in 0|1) ;; *) die "--vnf-cpu: 0 or 1" ;; esac
case $gen_cpu in 0|1) ;; *) die "--gen-cpu: 0 or 1" ;; esac
case $gen_idle in poll|yield) ;; *) die "--gen-idle: poll or yield" ;; esac
[ -z "$qsize" ] || { [[ $qsize =~ ^[0-9]+$ ]] && (( qsize >= 64 && qsize <= 32768 && (qsize & (qsize - 1)) == 0 )); } || die "--queue-size: a power of two in 64..32768"
QOPT=${qsize:+,queue-size=$qsize}

[ "$(id -u)" = 0 ] || die "needs root (hugepages, DPDK, OVS, KVM)"
[ -e /sys/devices/system/cpu/cpu1 ] || die "needs two CPUs (generator and VNFs on 0, switch on 1)"
taskset -p 3 $$ >/dev/null 2>&1 || true
for t in timeout taskset pgrep awk "$PY" gnuplot; do command -v "$t" >/dev/null || die "$t not found"; done
[ -x "$NFV_GEN" ] || die "$NFV_GEN not found: ninja -C <dir> tools/nfv-gen/nfv-gen and set NFV_BUILD_DIR"
[[ " $scenarios " == *" pv"* ]] && { [ -x "$NFV_L2FWD" ] || die "$NFV_L2FWD not found"; }
for s in $setups; do
  case $s in
    nfv) [ -x "$NFV_SWITCH" ] || die "$NFV_SWITCH not found: build it and set NFV_BUILD_DIR" ;;
    nfvvm) [ -x "$NFV_SWITCH" ] && [ -x "$NFV_VMM" ] && [ -r "$L2FWD_ELF" ] || die "--vnf vm needs $NFV_SWITCH, $NFV_VMM and $L2FWD_ELF"
           [ -w /dev/kvm ] || die "--vnf vm needs /dev/kvm" ;;
    ovs) for t in "$OVS_VSWITCHD" ovsdb-tool ovsdb-server ovs-vsctl ovs-appctl ovs-ofctl; do
           command -v "$t" >/dev/null || die "$t not found (Debian package openvswitch-switch-dpdk)"
         done ;;
    testpmd) command -v "$TESTPMD" >/dev/null || die "$TESTPMD not found" ;;
  esac
done

[ -n "$out" ] || out=$REPO/results/vsperf-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out/logs" || die "cannot create $out"
out=$(cd "$out" && pwd)
PFX=nfvvsperf-$$
RUNDIR=$(mktemp -d /tmp/nfv-vsperf.XXXXXX) || die "mktemp failed"
: > "$RUNDIR/switch-prefixes"
reserve_hugepages 3072
RUN_BEFORE=$(list_dir "$DPDK_RUN")

declare -A NAME=([nfv]=nfv-switch [ovs]=ovs-dpdk [testpmd]=testpmd-io [nfvvm]=nfv-switch+vm)
# ports of a scenario in switch order, and the cross-connected pairs (testpmd's paired topology)
ports_of() { case $1 in p2p) echo "g0 g1" ;; pvp) echo "g0 a0 a1 g1" ;; pvvp) echo "g0 a0 a1 b0 b1 g1" ;; esac; }
vnfs_of() { case $1 in p2p) echo "" ;; pvp) echo "a" ;; pvvp) echo "a b" ;; esac; }
NDR_TRIALS_MAX=$("$PY" -c "import math; print(min(30, 2 + math.ceil(math.log2(1 / $resolution))))")
LIMIT=$(( 60 + 25 + warmup + seconds + (ndr ? NDR_TRIALS_MAX * (${trial%.*} + 2) : 0) + 60 ))

SW_PIDS=()
track() { PIDS+=("$1"); SW_PIDS+=("$1"); }

# ---- switches: start_X RD SCENARIO; stop_X ----------------------------------------------------
start_nfv() {
  local rd=$1 sc=$2 p ports=($(ports_of "$2")) i
  {
    printf '[switch]\ncores = [1]\nidle = "%s"\nsocket = "%s"\nlog_level = "info"\n' "$switch_idle" "$rd/switch.sock"
    for p in "${ports[@]}"; do
      printf '\n[[port]]\nname = "%s"\ntype = "vhost-user"\npath = "%s"\nmode = "server"\nqueues = 1\n' "$p" "$rd/$p"
    done
    if [ "$forwarding" = flows ]; then
      for ((i = 0; i < ${#ports[@]}; i += 2)); do
        printf '\n[[rule]]\nmatch = "in_port=%s"\nactions = "output:%s"\n' "${ports[i]}" "${ports[i + 1]}"
        printf '\n[[rule]]\nmatch = "in_port=%s"\nactions = "output:%s"\n' "${ports[i + 1]}" "${ports[i]}"
      done
    fi
  } > "$rd/switch.toml"
  timeout -k 5 "$LIMIT" "$NFV_SWITCH" --config "$rd/switch.toml" </dev/null > "$rd/switch.log" 2>&1 &
  local pid=$! child
  track "$pid"
  sleep 0.2
  child=$(pgrep -P "$pid" 2>/dev/null | head -1)
  [ -n "$child" ] && echo "nfv-switch-$child" >> "$RUNDIR/switch-prefixes"
  wait_until 30 "$pid" have_sockets "$rd/switch.sock" $(for p in "${ports[@]}"; do echo "$rd/$p"; done) || return 1
  wait_until 10 "$pid" log_has "$rd/switch.log" "ready: control socket"
}
start_nfvvm() { start_nfv "$@"; }
stop_nfv() { local p; for p in ${SW_PIDS[@]+"${SW_PIDS[@]}"}; do stop_proc "$p" TERM 15; done; }
stop_nfvvm() { stop_nfv; }

start_testpmd() {
  local rd=$1 p i=0 vdevs=() socks=()
  for p in $(ports_of "$2"); do vdevs+=(--vdev "net_vhost$i,iface=$rd/$p,queues=1"); socks+=("$rd/$p"); i=$((i + 1)); done
  timeout -k 5 "$LIMIT" "$TESTPMD" -l 0,1 --main-lcore 0 --no-pci --file-prefix="$PFX-sw" -m 1024 --in-memory \
    "${vdevs[@]}" -- --no-mlockall --forward-mode=io --port-topology=paired --nb-cores=1 --auto-start \
    --stats-period 10 </dev/null > "$rd/switch.log" 2>&1 &
  local pid=$!
  track "$pid"
  wait_until 30 "$pid" have_sockets "${socks[@]}" || return 1
  wait_until 30 "$pid" log_has "$rd/switch.log" "start packet forwarding" || return 1
  sleep 1
  alive "$pid"
}
stop_testpmd() { local p; for p in ${SW_PIDS[@]+"${SW_PIDS[@]}"}; do stop_proc "$p" INT 15; done; }

start_ovs() {
  local rd=$1 ports=($(ports_of "$2")) i socks=()
  ovs_up "$rd" || return 1
  local vpid=$OVS_VPID
  for ((i = 0; i < ${#ports[@]}; i++)); do
    vsctl "$rd" add-port br0 "${ports[i]}" -- set Interface "${ports[i]}" type=dpdkvhostuser ofport_request=$((i + 1)) || return 1
    socks+=("$rd/${ports[i]}")
  done
  wait_until 30 "$vpid" have_sockets "${socks[@]}" "$rd/br0.mgmt" || return 1
  if [ "$forwarding" = flows ]; then
    ovs-ofctl del-flows "unix:$rd/br0.mgmt" || return 1
    for ((i = 1; i <= ${#ports[@]}; i += 2)); do
      ovs-ofctl add-flow "unix:$rd/br0.mgmt" "in_port=$i,actions=output:$((i + 1))" || return 1
      ovs-ofctl add-flow "unix:$rd/br0.mgmt" "in_port=$((i + 1)),actions=output:$i" || return 1
    done
    ovs-ofctl dump-flows "unix:$rd/br0.mgmt"
  fi
  sleep 1
  alive "$vpid"
}
stop_ovs() { local p; for p in ${SW_PIDS[@]+"${SW_PIDS[@]}"}; do stop_proc "$p" TERM 20; done; }

# ---- VNFs: start_vnfs RD SCENARIO KIND (process|vm) ------------------------------------------
VNF_PIDS=()
start_vnfs() {
  local rd=$1 kind=$3 v pid n=0
  for v in $(vnfs_of "$2"); do
    n=$((n + 1))
    if [ "$kind" = vm ]; then
      timeout -k 5 "$LIMIT" taskset -c "$vnf_cpu" "$NFV_VMM" --kernel "$L2FWD_ELF" --memory 256M --cpus 1 \
        --net "path=$rd/${v}0,mac=02:00:00:00:0$n:00" --net "path=$rd/${v}1,mac=02:00:00:00:0$n:01" \
        --cmdline "mode=forward idle=$vnf_idle${qsize:+ queue-size=$qsize}${NFV_GUEST_EXTRA:+ $NFV_GUEST_EXTRA}" --control "$rd/vnf-$v.ctl" --name "vnf-$v" </dev/null > "$rd/vnf-$v.log" 2>&1 &
    else
      timeout -k 5 "$LIMIT" "$NFV_L2FWD" --port "vhost-user:$rd/${v}0$QOPT" --port "vhost-user:$rd/${v}1$QOPT" --mode forward \
        --cpus "$vnf_cpu" --idle "$vnf_idle" --control "$rd/vnf-$v.ctl" </dev/null > "$rd/vnf-$v.log" 2>&1 &
    fi
    pid=$!
    PIDS+=("$pid"); VNF_PIDS+=("$pid")
    wait_until 20 "$pid" have_sockets "$rd/vnf-$v.ctl" || return 1
  done
  return 0
}
stop_vnfs() {
  local i
  for ((i = ${#VNF_PIDS[@]} - 1; i >= 0; i--)); do stop_proc "${VNF_PIDS[i]}" TERM 15; done
  VNF_PIDS=()
}
snap_vnfs() {  # RD SCENARIO FILE: the VNFs' stats answers, one JSON line each
  local v
  for v in $(vnfs_of "$2"); do rpc "$1/vnf-$v.ctl" stats 2>&1 | sed "s/^/$v /"; done > "$3"
}

# ---- generator ---------------------------------------------------------------------------------
gen() {  # RD SIZE LOG JSON ARGS...: nfv-gen from g0 to g1 on CPU $gen_cpu
  local rd=$1 size=$2 log=$3 json=$4
  shift 4
  timeout -k 5 $(( LIMIT - 30 )) "$NFV_GEN" --port "vhost-user:$rd/g0" --rx-port "vhost-user:$rd/g1" --cpu "$gen_cpu" --idle "$gen_idle" -q \
    --line-rate 100Gbps --stream "udp,flows=1024,src=10.0.0.1+1024,size=$size,udp_checksum=off" \
    --json "$json" "$@" </dev/null >> "$log" 2>&1
}
rx_of() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("rx_packets", 0))' "$1" 2>/dev/null || echo 0; }

CSV=$out/rounds.csv
echo "scenario,setup,size,round,status,max_rx_mpps,max_tx_mpps,max_loss_pct,mean_frame,gbps,ndr_mpps,ndr_trials,ndr_max_try_mpps,load1,other_procs,note" > "$CSV"
failures=0

run_round() {
  local sc=$1 setup=$2 size=$3 k=$4
  local tag=$sc-$setup-$size-r$k
  local rd=$RUNDIR/$tag ld=$out/logs/$tag status=ok note="" kind=process
  [ "$setup" = nfvvm ] && kind=vm
  mkdir -p "$rd" "$ld"
  SW_PIDS=() VNF_PIDS=()
  local load1 others i
  load1=$(cut -d' ' -f1 /proc/loadavg)
  others=$(count_others)
  if ! "start_$setup" "$rd" "$sc" > "$rd/start.out" 2>&1; then
    status=fail note="${NAME[$setup]} did not start"
  elif ! start_vnfs "$rd" "$sc" "$kind" >> "$rd/start.out" 2>&1; then
    status=fail note="VNF did not start"
  else
    # probe: until traffic comes back through everything (VNFs connected, links up)
    for ((i = 0; i < 20; i++)); do
      gen "$rd" "$size" "$rd/probe.log" "$rd/probe.json" --seconds 1 || true
      (( $(rx_of "$rd/probe.json") > 0 )) && break
      sleep 0.5
    done
    if (( i == 20 )); then
      status=fail note="no traffic came back after 20 probes"
    else
      (( warmup > 0 )) && gen "$rd" "$size" "$rd/warmup.log" "$rd/warmup.json" --seconds "$warmup"
      snap_vnfs "$rd" "$sc" "$rd/vnf-snap0"
      gen "$rd" "$size" "$rd/max.log" "$rd/max.json" --seconds "$seconds" || { status=fail note="max-rate run failed"; }
      snap_vnfs "$rd" "$sc" "$rd/vnf-snap1"
      if [ $status = ok ] && (( ndr )); then
        local top
        top=$("$PY" -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["rx_pps"]))' "$rd/max.json" 2>/dev/null || echo 0)
        if (( top > 1000 )); then
          gen "$rd" "$size" "$rd/ndr.log" "$rd/ndr.json" --rfc2544 ndr --rate "$top" --trial-seconds "$trial" \
            --resolution "$resolution" --csv "$rd/ndr.csv" || note="ndr search failed"
        else
          note="max rate too low for an NDR search"
        fi
      fi
    fi
  fi
  stop_vnfs
  "stop_$setup" "$rd"
  local pf pid
  for pf in "$rd"/*.pid; do   # safety net: a daemon of ours still running
    [ -f "$pf" ] || continue
    pid=$(cat "$pf" 2>/dev/null)
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$rd" || continue
    echo "  ($pf: pid $pid still runs: SIGKILL)" >&2
    kill -KILL "$pid" 2>/dev/null
  done
  remove_dpdk_rundirs
  find "$rd" -maxdepth 1 -type f ! -name 'conf.db' ! -name '*.pid' -exec cp -t "$ld" {} + 2>/dev/null
  rm -rf -- "$rd"
  "$PY" - "$CSV" "$sc" "${NAME[$setup]}" "$size" "$k" "$status" "$note" "$ld" "$load1" "$others" "$rounds" <<'PY'
import csv, json, sys
csvf, sc, setup, size, k, status, note, ld, load1, others, rounds = sys.argv[1:]
row = dict(scenario=sc, setup=setup, size=size, round=k, status=status, max_rx_mpps="", max_tx_mpps="",
           max_loss_pct="", mean_frame="", gbps="", ndr_mpps="", ndr_trials="", ndr_max_try_mpps="",
           load1=load1, other_procs=others, note=note)
def load(p):
    try:
        return json.load(open(p))
    except (OSError, ValueError):
        return None
m = load(f"{ld}/max.json")
if status == "ok" and m:
    rx, tx = m.get("rx_pps", 0), m.get("tx_pps", 0)
    frame = m["rx_bytes"] / m["rx_packets"] if m.get("rx_packets") else (m["tx_bytes"] / m["tx_packets"] if m.get("tx_packets") else 0)
    lost = sum(s.get("lost", 0) for s in m.get("streams", []))
    sent = sum(s.get("sent", 0) for s in m.get("streams", [])) or m.get("tx_packets", 0)
    row.update(max_rx_mpps=f"{rx / 1e6:.4f}", max_tx_mpps=f"{tx / 1e6:.4f}", mean_frame=f"{frame:.1f}",
               max_loss_pct=f"{100 * lost / sent:.3f}" if sent else "",
               gbps=f"{rx * (frame + 24) * 8 / 1e9:.3f}")
    if rx <= 0:
        row["status"], row["note"] = "fail", "nothing received in the max-rate run"
elif status == "ok":
    row["status"], row["note"] = "fail", "no max-rate result"
n = load(f"{ld}/ndr.json")
if n and "rate_pps" in n:
    row.update(ndr_mpps=f"{n['rate_pps'] / 1e6:.4f}", ndr_trials=len(n.get("trials", [])),
               ndr_max_try_mpps=f"{n.get('max_rate_pps', 0) / 1e6:.4f}")
with open(csvf, "a", newline="") as f:
    csv.DictWriter(f, fieldnames=list(row)).writerow(row)
if row["status"] == "ok":
    res = (f"max {row['max_rx_mpps']} Mpps rx ({row['gbps']} Gbit/s, tx {row['max_tx_mpps']}, loss {row['max_loss_pct']}%)"
           + (f", NDR {row['ndr_mpps']} Mpps ({row['ndr_trials']} trials)" if row["ndr_mpps"] else "")
           + (f" [{row['note']}]" if row["note"] else ""))
else:
    res = f"FAILED: {row['note']}"
print(f"  {sc:<4} {setup:<14} {size:>5}  round {k}/{rounds}: {res}", flush=True)
sys.exit(0 if row["status"] == "ok" else 1)
PY
  [ $? -eq 0 ] || failures=$((failures + 1))
}

# ---- the run -------------------------------------------------------------------------------------
nrun=0
for sc in $scenarios; do for s in $setups; do [ "$s" = nfvvm ] && [ "$sc" != pvp ] && continue; nrun=$((nrun + 1)); done; done
per=$(( 12 + warmup + seconds + (ndr ? 6 * (${trial%.*} + 1) : 0) ))
echo "vsperf: scenarios [$scenarios], setups [$setups], sizes [$sizes], $rounds round(s) of ${seconds}s" \
     "(+${warmup}s warm-up)$( ((ndr)) && echo ", NDR trials of ${trial}s, resolution $resolution")"
echo "  switch PMD on CPU 1 (nfv-switch idle $switch_idle); nfv-gen on CPU $gen_cpu (idle $gen_idle); VNFs (nfv-l2fwd --idle $vnf_idle$([ "$vnf" = vm ] && echo '; l2fwd.elf VM for nfvvm')) on CPU $vnf_cpu; forwarding: $forwarding"
echo "  binaries: $BUILD_DIR;  output: $out  (about $(( nrun * $(wc -w <<< "$sizes") * rounds * per / 60 + 1 )) min)"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
n=$(count_others)
[ "${n:-0}" -gt 0 ] && echo "  warning: $n other DPDK/OVS/VM process(es) running now: figures will be disturbed"
START_TS=$(date -Iseconds)
for sc in $scenarios; do
  list=()
  for s in $setups; do [ "$s" = nfvvm ] && [ "$sc" != pvp ] && continue; list+=("$s"); done
  for size in $sizes; do
    for ((k = 1; k <= rounds; k++)); do
      for ((j = 0; j < ${#list[@]}; j++)); do run_round "$sc" "${list[(j + k - 1) % ${#list[@]}]}" "$size" "$k"; done
    done
  done
done
END_TS=$(date -Iseconds)

# ---- summary ---------------------------------------------------------------------------------------
git_rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
"$PY" - "$out" "$START_TS" "$END_TS" "$git_rev" "$rounds" "$seconds" "$warmup" "$ndr" "$trial" "$resolution" \
  "$forwarding" "$vnf_idle" "$BUILD_DIR" "$(uname -r)" "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)" \
  "$( { "$OVS_VSWITCHD" --version 2>/dev/null || true; } | head -1)" "$(dpkg-query -W -f='${Version}' dpdk 2>/dev/null || true)" \
  "switch PMD on CPU 1 (nfv-switch idle $switch_idle), nfv-gen on CPU $gen_cpu (idle $gen_idle), VNFs on CPU $vnf_cpu" \
  <<'PY' | tee "$out/summary.txt"
import csv, json, statistics, sys
(out, t0, t1, rev, rounds, secs, warm, ndr, trial, res, fwd, idle, bdir, kernel, cpu, ovs, dpdk, pinning) = sys.argv[1:]
rows = list(csv.DictReader(open(f"{out}/rounds.csv")))
num = lambda v: float(v) if v not in ("", None) else None
med = lambda v: statistics.median([x for x in v if x is not None]) if [x for x in v if x is not None] else None
order = {"p2p": 0, "pvp": 1, "pvvp": 2}
SET = ["nfv-switch", "nfv-switch+vm", "ovs-dpdk", "testpmd-io"]
keys = sorted({(r["scenario"], r["size"], r["setup"]) for r in rows},
              key=lambda t: (order[t[0]], 0 if t[1] == "64" else (2 if t[1] == "imix" else 1), t[1], SET.index(t[2])))
medians = []
for sc, size, setup in keys:
    sel = [r for r in rows if (r["scenario"], r["size"], r["setup"]) == (sc, size, setup)]
    ok = [r for r in sel if r["status"] == "ok"]
    mx = [num(r["max_rx_mpps"]) for r in ok]
    medians.append(dict(scenario=sc, size=size, setup=setup, rounds_ok=len(ok), rounds_failed=len(sel) - len(ok),
                        max_rx_mpps=med(mx), min_max_rx=min(mx) if mx else None, max_max_rx=max(mx) if mx else None,
                        max_tx_mpps=med([num(r["max_tx_mpps"]) for r in ok]), gbps=med([num(r["gbps"]) for r in ok]),
                        mean_frame=med([num(r["mean_frame"]) for r in ok]),
                        max_loss_pct=med([num(r["max_loss_pct"]) for r in ok]),
                        ndr_mpps=med([num(r["ndr_mpps"]) for r in ok]),
                        min_ndr=min([num(r["ndr_mpps"]) for r in ok if r["ndr_mpps"]], default=None),
                        max_ndr=max([num(r["ndr_mpps"]) for r in ok if r["ndr_mpps"]], default=None)))
def get(sc, size, setup):
    x = [m for m in medians if (m["scenario"], m["size"], m["setup"]) == (sc, size, setup)]
    return x[0] if x else None
def paired(sc, size, a, b, key):
    pr = []
    for r in rows:
        if (r["scenario"], r["size"], r["setup"], r["status"]) == (sc, size, a, "ok") and num(r[key]):
            o = [x for x in rows if (x["scenario"], x["size"], x["setup"], x["round"], x["status"]) == (sc, size, b, r["round"], "ok")]
            if o and num(o[0][key]):
                pr.append(num(r[key]) / num(o[0][key]))
    return med(pr)
ratios = []
for m in medians:
    for other, name in (("ovs-dpdk", "vs_ovs"), ("testpmd-io", "vs_testpmd"), ("nfv-switch", "vs_process")):
        if m["setup"] not in ("nfv-switch", "nfv-switch+vm") or m["setup"] == other:
            continue
        if name == "vs_process" and m["setup"] != "nfv-switch+vm":
            continue
        if name != "vs_process" and m["setup"] == "nfv-switch+vm":
            continue
        o = get(m["scenario"], m["size"], other)
        if not o:
            continue
        d = dict(scenario=m["scenario"], size=m["size"], ratio=f"{m['setup']}/{other}", name=name)
        for key in ("max_rx_mpps", "ndr_mpps"):
            d[key] = m[key] / o[key] if m[key] and o[key] else None
            d["paired_" + key] = paired(m["scenario"], m["size"], m["setup"], other, key)
        m["ratio_" + name] = d["max_rx_mpps"]
        m["ndr_ratio_" + name] = d["ndr_mpps"]
        ratios.append(d)
fields = ["scenario", "size", "setup", "rounds_ok", "rounds_failed", "max_rx_mpps", "min_max_rx", "max_max_rx",
          "max_tx_mpps", "gbps", "mean_frame", "max_loss_pct", "ndr_mpps", "min_ndr", "max_ndr",
          "ratio_vs_ovs", "ratio_vs_testpmd", "ratio_vs_process", "ndr_ratio_vs_ovs", "ndr_ratio_vs_testpmd", "ndr_ratio_vs_process"]
with open(f"{out}/medians.csv", "w", newline="") as fh:
    w = csv.DictWriter(fh, fieldnames=fields)
    w.writeheader()
    for m in medians:
        w.writerow({k: ("" if m.get(k) is None else (round(m[k], 4) if isinstance(m[k], float) else m[k])) for k in fields})
meta = dict(start=t0, end=t1, git=rev, rounds=int(rounds), seconds=int(secs), warmup_s=int(warm), ndr=bool(int(ndr)),
            trial_seconds=float(trial), resolution=float(res), forwarding=fwd, vnf_idle=idle, build_dir=bdir,
            kernel=kernel, cpu=cpu, ovs=ovs, dpdk=dpdk,
            pinning=pinning,
            generator="nfv-gen, g0 -> g1, udp flows=1024 udp_checksum=off, size 64 (no FCS) or imix",
            formulas={"max_rx_mpps": "nfv-gen unpaced for --seconds: packets received back at g1 / s",
                      "gbps": "max_rx_mpps * (mean frame + 24) * 8 / 1000 (FCS + preamble/SFD/IFG)",
                      "ndr_mpps": "nfv-gen --rfc2544 ndr: highest offered rate with no loss, searched from max_rx down",
                      "ratios": "medians' ratio; paired_*: median of per-round ratios"},
            note="shared, noisy machine: compare ratios from the same run only")
json.dump(dict(meta=meta, rounds=rows, medians=medians, ratios=ratios), open(f"{out}/results.json", "w"), indent=2)

f = lambda v, nd=2: "-" if v is None else f"{v:.{nd}f}"
size_name = lambda s: "IMIX" if s == "imix" else f"{s} B"
print(f"vsperf medians over {rounds} round(s) of {secs} s, {t0} .. {t1}, git {rev}")
print(f"{pinning}; forwarding {fwd}; NDR: trials of {trial} s, resolution {res}")
print()
print("| scenario | frame | setup | max rx Mpps (min..max) | Gbit/s | NDR Mpps | max vs OVS | max vs testpmd | NDR vs OVS | NDR vs testpmd |")
print("|---|---|---|---|---|---|---|---|---|---|")
for m in medians:
    rng = "" if m["min_max_rx"] is None else f" ({m['min_max_rx']:.2f}..{m['max_max_rx']:.2f})"
    print(f"| {m['scenario']} | {size_name(m['size'])} | {m['setup']} | {f(m['max_rx_mpps'])}{rng} | {f(m['gbps'])} | "
          f"{f(m['ndr_mpps'], 3)} | {f(m.get('ratio_vs_ovs'))} | {f(m.get('ratio_vs_testpmd'))} | "
          f"{f(m.get('ndr_ratio_vs_ovs'))} | {f(m.get('ndr_ratio_vs_testpmd'))} |"
          + ("" if not m["rounds_failed"] else f" ({m['rounds_failed']} failed)"))
vm = [r for r in ratios if r["name"] == "vs_process"]
if vm:
    print()
    print("l2fwd as a VM vs as a process through nfv-switch (pvp, same cores, same run; target VM >= 0.95x process):")
    for r in vm:
        p, v = get(r["scenario"], r["size"], "nfv-switch"), get(r["scenario"], r["size"], "nfv-switch+vm")
        print(f"  {size_name(r['size']):>5}: process {f(p['max_rx_mpps'])} Mpps max / {f(p['ndr_mpps'], 3)} NDR;"
              f" VM {f(v['max_rx_mpps'])} Mpps max / {f(v['ndr_mpps'], 3)} NDR;"
              f" VM/process {f(r['max_rx_mpps'])} max (paired {f(r['paired_max_rx_mpps'])}), {f(r['ndr_mpps'])} NDR")
print()
print("max rx: nfv-gen unpaced, packets received back per second (one direction, g0 -> g1); Gbit/s on the wire")
print("  (mean frame + 24 B); NDR: RFC 2544 no-drop rate searched from the max down. Ratios: nfv-switch / peer.")
print("Shared, noisy machine: compare ratios from the same run only.")

# gnuplot data: one block per size; rows scenario, columns setups (median max, median NDR)
sizes = []
for m in medians:
    if m["size"] not in sizes:
        sizes.append(m["size"])
setups = [s for s in SET if any(m["setup"] == s for m in medians)]
with open(f"{out}/vsperf.dat", "w") as fh:
    for size in sizes:
        fh.write(f"# {size_name(size)}: scenario " + " ".join(f"{s}_max {s}_ndr" for s in setups) + "\n")
        for sc in sorted({m["scenario"] for m in medians}, key=lambda s: order[s]):
            cells = []
            for s in setups:
                g = get(sc, size, s)
                cells += [f(g["max_rx_mpps"], 4) if g and g["max_rx_mpps"] else "NaN",
                          f(g["ndr_mpps"], 4) if g and g["ndr_mpps"] else "NaN"]
            fh.write(f"{sc} " + " ".join(cells) + "\n")
        fh.write("\n\n")
with open(f"{out}/vsperf.gpvars", "w") as fh:
    fh.write(" ".join(size_name(s).replace(" ", "_") for s in sizes) + "\n" + " ".join(setups) + "\n")
PY
rc=$?

# ---- plot: per size, grouped bars of the medians (max rx solid, NDR hatched) -----------------------
if [ -s "$out/vsperf.gpvars" ]; then
  read -r -a psizes < <(sed -n 1p "$out/vsperf.gpvars")
  read -r -a psetups < <(sed -n 2p "$out/vsperf.gpvars")
  {
    echo "set terminal pngcairo size $(( 700 * ${#psizes[@]} + 200 )),600 font ',10'"
    echo "set output '$out/vsperf.png'"
    echo "set multiplot layout 1,${#psizes[@]} title \"VSPERF scenarios: switch PMD on CPU 1, nfv-gen on CPU $gen_cpu, VNFs on CPU $vnf_cpu\\nmedian of $rounds round(s), $(date +%F)\""
    echo "set style data histogram; set style histogram clustered gap 1; set style fill solid 0.8 border -1"
    echo "set ylabel 'Mpps received (one direction)'; set yrange [0:*]; set grid ytics; set key top right"
    for ((b = 0; b < ${#psizes[@]}; b++)); do
      echo "set title '${psizes[b]//_/ }: max rate (solid) and NDR (hatched)'"
      plot="plot"
      for ((i = 0; i < ${#psetups[@]}; i++)); do
        plot+=" '$out/vsperf.dat' index $b using $((2 + 2 * i)):xtic(1) title '${psetups[i]} max' lc $((i + 1)) fs solid 0.8,"
        (( ndr )) && plot+=" '' index $b using $((3 + 2 * i)) title '${psetups[i]} NDR' lc $((i + 1)) fs pattern 4,"
      done
      echo "${plot%,}"
    done
    echo "unset multiplot"
  } > "$out/vsperf.gp"
  gnuplot "$out/vsperf.gp" 2> "$out/gnuplot.err" || echo "gnuplot failed: $(head -3 "$out/gnuplot.err")" >&2
  [ -s "$out/gnuplot.err" ] || rm -f "$out/gnuplot.err"
fi
rm -f "$out/vsperf.gpvars"

cleanup
hm=$(huge_mount)
[ -n "$hm" ] && [ "$(list_dir "$hm")" != "$HUGE_BEFORE" ] && echo "warning: $hm differs from before the run" >&2
[ "$(list_dir "$DPDK_RUN")" != "$RUN_BEFORE" ] && echo "note: $DPDK_RUN differs from before the run: $(comm -3 <(echo "$RUN_BEFORE") <(list_dir "$DPDK_RUN") | tr -s ' \t\n' ' ')" >&2
echo "results: $out (rounds.csv medians.csv results.json summary.txt vsperf.png logs/)"
(( rc == 0 )) || exit 1
(( failures == 0 )) || { echo "$failures round(s) failed" >&2; exit 1; }
exit 0
