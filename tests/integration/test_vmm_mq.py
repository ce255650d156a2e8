"""Multiqueue virtio-net with one guest worker per vCPU: the l2fwd guest with
--cpus 2 negotiates VIRTIO_NET_F_MQ with nfv-vmm, sets two queue pairs through
the control queue (served by the VMM), and runs one worker per vCPU, worker i
on queue pair i. Peers written by others: DPDK testpmd as the vhost-user
back-end (net_vhost, 2 queues) sending on both queues, and nfv-switch with
multiqueue vhost-user ports and testpmd virtio_user peers."""

from __future__ import annotations

import os
import signal

import pytest

import nfvtest
from nfvtest import BURST, wait_for

VMM_BIN = nfvtest.VMM_BIN
L2FWD_ELF = nfvtest.L2FWD_ELF
MAC_X = "02:00:00:00:00:0a"

pytestmark = pytest.mark.skipif(not os.path.exists("/dev/kvm") or not VMM_BIN.exists(),
                                reason="needs /dev/kvm and a built nfv-vmm")


def test_two_workers_on_two_queue_pairs_through_dpdk_vhost(lab):
    sock = lab.path("mq.sock")
    pmd = lab.testpmd_vhost("V", sock, peer=MAC_X, queues=2)
    vm = lab.vm(["--kernel", str(L2FWD_ELF), "--memory", "128M", "--cpus", "2",
                 "--net", f"path={sock},mac={MAC_X}", "--cmdline", "mode=reflect"])
    vm.wait_rings()
    wait_for(lambda: "vnf" in vm.stats(), 10, what="guest publishing stats")
    wait_for(pmd.link_up, 20, what="testpmd link up")
    st = vm.call("status")["net"][0]
    assert st["queue_pairs"] == 2 and st["backend_pairs"] >= 2, st  # net_vhost answers its maximum
    wait_for(lambda: vm.call("status")["net"][0]["active_pairs"] == 2, 5, what="the guest set 2 pairs")
    g = vm.guest()
    assert len(g["workers"]) == 2, g
    assert g["ports"][0]["queue_pairs"] == 2, g
    ctrl = vm.stats()["net"][0]["ctrl"]
    assert ctrl["pairs_set"] == 1 and ctrl["refused"] == 0 and ctrl["bad_chains"] == 0, ctrl
    # testpmd's forwarding lcore sends each burst on both of its queues: both workers get traffic.
    total = 0
    for _ in range(6):
        total += pmd.send(8)
        assert pmd.wait_rx(total, timeout=20) == total
    assert total == 6 * 8 * BURST * 2, total
    wait_for(lambda: vm.guest()["vnf"]["reflected"] >= total, 5, what="guest counters published")
    g = vm.guest()
    assert g["vnf"]["reflected"] == total, g
    workers = g["workers"]
    assert all(w["packets"] > 0 for w in workers), workers
    assert sum(w["packets"] for w in workers) == total, workers
    assert g["worker"]["packets"] == total, g
    # Adaptive idle per vCPU: between the chunks each worker halted its own vCPU and was
    # woken by its own receive queue's MSI-X vector (interrupts beyond its halt timer's).
    assert g["idle"]["adaptive"] is True, g
    for w in workers:
        assert w["sleeps"] > 0 and w["interrupts"] - w["timer"] > 0, workers
    vm.proc.send_signal(signal.SIGTERM)
    assert vm.proc.wait(15) == 0, vm.log()
    assert "l2fwd: worker 1 stopping" in vm.log(), vm.log()


def test_backend_restart_replays_every_queue(lab):
    """The back-end (testpmd net_vhost, 2 queues) is killed and started again: the VMM
    reconnects, sets up both pairs from the rings in guest memory, re-applies the pair count
    the guest set, and both workers forward again without a reboot."""
    sock = lab.path("mq.sock")
    pmd = lab.testpmd_vhost("V", sock, peer=MAC_X, queues=2)
    vm = lab.vm(["--kernel", str(L2FWD_ELF), "--memory", "128M", "--cpus", "2",
                 "--net", f"path={sock},mac={MAC_X}", "--cmdline", "mode=reflect"])
    vm.wait_rings()
    wait_for(lambda: vm.call("status")["net"][0]["active_pairs"] == 2, 10, what="2 pairs active")
    wait_for(pmd.link_up, 20, what="testpmd link up")
    n = pmd.send(4)
    assert pmd.wait_rx(n, timeout=20) == n
    pmd.kill()
    pmd.forget_socket()
    wait_for(lambda: not vm.call("status")["net"][0]["connected"], 10, what="the VMM seeing the back-end go")
    pmd2 = lab.testpmd_vhost("V2", sock, peer=MAC_X, queues=2)
    vm.wait_rings(20)
    wait_for(pmd2.link_up, 20, what="testpmd link up again")
    st = vm.call("status")["net"][0]
    assert st["active_pairs"] == 2 and st["connected"], st
    before = [w["packets"] for w in vm.guest()["workers"]]
    total = 0
    for _ in range(3):
        total += pmd2.send(4)
        assert pmd2.wait_rx(total, timeout=20) == total
    wait_for(lambda: sum(w["packets"] for w in vm.guest()["workers"]) - sum(before) >= total, 5,
             what="guest counters published")
    after = [w["packets"] for w in vm.guest()["workers"]]
    assert all(a > b for a, b in zip(after, before)), (before, after)
    assert vm.stats()["net"][0]["connects"] == 2
    assert vm.proc.poll() is None


def test_one_cpu_vm_keeps_one_pair(lab):
    # --cpus 1: the device has one pair and no MQ, as before.
    sock = lab.path("sq.sock")
    pmd = lab.testpmd_vhost("V", sock, peer=MAC_X, queues=2)
    vm = lab.vm(["--kernel", str(L2FWD_ELF), "--memory", "128M", "--net", f"path={sock},mac={MAC_X}",
                 "--cmdline", "mode=reflect"])
    vm.wait_rings()
    wait_for(lambda: "vnf" in vm.stats(), 10, what="guest publishing stats")
    st = vm.call("status")["net"][0]
    assert st["queue_pairs"] == 1, st
    assert len(vm.guest()["workers"]) == 1
    wait_for(pmd.link_up, 20, what="testpmd link up")
    n = pmd.send(4)
    # testpmd sends on both of its queues; the VM serves only pair 0: the back-end drops
    # what it would put on queue 1 (disabled ring), so count what came back only.
    got = pmd.wait_rx(n // 2, timeout=20)
    assert got >= n // 2, (got, n)


@pytest.mark.parametrize("spec,message", [
    ("queues=0", "expected 1..8 queue pairs"),
    ("queues=9", "expected 1..8 queue pairs"),
    ("queues=two", "expected 1..8 queue pairs"),
])
def test_bad_queues_exit_2(spec, message):
    import subprocess
    r = subprocess.run([str(VMM_BIN), "--kernel", str(L2FWD_ELF), "--net", f"path=/tmp/x.sock,{spec}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2, r.stdout + r.stderr
    assert message in r.stdout + r.stderr


def switch_port(lab, name, vlan):
    return {"name": name, "type": "vhost-user", "path": lab.path(f"{name}.sock"), "queues": 2, "vlan": vlan}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("cores", [[1], [0, 1]], ids=["one_pmd", "two_pmds"])
def test_mq_vm_behind_the_switch(lab, cores):
    """A (2 queues) -- a [10] v1 -- VM (l2fwd forward, 2 vCPUs, 2 pairs per port) -- v2 [20] b -- B.
    The switch sends on tx queue (PMD index mod queues) of a port: with one PMD everything
    reaches the VM on pair 0 (worker 0); with two PMDs, each PMD's share on its own pair."""
    sw = lab.switch([switch_port(lab, "a", 10), switch_port(lab, "v1", 10), switch_port(lab, "v2", 20),
                     switch_port(lab, "b", 20)], idle="adaptive", cores=cores)
    vm = lab.vm(["--kernel", str(L2FWD_ELF), "--memory", "128M", "--cpus", "2", "--cmdline", "mode=forward",
                 "--net", f"path={lab.path('v1.sock')},mac=52:54:00:00:00:01",
                 "--net", f"path={lab.path('v2.sock')},mac=52:54:00:00:00:02"])
    a = lab.testpmd("A", lab.path("a.sock"), "02:00:00:00:00:0a", queues=2)
    b = lab.testpmd("B", lab.path("b.sock"), "02:00:00:00:00:0b", queues=2)
    sw.wait_link(["a", "v1", "v2", "b"])
    vm.wait_rings()
    wait_for(lambda: "vnf" in vm.guest(), 10, what="the guest's poll loop publishing counters")
    wait_for(lambda: all(n["active_pairs"] == 2 for n in vm.call("status")["net"]), 10, what="2 pairs active")
    assert len(vm.guest()["workers"]) == 2

    n_bcast = b.send(1, to="ff:ff:ff:ff:ff:ff")  # B announces itself across the VM
    assert a.wait_rx(n_bcast, timeout=20) == n_bcast
    n_ab = 0
    for _ in range(6):
        n_ab += a.send(4, to="02:00:00:00:00:0b")  # on both of A's queues
        assert b.wait_rx(n_ab, timeout=20) == n_ab
    assert a.rx_packets() == n_bcast
    total = n_bcast + n_ab
    wait_for(lambda: vm.guest()["worker"]["packets"] >= total, 5, what="guest counters published")
    g = vm.guest()
    assert g["worker"]["packets"] == total and g["worker"]["dropped"] == 0, g
    per_worker = [w["packets"] for w in g["workers"]]
    # What the switch sent the VM on each queue (both VM ports) is what each worker received.
    to_vm = [sum(sw.port(p)["stats"]["queues"][i]["tx_packets"] for p in ("v1", "v2")) for i in range(2)]
    print(f"cores={cores}: switch -> VM per queue {to_vm}, guest workers {per_worker}")
    assert sum(to_vm) == total
    assert per_worker == to_vm  # worker i polls pair i
    if len(cores) == 1:
        assert per_worker[1] == 0  # one PMD sends only on queue 0
    else:
        assert all(n > 0 for n in per_worker), per_worker
