"""A VNF as a VM behind nfv-switch: dpdk-testpmd (virtio_user) -> nfv-switch ->
nfv-vmm running l2fwd.elf -> nfv-switch -> dpdk-testpmd, with exact counts and
no VM exit per packet; then the switch killed with SIGKILL under traffic and
restarted: the VM reconnects and forwards again without rebooting.

Placement: the switch's PMD on CPU 1, testpmd on CPU 0, the VM's vCPU on CPU 1
(it polls; the switch's PMD idles adaptively when it has nothing to do)."""

from __future__ import annotations

import os
import signal
import time

import pytest

import nfvtest
from nfvtest import BROADCAST, wait_for

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
MAC_X = "02:00:00:00:00:99"
VM_MACS = ("52:54:00:00:00:01", "52:54:00:00:00:02")

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/kvm") or not nfvtest.VMM_BIN.exists()
                                or not nfvtest.L2FWD_ELF.exists(),
                                reason="needs /dev/kvm, nfv-vmm and l2fwd.elf")


def port(lab, name, vlan=None, mode="server"):
    p = {"name": name, "type": "vhost-user", "path": lab.path(f"{name}.sock"), "mode": mode}
    if vlan is not None:
        p["vlan"] = vlan
    return p


def vm_args(lab, ports, mode):
    args = ["--kernel", str(nfvtest.L2FWD_ELF), "--memory", "128M", "--cmdline", f"mode={mode}"]
    for name, mac in zip(ports, VM_MACS):
        args += ["--net", f"path={lab.path(name + '.sock')},mac={mac}"]
    return args


def pinned(vm, cpu=1):
    os.sched_setaffinity(vm.proc.pid, {cpu})
    for tid in os.listdir(f"/proc/{vm.proc.pid}/task"):
        os.sched_setaffinity(int(tid), {cpu})
    return vm


@pytest.mark.timeout(120)
def test_vm_forwards_between_two_vlans_through_the_switch(lab):
    # A -- a [10] v1 -- VM (l2fwd forward) -- v2 [20] b -- B: the VM is the only way across.
    sw = lab.switch([port(lab, "a", 10), port(lab, "v1", 10), port(lab, "v2", 20), port(lab, "b", 20)],
                    idle="adaptive")
    vm = pinned(lab.vm(vm_args(lab, ["v1", "v2"], "forward")))
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    sw.wait_link(["a", "v1", "v2", "b"])
    vm.wait_rings()
    wait_for(lambda: "vnf" in vm.guest(), 10, what="the guest's poll loop publishing counters")
    exits_before = vm.user_exits()

    n_bcast = b.send(1, to=BROADCAST)  # B announces itself across the VM
    assert a.wait_rx(n_bcast) == n_bcast
    # A -> B in chunks that fit the guest's 256-entry rings (its vCPU shares CPU 1 with the PMD)
    n_ab = 0
    for _ in range(8):
        n_ab += a.send(16, to=MAC_B)
        assert b.wait_rx(n_ab, timeout=20) == n_ab
    n_ba = b.send(4, to=MAC_A)
    assert a.wait_rx(n_bcast + n_ba) == n_bcast + n_ba
    assert b.rx_packets() == n_ab

    macs = sorted((m["mac"], m["vlan"], m["port"]) for m in sw.macs())
    assert macs == [(MAC_A, 10, "a"), (MAC_A, 20, "v2"), (MAC_B, 10, "v1"), (MAC_B, 20, "b")], macs
    st = sw.stats()
    for name in ("a", "v1", "v2", "b"):
        assert all(v == 0 for v in st[name]["drops"].values()), f"switch port {name}: {st[name]['drops']}"
    total = n_bcast + n_ab + n_ba
    assert st["v1"]["tx_packets"] == n_ab and st["v2"]["tx_packets"] == n_bcast + n_ba, st
    assert st["v1"]["rx_packets"] == n_bcast + n_ba and st["v2"]["rx_packets"] == n_ab, st

    # no exit to the VMM per packet: the data path is rings in shared memory
    assert vm.user_exits() - exits_before < 10
    wait_for(lambda: vm.guest()["vnf"]["forwarded"] >= total, 5, what="the guest's counters")
    g = vm.guest()
    assert g["vnf"]["forwarded"] == total, g

    assert vm.stop(signal.SIGTERM) == 0, vm.log()
    sw.wait_link(["v1", "v2"], up=False)


@pytest.mark.timeout(150)
def test_switch_killed_under_traffic_vm_reconnects_without_reboot(lab):
    # testpmd's virtio_user reconnects only as a server, so the switch connects to A;
    # the VM's port is a switch server port, as for any VM.
    sw = lab.switch([port(lab, "a", mode="client"), port(lab, "v1")], idle="adaptive")
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A, server=True)
    vm = pinned(lab.vm(vm_args(lab, ["v1"], "reflect")))
    sw.wait_link(["a", "v1"])
    vm.wait_rings()
    n = a.send(8, to=MAC_X)
    assert a.wait_rx(n) == n
    uptime = vm.call("status")["uptime_s"]
    pid = vm.proc.pid

    for kill in range(2):
        a.start_txonly(to=MAC_X)  # traffic while the switch dies
        time.sleep(0.5)
        sw.proc.send_signal(signal.SIGKILL)
        sw.proc.wait(10)
        a.stop_txonly()
        wait_for(lambda: not vm.call("status")["net"][0]["connected"], 10, what="the VMM seeing the switch gone")
        assert vm.alive()
        sw.start()
        sw.wait_link(["a", "v1"], timeout=30)
        vm.wait_rings(timeout=20)
        a.cmd("stop")  # testpmd's counters start again with the link
        a.cmd("clear port stats 0")
        a.cmd("start")
        reflected_before = vm.guest()["vnf"]["reflected"]
        n = a.send(8, to=MAC_X)
        assert a.wait_rx(n, timeout=20) == n, f"after {kill + 1} kill(s): {vm.log()[-2000:]}"
        wait_for(lambda: vm.guest()["vnf"]["reflected"] >= reflected_before + n, 5, what="guest counters")

    # the same guest all along: the VMM process never restarted and its uptime kept counting
    assert vm.proc.pid == pid and vm.call("status")["uptime_s"] > uptime
    net = vm.stats()["net"][0]
    assert net["connects"] >= 3, net
    assert vm.stop(signal.SIGTERM) == 0, vm.log()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.timeout(120)
def test_idle_vm_halts_and_wakes_on_traffic(lab):
    sw = lab.switch([port(lab, "a", mode="client"), port(lab, "v1")], idle="adaptive")
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A, server=True)
    vm = pinned(lab.vm(vm_args(lab, ["v1"], "reflect") + ["--halt-poll-ns", "0"]))
    sw.wait_link(["a", "v1"])
    vm.wait_rings()
    wait_for(lambda: vm.guest().get("idle", {}).get("adaptive") is True, 10,
             what="the guest reporting adaptive idle (MSI-X on its receive queue)")
    assert vm.stats()["net"][0]["irq_routes"] >= 1

    # No traffic: the vCPU halts instead of spinning.
    time.sleep(1)
    c0, t0 = cpu_seconds(vm.proc.pid), time.monotonic()
    time.sleep(2)
    share = (cpu_seconds(vm.proc.pid) - c0) / (time.monotonic() - t0)
    assert share < 0.3, f"an idle VM used {share:.0%} of a CPU"

    # Every burst after a quiet gap must wake it: the switch's call -> irqfd -> MSI-X.
    before = vm.guest()["idle"]
    sent = 0
    for _ in range(10):
        time.sleep(0.05)
        sent += a.send(2, to=MAC_X)
        assert a.wait_rx(sent, timeout=10, settle=0) == sent
    wait_for(lambda: vm.guest()["idle"]["halts"] > before["halts"] + 5, 5, what="the guest's halt counters")
    after = vm.guest()["idle"]
    queue_irqs = (after["interrupts"] - after["timer"]) - (before["interrupts"] - before["timer"])
    assert queue_irqs >= 5, f"bursts woke the vCPU by queue interrupt {queue_irqs} times: {before} {after}"

    # KVM's own view (binary stats, Linux 5.14+; zeros are left out): the halts and
    # wake-ups are there, and with --halt-poll-ns 0 KVM never spun after a HLT.
    assert vm.call("status")["halt_poll_ns"] == 0
    kernel = vm.stats()["vcpus"][0]["kernel"]
    if kernel:
        assert kernel.get("halt_wakeup", 0) >= queue_irqs, kernel
        assert kernel.get("halt_wait_ns", 0) > 1e9, kernel  # mostly halted through the quiet seconds
        assert kernel.get("halt_attempted_poll", 0) == 0, kernel
    assert vm.stop(signal.SIGTERM) == 0, vm.log()
