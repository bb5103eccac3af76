"""The Ray engine on real local Ray clusters (no mocks): the same audio as the local engine; a worker
process killed mid-run (its batch is retried, nothing is lost); the driver killed with SIGKILL and the
command run again (it resumes and redoes no finished file); a two-node cluster
(``ray.cluster_utils.Cluster``, one CPU per node) losing a node mid-run (the job completes, every file
whole). Clips are a fraction of a second and iterations few: the point is the machinery."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ray = pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(os.name != "posix", reason="POSIX signals")]

from melrecon.apps.batch import invert_folder  # noqa: E402
from melrecon.apps.batch.engines.ray import OBJECT_STORE_BYTES, ray_init  # noqa: E402
from tests.conftest import kill_when_written  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SR = 22050
LENGTHS = tuple(256 * k for k in (16, 20, 25, 31, 37, 43))  # whole hops: the output has the same length
#: Every kind of option the local engine takes (run options and a stage option): the Ray engine takes them too.
RUN = dict(method="gl", n_iter=30, batch_size=1, progress=False, seed=1, pieces="auto", segment_seconds="auto",
           chunk_size=10, init_magnitude="nnls", alpha=0.99)
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def _folder(root: Path, speech: np.ndarray, lengths=LENGTHS) -> dict[str, int]:
    root.mkdir(parents=True)
    for i, n in enumerate(lengths):
        sf.write(root / f"u{i:02d}.wav", speech[:n], SR, subtype="FLOAT")
    return {f"u{i:02d}.wav": n for i, n in enumerate(lengths)}


def _check_whole(dst: Path, expected: dict[str, int]) -> None:
    for name, n in expected.items():
        audio, sr = sf.read(dst / name, dtype="float32")
        assert sr == SR and audio.shape == (n,) and np.isfinite(audio).all() and np.abs(audio).max() > 1e-3
    assert not list(dst.rglob(".*.part.*"))  # no temporary file left


def _done_lines(dst: Path) -> list[dict]:
    lines = [json.loads(line) for line in (dst / "manifest.jsonl").read_text().splitlines()]
    return [rec for rec in lines if rec["status"] == "done"]


def _worker_pids() -> list[int]:
    """Processes of Ray workers running the Inverter (Ray names them ``ray::MapWorker(MapBatches(Inverter))``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"Inverter" in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return [p for p in pids if p != os.getpid()]


@pytest.fixture(scope="module")
def speech(speech_sample):
    x, sr = speech_sample
    assert sr == SR
    return x


class TestLocalCluster:
    @pytest.fixture(scope="class", autouse=True)
    def cluster(self):
        assert ray_init(num_cpus=2)  # a real local Ray cluster of 2 CPUs
        yield
        ray.shutdown()

    def test_ray_engine_gives_the_local_engines_audio(self, tmp_path, speech):
        expected = _folder(tmp_path / "in", speech)
        invert_folder(tmp_path / "in", tmp_path / "local", "hifigan", **RUN)
        remote = invert_folder(tmp_path / "in", tmp_path / "ray", "hifigan", engine="ray", **RUN)
        assert remote.engine == "ray" and not remote.failed and len(remote.written) == len(expected)
        _check_whole(tmp_path / "ray", expected)
        for name in expected:
            a, _ = sf.read(tmp_path / "local" / name, dtype="float32")
            b, _ = sf.read(tmp_path / "ray" / name, dtype="float32")
            np.testing.assert_array_equal(a, b)
        done = {rec["output"]: rec for rec in _done_lines(tmp_path / "ray")}
        assert set(done) == set(expected)
        assert all(rec["engine"] == "ray" and rec["seconds"] > 0 and 0 < rec["mel_sc"] < 1 for rec in done.values())
        # a rerun finds everything done and inverts nothing
        again = invert_folder(tmp_path / "in", tmp_path / "ray", "hifigan", engine="ray", **RUN)
        assert not again.written and len(again.skipped) == len(expected)

    def test_worker_killed_mid_run_is_retried_and_nothing_is_lost(self, tmp_path, speech):
        expected = _folder(tmp_path / "in", speech, LENGTHS + LENGTHS[::-1])
        dst = tmp_path / "out"
        killed: list[int] = []

        def kill_a_worker():
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not killed:
                if (dst / "manifest.jsonl").exists():  # a first file is done: workers are mid-run
                    pids = _worker_pids()
                    if pids:
                        os.kill(pids[0], signal.SIGKILL)
                        killed.append(pids[0])
                time.sleep(0.05)

        killer = threading.Thread(target=kill_a_worker, daemon=True)
        killer.start()
        summary = invert_folder(tmp_path / "in", dst, "hifigan", engine="ray", **{**RUN, "n_iter": 150})
        killer.join(timeout=5)
        assert killed, "no worker process was found to kill"
        assert len(_done_lines(dst)) < len(expected) + 1  # a retried file is done once (or found done)
        assert not summary.failed and not summary.interrupted
        assert len(summary.written) + len(summary.skipped) == len(expected)
        _check_whole(dst, expected)


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(JAX_PLATFORMS="cpu", RAY_USAGE_STATS_ENABLED="0")
    return env


def test_driver_killed_then_rerun_resumes_without_redoing_finished_files(tmp_path, speech):
    expected = _folder(tmp_path / "in", speech, LENGTHS + LENGTHS)
    dst = tmp_path / "out"
    cmd = [sys.executable, "-m", "melrecon.apps.cli", "batch", str(tmp_path / "in"), str(dst), "--engine", "ray",
           "--num-cpus", "1", "--method", "gl", "--n-iter", "150", "--batch-size", "1", "--quiet"]
    proc = kill_when_written(cmd, dst, 2, timeout=400, env=_env(), cwd=tmp_path, start_new_session=True)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed midway"
    time.sleep(3)  # the killed driver's cluster winds down (its workers die with it)
    before = {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in dst.glob("*.wav") if not p.name.startswith(".")}
    assert 2 <= len(before) < len(expected)

    rerun = subprocess.run(cmd[:-5] + ["--n-iter", "20", "--batch-size", "2", "--quiet"], env=_env(), cwd=tmp_path,
                           capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    summary = json.loads((dst / "batch_summary.json").read_text())
    assert len(summary["skipped"]) >= len(before)
    assert len(summary["written"]) + len(summary["skipped"]) == len(expected)
    assert not set(Path(p).name for p in summary["written"]) & set(before)  # no finished file redone
    for name, stamp in before.items():
        st = (dst / name).stat()
        assert (st.st_ino, st.st_mtime_ns) == stamp
    _check_whole(dst, expected)


def test_two_node_cluster_losing_a_node_mid_run_still_completes(tmp_path, speech):
    from ray.cluster_utils import Cluster

    expected = _folder(tmp_path / "in", speech, LENGTHS + LENGTHS)
    dst = tmp_path / "out"
    node_args = dict(num_cpus=1, object_store_memory=OBJECT_STORE_BYTES)
    cluster = Cluster(initialize_head=True, head_node_args=dict(node_args, include_dashboard=False))
    try:
        second = cluster.add_node(**node_args)
        cluster.wait_for_nodes()
        removed: list[bool] = []

        def remove_node():
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if (dst / "manifest.jsonl").exists():
                    cluster.remove_node(second, allow_graceful=False)
                    removed.append(True)
                    return
                time.sleep(0.05)

        ray_init(address=cluster.address)
        remover = threading.Thread(target=remove_node, daemon=True)
        remover.start()
        summary = invert_folder(tmp_path / "in", dst, "hifigan", engine="ray", **{**RUN, "n_iter": 150})
        remover.join(timeout=5)
        assert removed, "the second node was not removed mid-run"
        assert len(ray.nodes()) == 2 and sum(n["Alive"] for n in ray.nodes()) == 1
        assert not summary.failed and not summary.interrupted
        assert len(summary.written) + len(summary.skipped) == len(expected)
        _check_whole(dst, expected)
    finally:
        ray.shutdown()
        cluster.shutdown()
