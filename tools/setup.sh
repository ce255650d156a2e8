#!/bin/bash
# Installs every build and runtime package, reserves hugepages and mounts
# hugetlbfs. Idempotent; run as root on Debian 12. Programs still run without
# hugepages, so failing to reserve them is a warning, not an error.
set -euo pipefail

PACKAGES=(
  # build
  build-essential meson ninja-build pkg-config clang libclang-rt-14-dev
  # libraries
  dpdk dpdk-dev libdpdk-dev libspdlog-dev libfmt-dev libtomlplusplus-dev doctest-dev
  libcli11-dev nlohmann-json3-dev libpcap-dev
  # peers and tools for tests and benchmarks
  openvswitch-switch-dpdk tshark tcpdump gnuplot-nox iproute2 procps psmisc
  python3 python3-pytest python3-pytest-timeout
  # nfv-vmm's hardware-virtualization test (tests/hwvirt: KVM with AMD-V nested under QEMU TCG)
  qemu-system-x86 linux-image-amd64 busybox-static cpio xz-utils bc file
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # tshark asks whether non-root users may capture; answer no without a prompt
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# Hugepages: 2 MiB pages, 1536 of them (3 GiB) unless more are already reserved.
want=${NFV_HUGEPAGES:-1536}
have=$(awk '/HugePages_Total/{print $2}' /proc/meminfo)
if (( have < want )); then
  echo "$want" > /proc/sys/vm/nr_hugepages 2>/dev/null || true
  have=$(awk '/HugePages_Total/{print $2}' /proc/meminfo)
  (( have >= want )) || echo "setup: warning: only $have hugepages reserved (wanted $want); programs fall back to normal memory"
fi
if ! grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
  mkdir -p /dev/hugepages
  mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || echo "setup: warning: cannot mount hugetlbfs on /dev/hugepages"
fi
mkdir -p /run/nfv
echo "setup: ok ($(awk '/HugePages_Total/{print $2}' /proc/meminfo) hugepages)"
