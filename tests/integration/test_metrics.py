"""Prometheus metrics: a real scrape over HTTP, every line checked against the text format."""

import socket
import urllib.error
import urllib.request

import pytest

from nfvtest import FRAME_LEN, free_port, metric_value as value, parse_metrics as parse, scrape_metrics as scrape

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


@pytest.mark.parametrize("how", ["config", "flag"])
def test_metrics_scrape(lab, how):
    addr = f"127.0.0.1:{free_port()}"
    ports = [{"name": n, "type": "vhost-user", "path": lab.path(f"{n}.sock")} for n in "ab"]
    if how == "config":
        sw = lab.switch(ports, metrics=addr)
    else:
        sw = lab.switch(ports, start=False)
        sw.start(extra_args=["--metrics", addr])
    assert sw.call("switch.status")["metrics"] == (addr if how == "config" else addr)
    rule = sw.call("rule.add", {"match": "in_port=a,udp", "actions": "output:b"})
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A, peer=MAC_B)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    sw.wait_link(["a", "b"])
    n = a.send(2)
    assert b.wait_rx(n) == n

    fams = parse(scrape(f"http://{addr}/metrics"))
    assert value(fams, "nfv_switch_port_rx_packets_total", port="a") == n
    assert value(fams, "nfv_switch_port_rx_bytes_total", port="a") == n * FRAME_LEN
    assert value(fams, "nfv_switch_port_tx_packets_total", port="b") == n
    assert value(fams, "nfv_switch_port_drops_total", port="a", reason="rule") == 0
    assert {lab["reason"] for lab, _ in fams["nfv_switch_port_drops_total"]["samples"]} >= \
        {"no_buffer", "tx_full", "spoofed", "vlan", "malformed", "rule"}
    assert value(fams, "nfv_switch_rule_packets_total", id=rule["id"]) == n
    assert value(fams, "nfv_switch_rule_bytes_total", id=rule["id"]) == n * FRAME_LEN
    assert value(fams, "nfv_switch_pmd_packets_total", pmd=0, core=1) == n
    assert value(fams, "nfv_switch_pmd_busy_cycles_total", pmd=0) > 0
    assert value(fams, "nfv_switch_pmd_idle_cycles_total", pmd=0) > 0
    assert value(fams, "nfv_switch_mac_table_entries") == len(sw.macs())
    assert value(fams, "nfv_switch_rules") == 1
    assert value(fams, "nfv_switch_port_link_up", port="b") == 1

    for path, code in (("/", 404), ("/metricsx", 404), ("/favicon.ico", 404)):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://{addr}{path}", timeout=5)
        assert e.value.code == code
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(urllib.request.Request(f"http://{addr}/metrics", data=b"x", method="POST"), timeout=5)
    assert e.value.code == 405
    # A client that connects and says nothing does not block the next scrape.
    with socket.create_connection(addr.rsplit(":", 1) and ("127.0.0.1", int(addr.rsplit(":", 1)[1]))):
        assert "nfv_switch_ports 2" in scrape(f"http://{addr}/metrics")


def test_metrics_off_by_default_and_bad_address_refused(lab):
    sw = lab.switch([{"name": "a", "type": "vhost-user", "path": lab.path("a.sock")}])
    assert sw.call("switch.status")["metrics"] is None
    bad = lab.switch([{"name": "a", "type": "vhost-user", "path": lab.path("x.sock")}], start=False,
                     socket=lab.path("bad.ctl"), metrics="10.0.0.1:9464")
    import subprocess
    from nfvtest import SWITCH_BIN
    r = subprocess.run([str(SWITCH_BIN), "--config", str(bad.config_file)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "'metrics' is \"10.0.0.1:9464\"" in r.stderr and "loopback only" in r.stderr
