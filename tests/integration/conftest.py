"""Fixtures for the nfv-switch black-box tests (see nfvtest.py for the helpers).

Run (one DPDK experiment at a time on this machine):
  flock /tmp/nfv-dpdk.lock env NFV_BUILD_DIR=/work/main/build-it \\
      /usr/bin/python3 -m pytest tests/integration -v
When the run is not under that lock, the suite takes it itself.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

import nfvtest

LOCK_FILE = "/tmp/nfv-dpdk.lock"


def _holds_lock_fd() -> bool:
    """True when an inherited descriptor is the lock file (we run under `flock LOCK_FILE ...`)."""
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == LOCK_FILE:
                return True
        except OSError:
            continue
    return False


@pytest.fixture(scope="session", autouse=True)
def dpdk_lock():
    """Serialises DPDK experiments on the shared machine."""
    if _holds_lock_fd():
        yield
        return
    fh = open(LOCK_FILE, "a")
    fcntl.flock(fh, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


@pytest.fixture(scope="session", autouse=True)
def no_leftovers(dpdk_lock):
    """After the suite: no process we started, no socket, no hugepage file, no DPDK dir."""
    yield
    found = nfvtest.leftovers()
    assert not found, "the suite left things behind:\n  " + "\n  ".join(found)


@pytest.fixture(scope="session")
def binaries():
    if not nfvtest.SWITCH_BIN.exists():
        pytest.fail(f"{nfvtest.SWITCH_BIN} is missing: build it, or set NFV_BUILD_DIR to the build directory")
    if not os.access(nfvtest.TESTPMD_BIN, os.X_OK):
        pytest.fail("dpdk-testpmd is missing (apt-get install dpdk)")


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture
def lab(request, tmp_path, binaries):
    """A fresh Lab per test; on teardown every process is stopped and sockets removed.

    When the test failed, the tails of the switch and testpmd logs are printed
    (pytest shows them under "Captured stdout teardown")."""
    world = nfvtest.Lab(tmp_path)
    try:
        yield world
    finally:
        complaints = world.cleanup()
        failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
        if failed:
            for log in sorted(Path(tmp_path).glob("*.log")):
                lines = log.read_text(errors="replace").splitlines()
                keep = 60 if log.name.startswith("switch") else 30
                print(f"===== {log.name} (last {keep} lines) =====")
                print("\n".join(lines[-keep:]))
        assert not complaints, "; ".join(complaints)
