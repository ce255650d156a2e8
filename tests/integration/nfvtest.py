"""Helpers for the nfv-switch black-box tests.

What is here:
  Lab         one test's processes and files: a short socket directory, log files,
              every process started through it, and the cleanup of all of them.
  Switch      an nfv-switch started from a config dict (written as TOML).
  RpcClient   JSON-RPC 2.0 over the switch's unix socket, one JSON object a line.
  TestPmd     an interactive dpdk-testpmd with one virtio_user port, driven
              through its stdin; counts packets from `show port stats`.
  TestPmdVhost  the same with a net_vhost port: testpmd is the vhost-user
              BACK-END (for VNFs built on the SDK, which are front-ends).
  L2fwd       the SDK's sample VNF (nfv-l2fwd), with its JSON-RPC status/stats.
  Vm          nfv-vmm booting a guest ELF, with its JSON-RPC status/stats.
  VhostUserFrontend  a raw vhost-user frontend speaking the wire protocol, for
              sending malformed messages to the switch.

CPU placement: the switch's PMD runs on CPU 1, every testpmd on CPU 0, nfv-l2fwd's
worker where the test says (CPU 1 unless told).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("NFV_BUILD_DIR", REPO / "build"))
SWITCH_BIN = BUILD_DIR / "dataplane" / "nfv-switch"
NFVCTL_BIN = BUILD_DIR / "tools" / "nfvctl" / "nfvctl"
L2FWD_BIN = BUILD_DIR / "sample-vnfs" / "l2fwd" / "nfv-l2fwd"
VMM_BIN = BUILD_DIR / "vmm" / "nfv-vmm"
L2FWD_ELF = BUILD_DIR / "sample-vnfs" / "l2fwd" / "l2fwd.elf"
TESTPMD_BIN = shutil.which("dpdk-testpmd") or "/usr/bin/dpdk-testpmd"

HUGEPAGE_DIR = Path("/dev/hugepages")
DPDK_RUN_DIR = Path("/var/run/dpdk")

SWITCH_CPU = 1
PEER_CPU = 0

# Every DPDK file prefix and temp directory the suite creates starts with this,
# so that the final leftover check can tell ours from other people's.
PREFIX = f"nfvit{os.getpid()}"

# Frames per testpmd burst (--burst) and the size of each frame (--txpkts).
BURST = 8
FRAME_LEN = 64

BROADCAST = "ff:ff:ff:ff:ff:ff"

# Pids of every process the suite started (for the final leftover check).
STARTED_PIDS: set[int] = set()

_seq = 0
_seq_lock = threading.Lock()


def _next_seq() -> int:
    global _seq
    with _seq_lock:
        _seq += 1
        return _seq


def wait_for(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Polls predicate() until it returns a truthy value; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


# --- TOML ------------------------------------------------------------------


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string for our ASCII values
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def to_toml(config: dict) -> str:
    """{"switch": {...}, "port": [{...}, ...]} as TOML text."""
    lines = []
    if "switch" in config:
        lines.append("[switch]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in config["switch"].items()]
        lines.append("")
    for port in config.get("port", []):
        lines.append("[[port]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in port.items()]
        lines.append("")
    return "\n".join(lines)


# --- processes -------------------------------------------------------------


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
    """Sends sig, then SIGKILL if the process is still there after timeout."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
    return proc.returncode


def pids_of(binary_name: str) -> list[int]:
    """Pids of running processes whose executable's base name is binary_name."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            exe = os.readlink(d / "exe")
        except OSError:
            continue
        if os.path.basename(exe).removesuffix(" (deleted)") == binary_name:
            pids.append(int(d.name))
    return pids


def process_cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


# --- JSON-RPC --------------------------------------------------------------


class RpcError(Exception):
    def __init__(self, code: int, message: str, data=None):
        super().__init__(f"JSON-RPC error {code}: {message}")
        self.code = code
        self.message = message
        self.data = data


class RpcClient:
    """One connection per call: simple, and survives a switch restart."""

    def __init__(self, path: str, timeout: float = 5.0):
        self.path = path
        self.timeout = timeout
        self._id = 0

    def call_raw(self, request: dict) -> dict:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(self.timeout)
            s.connect(self.path)
            s.sendall(json.dumps(request).encode() + b"\n")
            buf = b""
            while b"\n" not in buf:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError(f"{self.path}: connection closed before a reply (got {buf!r})")
                buf += chunk
        return json.loads(buf.split(b"\n", 1)[0])

    def call(self, method: str, params=None):
        self._id += 1
        request = {"jsonrpc": "2.0", "id": self._id, "method": method}
        if params is not None:
            request["params"] = params
        reply = self.call_raw(request)
        assert reply.get("jsonrpc") == "2.0" and reply.get("id") == self._id, reply
        if "error" in reply:
            e = reply["error"]
            raise RpcError(e.get("code"), e.get("message", ""), e.get("data"))
        return reply["result"]


# --- the switch ------------------------------------------------------------


class Switch:
    """nfv-switch started from a config dict; the control socket is its readiness signal."""

    def __init__(self, lab: "Lab", config: dict, name: str = "switch"):
        self.lab = lab
        self.name = name
        self.config = config
        self.socket = config.setdefault("switch", {}).setdefault("socket", lab.path(f"{name}.ctl"))
        config["switch"].setdefault("cores", [SWITCH_CPU])
        config["switch"].setdefault("memory_mb", 256)
        self.config_file = lab.logdir / f"{name}.toml"
        self.config_file.write_text(to_toml(config))
        self.proc: subprocess.Popen | None = None
        self.log_file: Path | None = None
        self.rpc = RpcClient(self.socket)
        self.starts = 0

    def start(self, timeout: float = 30.0, extra_args=()) -> "Switch":
        self.starts += 1
        self.log_file = self.lab.logdir / f"{self.name}.{self.starts}.log"
        cmd = [str(SWITCH_BIN), "--config", str(self.config_file), *extra_args]
        self.proc = self.lab.spawn(cmd, self.log_file)

        def answers():  # a switch killed with SIGKILL leaves its socket file: wait for an answer
            if self.proc.poll() is not None:
                return True
            try:
                return os.path.exists(self.socket) and self.call("port.list") is not None
            except ConnectionRefusedError:
                return False

        wait_for(answers, timeout, what=f"{self.name} answering on {self.socket}")
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before it was ready:\n{self.log()}")
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        return stop_process(self.proc, sig, timeout)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file and self.log_file.exists() else ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # conveniences over the RPC API
    def call(self, method: str, params=None):
        return self.rpc.call(method, params)

    def port(self, name: str) -> dict:
        return self.call("port.show", {"name": name})

    def stats(self) -> dict[str, dict]:
        return {p["name"]: p for p in self.call("stats")["ports"]}

    def macs(self) -> list[dict]:
        return self.call("mac.list")

    def wait_link(self, names, up: bool = True, timeout: float = 20.0):
        want = "up" if up else "down"
        names = [names] if isinstance(names, str) else list(names)

        def ok():
            links = {p["name"]: p["link"] for p in self.call("port.list")}
            return all(links.get(n) == want for n in names)

        wait_for(ok, timeout, interval=0.1, what=f"link {want} on {names}")


# --- testpmd ---------------------------------------------------------------


class TestPmdError(Exception):
    pass


# What `set verbose 1` prints for each received burst, one write per line (stdout
# is line-buffered and a burst of BURST frames stays below stdio's buffer size).
_VERBOSE_LINES_RE = re.compile(r"port \d+/queue \d+: (?:received|sent) \d+ packets\n|  src=[^\n]*\n|  ol_flags:[^\n]*\n")


class TestPmd:
    """dpdk-testpmd in interactive mode with one virtio_user port (port 0).

    Commands are written to stdin one at a time; a command is complete when the
    next "testpmd> " prompt appears. stdout is line-buffered through stdbuf so
    that printf output comes before the next prompt.
    """

    PROMPT = "testpmd> "
    MEMORY_MB = 128
    __test__ = False  # not a pytest test class

    def __init__(self, lab: "Lab", name: str, sock: str, mac: str, peer: str = BROADCAST,
                 server: bool = False, extra_vdev: str = "", extra_args=(), queues: int = 1):
        self.lab = lab
        self.name = name
        self.sock = sock
        self.mac = mac.lower()
        self.peer = peer
        self.server = server
        self.extra_vdev = extra_vdev
        self.extra_args = list(extra_args)
        self.queues = queues
        self.proc: subprocess.Popen | None = None
        self.prefix = ""
        self.port_mac = ""  # what testpmd reports for port 0 (after start)
        self.starts = 0
        self._buf = ""
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 30.0, rxonly: bool = True) -> "TestPmd":
        self.starts += 1
        self.prefix = f"{PREFIX}-{self.name}-{_next_seq()}"
        vdev = self._vdev()
        if self.extra_vdev:
            vdev += "," + self.extra_vdev
        cmd = ["stdbuf", "-oL", "-eL", "taskset", "-c", str(PEER_CPU), TESTPMD_BIN,
               # main lcore 0 reads commands, forwarding lcore 1 polls; both on the peer CPU
               "--lcores", f"0@{PEER_CPU},1@{PEER_CPU}", "--main-lcore", "0",
               "--in-memory", "--file-prefix", self.prefix, "--no-pci", "--single-file-segments",
               "--no-telemetry", "-m", str(self.MEMORY_MB), "--vdev", vdev,
               "--", "-i", "--no-mlockall", f"--eth-peer=0,{self.peer}", f"--burst={BURST}",
               f"--txpkts={FRAME_LEN}", "--total-num-mbufs=2048", "--rxd=256", "--txd=256",
               f"--rxq={self.queues}", f"--txq={self.queues}", *self.extra_args]
        self._buf = ""
        self.log_file = self.lab.logdir / f"testpmd-{self.name}.{self.starts}.log"
        self.proc = self.lab.spawn(cmd, None, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, prefix=self.prefix)
        self._reader = threading.Thread(target=self._read_loop, args=(self.proc,), daemon=True)
        self._reader.start()
        self._wait_text(self.PROMPT, 0, timeout, "startup prompt")
        m = re.search(r"Port 0: ([0-9A-Fa-f:]{17})", self._buf)
        if not m:
            raise TestPmdError(f"testpmd {self.name}: no port was probed:\n{self._buf}")
        self.port_mac = m.group(1).lower()
        if rxonly:
            self.cmd("set fwd rxonly")
            self.cmd("start")
        return self

    def _vdev(self) -> str:
        vdev = f"net_virtio_user0,path={self.sock},queues={self.queues},mac={self.mac}"
        if self.server:
            vdev += ",server=1"
        return vdev

    def _read_loop(self, proc):
        with open(self.log_file, "w") as log:
            while True:
                data = proc.stdout.read1(65536) if hasattr(proc.stdout, "read1") else proc.stdout.read(1)
                if not data:
                    break
                text = data.decode(errors="replace")
                log.write(text)
                log.flush()
                with self._cond:
                    self._buf += text
                    self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def _wait_text(self, text: str, offset: int, timeout: float, what: str) -> int:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                i = self._buf.find(text, offset)
                if i >= 0:
                    return i
                if text == self.PROMPT and self.PROMPT in _VERBOSE_LINES_RE.sub("", self._buf[offset:]):
                    # testpmd writes its prompt one byte at a time: frames printed by the
                    # forwarding lcore (set verbose) may land between the bytes
                    return len(self._buf)
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise TestPmdError(f"testpmd {self.name} exited ({self.proc.returncode}) "
                                       f"waiting for {what}:\n{self._buf[-4000:]}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestPmdError(f"testpmd {self.name}: timed out waiting for {what}:\n{self._buf[-4000:]}")
                self._cond.wait(min(left, 0.2))

    @property
    def output(self) -> str:
        with self._cond:
            return self._buf

    def mark(self) -> int:
        """An offset into the output, for output_since()."""
        with self._cond:
            return len(self._buf)

    def output_since(self, mark: int) -> str:
        with self._cond:
            return self._buf[mark:]

    def cmd(self, line: str, timeout: float = 20.0) -> str:
        """Runs one command; returns what it printed (the echo line included)."""
        if self.proc is None or self.proc.poll() is not None:
            raise TestPmdError(f"testpmd {self.name} is not running")
        start = self.mark()
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()
        end = self._wait_text(self.PROMPT, start, timeout, f"the prompt after '{line}'")
        return self.output_since(start)[: end - start]

    # -- traffic --

    def set_peer(self, mac: str):
        """Destination MAC of the frames send() makes. Stops forwarding (testpmd requires it)."""
        self.cmd("stop")
        out = self.cmd(f"set eth-peer 0 {mac}")
        if "Please stop" in out or "Bad arguments" in out or "Invalid" in out:
            raise TestPmdError(f"testpmd {self.name}: set eth-peer failed: {out}")
        self.peer = mac

    def send(self, bursts: int, to: str | None = None) -> int:
        """Sends bursts*BURST frames (source: own MAC, destination: `to` or the peer).

        `start tx_first` sends its bursts before it returns to the prompt; the
        rxonly forwarding that follows keeps receiving. Returns the frames sent.
        """
        before = self.stats()["tx_packets"]
        self.cmd("stop")
        if to is not None:
            self.set_peer(to)
        out = self.cmd(f"start tx_first {bursts}")
        if "Packet forwarding already started" in out:
            raise TestPmdError(f"testpmd {self.name}: {out}")
        sent = self.stats()["tx_packets"] - before
        return sent

    def start_txonly(self, to: str | None = None):
        """Sends continuously, as fast as the peer CPU allows, until stop_txonly()."""
        self.cmd("stop")
        if to is not None:
            self.set_peer(to)
        self.cmd("set fwd txonly")
        out = self.cmd("start")
        if "txonly packet forwarding" not in out:
            raise TestPmdError(f"testpmd {self.name}: txonly did not start: {out}")

    def stop_txonly(self):
        self.cmd("stop")
        self.cmd("set fwd rxonly")
        self.cmd("start")

    def wait_rx_growing(self, timeout: float = 5.0) -> int:
        """Waits until the rx count grows; returns the new count."""
        first = self.rx_packets()
        return wait_for(lambda: (n := self.rx_packets()) > first and n, timeout,
                        what=f"frames arriving at testpmd {self.name}")

    _STATS_RE = {
        "rx_packets": r"RX-packets:\s*(\d+)",
        "rx_missed": r"RX-missed:\s*(\d+)",
        "rx_bytes": r"RX-bytes:\s*(\d+)",
        "rx_errors": r"RX-errors:\s*(\d+)",
        "rx_nombuf": r"RX-nombuf:\s*(\d+)",
        "tx_packets": r"TX-packets:\s*(\d+)",
        "tx_errors": r"TX-errors:\s*(\d+)",
        "tx_bytes": r"TX-bytes:\s*(\d+)",
    }

    def stats(self) -> dict[str, int]:
        """Port 0's ethdev counters (cumulative since the port started)."""
        out = self.cmd("show port stats 0")
        section = out[out.find("NIC statistics for port 0"):]
        result = {}
        for key, rx in self._STATS_RE.items():
            m = re.search(rx, section)
            if not m:
                raise TestPmdError(f"testpmd {self.name}: no {key} in:\n{out}")
            result[key] = int(m.group(1))
        return result

    def rx_packets(self) -> int:
        return self.stats()["rx_packets"]

    def wait_rx(self, expected: int, timeout: float = 10.0, settle: float = 0.3) -> int:
        """Waits until at least `expected` frames were received, then `settle` seconds
        more so that extra frames would show too. Returns the final count."""
        deadline = time.monotonic() + timeout
        n = self.rx_packets()
        while n < expected and time.monotonic() < deadline:
            time.sleep(0.05)
            n = self.rx_packets()
        time.sleep(settle)
        return self.rx_packets()

    def link_up(self) -> bool:
        out = self.cmd("show port info 0")
        m = re.search(r"Link status:\s*(\w+)", out)
        return bool(m) and m.group(1) == "up"

    def quit(self, timeout: float = 15.0) -> int:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                stop_process(self.proc)
        self._reader.join(timeout=5)
        self.lab.forget_prefix(self.prefix)
        return self.proc.returncode

    def kill(self):
        """SIGKILL, as a crashing VM would die."""
        self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        self.lab.forget_prefix(self.prefix)


class TestPmdVhost(TestPmd):
    """dpdk-testpmd with one net_vhost port (port 0): testpmd is the vhost-user back-end.

    server=True (the default, net_vhost's own default): testpmd creates the socket
    and the front-end connects; server=False: testpmd connects (client=1) to a
    front-end listening there. The port's MAC is net_vhost's fixed
    56:48:4f:53:54:00 (see port_mac); frames testpmd sends carry it as source.
    """

    MEMORY_MB = 256
    __test__ = False

    def __init__(self, lab: "Lab", name: str, sock: str, peer: str = BROADCAST, server: bool = True, **kw):
        super().__init__(lab, name, sock, mac="", peer=peer, server=server, **kw)

    def _vdev(self) -> str:
        vdev = f"net_vhost0,iface={self.sock},queues={self.queues}"
        if not self.server:
            vdev += ",client=1"
        return vdev

    def start(self, timeout: float = 30.0, rxonly: bool = True) -> "TestPmdVhost":
        super().start(timeout, rxonly)
        self.mac = self.port_mac
        return self

    def forget_socket(self):
        """After a kill: a net_vhost server leaves its socket file, and a new one
        refuses to bind over it (as QEMU's restart would, the caller cleans up)."""
        if self.server and os.path.exists(self.sock):
            os.unlink(self.sock)


# --- the SDK's sample VNF --------------------------------------------------


class ControlledProgram:
    """A program of ours with a JSON-RPC control socket (LAB/NAME.ctl) started through the Lab:
    subclasses give command(). Readiness: the socket answers `status` (the file alone is not
    enough: it exists from bind() on, and a connect() before listen() is refused)."""

    def __init__(self, lab: "Lab", name: str):
        self.lab = lab
        self.name = name
        self.socket = lab.path(f"{name}.ctl")
        self.rpc = RpcClient(self.socket)
        self.proc: subprocess.Popen | None = None
        self.log_file: Path | None = None
        self.starts = 0

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 20.0):
        self.starts += 1
        self.log_file = self.lab.logdir / f"{self.name}.{self.starts}.log"
        self.proc = self.lab.spawn(self.command(), self.log_file)

        def answers():
            if self.proc.poll() is not None:
                return True
            try:
                return os.path.exists(self.socket) and self.call("status") is not None
            except ConnectionRefusedError:  # between bind() and listen()
                return False

        wait_for(answers, timeout, what=f"{self.name} answering on {self.socket}")
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before it was ready:\n{self.log()}")
        return self

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        return stop_process(self.proc, sig, timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file and self.log_file.exists() else ""

    def call(self, method: str, params=None):
        return self.rpc.call(method, params)


class L2fwd(ControlledProgram):
    """nfv-l2fwd (sample-vnfs/l2fwd): `ports` are port specs ("vhost-user:PATH[,server]...")."""

    def __init__(self, lab: "Lab", ports: list[str], mode: str = "reflect", cpus: str | None = "1",
                 name: str = "l2fwd", extra_args=()):
        super().__init__(lab, name)
        self.ports = list(ports)
        self.mode = mode
        self.cpus = cpus
        self.extra_args = list(extra_args)

    def command(self) -> list[str]:
        cmd = [str(L2FWD_BIN), "--mode", self.mode, "--control", self.socket]
        for p in self.ports:
            cmd += ["--port", p]
        if self.cpus is not None:
            cmd += ["--cpus", self.cpus]
        return cmd + self.extra_args

    def status(self) -> dict:
        return self.call("status")

    def stats(self) -> dict:
        return self.call("stats")

    def port_status(self, i: int = 0) -> dict:
        return self.status()["ports"][i]

    def port_stats(self, i: int = 0) -> dict:
        return self.stats()["ports"][i]

    def wait_link(self, up: bool = True, ports=None, timeout: float = 20.0):
        want = "up" if up else "down"

        def ok():
            st = self.status()["ports"]
            return all(st[i]["link"] == want for i in (range(len(st)) if ports is None else ports))

        wait_for(ok, timeout, interval=0.05, what=f"{self.name} link {want} on ports {ports or 'all'}")

    def wait_quiet(self, period: float = 0.5, timeout: float = 10.0) -> dict:
        """Waits until no port's rx/tx counters changed for `period` seconds; returns the stats."""
        last = [None, time.monotonic(), None]

        def quiet():
            st = self.stats()
            key = [(p["rx_packets"], p["tx_packets"]) for p in st["ports"]]
            if key != last[0]:
                last[0], last[1] = key, time.monotonic()
            last[2] = st
            return time.monotonic() - last[1] >= period

        wait_for(quiet, timeout, interval=0.1, what=f"{self.name} to go quiet")
        return last[2]


class Vm(ControlledProgram):
    """nfv-vmm with `args` (--kernel, --memory, --net ...) and a control socket."""

    def __init__(self, lab: "Lab", args: list[str], name: str = "vm"):
        super().__init__(lab, name)
        self.args = list(args)

    def command(self) -> list[str]:
        return [str(VMM_BIN), "--control", self.socket, *self.args]

    def stats(self) -> dict:
        return self.call("stats")

    def guest(self) -> dict:
        """The counters the guest published last (empty before its first publish)."""
        return self.stats().get("vnf", {})

    def user_exits(self) -> int:
        """Exits that reached nfv-vmm (port I/O and MMIO), all vCPUs."""
        return sum(v["exits"]["io"] + v["exits"]["mmio"] for v in self.stats()["vcpus"])

    def wait_rings(self, timeout: float = 20.0):
        wait_for(lambda: all(n["rings_up"] for n in self.call("status")["net"]), timeout,
                 what=f"{self.name} rings up on every net device")


VERBOSE_RX_RE = re.compile(
    r"src=(?P<src>[0-9A-Fa-f:]{17}) - dst=(?P<dst>[0-9A-Fa-f:]{17}) - pool=\S+ - type=(?P<type>0x[0-9a-fA-F]+)")


def parse_verbose_rx(text: str) -> list[dict]:
    """Frames that testpmd printed with `set verbose 1` (one dict per frame)."""
    frames = []
    for m in VERBOSE_RX_RE.finditer(text):
        line_end = text.find("\n", m.end())
        rest = text[m.end(): line_end if line_end >= 0 else len(text)]
        vlan = re.search(r"VLAN tci=(0x[0-9a-fA-F]+)", rest)
        frames.append({"src": m["src"].lower(), "dst": m["dst"].lower(), "type": int(m["type"], 16),
                       "vlan_tci": int(vlan.group(1), 16) if vlan else None, "line": m.group(0) + rest})
    return frames


# --- a raw vhost-user frontend -------------------------------------------

# Request codes of the vhost-user protocol (QEMU docs/interop/vhost-user.rst).
VHOST_USER_GET_FEATURES = 1
VHOST_USER_SET_FEATURES = 2
VHOST_USER_SET_OWNER = 3
VHOST_USER_RESET_OWNER = 4
VHOST_USER_SET_MEM_TABLE = 5
VHOST_USER_SET_LOG_BASE = 6
VHOST_USER_SET_VRING_NUM = 8
VHOST_USER_SET_VRING_ADDR = 9
VHOST_USER_SET_VRING_BASE = 10
VHOST_USER_GET_VRING_BASE = 11
VHOST_USER_SET_VRING_KICK = 12
VHOST_USER_SET_VRING_CALL = 13
VHOST_USER_GET_PROTOCOL_FEATURES = 15
VHOST_USER_SET_PROTOCOL_FEATURES = 16
VHOST_USER_GET_QUEUE_NUM = 17
VHOST_USER_SET_VRING_ENABLE = 18

VHOST_USER_VERSION = 0x1
VHOST_USER_REPLY = 0x4
VHOST_USER_NEED_REPLY = 0x8
VHOST_USER_HDR = struct.Struct("<III")  # request, flags, size


class VhostUserFrontend:
    """Speaks the vhost-user wire protocol (frontend side) over a unix socket."""

    def __init__(self, path: str, timeout: float = 2.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)

    def send_raw(self, data: bytes, fds=()):
        if fds:
            self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))])
        else:
            self.sock.sendall(data)

    def send(self, request: int, payload: bytes = b"", flags: int = VHOST_USER_VERSION, size: int | None = None,
             fds=()):
        size = len(payload) if size is None else size
        self.send_raw(VHOST_USER_HDR.pack(request, flags, size) + payload, fds)

    def recv_reply(self) -> tuple[int, int, bytes] | None:
        """(request, flags, payload) or None when the backend closed or did not answer in time."""
        try:
            hdr = self._recv_exact(VHOST_USER_HDR.size)
            if hdr is None:
                return None
            req, flags, size = VHOST_USER_HDR.unpack(hdr)
            payload = self._recv_exact(size) if size else b""
            return req, flags, payload or b""
        except (socket.timeout, ConnectionError):
            return None

    def _recv_exact(self, n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def get_u64(self, request: int) -> int | None:
        self.send(request)
        reply = self.recv_reply()
        if reply is None or len(reply[2]) != 8:
            return None
        return struct.unpack("<Q", reply[2])[0]

    def closed_by_peer(self, timeout: float = 2.0) -> bool:
        """True when the backend has closed the connection (reads EOF/reset)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(4096)
                if not data:
                    return True
        except socket.timeout:
            return False
        except ConnectionError:
            return True

    def close(self):
        self.sock.close()


# --- one test's world ------------------------------------------------------


class Lab:
    """Processes and files of one test. cleanup() kills what is left and removes sockets."""

    def __init__(self, logdir: Path):
        self.logdir = Path(logdir)
        self.logdir.mkdir(parents=True, exist_ok=True)
        # Unix socket paths must stay short (108 bytes): keep them out of pytest's tmp_path.
        self.sockdir = Path(tempfile.mkdtemp(prefix=f"{PREFIX}-", dir="/tmp"))
        self.procs: list[subprocess.Popen] = []
        self.prefixes: set[str] = set()
        self._log_handles = []
        self.switches: list[Switch] = []
        self.pmds: list[TestPmd] = []
        self.l2fwds: list[L2fwd] = []
        self.vms: list[Vm] = []

    def path(self, name: str) -> str:
        return str(self.sockdir / name)

    def spawn(self, cmd, log_file: Path | None, prefix: str | None = None, **kw) -> subprocess.Popen:
        if log_file is not None:
            fh = open(log_file, "w")
            self._log_handles.append(fh)
            kw.setdefault("stdout", fh)
            kw.setdefault("stderr", subprocess.STDOUT)
        kw.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(cmd, **kw)
        STARTED_PIDS.add(proc.pid)
        self.procs.append(proc)
        if prefix:
            self.prefixes.add(prefix)
        return proc

    def forget_prefix(self, prefix: str):
        """Removes the (empty) runtime directory DPDK leaves under /var/run/dpdk."""
        shutil.rmtree(DPDK_RUN_DIR / prefix, ignore_errors=True)

    def switch(self, ports: list[dict], start: bool = True, **switch_keys) -> Switch:
        sw = Switch(self, {"switch": dict(switch_keys), "port": ports}, name=f"switch{len(self.switches) or ''}")
        self.switches.append(sw)
        return sw.start() if start else sw

    def testpmd(self, name: str, sock: str, mac: str, peer: str = BROADCAST, start: bool = True, **kw) -> TestPmd:
        pmd = TestPmd(self, name, sock, mac, peer, **kw)
        self.pmds.append(pmd)
        return pmd.start() if start else pmd

    def testpmd_vhost(self, name: str, sock: str, peer: str = BROADCAST, start: bool = True, **kw) -> TestPmdVhost:
        pmd = TestPmdVhost(self, name, sock, peer, **kw)
        self.pmds.append(pmd)
        return pmd.start() if start else pmd

    def l2fwd(self, ports: list[str], mode: str = "reflect", start: bool = True, **kw) -> L2fwd:
        vnf = L2fwd(self, ports, mode, name=f"l2fwd{len(self.l2fwds) or ''}", **kw)
        self.l2fwds.append(vnf)
        return vnf.start() if start else vnf

    def vm(self, args: list[str], start: bool = True) -> "Vm":
        vm = Vm(self, args, name=f"vm{len(self.vms) or ''}")
        self.vms.append(vm)
        return vm.start() if start else vm

    def cleanup(self) -> list[str]:
        """Stops every process (SIGTERM, then SIGKILL), removes sockets and DPDK
        run directories. Returns complaints (e.g. a process that needed SIGKILL)."""
        complaints = []
        switch_procs = {sw.proc.pid: sw for sw in self.switches if sw.proc is not None}
        l2fwd_pids = {v.proc.pid for v in self.l2fwds if v.proc is not None}
        vm_pids = {v.proc.pid for v in self.vms if v.proc is not None}
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    if proc.stdin:
                        proc.stdin.close()
                except OSError:
                    pass
                rc = stop_process(proc, signal.SIGTERM, timeout=10)
                name = ("nfv-switch" if proc.pid in switch_procs else
                        "nfv-l2fwd" if proc.pid in l2fwd_pids else
                        "nfv-vmm" if proc.pid in vm_pids else "testpmd")
                if rc == -signal.SIGKILL:
                    complaints.append(f"pid {proc.pid} ({name}) needed SIGKILL")
                elif name != "testpmd" and rc != 0:
                    # every test ends with a SIGTERM shutdown of a running switch/VNF: it must be clean
                    complaints.append(f"{name} (pid {proc.pid}) exited with {rc} on SIGTERM")
        for fh in self._log_handles:
            fh.close()
        for prefix in self.prefixes:
            self.forget_prefix(prefix)
        for sw in self.switches:
            if sw.proc is not None:
                shutil.rmtree(DPDK_RUN_DIR / f"nfv-switch-{sw.proc.pid}", ignore_errors=True)
        shutil.rmtree(self.sockdir, ignore_errors=True)
        return complaints


def leftovers() -> list[str]:
    """What the suite left behind: processes, sockets, hugepage files, DPDK dirs."""
    started_pids = STARTED_PIDS
    found = []
    for name in ("nfv-switch", "dpdk-testpmd", "nfv-l2fwd", "nfv-vmm"):
        for pid in pids_of(name):
            cmdline = process_cmdline(pid)
            if pid in started_pids or PREFIX in cmdline:
                found.append(f"process {pid}: {cmdline}")
    for d in Path("/tmp").glob(f"{PREFIX}-*"):
        found.append(f"directory {d}: {sorted(p.name for p in d.iterdir())}")
    if HUGEPAGE_DIR.is_dir():
        for f in HUGEPAGE_DIR.iterdir():
            if f.name.startswith(PREFIX) or any(f.name.startswith(f"nfv-switch-{pid}map") for pid in started_pids):
                found.append(f"hugepage file {f}")
    if DPDK_RUN_DIR.is_dir():
        for d in DPDK_RUN_DIR.iterdir():
            if d.name.startswith(PREFIX) or any(d.name == f"nfv-switch-{pid}" for pid in started_pids):
                found.append(f"DPDK runtime directory {d}")
    return found


# --- Prometheus endpoints (nfv-switch --metrics, nfv up --metrics) ------------------

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? '
                       r'(-?[0-9.e+]+|NaN|[+-]Inf)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape_metrics(url):
    """GET a Prometheus endpoint: the text, after checking status and content type."""
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.status == 200
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def parse_metrics(text):
    """{name: {"type":..., "help":..., "samples": [(labels dict, value)]}}; asserts the format."""
    families = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name, help_text = line[7:].split(" ", 1)
            families.setdefault(name, {"samples": []})["help"] = help_text
        elif line.startswith("# TYPE "):
            name, typ = line[7:].split(" ")
            assert typ in ("counter", "gauge"), line
            fam = families.setdefault(name, {"samples": []})
            assert "type" not in fam, f"two TYPE lines for {name}"
            fam["type"] = typ
        else:
            m = SAMPLE_RE.match(line)
            assert m, f"not a sample line: {line!r}"
            name = m.group(1)
            assert name in families and "type" in families[name], f"{name} has no TYPE before its samples"
            labels = dict(LABEL_RE.findall(m.group(2) or ""))
            families[name]["samples"].append((labels, float(m.group(5))))
    for name, fam in families.items():
        assert "help" in fam and "type" in fam, name
        if fam["type"] == "counter":
            assert name.endswith("_total"), name
    return families


def metric_value(families, name, **labels):
    """The one sample of `name` whose labels include `labels`."""
    found = [v for lab, v in families[name]["samples"] if all(lab.get(k) == str(x) for k, x in labels.items())]
    assert len(found) == 1, (name, labels, families[name]["samples"])
    return found[0]
