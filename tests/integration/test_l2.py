"""L2 bridge behaviour seen from outside: MAC learning, VLANs, port security."""

import pytest

from nfvtest import BROADCAST, BURST, parse_verbose_rx

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
MAC_C = "02:00:00:00:00:0c"
MAC_D = "02:00:00:00:00:0d"
UNKNOWN = "02:00:00:00:00:99"


def vhost_port(lab, name, **keys):
    return {"name": name, "type": "vhost-user", "path": lab.path(f"{name}.sock"), **keys}


def rx_counts(*pmds):
    return [p.rx_packets() for p in pmds]


def assert_no_drops(stats, ports):
    for name in ports:
        assert all(v == 0 for v in stats[name]["drops"].values()), f"port {name}: {stats[name]['drops']}"


def test_mac_learning_unicast_flood_and_flush(lab):
    sw = lab.switch([vhost_port(lab, "a"), vhost_port(lab, "b"), vhost_port(lab, "c")])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    c = lab.testpmd("C", lab.path("c.sock"), MAC_C)
    sw.wait_link(["a", "b", "c"])

    # A and B announce themselves with a broadcast each; C stays silent.
    assert a.send(1, to=BROADCAST) == BURST
    assert b.send(1, to=BROADCAST) == BURST
    assert b.wait_rx(BURST) == BURST          # A's broadcast
    assert a.wait_rx(BURST) == BURST          # B's broadcast
    assert c.wait_rx(2 * BURST) == 2 * BURST  # both

    macs = sw.macs()
    assert sorted((m["mac"], m["vlan"], m["port"]) for m in macs) == [(MAC_A, 0, "a"), (MAC_B, 0, "b")]
    assert all(m["age_s"] >= 0 for m in macs)
    assert sw.call("switch.status")["mac_entries"] == 2

    # Unicast to a learnt MAC goes to that port only.
    before = rx_counts(a, b, c)
    n = a.send(4, to=MAC_B)
    assert b.wait_rx(before[1] + n) == before[1] + n
    assert rx_counts(a, c) == [before[0], before[2]], "unicast A->B leaked to another port"

    n = b.send(2, to=MAC_A)
    assert a.wait_rx(before[0] + n) == before[0] + n
    assert c.rx_packets() == before[2], "unicast B->A leaked to C"

    # An unknown destination floods to every other port.
    before = rx_counts(a, b, c)
    n = a.send(3, to=UNKNOWN)
    assert b.wait_rx(before[1] + n) == before[1] + n
    assert c.wait_rx(before[2] + n) == before[2] + n
    assert a.rx_packets() == before[0], "a flooded frame came back to its sender"

    # Flushing one port forgets only that port's MAC.
    assert sw.call("mac.flush", {"port": "b"}) == {"flushed": 1}
    assert [(m["mac"], m["port"]) for m in sw.macs()] == [(MAC_A, "a")]

    # Flushing all empties the table, and the data path floods again.
    assert sw.call("mac.flush", {}) == {"flushed": 1}
    assert sw.macs() == []
    assert sw.call("switch.status")["mac_entries"] == 0
    before = rx_counts(a, b, c)
    n = b.send(1, to=BROADCAST)  # relearn B...
    assert c.wait_rx(before[2] + n) == before[2] + n
    assert a.wait_rx(before[0] + n) == before[0] + n
    assert sw.call("mac.flush") == {"flushed": 1}  # ...and forget it again, without params
    assert sw.macs() == []
    before = rx_counts(a, b, c)
    n = a.send(2, to=MAC_B)
    assert b.wait_rx(before[1] + n) == before[1] + n
    assert c.wait_rx(before[2] + n) == before[2] + n, "after mac.flush, B's MAC must be unknown (flooded)"
    # ...and A is learnt again from that traffic.
    assert [(m["mac"], m["port"]) for m in sw.macs()] == [(MAC_A, "a")]

    with pytest.raises(Exception) as err:
        sw.call("mac.flush", {"port": "nope"})
    assert getattr(err.value, "code", None) == 1 and "nope" in err.value.message

    assert_no_drops(sw.stats(), ["a", "b", "c"])


def test_vlan_access_isolation_and_trunk_tagging(lab):
    sw = lab.switch([
        vhost_port(lab, "a", vlan=10),
        vhost_port(lab, "b", vlan=20),
        vhost_port(lab, "c", vlan=10),
        vhost_port(lab, "d", trunk=[10]),
    ])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    c = lab.testpmd("C", lab.path("c.sock"), MAC_C)
    d = lab.testpmd("D", lab.path("d.sock"), MAC_D)
    sw.wait_link(["a", "b", "c", "d"])
    # D strips the tag in software and prints each frame: the tag shows as "VLAN tci=".
    d.cmd("vlan set strip on 0")
    d.cmd("set verbose 1")
    c.cmd("set verbose 1")

    mark_c, mark_d = c.mark(), d.mark()
    n = a.send(4, to=BROADCAST)
    assert c.wait_rx(n) == n
    assert d.wait_rx(n) == n
    assert b.rx_packets() == 0, "a VLAN 10 broadcast reached the VLAN 20 access port"

    frames_c = parse_verbose_rx(c.output_since(mark_c))
    assert len(frames_c) == n, c.output_since(mark_c)[-2000:]
    for f in frames_c:
        assert f["src"] == MAC_A and f["dst"] == BROADCAST
        assert f["type"] == 0x0800 and f["vlan_tci"] is None, f"access port got a tagged frame: {f['line']}"
        assert "length=64" in f["line"], f["line"]

    frames_d = parse_verbose_rx(d.output_since(mark_d))
    assert len(frames_d) == n, d.output_since(mark_d)[-2000:]
    for f in frames_d:
        assert f["src"] == MAC_A and f["dst"] == BROADCAST
        assert f["vlan_tci"] is not None and f["vlan_tci"] & 0xFFF == 10, f"trunk port frame not tagged 10: {f['line']}"
        assert "length=64" in f["line"], f"tag stripped frame should be 64 bytes: {f['line']}"

    # B's broadcast in VLAN 20 has nowhere to go: nobody receives it, and nothing
    # is counted as a drop (no port was a candidate).
    before = rx_counts(a, c, d)
    n_b = b.send(2, to=BROADCAST)
    # a unicast from A to B's (VLAN 20) MAC is unknown in VLAN 10: flooded in VLAN 10 only
    n_u = a.send(1, to=MAC_B)
    assert c.wait_rx(before[1] + n_u) == before[1] + n_u
    assert d.wait_rx(before[2] + n_u) == before[2] + n_u
    assert a.rx_packets() == before[0]
    assert b.rx_packets() == 0

    st = sw.stats()
    assert st["b"]["rx_packets"] == n_b
    assert st["b"]["tx_packets"] == 0
    assert st["a"]["rx_packets"] == n + n_u
    assert st["c"]["tx_packets"] == n + n_u and st["d"]["tx_packets"] == n + n_u
    assert st["d"]["tx_bytes"] == (n + n_u) * 68, "trunk egress frames carry a 4-byte 802.1Q tag"
    assert st["c"]["tx_bytes"] == (n + n_u) * 64
    assert_no_drops(st, ["a", "b", "c", "d"])

    entries = sorted((m["mac"], m["vlan"], m["port"]) for m in sw.macs())
    assert entries == [(MAC_A, 10, "a"), (MAC_B, 20, "b")]


def test_port_security_drops_spoofed_sources(lab):
    sw = lab.switch([
        vhost_port(lab, "a", allowed_macs=[UNKNOWN]),   # A's real MAC is not allowed
        vhost_port(lab, "b", allowed_macs=[MAC_B]),     # B uses its allowed MAC
        vhost_port(lab, "c"),
    ])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    c = lab.testpmd("C", lab.path("c.sock"), MAC_C)
    sw.wait_link(["a", "b", "c"])

    n = a.send(4, to=BROADCAST)
    # Give the frames time to arrive anywhere they wrongly might.
    assert b.wait_rx(1, timeout=1.0) == 0, "a spoofed frame reached B"
    assert c.rx_packets() == 0, "a spoofed frame reached C"
    n_u = a.send(1, to=MAC_B)
    assert b.wait_rx(1, timeout=1.0) == 0 and c.rx_packets() == 0

    st = sw.stats()
    assert st["a"]["rx_packets"] == n + n_u
    assert st["a"]["drops"]["spoofed"] == n + n_u
    assert st["a"]["drops"]["vlan"] == 0 and st["a"]["drops"]["malformed"] == 0
    assert st["b"]["tx_packets"] == 0 and st["c"]["tx_packets"] == 0
    assert MAC_A not in [m["mac"] for m in sw.macs()], "a spoofed source must not be learnt"

    # The port object reports the policy; a port whose MAC is allowed forwards.
    assert sw.port("a")["allowed_macs"] == [UNKNOWN]
    n_b = b.send(2, to=BROADCAST)
    assert a.wait_rx(n_b) == n_b
    assert c.wait_rx(n_b) == n_b
    st = sw.stats()
    assert st["b"]["drops"]["spoofed"] == 0
    assert [(m["mac"], m["port"]) for m in sw.macs()] == [(MAC_B, "b")]
