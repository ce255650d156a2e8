"""Bad configuration and command lines are refused before anything starts;
SIGINT and SIGTERM stop the switch cleanly."""

import os
import re
import signal
import subprocess
import time

import pytest

import nfvtest
from nfvtest import BROADCAST, DPDK_RUN_DIR, HUGEPAGE_DIR, SWITCH_BIN

MAC_A = "02:00:00:00:00:0a"
MAC_B = "02:00:00:00:00:0b"


def run_switch(args, timeout=20):
    return subprocess.run([str(SWITCH_BIN), *args], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout)


def good_config(lab) -> str:
    return nfvtest.to_toml({
        "switch": {"cores": [1], "memory_mb": 256, "socket": lab.path("ctl.sock")},
        "port": [{"name": "a", "type": "vhost-user", "path": lab.path("a.sock")}],
    })


# (name, text appended to or replacing a good config, line of the error or None)
BAD_CONFIGS = {
    "unterminated_table": ('[switch\ncores = [1]\n', 1),
    "unterminated_string": ('[switch]\nsocket = "/tmp/x.sock\n', 2),
    "unknown_switch_key": (None, "bogus_key = 3"),
    "unknown_port_key": (None, 'colour = "blue"'),
    "wrong_type": (None, 'queues = "two"'),
    "out_of_range": (None, "queues = 99"),
    "vlan_and_trunk": (None, "vlan = 10\ntrunk = [20]"),
}


def bad_config_text(lab, name):
    text, extra = BAD_CONFIGS[name]
    if text is not None:
        return text, [extra]
    base = good_config(lab).splitlines()
    if name == "unknown_switch_key":
        at = base.index("[switch]") + 1
    else:
        at = len(base)
    lines = base[:at] + extra.splitlines() + base[at:]
    # the error may point at any inserted line (1-based)
    return "\n".join(lines) + "\n", list(range(at + 1, at + 1 + len(extra.splitlines())))


def assert_nothing_started(lab, proc_stderr):
    assert os.listdir(lab.sockdir) == [], f"sockets were created: {os.listdir(lab.sockdir)}"


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_exits_2_with_position(lab, case):
    text, lines = bad_config_text(lab, case)
    path = lab.logdir / f"{case}.toml"
    path.write_text(text)
    before = set(os.listdir(DPDK_RUN_DIR)) if DPDK_RUN_DIR.exists() else set()
    r = run_switch(["--config", str(path)])
    assert r.returncode == 2, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    m = re.search(re.escape(str(path)) + r":(\d+):(\d+): \S", r.stderr)
    assert m, f"no {path}:LINE:COL: in stderr: {r.stderr!r}"
    assert int(m.group(1)) in lines, f"error reported at line {m.group(1)}, expected {lines}: {r.stderr!r}"
    assert int(m.group(2)) >= 1
    assert_nothing_started(lab, r.stderr)
    after = set(os.listdir(DPDK_RUN_DIR)) if DPDK_RUN_DIR.exists() else set()
    assert not [d for d in after - before if d.startswith("nfv-switch-")], "DPDK was started"


def test_unknown_key_is_named(lab):
    text, _ = bad_config_text(lab, "unknown_port_key")
    path = lab.logdir / "c.toml"
    path.write_text(text)
    r = run_switch(["--config", str(path)])
    assert r.returncode == 2 and "colour" in r.stderr, r.stderr


@pytest.mark.parametrize("args", [
    ["--bogus-option"],
    ["--log-level", "loud"],
    ["--config"],
    ["--config", "/nonexistent/switch.toml"],
    ["extra-positional"],
], ids=["unknown_option", "bad_log_level", "missing_value", "missing_file", "positional"])
def test_bad_command_line_exits_2(lab, args):
    r = run_switch([*args, "--socket", lab.path("ctl.sock")] if args != ["--config"] else args)
    assert r.returncode == 2, f"{args}: exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    assert r.stderr.strip() or r.stdout.strip(), "no message"
    assert_nothing_started(lab, r.stderr)


def hugepage_files(prefix: str) -> list[str]:
    return [f.name for f in HUGEPAGE_DIR.iterdir() if f.name.startswith(prefix)] if HUGEPAGE_DIR.is_dir() else []


@pytest.mark.parametrize("traffic", [False, True], ids=["idle", "under_traffic"])
@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_clean_shutdown(lab, signo, traffic):
    sw = lab.switch([
        {"name": "a", "type": "vhost-user", "path": lab.path("a.sock")},
        {"name": "b", "type": "vhost-user", "path": lab.path("b.sock")},
        {"name": "c", "type": "vhost-user", "path": lab.path("c.sock")},  # nobody connects
        {"name": "d", "type": "vhost-user", "path": lab.path("peer-d.sock"), "mode": "client"},  # nobody listens
    ])
    a = lab.testpmd("A", lab.path("a.sock"), MAC_A)
    b = lab.testpmd("B", lab.path("b.sock"), MAC_B)
    sw.wait_link(["a", "b"])
    n = a.send(2, to=BROADCAST)
    assert b.wait_rx(n) == n
    pid = sw.proc.pid
    runtime_dir = DPDK_RUN_DIR / f"nfv-switch-{pid}"
    for path in (sw.socket, lab.path("a.sock"), lab.path("b.sock"), lab.path("c.sock")):
        assert os.path.exists(path), path

    if traffic:
        a.start_txonly(to=MAC_B)  # the PMD is busy when the signal comes
        b.wait_rx_growing()
    t0 = time.monotonic()
    rc = sw.stop(signo, timeout=15)
    took = time.monotonic() - t0
    assert rc == 0, f"exit status {rc} after {signal.Signals(signo).name}:\n{sw.log()[-2000:]}"
    assert took < 10, f"shutdown took {took:.1f}s"
    left = sorted(os.listdir(lab.sockdir))
    assert left == [], f"left behind in the socket directory: {left}"
    assert not runtime_dir.exists(), f"{runtime_dir} left behind"
    assert hugepage_files(f"nfv-switch-{pid}") == []
    # The peers saw the link go down and are still there.
    assert a.proc.poll() is None and b.proc.poll() is None
    nfvtest.wait_for(lambda: not a.link_up(), 10, what="A's link to go down")


# Regression: a server port whose path is a live socket (another switch, a VMM)
# used to unlink it and bind its own, cutting off the first owner.


def test_live_vhost_socket_is_not_taken_over(lab):
    first = lab.switch([{"name": "a", "type": "vhost-user", "path": lab.path("a.sock")}])
    inode = os.stat(lab.path("a.sock")).st_ino
    # A second switch (its own control socket) configured with the same vhost-user path.
    second = lab.switch([{"name": "a", "type": "vhost-user", "path": lab.path("a.sock")}], start=False)
    try:
        second.start(timeout=20)
        started = True
    except RuntimeError:
        started = False
    still_ours = os.path.exists(lab.path("a.sock")) and os.stat(lab.path("a.sock")).st_ino == inode
    assert still_ours, "the second switch replaced the first switch's listening socket"
    assert not started, "the second switch started on a path a running switch listens on"
    assert second.proc.returncode == 1 and lab.path("a.sock") in second.log()
    # The same through port.add on the first switch with a path the second would own is
    # covered by the same check; the first switch's port still takes a peer.
    lab.testpmd("A", lab.path("a.sock"), MAC_A)
    first.wait_link("a")
