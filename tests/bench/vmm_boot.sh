#!/usr/bin/env bash
# nfv-vmm boot time and memory (issue 5), beside Firecracker's published 125 ms to init.
#
#   sudo flock /tmp/nfv-dpdk.lock tests/bench/vmm_boot.sh [--boots 20] [--rss-delay 1]
#        [--hugepages prefer|never|require] [--only hello|l2fwd] [--out DIR]
#
# (a) hello: `nfv-vmm --kernel tests/guests/hello.elf --memory 64M` under CPU 0, N times:
#     start_to_exit  fork+exec of nfv-vmm to its exit (the guest printed its banner and shut down)
#     start_to_banner  ... to the guest's first console line arriving on the VMM's stdout
# (b) l2fwd: `nfv-vmm --kernel sample-vnfs/l2fwd/l2fwd.elf --memory 256M --cpus 1 --cmdline
#     mode=forward` with two virtio-net devices on a dpdk-testpmd back-end (two net_vhost ports, io
#     forwarding on CPU 1, started once), N times:
#     start_to_ready_console  ... to the guest's "l2fwd: polling 2 port(s)" console line (printed
#                     right before the guest publishes its first stats and enters the poll loop)
#     start_to_ready_rpc  ... to the first `stats` answer of the VMM's control socket that has the
#                     guest's "vnf" section (the "ready" publish; polled every 2 ms)
#     shutdown        SIGTERM to exit
#     memory, --rss-delay s after ready: VmRSS and VmHWM of nfv-vmm (/proc/PID/status), the
#     guest RAM the guest touched (Rss + Hugetlb of the memfd mappings in /proc/PID/smaps) and the
#     VMM's own resident memory (VmRSS - memfd Rss; hugetlb pages are not in VmRSS)
# Every time includes fork+exec and the VMM's own set-up (also reported: setup_ms, from its log
# line "set-up took X ms", main() to starting the vCPU).
#
# Output in --out (default <repo>/results/vmm-boot-<timestamp>): boots.csv, results.json,
# summary.txt (min/median/p90/max), vmm_boot.png (histograms and CDFs), logs/.
# Needs root, /dev/kvm, CPUs 0 and 1, dpdk-testpmd (for l2fwd), python3, gnuplot, and in
# $NFV_BUILD_DIR (default <repo>/build) vmm/nfv-vmm, tests/guests/hello.elf,
# sample-vnfs/l2fwd/l2fwd.elf. Everything it starts is stopped at the end, on error and on Ctrl-C.
set -u
set -o pipefail
SCRIPT=vmm_boot.sh
usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$HERE/../.." && pwd)
source "$HERE/lib/procs.sh"

BUILD_DIR=$(realpath -m -- "${NFV_BUILD_DIR:-$REPO/build}")
NFV_VMM=$BUILD_DIR/vmm/nfv-vmm
HELLO_ELF=$BUILD_DIR/tests/guests/hello.elf
L2FWD_ELF=$BUILD_DIR/sample-vnfs/l2fwd/l2fwd.elf

boots=20 rss_delay=1 hugepages=prefer only="" out=""
while [ $# -gt 0 ]; do
  case $1 in
    --boots) boots=${2:?}; shift 2 ;;
    --rss-delay) rss_delay=${2:?}; shift 2 ;;
    --hugepages) hugepages=${2:?}; shift 2 ;;
    --only) only=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done
[[ $boots =~ ^[1-9][0-9]*$ ]] || die "--boots must be a positive integer"
[[ $rss_delay =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--rss-delay must be a number of seconds"
case $hugepages in prefer|never|require) ;; *) die "--hugepages: prefer, never or require" ;; esac
case $only in ""|hello|l2fwd) ;; *) die "--only: hello or l2fwd" ;; esac
[ "$(id -u)" = 0 ] || die "needs root (KVM, hugepages, DPDK)"
[ -w /dev/kvm ] || die "needs /dev/kvm"
[ -e /sys/devices/system/cpu/cpu1 ] || die "needs two CPUs (VMM on 0, back-end on 1)"
for t in timeout taskset "$PY" gnuplot; do command -v "$t" >/dev/null || die "$t not found"; done
[ -x "$NFV_VMM" ] || die "$NFV_VMM not found: ninja -C <dir> vmm/nfv-vmm and set NFV_BUILD_DIR"
[ "$only" = l2fwd ] || [ -r "$HELLO_ELF" ] || die "$HELLO_ELF not found (ninja -C <dir> tests/guests/hello.elf)"
if [ "$only" != hello ]; then
  [ -r "$L2FWD_ELF" ] || die "$L2FWD_ELF not found (ninja -C <dir> sample-vnfs/l2fwd/l2fwd.elf)"
  command -v dpdk-testpmd >/dev/null || die "dpdk-testpmd not found"
fi

[ -n "$out" ] || out=$REPO/results/vmm-boot-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out/logs" || die "cannot create $out"
out=$(cd "$out" && pwd)
PFX=nfvvmmboot-$$
RUNDIR=$(mktemp -d /tmp/nfv-vmm-boot.XXXXXX) || die "mktemp failed"
reserve_hugepages 1024
RUN_BEFORE=$(list_dir "$DPDK_RUN")
taskset -p 3 $$ >/dev/null 2>&1 || true

# VMMs the Python harness started (it stops them itself; this is the safety net)
kill_vmms() {
  local pid
  [ -f "$RUNDIR/vmm.pids" ] || return 0
  while read -r pid; do
    [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF "$RUNDIR" \
      && { echo "  (nfv-vmm $pid still runs: SIGKILL)" >&2; kill -KILL "$pid" 2>/dev/null; }
  done < "$RUNDIR/vmm.pids"
  return 0
}
trap 'kill_vmms; cleanup' EXIT

echo "vmm_boot: $boots boot(s) each of$([ "$only" != l2fwd ] && echo " hello.elf")$([ "$only" != hello ] && echo " l2fwd.elf"), guest RAM hugepages=$hugepages"
echo "  nfv-vmm: $NFV_VMM (on CPU 0); load average $(cut -d' ' -f1-3 /proc/loadavg); output $out"
n=$(count_others)
[ "${n:-0}" -gt 0 ] && echo "  warning: $n other DPDK/OVS/VM process(es) running now: figures will be disturbed"

if [ "$only" != hello ]; then
  timeout -k 5 $(( boots * (${rss_delay%.*} + 25) + 120 )) dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci \
    --in-memory --file-prefix "$PFX-be" -m 512 --no-telemetry \
    --vdev "net_vhost0,iface=$RUNDIR/v0.sock,queues=1" --vdev "net_vhost1,iface=$RUNDIR/v1.sock,queues=1" -- \
    --no-mlockall --forward-mode=io --nb-cores=1 --auto-start --stats-period 30 </dev/null > "$out/logs/backend.log" 2>&1 &
  BE=$!
  PIDS+=("$BE")
  wait_until 30 "$BE" have_sockets "$RUNDIR/v0.sock" "$RUNDIR/v1.sock" || die "testpmd back-end did not start (logs/backend.log)"
  wait_until 30 "$BE" log_has "$out/logs/backend.log" "start packet forwarding" || die "testpmd back-end did not start forwarding"
  sleep 1
fi

"$PY" - "$out" "$RUNDIR" "$NFV_VMM" "$HELLO_ELF" "$L2FWD_ELF" "$boots" "$rss_delay" "$hugepages" "$only" <<'PY'
import csv, json, os, re, signal, socket, subprocess, sys, threading, time
out, rundir, vmm, hello, l2fwd, boots, rss_delay, huge, only = sys.argv[1:]
boots, rss_delay = int(boots), float(rss_delay)
logs = f"{out}/logs"
now_ms = lambda t0: (time.monotonic_ns() - t0) / 1e6

def pin0():
    os.sched_setaffinity(0, {0})

def spawn(args, tag):
    errf = open(f"{logs}/{tag}.stderr", "wb")
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errf, stdin=subprocess.DEVNULL, preexec_fn=pin0)
    with open(f"{rundir}/vmm.pids", "a") as f:
        f.write(f"{p.pid}\n")
    return p, errf

class Console(threading.Thread):
    """Reads the guest console (the VMM's stdout), timestamping lines."""
    def __init__(self, p, t0, tag):
        super().__init__(daemon=True)
        self.p, self.t0, self.lines, self.f = p, t0, [], open(f"{logs}/{tag}.console", "w")
    def run(self):
        for raw in self.p.stdout:
            t = now_ms(self.t0)
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines.append((t, line))
            self.f.write(f"[{t:9.3f} ms] {line}\n")
        self.f.close()
    def first(self, pat):
        for t, l in list(self.lines):
            if pat in l:
                return t
        return None

def setup_ms(tag):
    try:
        m = re.search(r"set-up took ([\d.]+) ms", open(f"{logs}/{tag}.stderr", errors="replace").read())
        return float(m.group(1)) if m else None
    except OSError:
        return None

def stop(p, timeout=10):
    if p.poll() is None:
        t = time.monotonic_ns()
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
            return now_ms(t)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return None

def rpc(path, method):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(path)
        s.sendall((json.dumps({"jsonrpc": "2.0", "id": 1, "method": method}) + "\n").encode())
        buf = b""
        while b"\n" not in buf:
            c = s.recv(65536)
            if not c:
                break
            buf += c
        return json.loads(buf.split(b"\n")[0]).get("result")
    finally:
        s.close()

def memory(pid):
    st = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
            st[k] = int(v.split()[0])
    memfd = dict(size=0, rss=0, hugetlb=0)
    cur = None
    for line in open(f"/proc/{pid}/smaps"):
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            cur = "memfd:" in line
            continue
        if cur:
            k, _, v = line.partition(":")
            if k == "Size":
                memfd["size"] += int(v.split()[0])
            elif k == "Rss":
                memfd["rss"] += int(v.split()[0])
            elif k in ("Shared_Hugetlb", "Private_Hugetlb"):
                memfd["hugetlb"] += int(v.split()[0])
    return st, memfd

rows = []
fields = ["kind", "boot", "exit_code", "start_to_banner_ms", "start_to_exit_ms", "start_to_ready_console_ms",
          "start_to_ready_rpc_ms", "setup_ms", "shutdown_ms", "vmrss_kb", "vmhwm_kb", "rss_shmem_kb",
          "guest_memfd_size_kb", "guest_memfd_rss_kb", "guest_hugetlb_kb", "vmm_own_kb", "hugepages", "note"]
def emit(r):
    row = {k: r.get(k, "") for k in fields}
    rows.append(row)
    print("  " + ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items() if v not in ("", None)), flush=True)

if only != "l2fwd":
    for i in range(1, boots + 1):
        tag = f"hello-{i}"
        t0 = time.monotonic_ns()
        p, errf = spawn([vmm, "--kernel", hello, "--memory", "64M", "--hugepages", huge, "--name", f"boot{i}"], tag)
        con = Console(p, t0, tag)
        con.start()
        try:
            code = p.wait(30)
            t_exit = now_ms(t0)
        except subprocess.TimeoutExpired:
            p.kill(); p.wait(); code, t_exit = None, None
        con.join(5)
        errf.close()
        emit(dict(kind="hello", boot=i, exit_code=code, start_to_banner_ms=con.first("nfv guest hello"),
                  start_to_exit_ms=t_exit, setup_ms=setup_ms(tag), hugepages=huge,
                  note="" if code == 0 else "exit code not 0"))
        time.sleep(0.05)

if only != "hello":
    for i in range(1, boots + 1):
        tag = f"l2fwd-{i}"
        ctl = f"{rundir}/vm{i}.ctl"
        t0 = time.monotonic_ns()
        p, errf = spawn([vmm, "--kernel", l2fwd, "--memory", "256M", "--cpus", "1", "--hugepages", huge,
                         "--net", f"path={rundir}/v0.sock,mac=02:00:00:00:0a:00",
                         "--net", f"path={rundir}/v1.sock,mac=02:00:00:00:0a:01",
                         "--cmdline", "mode=forward", "--control", ctl, "--name", f"boot{i}"], tag)
        con = Console(p, t0, tag)
        con.start()
        r = dict(kind="l2fwd", boot=i, hugepages=huge)
        t_rpc, note = None, ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and p.poll() is None:
            if os.path.exists(ctl):
                try:
                    st = rpc(ctl, "stats")
                    if st and "vnf" in st:
                        t_rpc = now_ms(t0)
                        break
                except (OSError, ValueError):
                    pass
            time.sleep(0.002)
        if t_rpc is None:
            note = "no vnf stats (ready) within 30 s" if p.poll() is None else f"nfv-vmm exited with {p.returncode}"
        else:
            time.sleep(rss_delay)
            try:
                st, mf = memory(p.pid)
                r.update(vmrss_kb=st.get("VmRSS"), vmhwm_kb=st.get("VmHWM"), rss_shmem_kb=st.get("RssShmem"),
                         guest_memfd_size_kb=mf["size"], guest_memfd_rss_kb=mf["rss"], guest_hugetlb_kb=mf["hugetlb"],
                         vmm_own_kb=st.get("VmRSS", 0) - mf["rss"])
                s = rpc(ctl, "status")
                r["hugepages"] = f"{huge}:{'yes' if s and s.get('hugepages') else 'no'}"
            except (OSError, ValueError) as e:
                note = f"memory not read: {e}"
        r["shutdown_ms"] = stop(p)
        r["exit_code"] = p.returncode
        con.join(5)
        errf.close()
        r.update(start_to_ready_console_ms=con.first("polling"), start_to_ready_rpc_ms=t_rpc, setup_ms=setup_ms(tag), note=note)
        emit(r)
        time.sleep(0.2)

with open(f"{out}/boots.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
PY
rc=$?

"$PY" - "$out" "$boots" "$NFV_VMM" "$(uname -r)" "$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)" \
  "$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)" "$hugepages" <<'PY' | tee "$out/summary.txt"
import csv, json, statistics, sys
out, boots, vmm, kernel, cpu, rev, huge = sys.argv[1:]
rows = list(csv.DictReader(open(f"{out}/boots.csv")))
FC = 125.0
def pct(v, q):
    v = sorted(v)
    if not v:
        return None
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)
metrics = [("hello", "start_to_banner_ms", "hello: start to first console line", "ms"),
           ("hello", "start_to_exit_ms", "hello: start to guest exit (a)", "ms"),
           ("hello", "setup_ms", "hello: VMM set-up (main() to vCPU start)", "ms"),
           ("l2fwd", "start_to_ready_console_ms", "l2fwd: start to 'polling' console line", "ms"),
           ("l2fwd", "start_to_ready_rpc_ms", "l2fwd: start to first stats publish (b)", "ms"),
           ("l2fwd", "setup_ms", "l2fwd: VMM set-up (main() to vCPU start)", "ms"),
           ("l2fwd", "shutdown_ms", "l2fwd: SIGTERM to exit", "ms"),
           ("l2fwd", "vmrss_kb", "l2fwd: nfv-vmm VmRSS", "MiB"),
           ("l2fwd", "vmhwm_kb", "l2fwd: nfv-vmm VmHWM", "MiB"),
           ("l2fwd", "guest_memfd_rss_kb", "l2fwd: guest RAM touched, small pages (memfd Rss)", "MiB"),
           ("l2fwd", "guest_hugetlb_kb", "l2fwd: guest RAM touched, hugepages (memfd Hugetlb)", "MiB"),
           ("l2fwd", "vmm_own_kb", "l2fwd: VMM's own (VmRSS - memfd Rss)", "MiB")]
stats = []
for kind, key, label, unit in metrics:
    v = [float(r[key]) for r in rows if r["kind"] == kind and r[key] not in ("", "None")]
    if not v:
        continue
    if unit == "MiB":
        v = [x / 1024 for x in v]
    stats.append(dict(kind=kind, metric=key, label=label, unit=unit, n=len(v), min=min(v), median=statistics.median(v),
                      p90=pct(v, 0.9), max=max(v), values=v))
fails = [r for r in rows if r["note"]]
print(f"nfv-vmm boot time and memory: {boots} boot(s) per guest, guest RAM hugepages={huge}, git {rev}")
print(f"(times from fork+exec of nfv-vmm; VMM pinned to CPU 0; l2fwd back-end testpmd net_vhost x2 on CPU 1)")
print()
print("| measure | n | min | median | p90 | max | unit |")
print("|---|---|---|---|---|---|---|")
for s in stats:
    print(f"| {s['label']} | {s['n']} | {s['min']:.1f} | {s['median']:.1f} | {s['p90']:.1f} | {s['max']:.1f} | {s['unit']} |")
print(f"| Firecracker (published): VMM start to guest init | - | - | {FC:.0f} | - | - | ms |")
for key in ("start_to_exit_ms", "start_to_ready_rpc_ms"):
    s = [x for x in stats if x["metric"] == key]
    if s:
        print(f"\n{s[0]['label']}: median {s[0]['median']:.1f} ms = {s[0]['median'] / FC:.2f}x Firecracker's 125 ms", end="")
print()
if fails:
    print(f"\n{len(fails)} boot(s) with a note: " + "; ".join(f"{r['kind']} {r['boot']}: {r['note']}" for r in fails[:5]))
print("\nFirecracker: 'Firecracker initiates user space or application code in as little as 125 ms' (firecracker-microvm.github.io),")
print("a Linux guest to init; ours is the SDK guest runtime (no Linux), to the VNF's poll loop.")
json.dump(dict(meta=dict(boots=int(boots), vmm=vmm, kernel=kernel, cpu=cpu, git=rev, hugepages=huge, firecracker_ms=FC),
               stats=[{k: v for k, v in s.items() if k != "values"} for s in stats], boots=rows),
          open(f"{out}/results.json", "w"), indent=2)
# gnuplot data: per time metric, sorted values with their CDF
with open(f"{out}/cdf.dat", "w") as fh:
    names = []
    for s in stats:
        if s["unit"] != "ms" or s["metric"] in ("setup_ms", "shutdown_ms"):
            continue
        names.append(s["label"])
        v = sorted(s["values"])
        fh.write(f"# {s['label']}\n")
        for i, x in enumerate(v):
            fh.write(f"{x:.3f} {(i + 1) / len(v):.4f}\n")
        fh.write("\n\n")
open(f"{out}/cdf.names", "w").write("\n".join(names) + "\n")
PY

if [ -s "$out/cdf.names" ]; then
  mapfile -t names < "$out/cdf.names"
  {
    echo "set terminal pngcairo size 1300,520 font ',10'"
    echo "set output '$out/vmm_boot.png'"
    echo "set multiplot layout 1,2 title 'nfv-vmm boot: $boots boot(s) per guest, $(date +%F); Firecracker 125 ms for reference'"
    echo "set xlabel 'ms from nfv-vmm start'; set grid; set key bottom right"
    echo "set title 'CDF (log x, 1..200 ms)'; set ylabel 'fraction of boots'; set yrange [0:1.05]; set logscale x; set xrange [1:200]"
    plot="plot"
    for ((i = 0; i < ${#names[@]}; i++)); do plot+=" '$out/cdf.dat' index $i using 1:2 with steps lw 2 title '${names[i]//\'/}',"; done
    echo "set arrow 1 from 125, graph 0 to 125, graph 1 nohead dt 2 lc rgb 'gray'"
    echo "set label 1 'Firecracker 125 ms' at 125, graph 0.5 rotate left offset -1,0 tc rgb 'gray'"
    echo "${plot%,}"
    echo "unset arrow 1; unset label 1; unset logscale x; set xrange [0:*]; set title 'histogram (bins of 1 ms)'; set ylabel 'boots'; set yrange [0:*]"
    echo "set style fill transparent solid 0.4 border; binw = 1.0; set boxwidth binw"
    echo "bin(x) = binw * floor(x / binw) + binw / 2"
    plot="plot"
    for ((i = 0; i < ${#names[@]}; i++)); do plot+=" '$out/cdf.dat' index $i using (bin(\$1)):(1.0) smooth frequency with boxes title '${names[i]//\'/}',"; done
    echo "${plot%,}"
    echo "unset multiplot"
  } > "$out/vmm_boot.gp"
  gnuplot "$out/vmm_boot.gp" 2> "$out/gnuplot.err" || echo "gnuplot failed: $(head -3 "$out/gnuplot.err")" >&2
  [ -s "$out/gnuplot.err" ] || rm -f "$out/gnuplot.err"
fi
rm -f "$out/cdf.names"

kill_vmms
cleanup
[ "$(list_dir "$DPDK_RUN")" != "$RUN_BEFORE" ] && echo "note: $DPDK_RUN differs from before the run: $(comm -3 <(echo "$RUN_BEFORE") <(list_dir "$DPDK_RUN") | tr -s ' \t\n' ' ')" >&2
echo "results: $out (boots.csv results.json summary.txt vmm_boot.png logs/)"
exit $rc
