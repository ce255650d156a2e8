"""Forwarding between two vhost-user ports, counted at both ends and in the switch."""

from nfvtest import BURST, FRAME_LEN

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


def test_a_to_b_exact_count_and_switch_stats(lab):
    sw = lab.switch([
        {"name": "a", "type": "vhost-user", "path": lab.path("a.sock")},
        {"name": "b", "type": "vhost-user", "path": lab.path("b.sock")},
    ])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A, peer=MAC_B)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B, peer=MAC_A)
    sw.wait_link(["a", "b"])

    bursts = 16
    sent = a.send(bursts)
    assert sent == bursts * BURST
    received = b.wait_rx(sent)
    assert received == sent, f"B received {received} of {sent} frames"
    assert a.rx_packets() == 0, "nothing was sent towards A"

    st = sw.stats()
    assert st["a"]["rx_packets"] == sent
    assert st["a"]["rx_bytes"] == sent * FRAME_LEN
    assert st["b"]["tx_packets"] == sent
    assert st["b"]["tx_bytes"] == sent * FRAME_LEN
    assert st["a"]["tx_packets"] == 0 and st["b"]["rx_packets"] == 0
    for name in ("a", "b"):
        assert all(v == 0 for v in st[name]["drops"].values()), st[name]["drops"]
    assert st["a"]["queues"][0]["rx_packets"] == sent
    assert st["b"]["queues"][0]["tx_packets"] == sent

    # port.show carries the same counters as stats
    assert sw.port("b")["stats"]["tx_packets"] == sent
    pmd = sw.call("pmd.stats")
    assert [p["core"] for p in pmd] == [1]
    assert pmd[0]["packets"] == sent
