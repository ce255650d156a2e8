"""Peers and the switch restart independently; traffic resumes without help."""

import os
import signal

import pytest

from nfvtest import BURST

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


def vhost_port(lab, name, mode="client"):
    # mode "client": the switch connects to a socket the peer owns (the peer is the
    # vhost-user server, as QEMU with server=on); "server": the switch owns it.
    return {"name": name, "type": "vhost-user", "path": lab.path(f"{name}.sock"), "mode": mode}


def check_a_to_b(sw, a, b, bursts=4):
    """A sends bursts*BURST unicast frames to B; B gets exactly those."""
    before = b.rx_packets()
    n = a.send(bursts, to=MAC_B)
    assert n == bursts * BURST
    got = b.wait_rx(before + n)
    assert got == before + n, f"B received {got - before} of {n} frames"


@pytest.mark.timeout(90)
@pytest.mark.parametrize("switch_mode", ["client", "server"])
def test_peer_killed_and_restarted(lab, switch_mode):
    sw = lab.switch([vhost_port(lab, "a", switch_mode), vhost_port(lab, "b", switch_mode)])
    assert [p["mode"] for p in sw.call("port.list")] == [switch_mode, switch_mode]
    peer_server = switch_mode == "client"
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A, server=peer_server)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B, server=peer_server)
    sw.wait_link(["a", "b"])
    b.send(1)  # B's MAC is learnt
    check_a_to_b(sw, a, b)

    a.kill()  # a VM crashing: no goodbye
    sw.wait_link("a", up=False)
    assert sw.alive()
    if peer_server:
        # the peer owns its socket; a restarted VMM removes the stale one before listening again
        if os.path.exists(a.sock):
            os.unlink(a.sock)
    else:
        assert os.path.exists(a.sock), "the switch's listening socket must survive a peer crash"
    a.start()
    sw.wait_link("a", up=True, timeout=20)
    check_a_to_b(sw, a, b)
    # and the other way, towards the restarted peer
    before = a.rx_packets()
    n = b.send(2, to=MAC_A)
    assert a.wait_rx(before + n) == before + n

    # a second kill of the other peer, for good measure
    b.kill()
    sw.wait_link("b", up=False)
    if peer_server and os.path.exists(b.sock):
        os.unlink(b.sock)
    b.start()
    sw.wait_link("b", up=True, timeout=20)
    check_a_to_b(sw, a, b)
    st = sw.stats()
    assert all(v == 0 for v in st["b"]["drops"].values()), st["b"]["drops"]


@pytest.mark.timeout(90)
def test_switch_restarted_peers_stay_up(lab):
    sw = lab.switch([vhost_port(lab, "a"), vhost_port(lab, "b")])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A, server=True)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B, server=True)
    sw.wait_link(["a", "b"])
    check_a_to_b(sw, a, b)

    assert sw.stop(signal.SIGTERM) == 0
    # the peers notice (their link goes down) but keep running
    assert a.proc.poll() is None and b.proc.poll() is None
    sw.start()
    sw.wait_link(["a", "b"], timeout=20)
    assert a.link_up() and b.link_up()
    check_a_to_b(sw, a, b)
    st = sw.stats()  # counters start again from zero in the new switch
    assert st["a"]["rx_packets"] == 4 * BURST
    assert st["b"]["tx_packets"] == 4 * BURST

    # twice in a row, to be sure the peers' reconnect is not a one-off
    assert sw.stop(signal.SIGTERM) == 0
    sw.start()
    sw.wait_link(["a", "b"], timeout=20)
    check_a_to_b(sw, a, b)
