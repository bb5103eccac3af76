"""Every kill and clash: SIGTERM ends ``invert`` and ``batch`` cleanly with status 143 (best so far
written / nothing half-written); two ``batch`` runs on one output folder share the work and never
invert a file twice; a full disk (the file-size limit, RLIMIT_FSIZE: the same OS error path) gives a
clear message and no partial file. Real processes and signals (POSIX only)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from melrecon.apps.batch.jobs import Claims, Manifest, _start_time
from melrecon.apps.cli import EXIT_TERMINATED

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and file-size limits")

REPO = Path(__file__).resolve().parents[1]
SR = 22050


def _env() -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(JAX_PLATFORMS="cpu", PYTHONUNBUFFERED="1")
    return env


def _folder(root: Path, speech: np.ndarray, n_files: int = 8) -> dict[str, int]:
    root.mkdir(parents=True)
    lengths = {f"u{i:02d}.wav": 256 * (12 + 3 * i) for i in range(n_files)}
    for name, n in lengths.items():
        sf.write(root / name, speech[:n], SR, subtype="FLOAT")
    return lengths


def _whole_outputs(dst: Path) -> dict[str, int]:
    """Name -> samples of every finished output (each must read back completely)."""
    return {p.name: sf.read(p, dtype="float32")[0].shape[0] for p in dst.glob("*.wav") if not p.name.startswith(".")}


@pytest.fixture(scope="module")
def speech(speech_sample):
    x, sr = speech_sample
    assert sr == SR
    return x


def test_claims_stand_for_a_live_owner_and_pass_on_when_it_dies(tmp_path):
    mine = Claims(tmp_path)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import socket

        theirs = Claims(tmp_path, owner=f"{socket.gethostname()}:{other.pid}:{_start_time(other.pid)}")
        assert theirs.take("a.wav") and theirs.take("a.wav")  # re-entrant for its owner
        assert not mine.take("a.wav")  # a live owner's claim stands
        assert mine.take("b.wav") and not theirs.take("b.wav")
    finally:
        other.kill()
        other.wait()
    assert mine.take("a.wav")  # its owner died: the claim passes on
    (tmp_path / "c.wav").write_bytes(b"done")
    assert not mine.take("c.wav", done=tmp_path / "c.wav")  # finished meanwhile: nothing to do
    mine.release("a.wav")
    mine.release("b.wav")
    assert not list((tmp_path / ".claims").glob("*.claim"))


def test_manifest_keeps_the_last_record_and_skips_a_torn_line(tmp_path):
    m = Manifest(tmp_path)
    m.append({"output": "a.wav", "status": "failed", "error": "x"})
    m.append({"output": "a.wav", "status": "done", "seconds": 1.5, "mel_sc": 0.1})
    with open(m.path, "ab") as fh:
        fh.write(b'{"output": "b.wav", "sta')  # what a kill in the middle of a write could leave
    assert m.read() == {"a.wav": {"output": "a.wav", "status": "done", "seconds": 1.5, "mel_sc": 0.1}}


@pytest.mark.slow
def test_two_runs_on_one_folder_never_invert_a_file_twice(tmp_path, speech):
    expected = _folder(tmp_path / "in", speech)
    dst = tmp_path / "out"
    cmd = [sys.executable, "-m", "melrecon.apps.cli", "batch", str(tmp_path / "in"), str(dst), "--method", "gl",
           "--n-iter", "120", "--batch-size", "1", "--max-buckets", "8", "--quiet"]
    runs = [subprocess.Popen(cmd, env=_env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outs = [r.communicate(timeout=600) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], [o[1][-2000:] for o in outs]
    assert _whole_outputs(dst) == expected
    done = [rec["output"] for rec in map(json.loads, (dst / "manifest.jsonl").read_text().splitlines())
            if rec["status"] == "done"]
    assert sorted(done) == sorted(expected)  # every file inverted exactly once, by one of the runs
    reports = " ".join(o[0] for o in outs)
    assert sum(int(o[0].split(" written")[0]) for o in outs) == len(expected), reports
    assert not list((dst / ".claims").glob("*.claim")) and not list(dst.glob(".*.part.*"))


def _wait_for(proc, path_test, timeout=300.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the process ended (rc {proc.returncode}) too early: {proc.stderr.read()[-2000:]}")
        if path_test():
            return
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the run did not get far enough in time")


def test_sigterm_in_invert_writes_the_best_so_far_and_exits_143(tmp_path, speech):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, speech[: 256 * 40], SR, subtype="FLOAT")
    proc = subprocess.Popen([sys.executable, "-m", "melrecon.apps.cli", "invert", str(src), str(dst), "--method", "gla",
                             "--n-iter", "10000000", "--seed", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=tmp_path)
    os.set_blocking(proc.stderr.fileno(), False)
    seen = b""

    def progressing():
        nonlocal seen
        seen += proc.stderr.read() or b""
        return b"mel_sc=" in seen  # a first chunk is done

    _wait_for(proc, progressing)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    err = (seen + (err or b"")).decode()
    assert proc.returncode == EXIT_TERMINATED, err[-2000:]
    assert "best result so far was written" in err and "Traceback" not in err
    y, sr = sf.read(dst, dtype="float32")
    assert sr == SR and y.shape == (256 * 40,) and np.isfinite(y).all() and np.abs(y).max() > 1e-3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]


@pytest.mark.slow
def test_sigterm_in_batch_stops_cleanly_and_the_rerun_finishes(tmp_path, speech):
    expected = _folder(tmp_path / "in", speech)
    dst = tmp_path / "out"
    cmd = [sys.executable, "-m", "melrecon.apps.cli", "batch", str(tmp_path / "in"), str(dst), "--method", "gl",
           "--n-iter", "300", "--batch-size", "1", "--max-buckets", "8", "--quiet"]
    proc = subprocess.Popen(cmd, env=_env(), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for(proc, lambda: (dst / "manifest.jsonl").exists())
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == EXIT_TERMINATED, err[-2000:]
    assert "interrupted" in out and "Traceback" not in err
    finished = _whole_outputs(dst)  # every output there is whole
    assert 1 <= len(finished) < len(expected)
    assert all(expected[name] == n for name, n in finished.items())
    assert not list(dst.glob(".*.part.*")) and not list((dst / ".claims").glob("*.claim"))
    summary = json.loads((dst / "batch_summary.json").read_text())
    assert summary["interrupted"] and len(summary["written"]) == len(finished)
    rerun = subprocess.run(cmd[:-7] + ["--n-iter", "20", "--quiet"], env=_env(), cwd=tmp_path, capture_output=True,
                           text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    assert _whole_outputs(dst) == expected


def test_a_stopped_run_reads_the_files_it_finished_from_the_manifest(tmp_path, speech):
    # A stop can land after a group's file and its manifest line are written but before the group's records reach
    # the run's summary (seen once in the SIGTERM test above): the run then adds its own finished lines.
    from melrecon.apps.batch import BatchSummary, invert_folder
    from melrecon.apps.batch.jobs import process_owner
    _folder(tmp_path / "in", speech, n_files=2)
    since = time.time()
    done = invert_folder(tmp_path / "in", tmp_path / "out", method="gla", n_iter=2, batch_size=1, progress=False)
    assert len(done.written) == 2
    manifest = Manifest(tmp_path / "out").read()
    read = {}
    for owner, start in ((process_owner(), since), ("elsewhere:1:1", since), (process_owner(), time.time() + 1)):
        read[owner, start] = BatchSummary()
        read[owner, start].add_finished(manifest, tmp_path / "out", owner, start)
    mine, others, earlier = read.values()
    assert sorted(mine.written) == sorted(done.written)
    assert mine.audio_seconds == pytest.approx(done.audio_seconds)
    assert not others.written and not earlier.written  # another run's lines, or an earlier run's, are not ours


_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write then fails with EFBIG instead of killing us
resource.setrlimit(resource.RLIMIT_FSIZE, ({limit}, {limit}))
from melrecon.apps.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_full_disk_in_invert_gives_a_clear_error_and_no_partial_file(tmp_path, speech):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, speech[: 256 * 60], SR, subtype="PCM_16")  # ~30 KB in, ~30 KB out
    out = subprocess.run([sys.executable, "-c", _LIMITED.format(limit=20_000), "invert", str(src), str(dst),
                          "--method", "gla", "--n-iter", "3", "--quiet"],
                         env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr[-2000:]
    assert "no space left to write" in out.stderr and str(dst) in out.stderr and "Traceback" not in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]  # no output, no temporary


def test_full_disk_in_batch_stops_with_a_clear_error_and_no_partial_file(tmp_path, speech):
    src, dst = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i, n in enumerate((256 * 20, 256 * 60, 256 * 62)):  # ~10 KB fits; ~30 KB does not
        sf.write(src / f"u{i}.wav", speech[:n], SR, subtype="PCM_16")
    out = subprocess.run([sys.executable, "-c", _LIMITED.format(limit=20_000), "batch", str(src), str(dst),
                          "--method", "gla", "--n-iter", "3", "--batch-size", "1", "--max-buckets", "3", "--quiet"],
                         env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1, out.stderr[-2000:]
    assert "STOPPED: no space left to write" in out.stdout, out.stdout
    assert _whole_outputs(dst) == {"u0.wav": 256 * 20}  # the one that fitted, whole; nothing partial
    assert not list(dst.glob(".*.part.*")) and not list((dst / ".claims").glob("*.claim"))


def test_engine_options_are_checked_before_any_work(tmp_path):
    from melrecon.apps.batch import invert_folder
    from melrecon.core.config import ParameterError

    (tmp_path / "in").mkdir()
    with pytest.raises(ParameterError, match="engine='spark'"):
        invert_folder(tmp_path / "in", tmp_path / "out", engine="spark")
    with pytest.raises(ParameterError, match="engine='ray' only"):
        invert_folder(tmp_path / "in", tmp_path / "out", num_cpus=2)
    assert not (tmp_path / "out").exists()
