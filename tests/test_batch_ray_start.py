"""How the Ray engine finds its cluster, on real Ray (no mocks), each run in its own Ray temp folder
(``RAY_TMPDIR``: the current-cluster marker lives there): with no ``--ray-address`` it starts a private
local cluster even when a stale marker names a dead cluster, or a running ``ray start --head`` cluster
wrote it; a start that fails is one clear line, in ``batch_summary.json``'s ``error``, exit status 1."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import soundfile as sf

pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="POSIX process groups")]

REPO = Path(__file__).resolve().parents[1]
RAY_BIN = Path(sys.executable).with_name("ray")


@pytest.fixture
def ray_tmp():
    """A short private Ray temp folder (Ray's socket paths must stay short)."""
    folder = Path(tempfile.mkdtemp(prefix="mr", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _env(ray_tmp: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(JAX_PLATFORMS="cpu", RAY_USAGE_STATS_ENABLED="0", RAY_TMPDIR=str(ray_tmp))
    return env


def _batch(tmp_path: Path, ray_tmp: Path, *extra: str) -> subprocess.CompletedProcess:
    from tests.conftest import SPEECH

    src = tmp_path / "in"
    src.mkdir(exist_ok=True)
    x, sr = sf.read(str(SPEECH), dtype="float32")
    sf.write(src / "a.wav", x[: 256 * 12], sr, subtype="FLOAT")
    cmd = [sys.executable, "-m", "melrecon.apps.cli", "batch", str(src), str(tmp_path / "out"), "--engine", "ray",
           "--num-cpus", "1", "--method", "gl", "--iters", "3", "--quiet", *extra]
    return subprocess.run(cmd, env=_env(ray_tmp), cwd=tmp_path, capture_output=True, text=True, timeout=300)


def _written(tmp_path: Path, run: subprocess.CompletedProcess) -> list[str]:
    """The summary's written files, after a run that should have succeeded (skipped when Ray could not start a
    node within its fixed 30 s on a machine this busy: that case is reported, as the last test checks)."""
    if run.returncode != 0 and "timed out during startup" in run.stdout:
        pytest.skip("Ray's node did not start within its 30 s on this busy machine (reported as such: "
                    + run.stdout.strip().splitlines()[-1][:200] + ")")
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads((tmp_path / "out" / "batch_summary.json").read_text())["written"]


def test_stale_marker_is_ignored_without_an_address(tmp_path, ray_tmp):
    marker = ray_tmp / "ray" / "ray_current_cluster"  # where Ray records "the current cluster"
    marker.parent.mkdir(parents=True)
    marker.write_text("127.0.0.1:9")  # left by a Ray that died: nothing listens there
    run = _batch(tmp_path, ray_tmp)
    assert len(_written(tmp_path, run)) == 1


def test_running_head_cluster_is_not_joined_without_an_address(tmp_path, ray_tmp):
    # a head with no CPUs: a run that joined it could never schedule a worker (and would time out)
    head = subprocess.Popen([str(RAY_BIN), "start", "--head", "--num-cpus", "0", "--include-dashboard", "false",
                             "--block"], env=_env(ray_tmp), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        marker = ray_tmp / "ray" / "ray_current_cluster"
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline and head.poll() is None:
            time.sleep(0.2)
        if head.poll() is not None:
            pytest.skip("`ray start --head` did not start on this busy machine")
        assert marker.exists(), "ray start --head wrote no current-cluster marker"
        run = _batch(tmp_path, ray_tmp)
        assert len(_written(tmp_path, run)) == 1
    finally:
        _end_group(head)


def _end_group(proc: subprocess.Popen) -> None:
    """End the process group started here (the head and what it spawned), nothing else: SIGTERM, then SIGKILL
    after 5 s (`ray start --block` takes ~30 s to wind down after SIGTERM; the test has no use for that)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5 if sig == signal.SIGTERM else 60)
            time.sleep(1)  # its children leave the group a moment later
        except subprocess.TimeoutExpired:
            continue


def test_a_start_that_fails_is_one_clear_line_in_the_summary(tmp_path, ray_tmp):
    (ray_tmp / "ray").write_text("a file where Ray needs its folder")  # Ray cannot create its session folder
    run = _batch(tmp_path, ray_tmp)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    error = json.loads((tmp_path / "out" / "batch_summary.json").read_text())["error"]
    assert error and "\n" not in error and "could not start a local cluster" in error
    assert "--engine local" in error and "--ray-address" in error
    assert "STOPPED" in run.stdout and "--engine local" in run.stdout
