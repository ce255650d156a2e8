"""A DPDK ethdev port (net_tap: a kernel interface on the other side) bridged
with a vhost-user port, and a multiqueue vhost-user port."""

import os
import socket
import subprocess
import time

import nfvtest
from nfvtest import BROADCAST, BURST

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
MAC_K = "02:00:00:00:00:4b"  # frames the kernel side sends


def sysfs_counter(ifname: str, name: str) -> int:
    with open(f"/sys/class/net/{ifname}/statistics/{name}") as f:
        return int(f.read())


def test_tap_ethdev_port_bridges_with_vhost_user(lab):
    ifname = f"nfvt{os.getpid() % 100000}"
    sw = lab.switch([
        {"name": "a", "type": "vhost-user", "path": lab.path("a.sock")},
        {"name": "t", "type": "ethdev", "devargs": f"net_tap0,iface={ifname}"},
    ])
    # The kernel must not talk on its own (IPv6 router solicitations, MLD...).
    subprocess.run(["sysctl", "-qw", f"net.ipv6.conf.{ifname}.disable_ipv6=1"], check=True)
    subprocess.run(["ip", "link", "set", ifname, "up"], check=True)
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A)
    sw.wait_link(["a", "t"])
    assert sw.port("t")["type"] == "ethdev" and sw.port("t")["dpdk_port"] is not None

    # vhost-user -> ethdev: A's broadcasts come out of the kernel interface.
    before = sysfs_counter(ifname, "rx_packets")
    sent = a.send(4, to=BROADCAST)
    nfvtest.wait_for(lambda: sysfs_counter(ifname, "rx_packets") - before >= sent, 10,
                     what="the tap interface to receive A's frames")
    assert sysfs_counter(ifname, "rx_packets") - before == sent

    # ethdev -> vhost-user: frames the kernel sends to A's (learnt) MAC reach A only.
    # Before the sysctl took effect the kernel may have queued a few IPv6 frames of
    # its own (router solicitation, MLD): wait until the tap port is quiet.
    last = [-1, 0.0]

    def quiet():
        n = sw.stats()["t"]["rx_packets"]
        if n != last[0]:
            last[0], last[1] = n, time.monotonic()
        return time.monotonic() - last[1] > 1.5

    nfvtest.wait_for(quiet, 10, interval=0.2, what="the kernel side to stop sending")
    t_rx = sw.stats()["t"]["rx_packets"]
    frame = bytes.fromhex(MAC_A.replace(":", "")) + bytes.fromhex(MAC_K.replace(":", "")) + b"\x88\xb5" + bytes(46)
    before_a = a.rx_packets()
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
        s.bind((ifname, 0))
        for _ in range(10):
            s.send(frame)
    assert a.wait_rx(before_a + 10) == before_a + 10
    macs = {(m["mac"], m["port"]) for m in sw.macs()}
    assert (MAC_K, "t") in macs and (MAC_A, "a") in macs
    st = sw.stats()
    assert st["t"]["rx_packets"] - t_rx == 10 and st["t"]["tx_packets"] == sent
    assert all(v == 0 for v in st["t"]["drops"].values()), st["t"]["drops"]


def test_multiqueue_port_polls_every_queue(lab):
    sw = lab.switch([
        {"name": "a", "type": "vhost-user", "path": lab.path("a.sock"), "queues": 2},
        {"name": "b", "type": "vhost-user", "path": lab.path("b.sock")},
    ])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A, peer=MAC_B, queues=2)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B, peer=MAC_A)
    sw.wait_link(["a", "b"])
    pmd = sw.call("pmd.stats")
    assert sorted(pmd[0]["rx_queues"]) == ["a:0", "a:1", "b:0"]

    sent = a.send(8)  # tx_first sends on each of A's two tx queues
    assert sent >= 8 * BURST
    assert b.wait_rx(sent) == sent
    queues = sw.port("a")["stats"]["queues"]
    per_queue = [q["rx_packets"] for q in queues]
    assert sum(per_queue) == sent
    assert all(n > 0 for n in per_queue), f"a queue was not polled: {per_queue}"
