"""The SDK's vhost-user front-end port and run loop, seen from outside through
the sample VNF nfv-l2fwd: against DPDK's net_vhost back-end (testpmd), through
the switch, across back-end restarts, and with bad command lines.

Placement: testpmd on CPU 0, nfv-l2fwd's worker on CPU 1 (the switch too, when
there is one).
"""

import os
import signal
import subprocess
import time

import pytest

import nfvtest
from nfvtest import BROADCAST, BURST, FRAME_LEN, L2FWD_BIN, parse_verbose_rx, wait_for

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"
MAC_X = "02:00:00:00:00:99"   # where a net_vhost testpmd addresses its frames

QUEUE_SIZE = 256               # the port's default ring size (VhostUserPortConfig)
VIRTIO_F_VERSION_1 = 1 << 32


@pytest.fixture(autouse=True)
def l2fwd_binary():
    if not L2FWD_BIN.exists():
        pytest.fail(f"{L2FWD_BIN} is missing: ninja -C {nfvtest.BUILD_DIR} sample-vnfs/l2fwd/nfv-l2fwd")


def spec(path: str, *options: str) -> str:
    return ",".join([f"vhost-user:{path}", *options])


def wait_pmd_link(pmd, timeout: float = 10.0):
    wait_for(pmd.link_up, timeout, interval=0.1, what=f"testpmd {pmd.name} link up")


def assert_port_clean(st: dict):
    """No error counter of an l2fwd port moved."""
    for key in ("rx_errors", "tx_errors", "device_errors", "rx_no_buffer"):
        assert st[key] == 0, f"{st['name']}: {key} = {st[key]}: {st}"


def start_flowgen(pmd, burst: int = 32):
    """testpmd sends as fast as it can and drops what it receives (flowgen), until stop."""
    pmd.cmd("stop")
    pmd.cmd("set fwd flowgen")
    pmd.cmd(f"set burst {burst}")
    out = pmd.cmd("start")
    assert "flowgen packet forwarding" in out, out


def pool(vnf) -> dict:
    pools = vnf.stats()["pools"]
    assert len(pools) == 1, pools
    return pools[0]


def wait_pool_full(vnf, timeout: float = 5.0) -> dict:
    """With the link down the port has drained its rings: every buffer is back."""
    last = {}

    def full():
        last.update(pool(vnf))
        return last["available"] == last["capacity"]

    try:
        wait_for(full, timeout, interval=0.05, what="every buffer back in the pool")
    except TimeoutError as e:
        raise AssertionError(f"{e}: {last}") from None
    assert last["double_frees"] == 0 and last["alloc_failures"] == 0, last
    return last


# --- 1 ----------------------------------------------------------------------


def test_reflect_against_dpdk_vhost_backend(lab):
    sock = lab.path("v.sock")
    pmd = lab.testpmd_vhost("V", sock, peer=MAC_X)
    vnf = lab.l2fwd([spec(sock)], mode="reflect", cpus="1")
    vnf.wait_link()
    wait_pmd_link(pmd)
    st = vnf.port_status()
    assert (st["mode"], st["connects"], st["disconnects"], st["failed_attempts"]) == ("client", 1, 0, 0), st
    assert st["features"] & VIRTIO_F_VERSION_1, st

    # A few frames, printed: every one comes back with the MACs swapped.
    pmd.cmd("set verbose 1")
    mark = pmd.mark()
    n1 = pmd.send(2)
    assert n1 == 2 * BURST
    assert pmd.wait_rx(n1) == n1
    frames = parse_verbose_rx(pmd.output_since(mark))
    assert len(frames) == n1, pmd.output_since(mark)[-2000:]
    for f in frames:
        assert (f["src"], f["dst"], f["type"]) == (MAC_X, pmd.mac, 0x0800), f["line"]
        assert f"length={FRAME_LEN}" in f["line"], f["line"]

    # More, counted only.
    pmd.cmd("set verbose 0")
    n2 = pmd.send(16)
    assert n2 == 16 * BURST
    total = n1 + n2
    assert pmd.wait_rx(total) == total
    assert pmd.stats()["tx_packets"] == total

    stats = vnf.stats()
    p = stats["ports"][0]
    assert (p["rx_packets"], p["tx_packets"]) == (total, total), p
    assert (p["rx_bytes"], p["tx_bytes"]) == (total * FRAME_LEN, total * FRAME_LEN), p
    assert p["tx_dropped"] == 0 and p["link"] == "up", p
    assert_port_clean(p)
    assert stats["vnf"] == [{"reflected": total, "runts": 0}], stats["vnf"]
    w = stats["workers"][0]
    assert (w["cpu"], w["packets"], w["emitted"], w["dropped"]) == (1, total, total, 0), w
    pl = stats["pools"][0]
    assert pl["double_frees"] == 0 and pl["alloc_failures"] == 0, pl
    # only the receive ring's buffers (and transmits not reclaimed yet) are out
    assert 0 < pl["capacity"] - pl["available"] <= 2 * QUEUE_SIZE, pl


# Port options: (spec options, feature bits that must be on, bits that must be off).
VIRTIO_NET_F_MRG_RXBUF, VIRTIO_F_EVENT_IDX, VIRTIO_F_IN_ORDER = 15, 29, 35
PORT_OPTIONS = {
    "defaults": ((), {VIRTIO_NET_F_MRG_RXBUF, VIRTIO_F_EVENT_IDX, VIRTIO_F_IN_ORDER}, set()),
    "no_mergeable": (("mergeable=0",), {VIRTIO_F_EVENT_IDX}, {VIRTIO_NET_F_MRG_RXBUF}),
    "no_event_idx_no_in_order": (("event-idx=0", "in-order=0"), {VIRTIO_NET_F_MRG_RXBUF},
                                 {VIRTIO_F_EVENT_IDX, VIRTIO_F_IN_ORDER}),
    "queue_size_1024": (("queue-size=1024",), {VIRTIO_NET_F_MRG_RXBUF}, set()),
}


@pytest.mark.parametrize("case", list(PORT_OPTIONS))
def test_reflect_frame_sizes_with_port_options(lab, case):
    options, on, off = PORT_OPTIONS[case]
    sock = lab.path("v.sock")
    pmd = lab.testpmd_vhost("V", sock, peer=MAC_X)
    vnf = lab.l2fwd([spec(sock, *options)], mode="reflect", cpus="1")
    vnf.wait_link()
    wait_pmd_link(pmd)
    features = vnf.port_status()["features"]
    assert all(features >> b & 1 for b in on) and not any(features >> b & 1 for b in off), hex(features)

    # (testpmd's txpkts, frames per burst): 9000-byte frames span several
    # receive buffers, so only with mergeable buffers
    sizes = [("64", 16), ("1500", 4)]
    if features >> VIRTIO_NET_F_MRG_RXBUF & 1:
        sizes.append(("2000,2000,2000,2000,1000", 2))
    pmd.cmd("set verbose 1")
    frames = total_bytes = 0
    for txpkts, bursts in sizes:
        length = sum(int(x) for x in txpkts.split(","))
        out = pmd.cmd(f"set txpkts {txpkts}")
        assert "error" not in out.lower() and "invalid" not in out.lower(), out
        mark = pmd.mark()
        n = pmd.send(bursts)
        assert n == bursts * BURST, f"{length}-byte frames: testpmd sent {n}"
        frames += n
        total_bytes += n * length
        assert pmd.wait_rx(frames) == frames, f"{length}-byte frames"
        got = parse_verbose_rx(pmd.output_since(mark))
        assert len(got) == n
        for f in got:
            assert (f["src"], f["dst"]) == (MAC_X, pmd.mac) and f"length={length} " in f["line"], f["line"]
    p = vnf.port_stats()
    assert (p["rx_packets"], p["tx_packets"]) == (frames, frames), p
    assert (p["rx_bytes"], p["tx_bytes"]) == (total_bytes, total_bytes), p
    assert p["tx_dropped"] == 0, p
    assert_port_clean(p)

    pmd.quit()
    vnf.wait_link(up=False)
    wait_pool_full(vnf)


def test_multiqueue_reflect_two_threads(lab):
    sock = lab.path("v.sock")
    pmd = lab.testpmd_vhost("V", sock, peer=MAC_X, queues=2)
    vnf = lab.l2fwd([spec(sock)], mode="reflect", cpus="0,1", extra_args=["--threads", "2"])
    vnf.wait_link()
    wait_pmd_link(pmd)
    assert vnf.port_status()["queue_pairs"] == 2
    n = pmd.send(8)  # testpmd sends 8 bursts on each of its 2 queues
    assert n == 2 * 8 * BURST
    assert pmd.wait_rx(n) == n
    stats = vnf.stats()
    p = stats["ports"][0]
    assert (p["rx_packets"], p["tx_packets"], p["tx_dropped"]) == (n, n, 0), p
    assert_port_clean(p)
    assert [(w["cpu"], w["packets"]) for w in stats["workers"]] == [(0, n // 2), (1, n // 2)], stats["workers"]
    assert [v["reflected"] for v in stats["vnf"]] == [n // 2, n // 2]

    # both queue pairs drain into their own thread's pool
    pmd.kill()
    vnf.wait_link(up=False)
    pools = wait_for(lambda: (ps := vnf.stats()["pools"]) and all(x["available"] == x["capacity"] for x in ps) and ps,
                     5, what="both pools full again")
    assert all(x["double_frees"] == 0 for x in pools), pools


# --- 2 ----------------------------------------------------------------------


@pytest.mark.timeout(150)
def test_pool_balance_after_ten_million_packets(lab):
    target = 10_000_000
    sock = lab.path("v.sock")
    pmd = lab.testpmd_vhost("V", sock, peer=MAC_X)
    vnf = lab.l2fwd([spec(sock)], mode="reflect", cpus="1")
    vnf.wait_link()
    wait_pmd_link(pmd)

    start_flowgen(pmd)
    t0 = time.monotonic()
    try:
        wait_for(lambda: vnf.port_stats()["rx_packets"] >= target, 90, interval=0.5,
                 what=f"l2fwd to receive {target} frames")
    finally:
        elapsed = time.monotonic() - t0
        print(f"l2fwd stats after {elapsed:.1f} s: {vnf.stats()}")
    pmd.cmd("stop")                      # testpmd stops sending (and receiving)
    stats = vnf.wait_quiet()
    p = stats["ports"][0]
    assert p["rx_packets"] >= target
    assert_port_clean(p)
    # everything received was reflected: sent, or dropped because testpmd stopped reading
    assert p["tx_packets"] + p["tx_dropped"] == p["rx_packets"], p
    assert stats["vnf"][0]["reflected"] == p["rx_packets"], stats["vnf"]
    w = stats["workers"][0]
    assert (w["packets"], w["emitted"], w["dropped"]) == (p["rx_packets"], p["rx_packets"], 0), w
    pl = stats["pools"][0]
    assert pl["double_frees"] == 0, pl
    assert 0 < pl["capacity"] - pl["available"] <= 2 * QUEUE_SIZE, pl

    # testpmd reads again: it gets exactly what l2fwd sent; l2fwd got exactly what testpmd sent
    pmd.cmd("set fwd rxonly")
    pmd.cmd("start")
    got = wait_for(lambda: (s := pmd.stats())["rx_packets"] >= p["tx_packets"] and s, 10,
                   what="testpmd to read l2fwd's transmit ring")
    time.sleep(0.3)
    got = pmd.stats()
    assert got["rx_packets"] == p["tx_packets"], (got, p)
    assert got["tx_packets"] == p["rx_packets"], (got, p)

    # The back-end leaves: the port drains and every buffer is back in the pool.
    pmd.quit()
    vnf.wait_link(up=False)
    wait_pool_full(vnf)
    assert vnf.port_status()["disconnects"] == 1
    assert vnf.alive()


# --- 3 ----------------------------------------------------------------------


def test_forward_between_two_dpdk_backends(lab):
    a = lab.testpmd_vhost("A", lab.path("a.sock"), peer=MAC_B)
    b = lab.testpmd_vhost("B", lab.path("b.sock"), peer=MAC_A)
    vnf = lab.l2fwd([spec(a.sock), spec(b.sock)], mode="forward", cpus="1")
    vnf.wait_link()
    wait_pmd_link(a)
    wait_pmd_link(b)

    # A -> B, frames untouched
    b.cmd("set verbose 1")
    mark = b.mark()
    n_ab = a.send(8)
    assert n_ab == 8 * BURST
    assert b.wait_rx(n_ab) == n_ab
    frames = parse_verbose_rx(b.output_since(mark))
    assert len(frames) == n_ab
    assert all((f["src"], f["dst"]) == (a.mac, MAC_B) for f in frames), frames[0]["line"]
    b.cmd("set verbose 0")
    assert a.rx_packets() == 0, "a forwarded frame came back to its sender"

    # B -> A
    n_ba = b.send(5)
    assert n_ba == 5 * BURST
    assert a.wait_rx(n_ba) == n_ba
    assert b.rx_packets() == n_ab

    stats = vnf.stats()
    p0, p1 = stats["ports"]
    assert (p0["rx_packets"], p0["tx_packets"]) == (n_ab, n_ba), p0
    assert (p1["rx_packets"], p1["tx_packets"]) == (n_ba, n_ab), p1
    for p in (p0, p1):
        assert p["tx_dropped"] == 0, p
        assert_port_clean(p)
    assert stats["vnf"] == [{"forwarded": n_ab + n_ba}], stats["vnf"]


# --- 4 ----------------------------------------------------------------------


def test_forward_through_the_switch(lab):
    # Two VLANs joined only by l2fwd: A -- a [10] l1 -- l2fwd -- l2 [20] b -- B.
    # (One VLAN would be a loop: the switch floods into l2fwd, which brings it back.)
    def port(name, vlan):
        return {"name": name, "type": "vhost-user", "path": lab.path(f"{name}.sock"), "vlan": vlan}

    sw = lab.switch([port("a", 10), port("l1", 10), port("l2", 20), port("b", 20)])
    vnf = lab.l2fwd([spec(lab.path("l1.sock")), spec(lab.path("l2.sock"))], mode="forward", cpus="1")
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    sw.wait_link(["a", "l1", "l2", "b"])
    vnf.wait_link()

    # B announces itself (a broadcast crosses to VLAN 10 through l2fwd)
    n_bcast = b.send(1, to=BROADCAST)
    assert a.wait_rx(n_bcast) == n_bcast
    # A -> B unicast: the switch knows B behind l1 (VLAN 10) and at b (VLAN 20)
    n_ab = a.send(16, to=MAC_B)
    assert n_ab == 16 * BURST
    assert b.wait_rx(n_ab) == n_ab
    # B -> A unicast
    n_ba = b.send(4, to=MAC_A)
    assert a.wait_rx(n_bcast + n_ba) == n_bcast + n_ba
    assert b.rx_packets() == n_ab

    macs = sorted((m["mac"], m["vlan"], m["port"]) for m in sw.macs())
    assert macs == [(MAC_A, 10, "a"), (MAC_A, 20, "l2"), (MAC_B, 10, "l1"), (MAC_B, 20, "b")], macs
    st = sw.stats()
    for name in ("a", "l1", "l2", "b"):
        assert all(v == 0 for v in st[name]["drops"].values()), f"switch port {name}: {st[name]['drops']}"

    stats = vnf.stats()
    p0, p1 = stats["ports"]
    assert (p0["rx_packets"], p0["tx_packets"]) == (n_ab, n_bcast + n_ba), p0
    assert (p1["rx_packets"], p1["tx_packets"]) == (n_bcast + n_ba, n_ab), p1
    for p in (p0, p1):
        assert p["tx_dropped"] == 0, p
        assert_port_clean(p)
    assert stats["vnf"] == [{"forwarded": n_ab + n_bcast + n_ba}]


@pytest.mark.timeout(90)
def test_switch_restart_l2fwd_reconnects(lab):
    port = {"name": "l1", "type": "vhost-user", "path": lab.path("l1.sock")}
    # testpmd's virtio_user reconnects only as the server: the switch connects to it
    sw = lab.switch([port, {"name": "a", "type": "vhost-user", "path": lab.path("a.sock"), "mode": "client"}])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A, server=True)
    vnf = lab.l2fwd([spec(port["path"])], mode="reflect", cpus="1")
    sw.wait_link(["a", "l1"])
    vnf.wait_link()
    # A's frames to X go to l1 (flooded, then learnt), come back reflected to A
    for restart in range(3):
        n = a.send(4, to=MAC_X)
        assert a.wait_rx(n) == n, f"after {restart} switch restart(s)"
        if restart == 2:
            break
        assert sw.stop(signal.SIGTERM) == 0
        vnf.wait_link(up=False, timeout=5)
        wait_pool_full(vnf)
        sw.start()
        sw.wait_link(["a", "l1"], timeout=20)
        vnf.wait_link(timeout=10)
        a.cmd("stop")  # testpmd's counters start again with the link
        a.cmd("clear port stats 0")
        a.cmd("start")
    st = vnf.port_status()
    assert (st["connects"], st["disconnects"]) == (3, 2), st
    assert_port_clean(vnf.port_stats())


# --- 5 ----------------------------------------------------------------------


@pytest.mark.timeout(90)
@pytest.mark.parametrize("l2fwd_mode", ["client", "server"])
def test_backend_killed_and_restarted(lab, l2fwd_mode):
    sock = lab.path("v.sock")
    server = l2fwd_mode == "server"
    if server:  # l2fwd listens, testpmd connects (net_vhost client=1)
        vnf = lab.l2fwd([spec(sock, "server")], mode="reflect", cpus="1")
        assert os.path.exists(sock)
        pmd = lab.testpmd_vhost("V", sock, peer=MAC_X, server=False)
    else:       # testpmd listens, l2fwd connects
        pmd = lab.testpmd_vhost("V", sock, peer=MAC_X)
        vnf = lab.l2fwd([spec(sock)], mode="reflect", cpus="1")
    vnf.wait_link()
    wait_pmd_link(pmd)
    assert vnf.port_status()["mode"] == l2fwd_mode

    for restart in (1, 2):
        # under traffic, the back-end dies without a word
        start_flowgen(pmd)
        before = vnf.port_stats()["rx_packets"]
        wait_for(lambda: vnf.port_stats()["rx_packets"] > before + 10_000, 10, what="traffic through l2fwd")
        pmd.kill()
        vnf.wait_link(up=False, timeout=5)
        wait_pool_full(vnf)  # the drain gave every ring buffer back
        st = vnf.port_status()
        assert (st["connects"], st["disconnects"]) == (restart, restart), st
        if server:
            assert os.path.exists(sock), "l2fwd's listening socket must survive a back-end crash"
        else:
            pmd.forget_socket()

        pmd.start()
        vnf.wait_link(timeout=10)
        wait_pmd_link(pmd)
        st = vnf.port_status()
        assert (st["connects"], st["disconnects"], st["link"]) == (restart + 1, restart, "up"), st

        # traffic resumes, exactly
        n = pmd.send(8)
        assert n == 8 * BURST
        assert pmd.wait_rx(n) == n
    p = vnf.port_stats()
    assert_port_clean(p)
    assert vnf.alive()


# --- 6 ----------------------------------------------------------------------


def cpu_seconds(pid: int, period: float) -> float:
    """CPU time (user + system, all threads) the process used during `period` seconds."""
    def total():
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime
    before = total()
    time.sleep(period)
    return total() - before


def run_l2fwd(args, timeout=10):
    return subprocess.run([str(L2FWD_BIN), *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


BAD_COMMAND_LINES = {
    "unknown_port_type": (["--mode", "reflect", "--port", "tap:{sock}"], "unknown port type"),
    "empty_path": (["--mode", "reflect", "--port", "vhost-user:"], "socket path is empty"),
    "unknown_option": (["--mode", "reflect", "--port", "vhost-user:{sock},colour=blue"], "unknown option 'colour'"),
    "unknown_flag": (["--mode", "reflect", "--port", "vhost-user:{sock},fast"], "unknown option 'fast'"),
    "not_a_number": (["--mode", "reflect", "--port", "vhost-user:{sock},queue-size=big"], "'queue-size=big' needs a number"),
    "bad_queue_size": (["--mode", "reflect", "--port", "vhost-user:{sock},queue-size=100"], "power of two"),
    "no_port": (["--mode", "reflect"], "--port is required"),
    "forward_one_port": (["--mode", "forward", "--port", "vhost-user:{sock}"], "needs exactly two ports, got 1"),
    "bad_mode": (["--mode", "bounce", "--port", "vhost-user:{sock}"], "bounce"),
    "bad_cpus": (["--mode", "reflect", "--port", "vhost-user:{sock}", "--cpus", "1,x"], "cpu list '1,x'"),
    "cpus_threads_mismatch": (["--mode", "reflect", "--port", "vhost-user:{sock}", "--cpus", "0,1"],
                              "one cpu per thread"),
}


@pytest.mark.parametrize("case", sorted(BAD_COMMAND_LINES))
def test_bad_command_line_exits_2(lab, case):
    args, message = BAD_COMMAND_LINES[case]
    args = [a.format(sock=lab.path("v.sock")) for a in args]
    control = lab.path("ctl.sock")
    r = run_l2fwd([*args, "--control", control])
    assert r.returncode == 2, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    assert message in r.stderr, f"{message!r} not in stderr: {r.stderr!r}"
    assert os.listdir(lab.sockdir) == [], f"files were created: {os.listdir(lab.sockdir)}"


def test_starts_without_backend_and_connects_when_it_appears(lab):
    sock = lab.path("v.sock")
    vnf = lab.l2fwd([spec(sock)], mode="reflect", cpus="1")
    # adaptive idle: with no back-end (many reconnect attempts) it sleeps
    used = cpu_seconds(vnf.proc.pid, 1.0)
    assert used < 0.1, f"l2fwd used {used:.2f} s of CPU in 1 s without a back-end"
    st = vnf.port_status()
    assert (st["link"], st["connects"], st["mode"]) == ("down", 0, "client"), st
    assert st["last_error"], st
    assert vnf.alive()

    pmd = lab.testpmd_vhost("V", sock, peer=MAC_X)
    vnf.wait_link(timeout=10)
    wait_pmd_link(pmd)
    st = vnf.port_status()
    assert (st["connects"], st["disconnects"], st["last_error"]) == (1, 0, ""), st
    n = pmd.send(4)
    assert pmd.wait_rx(n) == n == 4 * BURST
    # ...and with a back-end but no traffic, it sleeps too (on the call eventfds)
    used = cpu_seconds(vnf.proc.pid, 1.0)
    assert used < 0.1, f"l2fwd used {used:.2f} s of CPU in 1 s with an idle back-end"
    sleeps = vnf.stats()["workers"][0]["sleeps"]
    n = pmd.send(4)  # a sleeping worker wakes up for them
    assert pmd.wait_rx(2 * n) == 2 * n
    assert vnf.stats()["workers"][0]["sleeps"] > sleeps


def test_second_backend_refused_on_server_port(lab):
    sock = lab.path("v.sock")
    vnf = lab.l2fwd([spec(sock, "server")], mode="reflect", cpus="1")
    first = lab.testpmd_vhost("V1", sock, peer=MAC_X, server=False)
    vnf.wait_link()
    wait_pmd_link(first)
    second = lab.testpmd_vhost("V2", sock, peer=MAC_X, server=False)
    wait_for(lambda: vnf.port_status()["failed_attempts"] >= 1, 10, what="the second back-end refused")
    st = vnf.port_status()
    assert (st["link"], st["connects"], st["disconnects"]) == ("up", 1, 0), st
    assert not second.link_up()
    n = first.send(4)
    assert first.wait_rx(n) == n == 4 * BURST
    assert_port_clean(vnf.port_stats())


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "shutdown"])
def test_server_mode_stop_removes_sockets(lab, how):
    sock = lab.path("v.sock")
    vnf = lab.l2fwd([spec(sock, "server")], mode="reflect", cpus="1")
    assert os.path.exists(sock) and os.path.exists(vnf.socket)
    pmd = lab.testpmd_vhost("V", sock, peer=MAC_X, server=False)
    vnf.wait_link()
    wait_pmd_link(pmd)
    n = pmd.send(2)
    assert pmd.wait_rx(n) == n

    if how == "shutdown":
        assert vnf.call("shutdown") == {"stopping": True}
        vnf.proc.wait(timeout=10)
        rc = vnf.proc.returncode
    else:
        rc = vnf.stop(getattr(signal, how))
    assert rc == 0, vnf.log()
    assert not os.path.exists(sock), "the vhost-user server socket was left behind"
    assert not os.path.exists(vnf.socket), "the control socket was left behind"
    log = vnf.log()
    assert "stopped" in log, log
    # the back-end notices, and lives on
    wait_for(lambda: not pmd.link_up(), 10, interval=0.1, what="testpmd's link to go down")
    assert pmd.proc.poll() is None
