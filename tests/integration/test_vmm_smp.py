"""nfv-vmm with several vCPUs (--cpus N): the test guest (tests/guests/smp.cpp)
starts every other vCPU through the start_cpu hypercall and exits 0 only when
all N reported; malformed start requests are refused and counted; SIGTERM
stops a VM whose vCPUs all spin; bad --cpus values are usage errors."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

import nfvtest
from nfvtest import wait_for

VMM_BIN = nfvtest.VMM_BIN
SMP_ELF = nfvtest.BUILD_DIR / "tests" / "guests" / "smp.elf"
HELLO_ELF = nfvtest.BUILD_DIR / "tests" / "guests" / "hello.elf"

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/kvm") or not VMM_BIN.exists(),
                                reason="needs /dev/kvm and a built nfv-vmm")


def vmm(*args, timeout=30):
    return subprocess.run([str(VMM_BIN), *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("cpus", [1, 2, 4, 8])
def test_every_cpu_starts_and_reports(cpus):
    # 4 and 8 vCPUs are more than this machine's 2 host cores: they must still all run.
    t0 = time.monotonic()
    r = vmm("--kernel", str(SMP_ELF), "--memory", "64M", "--cpus", str(cpus))
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"smp: {cpus} cpu(s), boot cpu 0" in r.stdout, r.stdout
    seen = sorted(int(m) for m in re.findall(rf"smp: cpu (\d+) of {cpus} running", r.stdout))
    assert seen == list(range(cpus)), r.stdout
    assert f"smp: {cpus} of {cpus} cpu(s) reported" in r.stdout, r.stdout
    assert elapsed < 20, elapsed


def test_hello_guest_with_parked_cpus_exits_normally():
    # A guest that never starts its other vCPUs: they stay parked and the VM ends as usual.
    r = vmm("--kernel", str(HELLO_ELF), "--memory", "64M", "--cpus", "4", "--cmdline", "exit=5")
    assert r.returncode == 5, r.stdout + r.stderr
    assert "4 cpu(s)" in r.stdout, r.stdout


def test_fault_on_a_started_cpu_names_it():
    r = vmm("--kernel", str(SMP_ELF), "--memory", "64M", "--cpus", "3", "--cmdline", "fault")
    assert r.returncode == 100, r.stdout + r.stderr
    assert "CPU exception #PF page fault (vector 14) on cpu 1" in r.stdout, r.stdout
    assert "cr2=0x0" in r.stdout, r.stdout


@pytest.mark.parametrize("cpus", ["0", "9", "x", "-1"])
def test_bad_cpus_exit_2(cpus):
    r = vmm("--kernel", str(HELLO_ELF), "--memory", "64M", "--cpus", cpus)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "--cpus" in r.stdout + r.stderr, r.stdout + r.stderr


def test_bad_start_requests_are_refused_and_counted(lab):
    vm = lab.vm(["--kernel", str(SMP_ELF), "--memory", "64M", "--cpus", "2", "--cmdline", "bad"])
    wait_for(lambda: "unexpected answer(s)" in vm.log(), 20, what="the guest's bad requests")
    log = vm.log()
    assert "smp: 0 unexpected answer(s)" in log, log
    assert "WRONG" not in log, log
    st = vm.stats()
    h = st["hypercalls"]
    assert h["cpu_start_refused"] == 15, h  # 14 malformed + the second start of cpu 1
    assert h["cpus_started"] == 1, h
    status = vm.call("status")
    assert status["cpus"] == 2 and status["cpus_started"] == 2, status
    assert [v["state"] for v in st["vcpus"]] == ["running", "running"], st["vcpus"]
    assert vm.call("status")["state"] == "running"
    vm.proc.send_signal(signal.SIGTERM)
    assert vm.proc.wait(15) == 0, vm.log()


@pytest.mark.parametrize("cpus", [2, 4])
def test_sigterm_stops_spinning_cpus(lab, cpus):
    vm = lab.vm(["--kernel", str(SMP_ELF), "--memory", "64M", "--cpus", str(cpus), "--cmdline", "spin"])
    wait_for(lambda: f"smp: {cpus} of {cpus} cpu(s) reported" in vm.log(), 20, what="every cpu reported")
    st = vm.stats()
    assert len(st["vcpus"]) == cpus
    assert all(v["state"] == "running" for v in st["vcpus"]), st["vcpus"]
    # pause/resume reach every running vCPU
    vm.call("pause")
    wait_for(lambda: vm.call("status")["state"] == "paused", 5, what="paused")
    vm.call("resume")
    wait_for(lambda: vm.call("status")["state"] == "running", 5, what="running again")
    t0 = time.monotonic()
    vm.proc.send_signal(signal.SIGTERM)
    assert vm.proc.wait(15) == 0, vm.log()
    assert time.monotonic() - t0 < 5
    assert "smp: shutdown requested" in vm.log(), vm.log()
    assert not os.path.exists(vm.socket)


def test_forced_stop_with_parked_and_spinning_cpus(lab):
    # 4 vCPUs: 0 and 1 spin and never look at the stop request, 2 and 3 stay parked.
    # After --stop-timeout-ms the VMM stops the running ones and releases the parked
    # ones; every thread is joined and the exit is clean.
    vm = lab.vm(["--kernel", str(SMP_ELF), "--memory", "64M", "--cpus", "4", "--stop-timeout-ms", "300",
                 "--cmdline", "deaf"])
    wait_for(lambda: "smp: cpu 1 spinning" in vm.log(), 20, what="cpu 1 spinning")
    states = [v["state"] for v in vm.stats()["vcpus"]]
    assert states == ["running", "running", "parked", "parked"], states
    assert vm.call("status")["cpus_started"] == 2
    t0 = time.monotonic()
    vm.proc.send_signal(signal.SIGTERM)
    assert vm.proc.wait(15) == 0, vm.log()
    assert time.monotonic() - t0 < 5
    assert "did not shut down in time" in vm.log(), vm.log()
