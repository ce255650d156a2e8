"""nfv-gen against dpdk-testpmd's net_vhost back-end (no code of ours on the
other side): sent counts equal testpmd's received counts, paced rates are kept,
reflected traffic is tracked per stream with latency, bad input is refused
before anything is sent."""
import json
import subprocess

from nfvtest import BUILD_DIR

GEN_BIN = BUILD_DIR / "tools" / "nfv-gen" / "nfv-gen"


def gen(args, timeout=60):
    return subprocess.run([str(GEN_BIN), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def test_sent_counts_match_testpmd_and_rates_are_kept(lab, tmp_path):
    sock = lab.path("g.sock")
    pmd = lab.testpmd_vhost("G", sock)  # rxonly: counts what arrives
    for rate in (100_000, 300_000):
        out = tmp_path / f"r{rate}.json"
        before = pmd.rx_packets()
        # A long ring absorbs testpmd's pauses (its forwarding lcore shares CPU 0
        # with its command line); a refused frame is not counted as sent anyway.
        p = gen(["--port", f"vhost-user:{sock},queue-size=1024", "--rate", rate, "--seconds", 2, "--cpu", 1, "-q",
                 "--stream", "udp,src=10.0.0.1+64,dport=2000+4,size=64", "--json", out])
        assert p.returncode == 0, p.stderr
        r = json.loads(out.read_text())
        assert r["tx_refused"] < r["tx_packets"] / 100, r
        got = pmd.wait_rx(before + r["tx_packets"]) - before
        assert got == r["tx_packets"], (got, r["tx_packets"])
        assert abs(r["tx_pps"] - rate) / rate < 0.01, r["tx_pps"]
        assert r["streams"][0]["tx_packets"] == r["tx_packets"]


def test_reflected_streams_are_tracked_with_latency(lab, tmp_path):
    sock = lab.path("g.sock")
    pmd = lab.testpmd_vhost("G", sock, start=False).start(rxonly=False)
    pmd.cmd("set fwd macswap")
    pmd.cmd("start")
    out = tmp_path / "r.json"
    # 2% of 10 Gbit/s with a mean frame of (60 + 349.8) / 2 bytes + 24 on the wire: about 109 kpps.
    p = gen(["--port", f"vhost-user:{sock}", "--rate", "2%", "--seconds", 2, "--cpu", 1, "-q", "--json", out,
             "--plot", tmp_path / "run",
             "--stream", "udp,name=a,size=64", "--stream", "udp,name=b,size=imix,dst=10.2.0.1+100"])
    assert p.returncode == 0, p.stderr
    r = json.loads(out.read_text())
    assert abs(r["tx_pps"] - 0.02 * 10e9 / ((60 + 349.8333) / 2 + 24) / 8) < 0.01 * r["tx_pps"], r["tx_pps"]
    for ext in ("csv", "png", "svg"):
        assert (tmp_path / f"run-latency.{ext}").stat().st_size > 1000, ext
    assert [s["name"] for s in r["streams"]] == ["a", "b"]
    for s in r["streams"]:
        assert s["tx_packets"] > 100_000, s
        assert s["rx_packets"] == s["tx_packets"] and s["lost"] == 0, s
        assert s["duplicates"] == 0 and s["reordered"] == 0, s
        lat = s["latency_ns"]
        assert lat["count"] == s["rx_packets"], lat
        assert 0 < lat["p50"] <= lat["p99"] <= lat["max"] < 1_000_000_000, lat
    assert r["untracked"] == 0
    assert "STREAM" in p.stdout and "P99_US" in p.stdout


def test_rfc2544_ndr_below_capacity_is_the_offered_rate(lab, tmp_path):
    sock = lab.path("g.sock")
    pmd = lab.testpmd_vhost("G", sock, start=False).start(rxonly=False)
    pmd.cmd("set fwd macswap")
    pmd.cmd("start")
    out = tmp_path / "ndr.json"
    p = gen(["--port", f"vhost-user:{sock}", "--rate", "100k", "--rfc2544", "ndr", "--trial-seconds", 1,
             "--cpu", 1, "--json", out])
    assert p.returncode == 0, p.stderr
    r = json.loads(out.read_text())
    # testpmd reflects 100 kpps without loss: one passing trial at the maximum.
    assert r["mode"] == "ndr" and r["rate_pps"] == 100_000, r
    assert len(r["trials"]) == 1 and r["trials"][0]["streams"][0]["lost"] == 0, r
    assert "NDR: 0.100 Mpps" in p.stdout


def test_bad_input_is_refused_before_anything_is_sent(lab, tmp_path):
    sock = lab.path("never.sock")
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text('[[stream]]\nprotocol = "udp"\ncolour = "blue"\n')
    cases = [
        (["--stream", "udp,colour=blue"], "colour"),
        (["--stream", "udp,size=20"], "size"),
        (["--rate", "fast"], "rate 'fast'"),
        (["--rate", "-5"], "rate"),
        (["--rate", "101%"], "rate '101%'"),
        (["--rate", "5Xbps"], "rate '5Xbps'"),
        (["--rate", "5%", "--line-rate", "fast"], "line rate"),
        (["--streams", tmp_path / "missing.toml"], "cannot read"),
        (["--streams", bad_toml], "bad.toml:3:"),
        (["--rfc2544", "ndr"], "--rfc2544 needs --rate"),
        (["--rfc2544", "fast"], "rfc2544"),
        (["--seconds", "-1"], "seconds"),
    ]
    for extra, text in cases:
        p = gen(["--port", f"vhost-user:{sock}", *extra], timeout=20)
        assert p.returncode == 2, (extra, p.returncode, p.stderr)
        assert text in p.stderr, (extra, p.stderr)
    p = gen(["--port", "tap:x"], timeout=20)
    assert p.returncode == 2 and "unknown port type" in p.stderr, p.stderr
