"""The SDK as a VNF developer gets it: `meson install`, then a VNF built out of
tree with nothing but `pkg-config nfv-sdk` (tests/data/sdk-example/hello_vnf.cpp)."""
import os
import shutil
import subprocess

from nfvtest import BUILD_DIR, REPO

EXAMPLE = REPO / "tests" / "data" / "sdk-example" / "hello_vnf.cpp"


def _run(cmd, env=None, timeout=300):
    p = subprocess.run(cmd, env=env, timeout=timeout, capture_output=True, text=True)
    assert p.returncode == 0, f"{' '.join(map(str, cmd))} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return p


def test_out_of_tree_vnf_builds_and_runs_against_the_installed_sdk(tmp_path):
    root = tmp_path / "root"
    _run(["meson", "install", "-C", str(BUILD_DIR), "--destdir", str(root), "--no-rebuild", "--quiet"])
    pcs = list(root.rglob("nfv-sdk.pc"))
    assert len(pcs) == 1, f"nfv-sdk.pc not installed exactly once: {pcs}"
    headers = root.rglob("include/nfv/run.hpp")
    assert list(headers), "public headers were not installed"

    env = dict(os.environ, PKG_CONFIG_PATH=str(pcs[0].parent), PKG_CONFIG_SYSROOT_DIR=str(root))
    flags = _run(["pkg-config", "--cflags", "--libs", "nfv-sdk"], env=env).stdout.split()
    # Only the installed tree: no path into the source or build directory.
    for f in flags:
        assert str(REPO) not in f, f"pkg-config flag {f} points into the source tree"
    exe = tmp_path / "hello-vnf"
    cxx = os.environ.get("CXX", "c++")
    _run([shutil.which(cxx) or cxx, "-std=c++20", "-O1", "-Wall", "-Wextra", "-Werror", str(EXAMPLE), *flags,
          "-o", str(exe)], env=env)
    libdir = [f[2:] for f in flags if f.startswith("-L")]
    run_env = dict(os.environ, LD_LIBRARY_PATH=":".join(libdir))
    out = _run([str(exe), "--self-test"], env=run_env, timeout=30).stdout
    assert "self-test ok" in out
    # Bad arguments: a clear message and status 2, as every program of the project.
    bad = subprocess.run([str(exe), "tap:nope"], env=run_env, timeout=30, capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown port type" in bad.stderr
