#!/usr/bin/env bash
# Runs nfv-vmm on a hardware-virtualization KVM (AMD SVM emulated by QEMU TCG)
# on a machine whose own /dev/kvm is PVM (shared/reference/pvm/README.md,
# "Testing the hardware-virtualization path on these machines").
#
# It builds an initramfs holding busybox, nfv-vmm with its shared libraries,
# the test guests and Debian's kvm modules (irqbypass, kvm, ccp, kvm-amd) for
# the kernel in /boot, boots that kernel (the ELF vmlinux extracted from
# vmlinuz, through qboot/PVH) under qemu-system-x86_64 -accel tcg -cpu max,
# loads the modules and runs inside it:
#   nfv-vmm --kernel hello.elf --cmdline exit=7     banner says "platform hardware", exit code 7
#   nfv-vmm --kernel hello.elf --cmdline fault=ud   the guest's IDT reports #UD: exit code 100
#   nfv-vmm --kernel virtio_garbage.elf --net ...   the hostile driver, no back-end: exit code 0
#   nfv-vmm --kernel smp.elf --cpus 2               every vCPU started (start_cpu hypercall): exit code 0
# then reads the results from the serial console. Exit status 0 when every
# check passed, 1 when one failed, 77 when a tool or file it needs is missing.
#
# Usage: tests/hwvirt/run.sh [BUILD_DIR]   (default: $NFV_BUILD_DIR, else ./build)
# Environment: HWVIRT_TIMEOUT (s, default 80) bounds QEMU; HWVIRT_KEEP=1 keeps
# the work directory; HWVIRT_KERNEL / HWVIRT_MODULES override the kernel image
# and its module directory. Packages: qemu-system-x86, linux-image-amd64,
# busybox-static, cpio, xz-utils.
set -euo pipefail

BUILD_DIR=$(realpath "${1:-${NFV_BUILD_DIR:-build}}")
TIMEOUT=${HWVIRT_TIMEOUT:-80}
VMM="$BUILD_DIR/vmm/nfv-vmm"
HELLO="$BUILD_DIR/tests/guests/hello.elf"
GARBAGE="$BUILD_DIR/tests/guests/virtio_garbage.elf"
SMP="$BUILD_DIR/tests/guests/smp.elf"

skip() { echo "hwvirt: SKIP: $*" >&2; exit 77; }
fail() { echo "hwvirt: FAIL: $*" >&2; exit 1; }

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (package qemu-system-x86)"
command -v cpio >/dev/null || skip "cpio not installed (package cpio)"
BUSYBOX=$(command -v busybox || true)
[[ -n "$BUSYBOX" ]] && file -L "$BUSYBOX" 2>/dev/null | grep -q "statically linked" || BUSYBOX=/bin/busybox
[[ -x "$BUSYBOX" ]] || skip "busybox not installed (package busybox-static)"
QBOOT=/usr/share/qemu/qboot.rom
[[ -f "$QBOOT" ]] || skip "$QBOOT missing (package qemu-system-x86)"
for f in "$VMM" "$HELLO" "$GARBAGE" "$SMP"; do [[ -f "$f" ]] || skip "$f not built"; done
VMM=$(readlink -f "$VMM")

KERNEL=${HWVIRT_KERNEL:-$(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1 || true)}
[[ -n "$KERNEL" && -r "$KERNEL" ]] || skip "no kernel in /boot (package linux-image-amd64)"
KVER=${KERNEL##*/vmlinuz-}
MODULES=${HWVIRT_MODULES:-/lib/modules/$KVER}
[[ -d "$MODULES" ]] || skip "no modules for $KVER in $MODULES"

WORK=$(mktemp -d /tmp/nfv-hwvirt.XXXXXX)
cleanup() { [[ "${HWVIRT_KEEP:-0}" == 1 ]] && echo "hwvirt: work directory $WORK" >&2 || rm -rf "$WORK"; }
trap cleanup EXIT
T0=$(date +%s.%N)

# ---- vmlinux: the ELF inside the bzImage (what scripts/extract-vmlinux does) -----
CACHE=/tmp/nfv-hwvirt-cache
mkdir -p "$CACHE"
VMLINUX="$CACHE/vmlinux-$KVER"
if [[ ! -s "$VMLINUX" || "$VMLINUX" -ot "$KERNEL" ]]; then
  tmp="$VMLINUX.$$"
  found=0
  # magic (grep -P escapes) and decompressor, in the order Debian kernels use them
  for spec in 'xz:\xfd7zXZ\x00' 'gzip:\x1f\x8b\x08' 'zstd:\x28\xb5\x2f\xfd' 'lzma:\x5d\x00\x00\x00'; do
    tool=${spec%%:*}
    command -v "$tool" >/dev/null || continue
    for off in $(LC_ALL=C grep -obUaP "${spec#*:}" "$KERNEL" | cut -d: -f1 | head -5); do
      tail -c +$((off + 1)) "$KERNEL" | "$tool" -dc 2>/dev/null > "$tmp" || true
      if [[ "$(head -c 4 "$tmp" | od -An -tx1 | tr -d ' ')" == "7f454c46" ]]; then found=1; break 2; fi
    done
  done
  [[ $found == 1 ]] || { rm -f "$tmp"; skip "could not extract vmlinux from $KERNEL"; }
  mv "$tmp" "$VMLINUX"
fi

# ---- initramfs ---------------------------------------------------------------------
ROOT="$WORK/root"
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,lib/modules,lib64,guests,opt/nfv/bin,opt/nfv/lib}
cp "$BUSYBOX" "$ROOT/bin/busybox"
cp "$VMM" "$ROOT/opt/nfv/bin/nfv-vmm"
# Its shared libraries (found through LD_LIBRARY_PATH, which precedes RUNPATH) and the loader.
for lib in $(ldd "$VMM" | awk '$2 == "=>" && $3 ~ /^\// {print $3}'); do cp -L "$lib" "$ROOT/opt/nfv/lib/"; done
LOADER=$(ldd "$VMM" | awk '$1 ~ /^\/.*ld-linux/ {print $1}')
[[ -n "$LOADER" ]] || skip "cannot find the dynamic loader of $VMM"
mkdir -p "$ROOT$(dirname "$LOADER")"
cp -L "$LOADER" "$ROOT$LOADER"
cp "$HELLO" "$GARBAGE" "$SMP" "$ROOT/guests/"
for m in virt/lib/irqbypass arch/x86/kvm/kvm drivers/crypto/ccp/ccp arch/x86/kvm/kvm-amd; do
  src=$(ls "$MODULES/kernel/$m".ko* 2>/dev/null | head -1)
  [[ -n "$src" ]] || skip "module $m missing in $MODULES"
  case "$src" in
    *.ko.xz) xz -dc "$src" > "$ROOT/lib/modules/$(basename "$m").ko" ;;
    *.ko.zst) zstd -dcq "$src" > "$ROOT/lib/modules/$(basename "$m").ko" ;;
    *.ko.gz) gzip -dc "$src" > "$ROOT/lib/modules/$(basename "$m").ko" ;;
    *) cp "$src" "$ROOT/lib/modules/" ;;
  esac
done
cat > "$ROOT/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin LD_LIBRARY_PATH=/opt/nfv/lib
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in irqbypass kvm ccp kvm-amd; do insmod /lib/modules/\$m.ko || echo "HWVIRT: insmod \$m failed"; done
[ -c /dev/kvm ] && echo "HWVIRT: /dev/kvm present" || echo "HWVIRT: no /dev/kvm"
[ -d /sys/module/kvm_amd ] && echo "HWVIRT: kvm_amd npt=\$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null)"
t0=\$(cut -d' ' -f1 /proc/uptime)
timeout 30 /opt/nfv/bin/nfv-vmm --kernel /guests/hello.elf --memory 64M --hugepages never --cmdline exit=7 2>&1
echo "HWVIRT: hello exit=\$? (started at \${t0}s, now \$(cut -d' ' -f1 /proc/uptime)s)"
timeout 30 /opt/nfv/bin/nfv-vmm --kernel /guests/hello.elf --memory 64M --hugepages never --cmdline fault=ud > /tmp/fault.log 2>&1
echo "HWVIRT: fault exit=\$?"
head -4 /tmp/fault.log
timeout 30 /opt/nfv/bin/nfv-vmm --kernel /guests/virtio_garbage.elf --memory 64M --hugepages never --net path=/tmp/none.sock 2>&1 | tail -3
echo "HWVIRT: garbage exit=\$?"
timeout 30 /opt/nfv/bin/nfv-vmm --kernel /guests/smp.elf --memory 64M --hugepages never --cpus 2 2>&1 | tail -4
echo "HWVIRT: smp exit=\$?"
echo "HWVIRT: done at \$(cut -d' ' -f1 /proc/uptime)s"
poweroff -f
INIT
chmod +x "$ROOT/init"
# pipefail for the garbage line: the exit code is nfv-vmm's, not tail's
sed -i '2i set -o pipefail' "$ROOT/init"
(cd "$ROOT" && find . | cpio -o -H newc --quiet | gzip -1) > "$WORK/initrd.gz"
T1=$(date +%s.%N)

# ---- boot ---------------------------------------------------------------------------
LOG="$WORK/console.log"
set +e
timeout --kill-after=5 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 1G \
  -nographic -no-reboot -nodefaults -serial stdio -bios "$QBOOT" -kernel "$VMLINUX" -initrd "$WORK/initrd.gz" \
  -append "console=ttyS0 panic=-1 quiet mitigations=off" < /dev/null > "$LOG" 2>&1
QRC=$?
set -e
T2=$(date +%s.%N)
tr -d '\r' < "$LOG" | grep -v '^$' | sed 's/^/  | /' | tail -40
printf 'hwvirt: initramfs %.1f s, QEMU %.1f s (exit %d)\n' "$(echo "$T1 - $T0" | bc)" "$(echo "$T2 - $T1" | bc)" "$QRC"

[[ $QRC == 124 || $QRC == 137 ]] && fail "QEMU did not finish within ${TIMEOUT}s"
grep -q "HWVIRT: /dev/kvm present" "$LOG" || fail "kvm-amd did not give a /dev/kvm inside the TCG VM"
grep -q "nfv guest hello: platform hardware" "$LOG" || fail "hello.elf banner missing (or not platform hardware)"
grep -q "HWVIRT: hello exit=7 " "$LOG" || fail "hello.elf: nfv-vmm did not exit with the guest's code 7"
grep -q "CPU exception #UD" "$LOG" || fail "hello.elf fault=ud: no exception report from the guest's IDT"
grep -q "HWVIRT: fault exit=100" "$LOG" || fail "hello.elf fault=ud: nfv-vmm exit code not 100"
grep -q "virtio_garbage: .* 0 failed expectation" "$LOG" || fail "virtio_garbage.elf: expectations failed"
grep -q "HWVIRT: garbage exit=0" "$LOG" || fail "virtio_garbage.elf: nfv-vmm exit code not 0"
grep -q "smp: 2 of 2 cpu(s) reported" "$LOG" || fail "smp.elf --cpus 2: not every vCPU reported"
grep -q "HWVIRT: smp exit=0" "$LOG" || fail "smp.elf --cpus 2: nfv-vmm exit code not 0"
echo "hwvirt: PASS"
