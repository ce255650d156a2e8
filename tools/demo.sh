#!/bin/bash
# The default demo: nfv-switch with two vhost-user ports (configs/switch.toml),
# dpdk-testpmd as two VMs' virtio-net frontends sending 64-byte frames at each
# other through it for DEMO_SECONDS (default 10); prints the forwarding rate.
# (The topology launcher `nfv up configs/demo.toml` replaces this later.)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${NFV_BUILD_DIR:-$top/build}
secs=${DEMO_SECONDS:-10}
len=${DEMO_FRAME:-64}
run=$(mktemp -d /tmp/nfv-demo.XXXXXX)
sock=/run/nfv/switch.sock
nfvctl() { "$build/tools/nfvctl/nfvctl" --socket "$sock" "$@"; }

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  rm -rf "$run" /var/run/dpdk/nfv-demo-gen  # testpmd leaves its (empty) runtime directory
}
trap cleanup EXIT

if [ -S "$sock" ] && nfvctl status >/dev/null 2>&1; then
  echo "demo: a switch is already running on $sock; stop it first" >&2
  exit 1
fi

echo "demo: starting nfv-switch (configs/switch.toml: ports vm1, vm2; PMD on CPU 1)"
"$build/dataplane/nfv-switch" --config "$top/configs/switch.toml" >"$run/switch.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
[ -S "$sock" ] || { cat "$run/switch.log"; echo "demo: the switch did not start" >&2; exit 1; }
nfvctl port list

echo "demo: starting dpdk-testpmd as the two VMs (virtio-user on CPU 0), ${len}-byte frames, ${secs} s"
taskset -c 0 dpdk-testpmd --lcores 0@0,1@0 --main-lcore 0 --no-pci --in-memory --single-file-segments --file-prefix=nfv-demo-gen -m 512 \
  --vdev "net_virtio_user0,path=/run/nfv/vm1.sock,queues=1,mac=02:00:00:00:00:01" \
  --vdev "net_virtio_user1,path=/run/nfv/vm2.sock,queues=1,mac=02:00:00:00:00:02" \
  -- --no-mlockall --forward-mode=flowgen --txpkts="$len" --auto-start --stats-period 5 \
  >"$run/testpmd.log" 2>&1 &
pids+=($!)

sleep 2  # let the rings fill and the MAC table settle
read -r p0 t0 < <(nfvctl --json stats | /usr/bin/python3 -c '
import json,sys,time; s=json.load(sys.stdin); print(sum(p["tx_packets"] for p in s["ports"]), time.time())')
for ((i = 1; i <= secs; i++)); do
  sleep 1
  printf '\rdemo: %d/%d s' "$i" "$secs"
done
echo
read -r p1 t1 < <(nfvctl --json stats | /usr/bin/python3 -c '
import json,sys,time; s=json.load(sys.stdin); print(sum(p["tx_packets"] for p in s["ports"]), time.time())')
nfvctl stats
nfvctl pmd stats
if [ "$p1" = "$p0" ]; then
  echo "demo: no traffic went through the switch; the logs:" >&2
  tail -n 20 "$run/testpmd.log" "$run/switch.log" >&2
  exit 1
fi
/usr/bin/python3 - "$p0" "$t0" "$p1" "$t1" "$len" <<'PY'
import sys
p0, t0, p1, t1, ln = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
pps = (p1 - p0) / (t1 - t0)
gbps = pps * (ln + 4) * 8 / 1e9  # frame bytes plus FCS
print(f"demo: nfv-switch forwarded {pps/1e6:.2f} Mpps ({gbps:.2f} Gbit/s) of {ln}-byte frames between vm1 and vm2")
PY
