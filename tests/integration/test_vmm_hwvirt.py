"""nfv-vmm on a hardware-virtualization KVM: tests/hwvirt/run.sh boots Debian's
kernel under QEMU TCG with an emulated AMD SVM CPU (-cpu max), loads kvm-amd in
it and runs nfv-vmm there (hello.elf banner/exit code/fault report, the
virtio_garbage.elf hostile driver, smp.elf starting a second vCPU). This machine's own /dev/kvm is PVM, so this
is the only way the VT-x/AMD-V code path is exercised here."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

import nfvtest

SCRIPT = Path(__file__).resolve().parents[1] / "hwvirt" / "run.sh"
VMM_BIN = nfvtest.BUILD_DIR / "vmm" / "nfv-vmm"

pytestmark = [
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None,
                       reason="qemu-system-x86_64 not installed (package qemu-system-x86)"),
    pytest.mark.skipif(not VMM_BIN.exists(), reason="needs a built nfv-vmm"),
]


@pytest.mark.timeout(150)  # above the script's own 120 s bound (the suite's default is 60 s)
def test_vmm_runs_on_hardware_virtualization_in_tcg():
    t0 = time.monotonic()
    r = subprocess.run(["bash", str(SCRIPT), str(nfvtest.BUILD_DIR)], capture_output=True, text=True,
                       timeout=120, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HWVIRT_TIMEOUT": "85"})
    elapsed = time.monotonic() - t0
    out = r.stdout + r.stderr
    if r.returncode == 77:
        pytest.skip(out.strip().splitlines()[-1])
    assert r.returncode == 0, out
    assert "hwvirt: PASS" in out, out
    assert "nfv guest hello: platform hardware" in out, out
    assert elapsed < 90, f"the nested run took {elapsed:.1f}s\n{out}"
