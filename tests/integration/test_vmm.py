"""nfv-vmm black-box tests on this machine's KVM (PVM here): boot, exit codes,
guest faults, memory requests, bad images and arguments, and the l2fwd guest
forwarding through a vhost-user back-end written by others (DPDK testpmd
net_vhost) with no VM exit per packet."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

import nfvtest
from nfvtest import BURST, wait_for

VMM_BIN = nfvtest.VMM_BIN
HELLO_ELF = nfvtest.BUILD_DIR / "tests" / "guests" / "hello.elf"
L2FWD_ELF = nfvtest.L2FWD_ELF
GARBAGE_ELF = nfvtest.BUILD_DIR / "tests" / "guests" / "virtio_garbage.elf"
MAC_X = "02:00:00:00:00:0a"

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/kvm") or not VMM_BIN.exists(),
                                reason="needs /dev/kvm and a built nfv-vmm")


def vmm(*args, timeout=30):
    return subprocess.run([str(VMM_BIN), *args], capture_output=True, text=True, timeout=timeout)


def test_guest_banner_and_exit_code():
    t0 = time.monotonic()
    r = vmm("--kernel", str(HELLO_ELF), "--memory", "64M", "--cmdline", "exit=7")
    elapsed = time.monotonic() - t0
    assert r.returncode == 7, r.stdout + r.stderr
    assert "nfv guest hello: platform" in r.stdout, r.stdout
    assert "the guest shut down with exit code 7" in r.stderr, r.stderr
    assert elapsed < 5, elapsed


def test_guest_fault_is_reported_with_nonzero_exit():
    for fault, name in (("null", "#PF page fault"), ("ud", "#UD invalid opcode")):
        r = vmm("--kernel", str(HELLO_ELF), "--memory", "64M", "--cmdline", f"fault={fault}")
        assert r.returncode == 100, r.stdout + r.stderr
        assert f"CPU exception {name}" in r.stdout, r.stdout
        assert "rip=0x" in r.stdout, r.stdout
    # the null pointer read reports the faulting address
    r = vmm("--kernel", str(HELLO_ELF), "--memory", "64M", "--cmdline", "fault=null")
    assert "cr2=0x0" in r.stdout, r.stdout


def test_memory_request_grows_a_running_guest():
    r = vmm("--kernel", str(HELLO_ELF), "--memory", "64M", "--cmdline", "grow=96")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "hello: got 96 MiB at 0x100000000, written and verified" in r.stdout, r.stdout
    # beyond --max-memory the request is refused and the guest says so
    r = vmm("--kernel", str(HELLO_ELF), "--memory", "64M", "--max-memory", "128M", "--cmdline", "grow=96")
    assert r.returncode == 3, r.stdout + r.stderr
    assert "memory request refused" in r.stdout


@pytest.mark.parametrize("args,message", [
    (["--kernel", "/nonexistent.elf"], "cannot open"),
    (["--kernel", "/bin/ls"], "not ET_EXEC"),
    (["--kernel", str(HELLO_ELF), "--memory", "8M"], "expected 16 MiB"),
    (["--kernel", str(HELLO_ELF), "--memory", "12Q"], "unknown unit"),
    (["--kernel", str(HELLO_ELF), "--net", "mac=zz"], "expected xx:xx"),
    (["--kernel", str(HELLO_ELF), "--net", "path=/tmp/x.sock,speed=9"], "unknown key 'speed'"),
    (["--kernel", str(HELLO_ELF), "--hugepages", "maybe"], "expected prefer, require or never"),
    (["--kernel", str(HELLO_ELF), "--halt-poll-ns", "-5"], "expected 0..10000000 or host"),
    (["--kernel", str(HELLO_ELF), "--halt-poll-ns", "20000000"], "expected 0..10000000 or host"),
    (["--memory", "64M"], "--kernel is required"),
])
def test_bad_arguments_exit_2(args, message):
    r = vmm(*args)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stdout + r.stderr, r.stdout + r.stderr


def test_truncated_elf_is_refused(tmp_path):
    data = HELLO_ELF.read_bytes()
    bad = tmp_path / "cut.elf"
    bad.write_bytes(data[:200])
    r = vmm("--kernel", str(bad))
    assert r.returncode == 2 and "outside the file" in r.stderr, r.stderr


def user_exits(stats):
    return sum(v["exits"]["io"] + v["exits"]["mmio"] for v in stats["vcpus"])


def test_l2fwd_vm_reflects_through_dpdk_vhost_backend(lab):
    sock = lab.path("vm.sock")
    pmd = lab.testpmd_vhost("V", sock, peer=MAC_X)
    vm = lab.vm(["--kernel", str(L2FWD_ELF), "--memory", "128M", "--net", f"path={sock},mac={MAC_X}",
                  "--cmdline", "mode=reflect"])
    wait_for(lambda: vm.call("status")["net"][0]["rings_up"], 20, what="rings up")
    wait_for(lambda: "vnf" in vm.call("stats"), 10, what="guest publishing stats (poll loop running)")
    wait_for(pmd.link_up, 20, what="testpmd link up")
    before = vm.call("stats")
    n = pmd.send(16)
    assert n == 16 * BURST
    assert pmd.wait_rx(n) == n
    # More, in chunks that fit the guest's 256-entry receive ring, each answered before the
    # next: a descheduled vCPU (2 shared cores) must not turn into ring-full drops.
    total = n
    for _ in range(8):
        total += pmd.send(16)
        assert pmd.wait_rx(total, timeout=20) == total
    after = vm.call("stats")
    # No VM exit per packet: the doorbells go to ioeventfds inside KVM, the rings are polled.
    assert user_exits(after) - user_exits(before) < 10, (before["vcpus"], after["vcpus"])
    wait_for(lambda: vm.call("stats")["vnf"]["vnf"]["reflected"] >= total, 5, what="guest counters published")
    st = vm.call("stats")["vnf"]
    assert st["vnf"]["reflected"] == total and st["vnf"]["runts"] == 0, st
    # Clean shutdown: SIGTERM tells the guest, which stops and exits 0.
    vm.proc.send_signal(signal.SIGTERM)
    assert vm.proc.wait(15) == 0, vm.log()
    assert "l2fwd: stopping" in vm.log(), vm.log()
    assert not os.path.exists(vm.socket)


def test_virtio_garbage_guest_leaves_the_vmm_up_and_counted(lab):
    """A hostile driver writes nonsense into every virtio-pci register class
    (tests/guests/virtio_garbage.cpp); after each class NEEDS_RESET is as the
    device model promises, a reset brings the device back, and a proper init
    with a real back-end (testpmd net_vhost) still works. The VMM stays up and
    answers stats while it happens; the counters name what was refused."""
    sock = lab.path("garbage.sock")
    lab.testpmd_vhost("G", sock, peer=MAC_X)
    vm = lab.vm(["--kernel", str(GARBAGE_ELF), "--memory", "64M", "--net", f"path={sock},mac={MAC_X}",
                 "--cmdline", "wait"])
    # The VMM answers while the guest hammers the device.
    # (At least one status call: the guest may be through its classes before the first one.)
    deadline = time.monotonic() + 30
    while True:
        assert vm.proc.poll() is None, vm.log()
        assert time.monotonic() < deadline, vm.log()
        assert vm.call("status")["state"] == "running"
        if "waiting for shutdown" in vm.log():
            break
        time.sleep(0.05)
    log = vm.log()
    assert "MISMATCH" not in log and "FAILED" not in log, log
    assert " 0 failed expectation(s)" in log, log
    # The device was left live by a proper init and the back-end got its rings.
    wait_for(lambda: vm.call("status")["net"][0]["rings_up"], 20, what="rings up after the garbage")
    st = vm.call("status")["net"][0]
    assert st["driver_status"] == 0x0F, st
    stats = vm.call("stats")
    t = stats["net"][0]["transport"]
    assert t["needs_reset"] >= 30, t
    for reason in ("bad_access", "read_only_write", "bad_queue_select", "bad_queue_size", "bad_queue_enable",
                   "bad_ring", "bad_msix_vector", "refused_features", "bad_status", "late_write"):
        assert t[reason] > 0, (reason, t)
    assert t["resets"] >= 2 * 40, t
    assert stats["net"][0]["rings_started"] >= 1, stats["net"][0]
    assert stats["buses"]["mmio_unhandled_writes"] >= 2, stats["buses"]  # the writes past the BAR
    # The guest ends the run when asked, with its verdict as the exit code.
    vm.call("shutdown")
    assert vm.proc.wait(15) == 0, vm.log()
    assert "virtio_garbage: exiting with 0" in vm.log(), vm.log()
