"""nfvctl against a running switch (skipped while tools/nfvctl is not built)."""

import json
import subprocess

import pytest

from nfvtest import BROADCAST, NFVCTL_BIN

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


def nfvctl_ready() -> bool:
    """False when the binary is missing or is the placeholder (which prints nothing).
    A binary that exists but cannot run is not skipped: the test then fails."""
    if not NFVCTL_BIN.exists():
        return False
    r = subprocess.run([str(NFVCTL_BIN), "--help"], capture_output=True, text=True, timeout=10)
    return bool(r.stdout.strip() or r.stderr.strip() or r.returncode != 0)


pytestmark = pytest.mark.skipif(not nfvctl_ready(), reason=f"{NFVCTL_BIN} is not built (or still a placeholder)")


def test_nfvctl_verbs(lab):
    sw = lab.switch([
        {"name": "a", "type": "vhost-user", "path": lab.path("a.sock")},
        {"name": "b", "type": "vhost-user", "path": lab.path("b.sock")},
    ])

    def ctl(*args, expect=0):
        r = subprocess.run([str(NFVCTL_BIN), "--socket", sw.socket, "--nfv-socket", lab.path("no-nfv.sock"), *args],
                           capture_output=True, text=True, timeout=15)
        assert r.returncode == expect, f"nfvctl {' '.join(args)}: exit {r.returncode}\\n{r.stdout}\\n{r.stderr}"
        return r

    def ctl_json(*args):
        return json.loads(ctl("--json", *args).stdout)

    status = ctl_json("status")
    assert status["ports"] == 2 and status["pmd_cores"] == [1]
    assert "vnfs" not in status  # no `nfv up` answers: the switch's status alone
    assert ctl_json("port", "list") == sw.call("port.list")
    table = ctl("port", "list").stdout
    assert "a" in table and "b" in table and lab.path("a.sock") in table

    a = lab.testpmd("A", lab.path("a.sock"), MAC_A)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    sw.wait_link(["a", "b"])
    n = a.send(2, to=BROADCAST)
    assert b.wait_rx(n) == n
    stats = {p["name"]: p for p in ctl_json("stats")["ports"]}
    assert stats["a"]["rx_packets"] == n and stats["b"]["tx_packets"] == n
    assert [(m["mac"], m["port"]) for m in ctl_json("mac", "list")] == [(MAC_A, "a")]

    ctl("port", "add", "c", "--type", "vhost-user", "--path", lab.path("c.sock"), "--vlan", "10")
    port_c = [p for p in sw.call("port.list") if p["name"] == "c"]
    assert port_c and port_c[0]["vlan"] == 10 and port_c[0]["path"] == lab.path("c.sock")
    dup = ctl("port", "add", "c", "--type", "vhost-user", "--path", lab.path("c2.sock"), expect=1)
    assert "c" in dup.stderr + dup.stdout
    ctl("port", "del", "c")
    assert [p["name"] for p in sw.call("port.list")] == ["a", "b"]
    ctl("port", "del", "c", expect=1)

    ctl("mac", "flush")
    assert sw.macs() == []
    assert ctl_json("call", "rpc.methods")  # raw calls work

    r = subprocess.run([str(NFVCTL_BIN), "--socket", lab.path("nobody.sock"), "status"], capture_output=True,
                       text=True, timeout=15)
    assert r.returncode == 3, r
    r = subprocess.run([str(NFVCTL_BIN), "--socket", sw.socket, "port", "frobnicate"], capture_output=True,
                       text=True, timeout=15)
    assert r.returncode == 2, r
