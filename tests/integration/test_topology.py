"""`nfv up` on the topologies in configs/: each comes up in dependency order,
passes traffic (the generator's result, the switch's and the VNFs' counters),
and tears down clean (no process, socket, DPDK runtime directory or hugepage
file left); the demo's chain runs through a VNF process and a VNF VM
(nfv-vmm); bad topologies (also bad VM entries) are refused with
FILE:LINE:COLUMN before anything starts; a VNF killed with SIGKILL under
traffic is restarted while the switch and the VNF before it keep forwarding, and the counters show
the gap; `nfv status` and `nfv down` work through nfv's control socket, and
so do nfvctl's `vnf list|restart` and `vm list|stop`.

Socket paths of the configs (/run/nfv/...) are moved into the test's socket
directory; nfv's own control socket and run directory go there too.
"""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import nfvtest
from nfvtest import BUILD_DIR, REPO, wait_for

NFV_BIN = BUILD_DIR / "tools" / "nfv" / "nfv"
CONFIGS = REPO / "configs"


VMM_BIN = BUILD_DIR / "vmm" / "nfv-vmm"
L2FWD_ELF = BUILD_DIR / "sample-vnfs" / "l2fwd" / "l2fwd.elf"


@pytest.fixture(autouse=True)
def programs():
    for p in (NFV_BIN, BUILD_DIR / "tools" / "nfv-gen" / "nfv-gen", nfvtest.L2FWD_BIN, nfvtest.NFVCTL_BIN,
              VMM_BIN, L2FWD_ELF):
        if not p.exists():
            pytest.fail(f"{p} is missing: build it (ninja -C {BUILD_DIR})")
    if not os.path.exists("/dev/kvm"):
        pytest.skip("the topologies with VMs need /dev/kvm")


def localize(lab, name: str, edit=None) -> Path:
    """configs/NAME.toml with its /run/nfv/ paths in the lab's socket directory."""
    text = (CONFIGS / f"{name}.toml").read_text().replace("/run/nfv/", lab.path("") + "/")
    if edit:
        text = edit(text)
    path = Path(lab.path(f"{name}.toml"))
    path.write_text(text)
    return path


def nfv_args(lab, path: Path, seconds: float) -> list[str]:
    return [str(NFV_BIN), "up", str(path), "--seconds", str(seconds), "--json",
            "--socket", lab.path("nfv.sock"), "--run-dir", lab.path("run")]


def env():
    return dict(os.environ, NFV_BUILD_DIR=str(BUILD_DIR))


def parse_lines(stdout: str):
    """The --json output: status objects (one a second) and the final result."""
    statuses, result = [], None
    for line in stdout.splitlines():
        obj = json.loads(line)
        if "status" in obj:
            statuses.append(obj["status"])
        elif "result" in obj:
            result = obj["result"]
    return statuses, result


def ours(lab) -> list[str]:
    """Processes still running whose command line names the lab's directory."""
    found = []
    for name in ("nfv", "nfv-switch", "nfv-l2fwd", "nfv-gen", "nfv-vmm"):
        for pid in nfvtest.pids_of(name):
            cmd = nfvtest.process_cmdline(pid)
            if str(lab.sockdir) in cmd:
                found.append(f"{pid}: {cmd}")
    return found


def assert_clean(lab, switch_pid: int | None):
    assert ours(lab) == [], "processes left behind"
    sockets = [p.name for p in Path(lab.sockdir).rglob("*") if p.is_socket()]
    assert sockets == [], f"sockets left behind: {sockets}"
    if switch_pid:
        assert not (nfvtest.DPDK_RUN_DIR / f"nfv-switch-{switch_pid}").exists()
        if nfvtest.HUGEPAGE_DIR.is_dir():
            left = [f.name for f in nfvtest.HUGEPAGE_DIR.iterdir() if f.name.startswith(f"nfv-switch-{switch_pid}")]
            assert left == [], f"hugepage files left behind: {left}"


def port(status: dict, name: str) -> dict:
    return next(p for p in status["ports"] if p["name"] == name)


# --- each config comes up, passes traffic, tears down clean ----------------------

# (config, its generator's tx and rx ports, VNF names)
CONFIG_CASES = {
    "demo": ("gen-tx", "gen-rx", ["fw", "fw-vm"]),
    "p2p": ("gen-tx", "gen-rx", []),
    "pvp": ("gen-tx", "gen-rx", ["l2fwd"]),
    "pvp-vm": ("gen-tx", "gen-rx", ["vm1"]),
    "pvvp": ("gen-tx", "gen-rx", ["fw1", "fw2"]),
    # the demo with its generator yielding CPU 0 to the VNFs ([generator] idle = "yield")
    "demo-yield": ("gen-tx", "gen-rx", ["fw", "fw-vm"]),
}
YIELD = '# idle = "yield"'


@pytest.mark.timeout(90)
@pytest.mark.parametrize("name", list(CONFIG_CASES))
def test_config_comes_up_passes_traffic_and_tears_down(lab, name):
    tx, rx, vnfs = CONFIG_CASES[name]
    if name == "demo-yield":
        path = localize(lab, "demo", lambda t: t.replace(YIELD, YIELD[2:]))
        assert YIELD[2:] in path.read_text() and YIELD not in path.read_text()
    else:
        path = localize(lab, name)
    p = subprocess.run(nfv_args(lab, path, 5), capture_output=True, text=True, timeout=80, env=env())
    assert p.returncode == 0, f"nfv up failed ({p.returncode}):\n{p.stderr}"
    statuses, result = parse_lines(p.stdout)
    assert statuses, p.stdout
    last = statuses[-1]
    assert [v["name"] for v in last["vnfs"]] == vnfs
    assert all(v["state"] == "running" and v["restarts"] == 0 for v in last["vnfs"]), last["vnfs"]
    # the switch saw the generator's frames come in on tx and go out on rx
    assert port(last, tx)["rx_packets"] > 10_000, last
    assert port(last, rx)["tx_packets"] > 10_000, last
    # ...and the generator got them back (some are lost: the generator and the VNFs share CPU 0)
    assert result is not None, p.stdout
    assert result["tx_packets"] > 10_000, result
    assert result["rx_packets"] > 0.2 * result["tx_packets"], result
    assert result["rx_packets"] <= result["tx_packets"], result
    # nfv-gen ran with --idle yield only when asked to, and yielded
    assert (result["yields"] > 0) == (name == "demo-yield"), result
    # every VNF forwarded, by its own counters (a VM's: what its guest published to nfv-vmm)
    for v in last["vnfs"]:
        assert v["rx_packets"] > 1000 and v["tx_packets"] > 1000, v
    assert "switch stopped (exit 0)" in p.stderr, p.stderr
    for v in vnfs:
        assert f"{v} stopped (exit 0)" in p.stderr, p.stderr
    assert_clean(lab, last["switch"]["pid"])


@pytest.mark.timeout(90)
def test_vm_with_two_vcpus_gets_a_queue_pair_per_vcpu(lab):
    # pvp-vm with cpus = 2 and two-queue switch ports: nfv passes queues=2, the guest runs a worker per
    # vCPU, and the chain passes traffic (one switch PMD sends on one queue: worker 0 carries it).
    def two_cpus(t):
        t = t.replace('path = "PFX/vm-in.sock"'.replace("PFX/", lab.path("") + "/"),
                      'path = "PFX/vm-in.sock"\nqueues = 2'.replace("PFX/", lab.path("") + "/"))
        t = t.replace('path = "PFX/vm-out.sock"'.replace("PFX/", lab.path("") + "/"),
                      'path = "PFX/vm-out.sock"\nqueues = 2'.replace("PFX/", lab.path("") + "/"))
        return t.replace('memory = "128M"', 'memory = "256M"\ncpus = 2')
    path = localize(lab, "pvp-vm", two_cpus)
    assert path.read_text().count("queues = 2") == 2 and "cpus = 2" in path.read_text()
    proc = lab.spawn(nfv_args(lab, path, 30), lab.logdir / "nfv.log", env=env())
    vm = wait_for(lambda: (r := nfvctl(lab, "vm", "list"))[0] == 0 and (r[1][0]["tx_packets"] or 0) > 1000 and r[1][0],
                  40, interval=0.5, what="the 2-vCPU VM forwarding")
    assert vm["cpus"] == 2, vm
    cmdline = nfvtest.process_cmdline(vm["pid"])
    assert "--cpus 2" in cmdline and cmdline.count(",queues=2") == 2, cmdline
    stats = nfvtest.RpcClient(vm["control"]).call("stats")
    workers = stats["vnf"]["workers"]
    assert len(workers) == 2 and sum(w["packets"] for w in workers) > 1000, workers
    status = nfvtest.RpcClient(vm["control"]).call("status")
    assert status["cpus"] == 2 and status["cpus_started"] == 2, status
    down = subprocess.run([str(NFV_BIN), "down", "--socket", lab.path("nfv.sock")], capture_output=True, text=True,
                          timeout=60)
    assert down.returncode == 0, down.stderr
    assert proc.wait(30) == 0, (lab.logdir / "nfv.log").read_text()
    assert_clean(lab, None)


# --- bad topologies: refused before anything starts -------------------------------

BAD = {
    "mistyped_key": (lambda t: t.replace('rx_port = "gen-rx"', 'rx_prot = "gen-rx"'),
                     "unknown generator key 'rx_prot'"),
    "unknown_port_in_chain": (lambda t: t.replace('to = "gen-rx"', 'to = "gen-out"'),
                              "chain 'through-fw' names port 'gen-out', which is not a [[port]] of the switch"),
    "two_vnfs_on_one_socket": (lambda t: t.replace('\n[[chain]]\n', '\n[[vnf]]\nname = "fw2"\nkind = "process"\n'
                                                   'binary = "sample-vnfs/l2fwd/nfv-l2fwd"\nports = ["fw-out"]\n\n[[chain]]\n'),
                               "vnf 'fw2' names port 'fw-out'"),
    "missing_elf": (lambda t: t.replace('kernel = "sample-vnfs/l2fwd/l2fwd.elf"', 'kernel = "sample-vnfs/l2fwd/missing.elf"'),
                    "'kernel' is \"sample-vnfs/l2fwd/missing.elf\": \"" + str(BUILD_DIR) +
                    "/sample-vnfs/l2fwd/missing.elf\" does not exist"),
    "vm_nine_cpus": (lambda t: t.replace("cpus = 1 ", "cpus = 9 "),
                     "'cpus' is 9; expected an integer in 1..8 (vCPUs"),
    "vm_too_much_memory": (lambda t: t.replace('memory = "128M"', 'memory = "4G"'),
                           "'memory' is \"4G\", outside 16M..3G"),
    "vm_process_key": (lambda t: t.replace('cmdline = "mode=forward', 'args = ["x"]\ncmdline = "mode=forward'),
                       "'args' is a process key but vnf 'fw-vm' has kind \"vm\""),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_topology_is_refused_before_anything_starts(lab, case):
    edit, message = BAD[case]
    path = localize(lab, "demo", edit)
    text = path.read_text()
    p = subprocess.run(nfv_args(lab, path, 5), capture_output=True, text=True, timeout=20, env=env())
    assert p.returncode == 2, f"{p.returncode}: {p.stderr}"
    assert message in p.stderr, p.stderr
    # FILE:LINE:COLUMN points at the offending text
    prefix = p.stderr.split(": ")[1]
    file, line, column = prefix.rsplit(":", 2)
    assert file == str(path), p.stderr
    offending = text.splitlines()[int(line) - 1][int(column) - 1:]
    assert offending, p.stderr
    assert not os.path.exists(lab.path("run")), "nfv created its run directory"
    assert ours(lab) == []
    # `nfv check` says the same
    c = subprocess.run([str(NFV_BIN), "check", str(path)], capture_output=True, text=True, timeout=20, env=env())
    assert c.returncode == 2 and c.stderr == p.stderr, c.stderr


# --- a VNF killed under traffic ---------------------------------------------------


@pytest.mark.timeout(60)
def test_killed_vnf_is_restarted_while_the_switch_keeps_forwarding(lab):
    # pvvp: gen-tx -> fw1 -> fw2 -> gen-rx. fw2 is killed: fw1 upstream keeps forwarding.
    path = localize(lab, "pvvp")
    proc = lab.spawn(nfv_args(lab, path, 30), None, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     env=env(), text=True)
    statuses = []

    def next_status():
        line = proc.stdout.readline()
        assert line, f"nfv ended early: {proc.stderr.read()}"
        obj = json.loads(line)
        if "status" in obj:
            statuses.append(obj["status"])
        return obj.get("status")

    # traffic flows through both VNFs
    wait_for(lambda: (s := next_status()) and port(s, "gen-rx")["tx_mpps"] > 0.05, 30, interval=0,
             what="traffic through fw1 and fw2")
    before = statuses[-1]
    assert [v["name"] for v in before["vnfs"]] == ["fw1", "fw2"], before["vnfs"]
    victim = before["vnfs"][1]["pid"]
    os.kill(victim, signal.SIGKILL)
    # restarted: a new pid, one restart, running again, and traffic back on gen-rx
    after = wait_for(lambda: (s := next_status()) and s["vnfs"][1]["restarts"] == 1 and
                     s["vnfs"][1]["state"] == "running" and port(s, "gen-rx")["tx_mpps"] > 0.05 and s,
                     15, interval=0, what="fw2 restarted and forwarding again")
    assert after["vnfs"][1]["pid"] != victim
    assert after["switch"]["pid"] == before["switch"]["pid"], "the switch was restarted"
    assert (after["vnfs"][0]["pid"], after["vnfs"][0]["restarts"]) == (before["vnfs"][0]["pid"], 0), "fw1 was touched"
    # all along, the switch kept taking the generator's frames and fw1 kept forwarding them
    during = statuses[statuses.index(before) + 1:]
    assert during and all(port(s, "gen-tx")["rx_mpps"] > 0.05 for s in during), [port(s, "gen-tx") for s in during]
    assert all(s["vnfs"][0]["tx_mpps"] > 0.05 for s in during), [s["vnfs"][0] for s in during]
    # the gap in the counters: the switch dropped what it could not hand to fw2 while it was down
    assert port(after, "fw2-in")["drops"] > port(before, "fw2-in")["drops"], (port(before, "fw2-in"),
                                                                              port(after, "fw2-in"))
    # `nfv status` sees the same; `nfv down` stops the run before its --seconds
    st = subprocess.run([str(NFV_BIN), "status", "--json", "--socket", lab.path("nfv.sock")],
                        capture_output=True, text=True, timeout=20)
    assert st.returncode == 0, st.stderr
    shown = json.loads(st.stdout)
    assert (shown["vnfs"][1]["restarts"], shown["vnfs"][1]["pid"]) == (1, after["vnfs"][1]["pid"]), shown
    down = subprocess.run([str(NFV_BIN), "down", "--socket", lab.path("nfv.sock")],
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 0 and "stopped" in down.stdout, down.stderr
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "down requested on the control socket" in err, err
    assert "killed by SIGKILL; restarting in 0.1 s" in err, err
    _, result = parse_lines(out)
    # the gap: frames sent while fw2 was down are lost, the rest came back
    assert result["streams"][0]["lost"] > 0, result
    assert result["rx_packets"] > 0.2 * result["tx_packets"], result
    assert_clean(lab, after["switch"]["pid"])


# --- nfvctl vnf list|restart, vm list|stop through nfv's control socket ----------------


def nfvctl(lab, *args, json_out=True, timeout=30):
    """nfvctl against the lab's `nfv up`; (exit code, parsed JSON or text, stderr)."""
    cmd = [str(nfvctl_bin()), "--nfv-socket", lab.path("nfv.sock"), *args] + (["--json"] if json_out else [])
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = json.loads(p.stdout) if json_out and p.returncode == 0 else p.stdout
    return p.returncode, out, p.stderr


def nfvctl_bin():
    return nfvtest.NFVCTL_BIN


def by_name(rows: list[dict], name: str) -> dict:
    return next(r for r in rows if r["name"] == name)


@pytest.mark.timeout(90)
def test_nfvctl_vnf_and_vm_verbs_on_the_demo(lab):
    path = localize(lab, "demo")
    metrics = f"127.0.0.1:{nfvtest.free_port()}"
    proc = lab.spawn(nfv_args(lab, path, 60) + ["--metrics", metrics], lab.logdir / "nfv.log", env=env())
    # Up, and frames through the whole chain: both VNFs count (the VM's guest publishes once a second).
    def forwarding():
        code, vnfs, _ = nfvctl(lab, "vnf", "list")
        return code == 0 and all((v["tx_packets"] or 0) > 100 for v in vnfs) and vnfs
    vnfs = wait_for(forwarding, 40, interval=0.5, what="both VNFs forwarding (nfvctl vnf list)")
    assert [(v["name"], v["kind"], v["state"], v["restarts"]) for v in vnfs] == \
        [("fw", "process", "running", 0), ("fw-vm", "vm", "running", 0)], vnfs
    assert by_name(vnfs, "fw-vm")["ports"] == ["vm-in", "vm-out"]
    code, text, err = nfvctl(lab, "vnf", "list", json_out=False)
    assert code == 0 and "RESTARTS" in text and "fw-vm" in text, err

    # vm list: nfv-vmm's view (the guest runs, its exits by reason) and the guest's counters
    code, vms, err = nfvctl(lab, "vm", "list")
    assert code == 0, err
    assert [v["name"] for v in vms] == ["fw-vm"], vms
    vm = vms[0]
    assert vm["state"] == "running" and vm["vm_state"] == "running", vm
    assert vm["cpus"] == 1 and vm["memory"] == "128M" and vm["cmdline"].startswith("mode=forward"), vm
    assert vm["exits_total"] == sum(vm["exits"].values()) and vm["exits_total"] > 0, vm
    assert vm["rx_packets"] > 0 and vm["pid"] == by_name(vnfs, "fw-vm")["pid"], vm
    assert "--name fw-vm" in nfvtest.process_cmdline(vm["pid"])
    code, text, err = nfvctl(lab, "vm", "list", json_out=False)
    assert code == 0 and "EXIT-REASONS" in text and "fw-vm" in text, err

    # nfvctl status: the switch's, then the topology's VNFs
    code, st, err = nfvctl(lab, "--socket", lab.path("switch.sock"), "status")
    assert code == 0 and st["ports"] == 6 and [v["name"] for v in st["vnfs"]] == ["fw", "fw-vm"], (st, err)
    code, text, err = nfvctl(lab, "--socket", lab.path("switch.sock"), "status", json_out=False)
    assert code == 0 and "VNFs of `nfv up`" in text and "fw-vm" in text, (text, err)

    # nfv's Prometheus endpoint: a real scrape, every line in the text format; the VNFs' counters
    # and the VM's exits as vnf list / vm list show them
    fams = nfvtest.parse_metrics(nfvtest.scrape_metrics(f"http://{metrics}/metrics"))
    for name, kind in (("switch", "switch"), ("fw", "process"), ("fw-vm", "vm"), ("generator", "nfv-gen")):
        assert nfvtest.metric_value(fams, "nfv_component_running", component=name, kind=kind) == 1, name
    for name, kind in (("fw", "process"), ("fw-vm", "vm")):
        assert nfvtest.metric_value(fams, "nfv_vnf_restarts_total", vnf=name, kind=kind) == 0
        assert nfvtest.metric_value(fams, "nfv_vnf_rx_packets_total", vnf=name, kind=kind) >= \
            by_name(vnfs, name)["rx_packets"] > 0
    exits = {lab_["reason"]: v for lab_, v in fams["nfv_vm_exits_total"]["samples"] if lab_["vnf"] == "fw-vm"}
    assert exits and sum(exits.values()) >= vm["exits_total"], (exits, vm)

    # vnf restart: a new process, counted, counters from 0 again
    old = by_name(vnfs, "fw")
    code, r, err = nfvctl(lab, "vnf", "restart", "fw")
    assert code == 0, err
    assert r["restarts"] == 1 and r["pid"] != old["pid"] and r["previous"] == "stopped (exit 0)", r
    code, vnfs, _ = nfvctl(lab, "vnf", "list")
    fw = by_name(vnfs, "fw")
    assert (fw["state"], fw["restarts"], fw["pid"]) == ("running", 1, r["pid"]), fw
    assert fw["rx_packets"] is None or fw["rx_packets"] < old["rx_packets"] + 5000, (old, fw)

    # vm stop: the VMM exits cleanly and stays stopped (restart = "on-failure" would not restart it either).
    # The stop does not hold nfv: with the VMM frozen (SIGSTOP) the request waits for it while nfv
    # keeps answering and shows the VM "stopping"; the answer comes once the VMM has exited.
    os.kill(vm["pid"], signal.SIGSTOP)
    stopper = subprocess.Popen([str(nfvctl_bin()), "--nfv-socket", lab.path("nfv.sock"), "--timeout", "30", "--json",
                                "vm", "stop", "fw-vm"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: by_name(nfvctl(lab, "vnf", "list")[1], "fw-vm")["state"] == "stopping", 10, interval=0.2,
                 what="fw-vm 'stopping' in vnf list while its stop waits")
        t0 = time.monotonic()
        st = subprocess.run([str(NFV_BIN), "status", "--json", "--socket", lab.path("nfv.sock")],
                            capture_output=True, text=True, timeout=20)
        assert st.returncode == 0 and time.monotonic() - t0 < 5, st.stderr
        assert stopper.poll() is None, stopper.communicate()
    finally:
        os.kill(vm["pid"], signal.SIGCONT)
    out, err = stopper.communicate(timeout=30)
    assert stopper.returncode == 0, err
    r = json.loads(out)
    assert r == {"name": "fw-vm", "state": "stopped (exit 0)"}, r
    assert vm["pid"] not in nfvtest.pids_of("nfv-vmm")
    time.sleep(1.5)  # a supervision round or more: still stopped
    code, vms, _ = nfvctl(lab, "vm", "list")
    assert (vms[0]["state"], vms[0]["pid"], vms[0]["restarts"]) == ("stopped (exit 0)", None, 0), vms
    # errors: a process is not a VM, an unknown name; both exit 1 with the reason
    code, _, err = nfvctl(lab, "vm", "stop", "fw")
    assert code == 1 and "is a process, not a VM" in err, err
    code, _, err = nfvctl(lab, "vnf", "restart", "nope")
    assert code == 1 and "no vnf 'nope'" in err, err
    # ...and `vnf restart` brings the VM back: ports up again, forwarding again
    code, r, err = nfvctl(lab, "vnf", "restart", "fw-vm")
    assert code == 0 and r["restarts"] == 1 and r["previous"] == "stopped (exit 0)", (r, err)
    wait_for(lambda: (by_name(nfvctl(lab, "vm", "list")[1], "fw-vm")["tx_packets"] or 0) > 100, 30, interval=0.5,
             what="the restarted VM forwarding")

    # nfv status shows the VNFs' counters too; the completion offers the VM names
    st = subprocess.run([str(NFV_BIN), "status", "--socket", lab.path("nfv.sock")], capture_output=True, text=True,
                        timeout=20)
    assert st.returncode == 0 and "TX_PACKETS" in st.stdout and "fw-vm" in st.stdout, st.stderr
    comp = subprocess.run([str(nfvctl_bin()), "completion", "bash"], capture_output=True, text=True, timeout=10)
    assert comp.returncode == 0, comp.stderr
    for words, want in (('vm stop ""', {"fw-vm"}), ('vnf restart ""', {"fw", "fw-vm"})):
        r = subprocess.run(["bash", "-c", comp.stdout + f'\nCOMP_WORDS=(nfvctl {words}); COMP_CWORD=3; _nfvctl; '
                            'echo "${COMPREPLY[@]}"'], capture_output=True, text=True, timeout=20,
                           env=dict(os.environ, NFV_SOCKET=lab.path("nfv.sock"),
                                    PATH=f"{nfvctl_bin().parent}:{os.environ.get('PATH', '/usr/bin:/bin')}"))
        assert set(r.stdout.split()) == want | {"--help", "-h"}, r.stdout + r.stderr
    down = subprocess.run([str(NFV_BIN), "down", "--socket", lab.path("nfv.sock")],
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 0, down.stderr
    assert proc.wait(30) == 0, (lab.logdir / "nfv.log").read_text()
    log = (lab.logdir / "nfv.log").read_text()
    assert "vnf fw restarted on request" in log and "vm fw-vm stopped on request" in log, log
    assert "fw-vm stopped (exit 0)" in log, log
    assert_clean(lab, None)
