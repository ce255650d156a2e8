#!/bin/bash
# The default demo: `nfv up configs/demo.toml` for DEMO_SECONDS (default 10).
# nfv starts nfv-switch (PMD on CPU 1), an l2fwd VNF process and the same VNF
# as a VM (nfv-vmm booting l2fwd.elf), chains them between nfv-gen's two ports
# (generator -> process -> VM -> generator), shows the live status once a
# second, tears everything down and ends with the generator's line:
#   nfv: generator sent N frames in S s (R Mpps), received M (...), lost L (P %)
# Root, idempotent: nfv refuses to start while another switch or `nfv up` runs,
# and removes everything it started (processes, sockets, run directory).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${NFV_BUILD_DIR:-$top/build}
secs=${DEMO_SECONDS:-10}

for p in tools/nfv/nfv dataplane/nfv-switch tools/nfv-gen/nfv-gen sample-vnfs/l2fwd/nfv-l2fwd vmm/nfv-vmm \
         sample-vnfs/l2fwd/l2fwd.elf; do
  [ -e "$build/$p" ] || { echo "demo: $build/$p is missing; build it (ninja -C $build)" >&2; exit 1; }
done
if [ ! -e /dev/kvm ]; then
  echo "demo: /dev/kvm is missing; the demo's VM needs KVM (kvm_intel/kvm_amd or kvm_pvm)" >&2
  exit 1
fi

echo "demo: nfv up configs/demo.toml --seconds $secs (generator -> l2fwd process -> l2fwd VM -> generator)"
cd "$top"
# nfv stops by itself after --seconds; the timeout only bounds a hung bring-up or teardown.
exec env NFV_BUILD_DIR="$build" timeout --signal=INT --kill-after=30 $((secs + 120)) \
  "$build/tools/nfv/nfv" up configs/demo.toml --seconds "$secs"
