"""Ports added and deleted over JSON-RPC while traffic flows; errors come back as JSON-RPC errors."""

import os

import pytest

from nfvtest import BROADCAST, RpcError

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
MAC_C = "02:00:00:00:00:0c"
UNKNOWN = "02:00:00:00:00:99"

INVALID_PARAMS = -32602
NOT_FOUND = 1
ALREADY_EXISTS = 2


def exact(pmd, before, n):
    got = pmd.wait_rx(before + n) - before
    assert got == n, f"testpmd {pmd.name} received {got} of {n} frames"


@pytest.mark.timeout(90)
def test_add_and_delete_a_port_under_traffic(lab):
    sw = lab.switch([
        {"name": "a", "type": "vhost-user", "path": lab.path("a.sock")},
        {"name": "b", "type": "vhost-user", "path": lab.path("b.sock")},
    ])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    sw.wait_link(["a", "b"])
    n = b.send(1, to=BROADCAST)  # the switch learns B
    exact(a, 0, n)

    a.start_txonly(to=MAC_B)
    b.wait_rx_growing()

    added = sw.call("port.add", {"name": "c", "type": "vhost-user", "path": lab.path("c.sock")})
    assert added["name"] == "c" and added["type"] == "vhost-user"
    assert added["path"] == lab.path("c.sock") and added["mode"] == "server"
    assert added["queues"] == 1 and added["vlan"] is None and added["trunk"] is None
    assert added["link"] == "down"
    assert os.path.exists(lab.path("c.sock"))
    assert [p["name"] for p in sw.call("port.list")] == ["a", "b", "c"]
    assert sw.call("switch.status")["ports"] == 3
    b.wait_rx_growing()  # A->B kept flowing

    c = lab.testpmd("C", lab.path("c.sock"), MAC_C)
    sw.wait_link("c")
    b.wait_rx_growing()
    assert c.rx_packets() == 0, "unicast A->B reached the new port"
    a.stop_txonly()

    # The new port takes part in flooding, and can send.
    before = b.rx_packets(), c.rx_packets()
    n = a.send(2, to=BROADCAST)
    exact(b, before[0], n)
    exact(c, before[1], n)
    before = b.rx_packets(), c.rx_packets()
    n = a.send(1, to=UNKNOWN)
    exact(b, before[0], n)
    exact(c, before[1], n)
    before_a = a.rx_packets()
    n = c.send(1, to=MAC_A)
    exact(a, before_a, n)
    assert (MAC_C, "c") in [(m["mac"], m["port"]) for m in sw.macs()]
    st = sw.stats()["c"]
    assert st["rx_packets"] == n and st["tx_packets"] == 3 * 8

    # Delete it while A->B runs again.
    a.start_txonly(to=MAC_B)
    b.wait_rx_growing()
    assert sw.call("port.del", {"name": "c"}) == {"deleted": "c"}
    b.wait_rx_growing()
    assert [p["name"] for p in sw.call("port.list")] == ["a", "b"]
    assert not os.path.exists(lab.path("c.sock")), "port.del left the vhost-user socket behind"
    assert MAC_C not in [m["mac"] for m in sw.macs()], "port.del left the port's MACs in the table"
    c_before = c.rx_packets()
    a.stop_txonly()

    before = b.rx_packets()
    n = a.send(2, to=BROADCAST)
    exact(b, before, n)
    assert c.rx_packets() == c_before, "a deleted port still receives"

    # The name can be used again; the new port starts from zero counters.
    again = sw.call("port.add", {"name": "c", "type": "vhost-user", "path": lab.path("c2.sock"), "vlan": 10})
    assert again["vlan"] == 10 and again["path"] == lab.path("c2.sock")
    shown = sw.port("c")
    assert shown["stats"]["rx_packets"] == 0 and shown["stats"]["tx_packets"] == 0
    assert sw.call("port.del", {"name": "c"}) == {"deleted": "c"}
    # Full-rate bursts may overrun B's ring (tx_full); nothing else may be dropped.
    st = sw.stats()
    for name in ("a", "b"):
        d = st[name]["drops"]
        assert d["spoofed"] == d["vlan"] == d["malformed"] == d["no_buffer"] == 0, f"{name}: {d}"


BAD_ADDS = [
    # (params, expected code, words the message must contain)
    ({"type": "vhost-user", "path": "/tmp/x.sock"}, INVALID_PARAMS, ["name"]),
    ({"name": "x", "type": "bogus", "path": "/tmp/x.sock"}, INVALID_PARAMS, ["type"]),
    ({"name": "x", "type": "vhost-user"}, INVALID_PARAMS, ["path"]),
    ({"name": "x", "type": "vhost-user", "path": "{dir}/x.sock", "vlan": 5000}, INVALID_PARAMS, ["vlan"]),
    ({"name": "x", "type": "vhost-user", "path": "{dir}/x.sock", "vlan": 10, "trunk": [20]}, INVALID_PARAMS,
     ["vlan", "trunk"]),
    ({"name": "x", "type": "vhost-user", "path": "{dir}/x.sock", "trunk": [0]}, INVALID_PARAMS, ["trunk"]),
    ({"name": "x", "type": "vhost-user", "path": "{dir}/x.sock", "queues": 0}, INVALID_PARAMS, ["queues"]),
    ({"name": "x", "type": "vhost-user", "path": "{dir}/x.sock", "mode": "sideways"}, INVALID_PARAMS, ["mode"]),
    ({"name": "x", "type": "vhost-user", "path": "{dir}/x.sock", "allowed_macs": ["not-a-mac"]}, INVALID_PARAMS,
     ["allowed_macs"]),
    ({"name": "x", "type": "vhost-user", "path": "{dir}/x.sock", "colour": "blue"}, INVALID_PARAMS, ["colour"]),
    ({"name": "bad name!", "type": "vhost-user", "path": "{dir}/x.sock"}, INVALID_PARAMS, ["name"]),
    ({"name": "x", "type": "vhost-user", "path": "{dir}/x.sock", "devargs": "net_tap0"}, INVALID_PARAMS,
     ["devargs"]),
    ({"name": "x", "type": "vhost-user", "path": "{dir}/x.sock", "vlan": "ten"}, INVALID_PARAMS, ["vlan"]),
    (["x", "vhost-user"], INVALID_PARAMS, []),
]


def test_port_rpc_errors(lab):
    sw = lab.switch([
        {"name": "a", "type": "vhost-user", "path": lab.path("a.sock")},
        {"name": "b", "type": "vhost-user", "path": lab.path("b.sock")},
    ])

    def expect_error(method, params, code, words):
        with pytest.raises(RpcError) as err:
            sw.call(method, params)
        e = err.value
        assert e.code == code, f"{method} {params}: got {e.code} {e.message!r}, expected code {code}"
        assert len(e.message) > 10, f"{method} {params}: message too thin: {e.message!r}"
        for w in words:
            assert w in e.message, f"{method} {params}: {e.message!r} does not mention {w!r}"
        return e.message

    expect_error("port.add", {"name": "a", "type": "vhost-user", "path": lab.path("other.sock")},
                 ALREADY_EXISTS, ["a"])
    expect_error("port.add", {"name": "x", "type": "vhost-user", "path": lab.path("a.sock")},
                 ALREADY_EXISTS, [lab.path("a.sock")])
    for params, code, words in BAD_ADDS:
        if isinstance(params, dict):
            params = {k: (v.format(dir=lab.sockdir) if isinstance(v, str) else v) for k, v in params.items()}
        expect_error("port.add", params, code, words)

    # A regular file where the socket should go is not deleted to make room.
    plain = lab.path("plain")
    with open(plain, "w") as f:
        f.write("keep me")
    with pytest.raises(RpcError) as err:
        sw.call("port.add", {"name": "x", "type": "vhost-user", "path": plain})
    assert plain in err.value.message
    assert open(plain).read() == "keep me"

    expect_error("port.del", {"name": "nope"}, NOT_FOUND, ["nope"])
    expect_error("port.del", {}, INVALID_PARAMS, ["name"])
    expect_error("port.show", {"name": "nope"}, NOT_FOUND, ["nope"])
    with pytest.raises(RpcError) as err:
        sw.call("no.such.method")
    assert err.value.code == -32601

    # Nothing changed, and the existing ports still work.
    assert [p["name"] for p in sw.call("port.list")] == ["a", "b"]
    assert os.path.exists(lab.path("a.sock")) and os.path.exists(lab.path("b.sock"))
    assert not os.path.exists(lab.path("x.sock"))
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    sw.wait_link(["a", "b"])
    n = a.send(2, to=MAC_B)
    exact(b, 0, n)


@pytest.mark.timeout(60)
def test_socket_dir_names_the_sockets_of_ports_without_a_path(lab):
    # [switch] socket_dir: ports (from the file and from port.add) without "path" get DIR/NAME.sock,
    # a real peer connects there, and a clean shutdown removes them.
    sdir = lab.path("socks")
    os.makedirs(sdir, exist_ok=True)
    sw = lab.switch([{"name": "a", "type": "vhost-user"},
                     {"name": "b", "type": "vhost-user", "path": lab.path("b.sock")}], socket_dir=sdir)
    assert sw.call("switch.status")["socket_dir"] == sdir
    assert {p["name"]: p["path"] for p in sw.call("port.list")} == {"a": f"{sdir}/a.sock", "b": lab.path("b.sock")}
    added = sw.call("port.add", {"name": "c", "type": "vhost-user"})
    assert added["path"] == f"{sdir}/c.sock" and os.path.exists(f"{sdir}/c.sock")
    a = lab.testpmd("A", f"{sdir}/a.sock", MAC_A)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    sw.wait_link(["a", "b"])
    n = a.send(3, to=BROADCAST)
    exact(b, 0, n)
    assert a.quit() == 0 and b.quit() == 0
    assert sw.stop() == 0, sw.log()
    assert sorted(os.listdir(sdir)) == [], "sockets left in socket_dir"
