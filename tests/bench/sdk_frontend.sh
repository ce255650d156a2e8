#!/bin/bash
# sdk_frontend.sh: the SDK's vhost-user front-end against DPDK's virtio_user, same back-end, same run.
#
# Back-end: dpdk-testpmd --vdev net_vhost0 --forward-mode=macswap, forwarding on CPU 1.
# Front-ends, on CPU 0, one after the other, alternating their order every round:
#   nfv   build/tests/bench/nfv-sdk-loop: a send/receive loop on the SDK (flowgen's work per packet)
#   dpdk  dpdk-testpmd --vdev net_virtio_user0 --forward-mode=flowgen (the anchor in ../shared/bench)
# Each front-end gets a fresh back-end. Figures: Mpps each way over the measured window (after
# --warmup), TSC cycles per sent packet (testpmd: --record-core-cycles), medians over rounds and
# the ratio nfv/dpdk.
#
# Usage: tests/bench/sdk_frontend.sh [--rounds 5] [--seconds 10] [--warmup 2] [--sizes "64 1518"] [--out DIR]
# Output in DIR (default results/sdk-frontend-DATE): rounds.csv, medians.csv, results.json,
# summary.txt, sdk_frontend.png, logs/.
# Needs root, CPUs 0 and 1, hugepages (DPDK uses --in-memory: no files left), dpdk-testpmd,
# python3, gnuplot. Serialise with other DPDK work: flock /tmp/nfv-dpdk.lock tests/bench/sdk_frontend.sh
set -u
SCRIPT=sdk_frontend.sh NFV_TARGET=tests/bench/nfv-sdk-loop OUT_NAME=sdk-frontend OUT_PLOT=sdk_frontend
SINK_MODE=macswap DPDK_FIGURE=rx NFV_LABEL=nfv-sdk DPDK_LABEL="DPDK virtio_user"
SUMMARY_HEAD="medians over rounds (Mpps received back / sent by the front-end; back-end testpmd macswap):"
PLOT_TITLE="vhost-user front-ends vs testpmd macswap" PLOT_YLABEL="Mpps received back"

# run_nfv SIZE LOG -> JSON line on stdout
run_nfv() {
  timeout $((seconds + warmup + 30)) "$NFV_BIN" --port "vhost-user:$RUN/v.sock" --seconds "$seconds" \
    --warmup "$warmup" --length "$1" --cpu 0 2> "$2" | tail -1
}

source "$(dirname -- "${BASH_SOURCE[0]}")/lib/frontend_rounds.sh"
