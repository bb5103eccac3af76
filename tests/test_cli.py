"""The melrecon command: invert a wav and a .npy mel, and the demo's files."""

from __future__ import annotations

import json

import numpy as np
import soundfile as sf

from melrecon import PRESETS
from melrecon.apps.cli import main
from melrecon.core import transforms
from tests.conftest import SPEECH


def test_invert_audio_file(tmp_path, capsys):
    out = tmp_path / "out.wav"
    code = main(["invert", str(SPEECH), str(out), "--preset", "seed", "--iters", "10,10",
                 "--quiet"])
    assert code == 0
    y, sr = sf.read(str(out))
    assert sr == 16000 and np.isfinite(y).all() and np.abs(y).max() > 0.01
    assert "wrote" in capsys.readouterr().out


def test_invert_npy_mel(tmp_path, speech_sample):
    # in this process: `python -m melrecon.apps.cli` is run by test_structure (--version) and the installed
    # `melrecon` command by the wheel test
    x, _ = speech_sample
    cfg = PRESETS["hifigan"]
    mel = np.asarray(transforms.mel_spectrogram(x, cfg))
    np.save(tmp_path / "mel.npy", mel)
    out = tmp_path / "out.flac"
    assert main(["invert", str(tmp_path / "mel.npy"), str(out), "--method", "fgla", "--n-iter", "8", "--quiet"]) == 0
    y, sr = sf.read(str(out))
    assert sr == cfg.sample_rate and len(y) == cfg.n_samples(mel.shape[-1])


def test_invert_reports_a_mismatched_mel(tmp_path, capsys):
    np.save(tmp_path / "mel.npy", np.zeros((64, 30), np.float32))
    code = main(["invert", str(tmp_path / "mel.npy"), str(tmp_path / "o.wav"), "--preset", "hifigan", "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "--n-mels 80" in err and "64 bands" in err
    assert not (tmp_path / "o.wav").exists()


def test_demo_writes_its_files(tmp_path, capsys):
    code = main(["demo", "--out", str(tmp_path), "--presets", "seed", "--iters", "10,20",
                 "--default-iters", "10", "--quiet"])
    assert code == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"seed_gl.wav", "seed_gl_gd.wav", "seed.png", "metrics.md", "metrics.json"} <= names
    rows = json.loads((tmp_path / "metrics.json").read_text())
    assert [r["method"] for r in rows] == ["GL", "GL+GD", "default"]
    assert rows[1]["mel_sc"] < rows[0]["mel_sc"]  # the claim the demo exists to show
    assert "| seed | GL+GD |" in capsys.readouterr().out
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_summary_says_when_the_time_included_compiling(tmp_path, speech_sample):
    """The summary line's time is the iterations'; a run that compiled says how long, and that it is cached."""
    import dataclasses

    from melrecon import reconstruct
    from melrecon.apps.cli.invert import _summary

    x, _ = speech_sample
    cfg = PRESETS["hifigan"]
    res = reconstruct(np.asarray(transforms.mel_spectrogram(x[:8192], cfg)), cfg, method="fgla", n_iter=4)
    line = _summary(tmp_path / "o.wav", dataclasses.replace(res, compile_seconds=2.0), cfg)
    assert "compiled in 2.0 s (cached for next time)" in line and "iterations in" in line
    assert "compiled" not in _summary(tmp_path / "o.wav", dataclasses.replace(res, compile_seconds=0.0), cfg)
