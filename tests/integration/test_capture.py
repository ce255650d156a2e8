"""nfvctl capture: the switch mirrors a port's frames, nfvctl writes a pcap, tshark decodes it."""

import json
import shutil
import subprocess

import pytest

from nfvtest import NFVCTL_BIN, RpcError

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"

pytestmark = pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")


def two_ports(lab):
    sw = lab.switch([{"name": n, "type": "vhost-user", "path": lab.path(f"{n}.sock")} for n in "ab"])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A, peer=MAC_B, extra_args=["--tx-udp=9,2152"])
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    sw.wait_link(["a", "b"])
    return sw, a, b


def tshark(path, *fields):
    args = ["tshark", "-r", str(path), "-T", "fields"]
    for f in fields:
        args += ["-e", f]
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return [line.split("\t") for line in r.stdout.splitlines()]


def capture(lab, sw, port, count, *extra):
    out = lab.logdir / f"{port}.pcap"
    proc = subprocess.Popen([str(NFVCTL_BIN), "--socket", sw.socket, "--json", "capture", port, "--count", str(count),
                             "-w", str(out), "--duration", "20", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, out


def wait_session(sw):
    import time
    deadline = time.monotonic() + 10
    while not sw.call("capture.list"):
        assert time.monotonic() < deadline, "capture session did not start"
        time.sleep(0.05)


def test_capture_tx_of_a_port_decodes_in_tshark(lab):
    sw, a, b = two_ports(lab)
    proc, pcap = capture(lab, sw, "b", 16, "--direction", "tx")
    wait_session(sw)
    n = a.send(2)
    assert n == 16
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    summary = json.loads(out)
    assert summary["frames"] == 16 and summary["dropped"] == 0
    rows = tshark(pcap, "eth.src", "eth.dst", "ip.src", "ip.dst", "udp.srcport", "udp.dstport", "frame.len")
    assert rows == [[MAC_A, MAC_B, "198.18.0.1", "198.18.0.2", "9", "2152", "64"]] * 16
    assert sw.call("capture.list") == []  # the session ended with its count


def test_capture_rx_sees_frames_before_rules_and_tx_after(lab):
    sw, a, b = two_ports(lab)
    sw.call("rule.add", {"match": "in_port=a,udp", "actions": "push_vlan:100,push_vlan:200,pop_vlan,output:b"})
    rx, rx_pcap = capture(lab, sw, "a", 8, "--direction", "rx")
    wait_session(sw)
    with pytest.raises(RpcError) as e:  # one capture per port at a time
        sw.call("capture.start", {"port": "a"})
    assert e.value.code == 2 and "already being captured" in e.value.message
    tx, tx_pcap = capture(lab, sw, "b", 8, "--direction", "tx")
    import time
    deadline = time.monotonic() + 10
    while len(sw.call("capture.list")) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    a.send(1)
    for p in (rx, tx):
        _, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
    assert tshark(rx_pcap, "vlan.id", "udp.dstport") == [["", "2152"]] * 8
    # pushed 100 then 200, popped 200: one tag, VLAN 100, and the UDP header still decodes
    assert tshark(tx_pcap, "vlan.id", "udp.dstport", "frame.len") == [["100", "2152", "68"]] * 8


def test_capture_errors(lab):
    sw, a, b = two_ports(lab)
    r = subprocess.run([str(NFVCTL_BIN), "--socket", sw.socket, "capture", "zz", "-w", str(lab.logdir / "x.pcap")],
                       capture_output=True, text=True, timeout=15)
    assert r.returncode == 1 and "no port named zz" in r.stderr
    with pytest.raises(RpcError) as e:
        sw.call("capture.start", {"port": "a", "direction": "up"})
    assert "'direction'" in e.value.message
    with pytest.raises(RpcError):
        sw.call("capture.read", {"id": 12345})
    # A session nobody reads can be stopped; the port forwards as before.
    s = sw.call("capture.start", {"port": "a", "count": 5})
    assert sw.call("capture.stop", {"id": s["id"]})["ended"] == "stopped"
    n = a.send(1)
    assert b.wait_rx(n) == n
