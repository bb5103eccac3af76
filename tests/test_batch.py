"""Batches: padded buckets that do not leak, one compilation per bucket, the resumable folder command
(killed with SIGKILL midway, then finished), and sharding over several (forced host) devices."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from melrecon import MelConfig, mel_spectrogram, reconstruct
from melrecon.apps.cli import main as cli_main
from melrecon.methods.planner import plan_buckets
from melrecon.methods.runner import trace_count
from tests.conftest import kill_when_written

REPO = Path(__file__).resolve().parents[1]


def _env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def speech22k(speech_sample):
    x, sr = speech_sample
    assert sr == 22050
    return x


def _mel(x, cfg):
    return np.asarray(mel_spectrogram(x, cfg))


@pytest.mark.parametrize("preset", ["hifigan", "seed"])  # reflect padding / constant (centred) padding
@pytest.mark.parametrize("method,kw", [("gla", dict(n_iter=12)), ("gla+gd", dict(n_iter=[4, 6])),
                                       ("waveform", dict(n_iter=6)),
                                       ("meladmm+melgl", dict(n_iter=[6, 6], init_phase="random"))])
def test_short_item_in_batch_with_long_item_equals_alone(speech22k, preset, method, kw):
    cfg = MelConfig.preset(preset)
    x = speech22k if cfg.sample_rate == 22050 else speech22k[::2].copy()  # any signal will do for 16 kHz
    short, long_ = _mel(x[: cfg.sample_rate // 3 + 77], cfg), _mel(x[: 2 * cfg.sample_rate], cfg)
    assert long_.shape[-1] > 3 * short.shape[-1]
    alone = reconstruct(short, cfg, method=method, progress=False, **kw)
    both = reconstruct([long_, short], cfg, method=method, progress=False, max_buckets=1, **kw)
    assert both[1].settings["batch"]["padded_frames"] >= long_.shape[-1]
    assert both[1].audio.shape == alone.audio.shape == (cfg.n_samples(short.shape[-1]),)
    peak = np.abs(alone.audio).max()
    # Gradient steps amplify the float rounding by which the batched and the single program differ.
    tol = 5e-4 if "gd" in method else 2e-4
    np.testing.assert_allclose(both[1].audio, alone.audio, atol=tol * peak + 1e-7)
    np.testing.assert_allclose(both[1].mel_sc, alone.mel_sc, rtol=1e-3)
    # the per-item history is the item's own, not the batch's
    for name in alone.history:
        if name != "time":
            np.testing.assert_allclose(both[1].history[name], alone.history[name], rtol=2e-3, atol=1e-6)
    assert both[0].audio.shape == (cfg.n_samples(long_.shape[-1]),)


def test_list_results_in_input_order_and_distinct_from_padding(speech22k):
    cfg = MelConfig.preset("hifigan")
    lengths = [9000, 4000, 15000, 6000]
    mels = [_mel(speech22k[:n], cfg) for n in lengths]
    out = reconstruct(mels, cfg, method="gla", n_iter=3, progress=False, batch_size=2, max_buckets=2)
    assert [r.audio.shape[-1] for r in out] == [cfg.n_samples(m.shape[-1]) for m in mels]
    assert [r.spectrogram.shape for r in out] == [(cfg.n_freq, m.shape[-1]) for m in mels]
    assert all(np.isfinite(r.audio).all() and r.mel_sc < 1.0 for r in out)


def test_plan_buckets_covers_every_item_once_with_equal_batch_shapes():
    frames = [37, 400, 120, 121, 90, 300, 301, 55, 210, 33, 250]
    plan = plan_buckets(frames, batch_size=3, max_buckets=3, multiple=2)
    seen = [i for _, members in plan for i in dict.fromkeys(members)]
    assert sorted(seen) == list(range(len(frames)))
    assert len({padded for padded, _ in plan}) <= 3
    for padded, members in plan:
        assert len(members) % 2 == 0 and len(members) <= 4
        assert all(frames[i] <= padded for i in members)
    by_bucket = {}
    for padded, members in plan:
        by_bucket.setdefault(padded, set()).add(len(members))
    assert all(len(sizes) == 1 for sizes in by_bucket.values())  # one shape -> one compilation per bucket


def test_one_compilation_per_bucket_across_chunks_and_calls(speech22k):
    cfg = MelConfig.preset("hifigan")
    mels = [_mel(speech22k[:n], cfg) for n in (7000, 8000, 9000, 9500)]
    before = trace_count("agla")
    reconstruct(mels, cfg, method="agla", n_iter=23, chunk_size=5, progress=False, max_buckets=1, batch_size=2)
    assert trace_count("agla") == before + 1  # 2 batches x 5 chunks (one partial): one trace
    other = [_mel(speech22k[2000:2000 + n], cfg) for n in (6000, 9200)]
    reconstruct(other, cfg, method="agla", n_iter=7, chunk_size=5, progress=False, bucket_frames=40)
    assert trace_count("agla") == before + 1  # same bucket shape: no new compilation
    reconstruct(other, cfg, method="agla", n_iter=7, chunk_size=5, progress=False, bucket_frames=48)
    assert trace_count("agla") == before + 2  # a new bucket length compiles once more


def _make_folder(root: Path, x: np.ndarray, cfg: MelConfig, n_files: int = 8) -> dict[str, int]:
    """Audio files and .npy mels of different lengths; returns output name -> expected samples."""
    expected = {}
    (root / "sub").mkdir(parents=True)
    for i in range(n_files):
        n = 6000 + 1700 * i
        piece = x[(300 * i):(300 * i) + n]
        if i % 3 == 2:
            mel = _mel(piece, cfg)
            np.save(root / "sub" / f"clip{i}.npy", mel)
            expected[f"sub/clip{i}.wav"] = cfg.n_samples(mel.shape[-1])
        else:
            sf.write(root / f"clip{i}.wav", piece, cfg.sample_rate)
            expected[f"clip{i}.wav"] = cfg.n_samples(cfg.n_frames(n))
    return expected


def test_batch_folder_writes_every_file_and_reports_failures(tmp_path, speech22k, capsys):
    cfg = MelConfig.preset("hifigan")
    src, dst = tmp_path / "in", tmp_path / "out"
    expected = _make_folder(src, speech22k, cfg)
    (src / "broken.wav").write_bytes(b"RIFF not really")
    np.save(src / "wrong_bands.npy", np.zeros((40, 30), np.float32))
    rc = cli_main(["batch", str(src), str(dst), "--method", "gl", "--n-iter", "8", "--batch-size", "3",
                   "--max-buckets", "2", "--quiet"])
    assert rc == 1  # some files failed, the others were written
    report = capsys.readouterr().out
    assert "8 written" in report and "2 failed" in report and "broken.wav" in report and "wrong_bands.npy" in report
    for name, n in expected.items():
        audio, sr = sf.read(dst / name, dtype="float32")
        assert sr == cfg.sample_rate and audio.shape == (n,) and np.abs(audio).max() > 1e-3
    summary = json.loads((dst / "batch_summary.json").read_text())
    assert len(summary["written"]) == 8 and set(summary["failed"]) == {str(src / "broken.wav"),
                                                                        str(src / "wrong_bands.npy")}
    # a second run skips what is done
    rc = cli_main(["batch", str(src), str(dst), "--method", "gl", "--n-iter", "8", "--quiet"])
    assert rc == 1 and "0 written, 8 already done" in capsys.readouterr().out


def test_batch_killed_midway_resumes_without_redoing_or_corrupting(tmp_path, speech22k):
    cfg = MelConfig.preset("hifigan")
    src, dst = tmp_path / "in", tmp_path / "out"
    expected = _make_folder(src, speech22k, cfg, n_files=9)
    cmd = [sys.executable, "-m", "melrecon.apps.cli", "batch", str(src), str(dst), "--method", "gl", "--n-iter", "400",
           "--batch-size", "1", "--max-buckets", "3", "--quiet"]
    proc = kill_when_written(cmd, dst, 2, timeout=240, env=_env(), cwd=tmp_path)
    done_at_kill = {}
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed midway"
    for p in dst.rglob("*.wav"):
        if not p.name.startswith("."):
            st = p.stat()
            done_at_kill[p.relative_to(dst).as_posix()] = (st.st_ino, st.st_mtime_ns)
    assert 2 <= len(done_at_kill) < len(expected)
    for name in done_at_kill:  # finished outputs are complete files
        assert sf.read(dst / name, dtype="float32")[0].shape == (expected[name],)

    rc = cli_main(["batch", str(src), str(dst), "--method", "gl", "--n-iter", "20", "--quiet"])
    assert rc == 0
    summary = json.loads((dst / "batch_summary.json").read_text())
    assert len(summary["skipped"]) == len(done_at_kill)
    assert len(summary["written"]) == len(expected) - len(done_at_kill)
    for name, n in expected.items():
        audio, _ = sf.read(dst / name, dtype="float32")
        assert audio.shape == (n,) and np.isfinite(audio).all()
    for name, (ino, mtime) in done_at_kill.items():  # not redone
        st = (dst / name).stat()
        assert (st.st_ino, st.st_mtime_ns) == (ino, mtime)
    assert not list(dst.rglob(".*.part.*"))  # temporary files of the killed run are gone


SHARD_SCRIPT = """
import json, sys
import jax, numpy as np, soundfile as sf
from melrecon import MelConfig, mel_spectrogram, reconstruct
x, _ = sf.read(sys.argv[1], dtype="float32")
cfg = MelConfig.preset("hifigan")
mels = [np.asarray(mel_spectrogram(x[:n], cfg)) for n in (5000, 8000, 11000)]
batch = reconstruct(mels, cfg, method="gla", n_iter=8, progress=False, max_buckets=1)
alone = [reconstruct(m, cfg, method="gla", n_iter=8, progress=False) for m in mels]
print(json.dumps({
    "devices": len(jax.local_devices()),
    "batch": [r.settings["batch"] for r in batch],
    "diff": [float(np.abs(b.audio - a.audio).max()) for b, a in zip(batch, alone)],
    "peak": [float(np.abs(a.audio).max()) for a in alone],
}))
"""


def test_batch_shards_over_two_forced_host_devices(tmp_path):
    out = subprocess.run([sys.executable, "-c", SHARD_SCRIPT, str(REPO / "melrecon" / "data" / "speech.wav")],
                         env=_env(XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu"),
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["devices"] == 2
    assert all(b["devices"] == 2 and b["size"] % 2 == 0 for b in res["batch"])  # 3 items -> filled to 4
    assert all(d <= 1e-3 * p + 1e-7 for d, p in zip(res["diff"], res["peak"]))
