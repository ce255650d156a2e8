#!/bin/bash
# gen_max_rate.sh: nfv-gen's maximum send rate against DPDK testpmd flowgen's, same sink, same run.
#
# Sink: dpdk-testpmd --vdev net_vhost0 --forward-mode=rxonly, forwarding on CPU 1.
# Generators, on CPU 0, one after the other, alternating their order every round, each with a
# fresh sink:
#   nfv   build/tools/nfv-gen/nfv-gen, unpaced, one UDP stream over 1024 flows, udp_checksum=off
#         (flowgen computes no UDP checksum either: the same work per packet)
#   dpdk  dpdk-testpmd --vdev net_virtio_user0 --forward-mode=flowgen (1024 flows by default)
# Figures: Mpps sent over the measured window (nfv-gen: its whole --seconds; testpmd: the mean of its
# per-second Tx-pps after --warmup), medians over rounds and the ratio nfv/dpdk.
#
# Usage: tests/bench/gen_max_rate.sh [--rounds 5] [--seconds 10] [--warmup 2] [--sizes "64 1518"] [--out DIR]
# Output in DIR (default results/gen-max-rate-DATE): rounds.csv, medians.csv, results.json,
# summary.txt, gen_max_rate.png, logs/.
# Needs root, CPUs 0 and 1, hugepages, dpdk-testpmd, python3, gnuplot. Serialise with other DPDK
# work: flock /tmp/nfv-dpdk.lock tests/bench/gen_max_rate.sh
set -u
SCRIPT=gen_max_rate.sh NFV_TARGET=tools/nfv-gen/nfv-gen OUT_NAME=gen-max-rate OUT_PLOT=gen_max_rate
SINK_MODE=rxonly DPDK_FIGURE=tx NFV_LABEL=nfv-gen DPDK_LABEL="testpmd flowgen"
SUMMARY_HEAD="medians over rounds (Mpps sent; sink testpmd rxonly):"
PLOT_TITLE="generators into testpmd rxonly" PLOT_YLABEL="Mpps sent"

# run_nfv SIZE LOG -> JSON line on stdout (nfv-gen sends unpaced for --seconds)
run_nfv() {
  timeout $((seconds + 40)) "$NFV_BIN" --port "vhost-user:$RUN/v.sock" --seconds "$seconds" --cpu 0 -q \
    --stream "udp,flows=1024,src=10.0.0.1+1024,size=$1,udp_checksum=off" --json "$2.json" > "$2" 2>&1 || return 1
  "$PY" -c "import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(dict(frontend='nfv-gen', length=$1,
    rx_mpps=round(d['tx_pps']/1e6,3), tx_mpps=round(d['tx_pps']/1e6,3), cycles_per_packet=d.get('cycles_per_packet'))))" "$2.json"
}

source "$(dirname -- "${BASH_SOURCE[0]}")/lib/frontend_rounds.sh"
