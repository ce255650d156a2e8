"""Flow rules in nfv-switch: steering, VLAN push/pop, drop counts, changes under
traffic, rules from the TOML file, and clear errors for bad rules."""

import json
import subprocess
import time

import pytest

from nfvtest import FRAME_LEN, NFVCTL_BIN, SWITCH_BIN, RpcError, parse_verbose_rx

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
MAC_C = "02:00:00:00:00:0c"
GTP_U = ["--tx-udp=9,2152"]  # testpmd's frames: UDP 9 -> 2152


def three_ports(lab, rules_toml: str = "", start: bool = True):
    sw = lab.switch([{"name": n, "type": "vhost-user", "path": lab.path(f"{n}.sock")} for n in "abc"], start=False)
    if rules_toml:
        sw.config_file.write_text(sw.config_file.read_text() + "\n" + rules_toml)
    return sw.start() if start else sw


def peers(lab, sw):
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A, peer=MAC_B, extra_args=GTP_U)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    c = lab.testpmd("C", lab.path("c.sock"), MAC_C)
    sw.wait_link(["a", "b", "c"])
    return a, b, c


def ctl(sw, *args, expect=0):
    r = subprocess.run([str(NFVCTL_BIN), "--socket", sw.socket, *args], capture_output=True, text=True, timeout=15)
    assert r.returncode == expect, f"nfvctl {' '.join(args)}: exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def test_rule_steers_udp_to_another_port_then_bridge_again(lab):
    sw = three_ports(lab)
    a, b, c = peers(lab, sw)
    added = json.loads(ctl(sw, "--json", "rule", "add", "--priority", "10",
                           "in_port=a,ip,nw_dst=198.18.0.0/16,udp,tp_dst=2152", "actions=output:c").stdout)
    assert added["match"] == "in_port=a,udp,nw_dst=198.18.0.0/16,tp_dst=2152"
    assert added["actions"] == "output:c" and added["priority"] == 10

    n = a.send(4)
    assert c.wait_rx(n) == n
    assert b.rx_packets() == 0, "the rule sent everything to C, nothing to B"
    rule = sw.call("rule.list")[0]
    assert rule["packets"] == n and rule["bytes"] == n * FRAME_LEN
    assert "198.18.0.0/16" in ctl(sw, "rule", "list").stdout

    # A rule on another port or another UDP port does not take these frames.
    ctl(sw, "rule", "add", "--priority", "20", "in_port=b,udp", "actions=drop")
    ctl(sw, "rule", "add", "--priority", "30", "in_port=a,udp,tp_dst=53", "actions=drop")
    n2 = a.send(2)
    assert c.wait_rx(n + n2) == n + n2
    assert sw.call("rule.list")[2]["id"] == added["id"]  # listed by priority: 30, 20, 10

    ctl(sw, "rule", "del", str(added["id"]))
    n3 = a.send(2)  # back to the L2 bridge: MAC_B is unknown, so flooded to B and C
    assert b.wait_rx(n3) == n3
    assert c.wait_rx(n + n2 + n3) == n + n2 + n3
    st = sw.stats()
    assert st["a"]["drops"]["rule"] == 0


def test_push_and_pop_vlan_seen_at_the_receiver(lab):
    sw = three_ports(lab)
    a, b, c = peers(lab, sw)
    sw.call("rule.add", {"match": "in_port=a", "actions": "push_vlan:100,output:c"})
    c.cmd("set verbose 1")
    mark = c.mark()
    n = a.send(1)
    assert c.wait_rx(n) == n
    frames = parse_verbose_rx(c.output_since(mark))
    assert len(frames) == n and all(f["type"] == 0x8100 for f in frames), frames[:2]
    assert sw.stats()["c"]["tx_bytes"] == n * (FRAME_LEN + 4)

    # Tagged frames from a: a rule pops the tag again on the way to b.
    sw.call("rule.flush")
    sw.call("rule.add", {"match": "in_port=a", "actions": "push_vlan:7,output:c,pop_vlan,output:b"})
    b.cmd("set verbose 1")
    mark_b, mark_c = b.mark(), c.mark()
    n = a.send(1)
    assert b.wait_rx(n) == n
    fb = parse_verbose_rx(b.output_since(mark_b))
    fc = parse_verbose_rx(c.output_since(mark_c))
    assert [f["type"] for f in fb] == [0x0800] * n, fb[:2]
    assert [f["type"] for f in fc] == [0x8100] * n, fc[:2]


def test_drop_rule_counts(lab):
    sw = three_ports(lab)
    a, b, c = peers(lab, sw)
    r = sw.call("rule.add", {"priority": 100, "match": "in_port=a,udp", "actions": "drop"})
    n = a.send(4)
    time.sleep(0.5)
    assert b.rx_packets() == 0 and c.rx_packets() == 0
    st = sw.stats()
    assert st["a"]["rx_packets"] == n
    assert st["a"]["drops"]["rule"] == n
    assert sw.call("rule.list")[0]["packets"] == n
    assert sw.call("switch.status")["rules"] == 1
    assert sw.call("rule.del", {"id": r["id"]}) == {"deleted": r["id"]}


def test_rule_changes_under_traffic(lab):
    sw = three_ports(lab)
    a, b, c = peers(lab, sw)
    a.start_txonly()
    try:
        deadline = time.monotonic() + 3
        ids = []
        while time.monotonic() < deadline:
            ids.append(sw.call("rule.add", {"priority": 5, "match": "in_port=a,udp", "actions": "output:c"})["id"])
            if len(ids) > 3:
                sw.call("rule.del", {"id": ids.pop(0)})
        steered = sum(r["packets"] for r in sw.call("rule.list"))
    finally:
        a.stop_txonly()
    assert sw.alive()
    assert len(set(ids)) == len(ids)
    time.sleep(0.5)
    st = sw.stats()
    assert st["a"]["rx_packets"] > 0
    assert c.rx_packets() > 0 and steered >= 0
    sw.call("rule.flush")
    assert sw.call("rule.list") == []


def test_rules_from_the_config_file(lab):
    sw = three_ports(lab, '[[rule]]\npriority = 7\nmatch = "in_port=a,udp,tp_dst=2152"\nactions = "output:c"\n')
    assert [(r["priority"], r["match"], r["actions"]) for r in sw.call("rule.list")] == \
        [(7, "in_port=a,udp,tp_dst=2152", "output:c")]
    a, b, c = peers(lab, sw)
    n = a.send(2)
    assert c.wait_rx(n) == n and b.rx_packets() == 0


def test_bad_rule_in_config_names_file_line_column(lab):
    sw = three_ports(lab, '[[rule]]\nmatch = "in_port=a,tp_dst=80"\nactions = "output:c"\n', start=False)
    r = subprocess.run([str(SWITCH_BIN), "--config", str(sw.config_file)], capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 2
    lines = sw.config_file.read_text().splitlines()
    line = lines.index('match = "in_port=a,tp_dst=80"') + 1
    assert f"{sw.config_file}:{line}:20: 'match': a transport port needs its protocol" in r.stderr, r.stderr


@pytest.mark.parametrize("params,code,says", [
    ({"match": "in_port=zz", "actions": "drop"}, 1, "port 'zz', which does not exist"),
    ({"match": "nw_dst=10.0.0.0/33", "actions": "drop"}, -32602, "at offset 7: '10.0.0.0/33' is not an address"),
    ({"match": "tp_dst=80", "actions": "drop"}, -32602, "needs its protocol"),
    ({"actions": "output:a,push_vlan:3"}, -32602, "never sent"),
    ({"match": "udp"}, -32602, "missing string parameter 'actions'"),
    ({"priority": 70000, "actions": "drop"}, -32602, "0..65535"),
    ({"actions": "drop", "prio": 1}, -32602, "unknown parameter 'prio'"),
])
def test_bad_rules_are_rejected(lab, params, code, says):
    sw = lab.switch([{"name": "a", "type": "vhost-user", "path": lab.path("a.sock")}])
    with pytest.raises(RpcError) as e:
        sw.call("rule.add", params)
    assert e.value.code == code and says in e.value.message, e.value.message
    assert sw.call("rule.list") == []


def test_nfvctl_rule_errors(lab):
    sw = lab.switch([{"name": "a", "type": "vhost-user", "path": lab.path("a.sock")}])
    r = ctl(sw, "rule", "add", "in_port=a,udp,tp_dst=x", "actions=drop", expect=1)
    assert "'x' is not a port number" in r.stderr
    r = ctl(sw, "rule", "add", "in_port=a", expect=2)
    assert "no actions=" in r.stderr
    r = ctl(sw, "rule", "del", "99", expect=1)
    assert "no rule 99" in r.stderr
    out = json.loads(ctl(sw, "--json", "rule", "add", "priority=3,in_port=a", "actions=normal").stdout)
    assert out["priority"] == 3 and out["match"] == "in_port=a"


def test_nfvctl_stats_watch_and_completion(lab):
    sw = lab.switch([{"name": n, "type": "vhost-user", "path": lab.path(f"{n}.sock")} for n in "ab"])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A, peer=MAC_B)
    lab.testpmd("B", lab.path("b.sock"), MAC_B)
    sw.wait_link(["a", "b"])
    a.start_txonly()
    try:
        r = ctl(sw, "--json", "stats", "--watch", "--interval", "0.5", "--iterations", "2")
    finally:
        a.stop_txonly()
    samples = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(samples) == 2
    rates = {p["name"]: p for p in samples[-1]["ports"]}
    assert rates["a"]["rx_pps"] > 0 and rates["b"]["tx_pps"] > 0
    table = ctl(sw, "stats", "--watch", "--interval", "0.2", "--iterations", "1").stdout
    assert "RX-PPS" in table and "\x1b[2J" in table
    script = ctl(sw, "completion", "bash").stdout
    r = subprocess.run(["bash", "-c", script + '\nCOMP_WORDS=(nfvctl rule ""); COMP_CWORD=2; _nfvctl; '
                        'echo "${COMPREPLY[@]}"'], capture_output=True, text=True, timeout=10)
    assert set(r.stdout.split()) >= {"add", "del", "list", "flush"}, r.stdout + r.stderr
