# Shared by sdk_frontend.sh and gen_max_rate.sh: one of ours against a DPDK
# testpmd on net_virtio_user (flowgen), alternating, each against a fresh
# testpmd net_vhost sink/back-end; medians, ratios, CSV/JSON/PNG.
#
# The caller sets, then sources this file (which parses the command line):
#   SCRIPT NFV_BIN NFV_TARGET OUT_NAME OUT_PLOT   names and paths
#   SINK_MODE        testpmd forward mode of the back-end: macswap | rxonly
#   DPDK_FIGURE      rx | tx: which testpmd figure is the result
#   NFV_LABEL DPDK_LABEL SUMMARY_HEAD PLOT_TITLE PLOT_YLABEL   texts
# and defines run_nfv SIZE LOG, printing one JSON line {rx_mpps, tx_mpps,
# cycles_per_packet}; $RUN/v.sock is the back-end's socket.
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/../../.." && pwd)
BUILD_DIR=$(realpath -m -- "${NFV_BUILD_DIR:-$REPO/build}")
NFV_BIN=$BUILD_DIR/$NFV_TARGET
export NFV_LABEL DPDK_LABEL SUMMARY_HEAD
set -u
set -o pipefail

die() { echo "$SCRIPT: $*" >&2; exit 2; }
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3

rounds=5 seconds=10 warmup=2 sizes="64 1518" out=""
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=${2:?}; shift 2 ;;
    --seconds) seconds=${2:?}; shift 2 ;;
    --warmup) warmup=${2:?}; shift 2 ;;
    --sizes) sizes=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h|--help) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ $rounds =~ ^[1-9][0-9]*$ ]] || die "--rounds must be a positive integer"
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive integer"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup must be a non-negative integer"
sizes=$(echo $sizes | tr ',' ' ')
for s in $sizes; do [[ $s =~ ^[0-9]+$ ]] && (( s >= 60 && s <= 1518 )) || die "size '$s': expected 60..1518"; done
[ "$(id -u)" = 0 ] || die "needs root"
[ -e /sys/devices/system/cpu/cpu1 ] || die "needs CPUs 0 and 1"
for t in timeout dpdk-testpmd gnuplot "$PY"; do command -v "$t" >/dev/null || die "$t not found"; done
[ -x "$NFV_BIN" ] || die "$NFV_BIN not found: ninja -C $BUILD_DIR $NFV_TARGET (or set NFV_BUILD_DIR)"
free_hp=$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages 2>/dev/null || echo 0)
(( free_hp >= 600 )) || die "needs 600 free 2 MiB hugepages (have $free_hp): run tools/setup.sh"

[ -n "$out" ] || out=$REPO/results/$OUT_NAME-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out/logs" || die "cannot create $out"
out=$(cd "$out" && pwd)
RUN=$(mktemp -d /tmp/nfv-bench.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
  sleep 1
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$RUN"
  # DPDK leaves its runtime directory even with --in-memory: remove our own prefixes' only
  rm -rf /var/run/dpdk/nfvsb-be-$$ /var/run/dpdk/nfvsb-fe-$$
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# backend LOG: testpmd net_vhost in $SINK_MODE mode, forwarding lcore on CPU 1; waits for its socket.
backend() {
  rm -f "$RUN/v.sock"
  timeout $((seconds + warmup + 60)) dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci --in-memory \
    --file-prefix "nfvsb-be-$$" -m 512 --no-telemetry --vdev "net_vhost0,iface=$RUN/v.sock,queues=1" -- \
    --no-mlockall --forward-mode="$SINK_MODE" --nb-cores=1 --auto-start --stats-period 10 > "$1" 2>&1 &
  BE=$!; PIDS+=("$BE")
  for _ in $(seq 1 120); do [ -S "$RUN/v.sock" ] && return 0; sleep 0.25; done
  echo "back-end did not create its socket; see $1" >&2; return 1
}
stop_backend() { kill -INT "$BE" 2>/dev/null; wait "$BE" 2>/dev/null; }

# run_dpdk SIZE LOG -> JSON line: mean of testpmd's per-second Rx-pps/Tx-pps after the warm-up
# (rx_mpps is its Tx-pps when DPDK_FIGURE=tx: a sink sends nothing back).
run_dpdk() {
  timeout $((seconds + warmup + 40)) dpdk-testpmd -l 1,0 --main-lcore 1 --no-pci --in-memory \
    --single-file-segments --file-prefix "nfvsb-fe-$$" -m 512 --no-telemetry \
    --vdev "net_virtio_user0,path=$RUN/v.sock,queues=1" -- --no-mlockall --forward-mode=flowgen \
    --txpkts="$1" --nb-cores=1 --auto-start --stats-period 1 --record-core-cycles > "$2" 2>&1 &
  local fe=$!; PIDS+=("$fe")
  sleep $((seconds + warmup + 3)); kill -INT "$fe" 2>/dev/null; wait "$fe" 2>/dev/null
  "$PY" - "$2" "$1" "$warmup" "$seconds" "$DPDK_FIGURE" <<'PYEOF'
import json, re, sys
log, size, warm, secs = open(sys.argv[1], errors="replace").read(), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rx = [int(x) for x in re.findall(r"Rx-pps:\s+(\d+)", log)]
tx = [int(x) for x in re.findall(r"Tx-pps:\s+(\d+)", log)]
# the first period lines are start-up; measure the `secs` periods after `warm` (+1 for the link coming up)
w = slice(warm + 1, warm + 1 + secs)
cyc = re.findall(r"CPU cycles/packet=([\d.]+)", log)
r = lambda v: sum(v[w]) / len(v[w]) / 1e6 if v[w] else 0.0
print(json.dumps(dict(frontend="dpdk-virtio_user", length=size, rx_mpps=round(r(tx if sys.argv[5] == "tx" else rx), 3), tx_mpps=round(r(tx), 3),
                      cycles_per_packet=float(cyc[-1]) if cyc else None, periods=len(rx[w]))))
PYEOF
}

echo "round,size,frontend,rx_mpps,tx_mpps,cycles_per_packet" > "$out/rounds.csv"
: > "$out/rounds.jsonl"
total=$((rounds * $(echo $sizes | wc -w) * 2)); n=0
for r in $(seq 1 "$rounds"); do
  order="nfv dpdk"; (( r % 2 == 0 )) && order="dpdk nfv"
  for size in $sizes; do
    for fe in $order; do
      n=$((n + 1))
      printf '[%d/%d] round %d, %d B, %s ... ' "$n" "$total" "$r" "$size" "$fe" >&2
      tag="r$r-$size-$fe"
      backend "$out/logs/$tag-backend.log" || exit 1
      sleep 1
      if [ "$fe" = nfv ]; then line=$(run_nfv "$size" "$out/logs/$tag.log"); else line=$(run_dpdk "$size" "$out/logs/$tag.log"); fi
      stop_backend
      if ! echo "$line" | "$PY" -c 'import json,sys; json.loads(sys.stdin.read())' 2>/dev/null; then
        echo "no result (see $out/logs/$tag.log)" >&2; continue
      fi
      echo "$line" | "$PY" -c "import json,sys; d=json.loads(sys.stdin.read()); d['round']=$r; print(json.dumps(d))" >> "$out/rounds.jsonl"
      echo "$line" | "$PY" -c "
import json,sys; d=json.loads(sys.stdin.read())
print(f\"$r,$size,$fe,{d['rx_mpps']},{d['tx_mpps']},{d.get('cycles_per_packet') or ''}\")" >> "$out/rounds.csv"
      echo "$line" | "$PY" -c "import json,sys; d=json.loads(sys.stdin.read()); print(f\"rx {d['rx_mpps']:.2f} Mpps, tx {d['tx_mpps']:.2f} Mpps\")" >&2
    done
  done
done

"$PY" - "$out" <<'PYEOF'
import csv, json, os, statistics, sys
out = sys.argv[1]
nfv_label, dpdk_label = os.environ["NFV_LABEL"], os.environ["DPDK_LABEL"]
rows = list(csv.DictReader(open(f"{out}/rounds.csv")))
sizes = sorted({int(r["size"]) for r in rows})
med = lambda v: statistics.median(v) if v else None
res, lines = [], []
for s in sizes:
    m = {}
    for fe in ("nfv", "dpdk"):
        sel = [r for r in rows if int(r["size"]) == s and r["frontend"] == fe]
        m[fe] = dict(rx=med([float(r["rx_mpps"]) for r in sel]), tx=med([float(r["tx_mpps"]) for r in sel]),
                     cpp=med([float(r["cycles_per_packet"]) for r in sel if r["cycles_per_packet"]]),
                     rx_min=min([float(r["rx_mpps"]) for r in sel], default=None),
                     rx_max=max([float(r["rx_mpps"]) for r in sel], default=None), rounds=len(sel))
    ratio = m["nfv"]["rx"] / m["dpdk"]["rx"] if m["nfv"]["rx"] and m["dpdk"]["rx"] else None
    # paired: the two front-ends of one round ran back to back; the median of those ratios
    by_round = {}
    for r in rows:
        if int(r["size"]) == s:
            by_round.setdefault(r["round"], {})[r["frontend"]] = float(r["rx_mpps"])
    paired = med([v["nfv"] / v["dpdk"] for v in by_round.values() if v.get("nfv") and v.get("dpdk")])
    for fe in m.values():
        fe["rx_gbps"] = fe["rx"] * s * 8 / 1000 if fe["rx"] else None  # frame bytes, no FCS
    res.append(dict(size=s, nfv=m["nfv"], dpdk=m["dpdk"], ratio_rx=ratio, paired_ratio_rx=paired))
    f = lambda x, p=2: "-" if x is None else f"{x:.{p}f}"
    lines.append(f"{s:>5} B  {nfv_label} rx {f(m['nfv']['rx'])} Mpps ({f(m['nfv']['rx_gbps'],1)} Gbit/s) tx {f(m['nfv']['tx'])}, "
                 f"{f(m['nfv']['cpp'],0)} cyc/pkt | {dpdk_label} rx {f(m['dpdk']['rx'])} Mpps "
                 f"({f(m['dpdk']['rx_gbps'],1)} Gbit/s) tx {f(m['dpdk']['tx'])}, {f(m['dpdk']['cpp'],0)} cyc/pkt | "
                 f"ratio {f(ratio)}x (paired {f(paired)}x)")
with open(f"{out}/medians.csv", "w") as fh:
    fh.write("size,nfv_rx_mpps,nfv_tx_mpps,nfv_cycles_per_packet,dpdk_rx_mpps,dpdk_tx_mpps,dpdk_cycles_per_packet,ratio_rx,paired_ratio_rx\n")
    for r in res:
        fh.write(",".join(str(x) for x in (r["size"], r["nfv"]["rx"], r["nfv"]["tx"], r["nfv"]["cpp"], r["dpdk"]["rx"],
                                           r["dpdk"]["tx"], r["dpdk"]["cpp"], r["ratio_rx"], r["paired_ratio_rx"])) + "\n")
json.dump(dict(medians=res, rounds=[json.loads(l) for l in open(f"{out}/rounds.jsonl")]), open(f"{out}/results.json", "w"), indent=2)
summary = os.environ["SUMMARY_HEAD"] + "\n" + "\n".join(lines)
open(f"{out}/summary.txt", "w").write(summary + "\n")
print(summary)
with open(f"{out}/medians.dat", "w") as fh:
    for r in res:
        fh.write(f"{r['size']}B {r['nfv']['rx'] or 0} {r['nfv']['rx_min'] or 0} {r['nfv']['rx_max'] or 0} "
                 f"{r['dpdk']['rx'] or 0} {r['dpdk']['rx_min'] or 0} {r['dpdk']['rx_max'] or 0}\n")
PYEOF
DPDK_PLOT_LABEL=${DPDK_LABEL//_/\\_}  # gnuplot reads _ as a subscript
gnuplot <<GP 2> "$out/gnuplot.err" || echo "gnuplot failed: $(head -3 "$out/gnuplot.err")" >&2
set terminal pngcairo size 800,500
set output '$out/$OUT_PLOT.png'
set title '$PLOT_TITLE (median of $rounds rounds, bars: min..max)'
set ylabel '$PLOT_YLABEL'
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.6
set yrange [0:*]
plot '$out/medians.dat' using 2:3:4:xtic(1) title '$NFV_LABEL', '' using 5:6:7 title '$DPDK_PLOT_LABEL'
GP
[ -s "$out/gnuplot.err" ] || rm -f "$out/gnuplot.err"
echo "results: $out"
