"""What a newcomer meets on the command line: help that matches what runs (per stage), options no stage
takes refused, a batch of mels written one file per item, a run with no progress failing loudly (with a
real ``librosa.feature.melspectrogram`` mel), ``--version``, and ``batch``'s resampling note."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf

import melrecon
from melrecon import MelConfig, reconstruct
from melrecon.apps.cli import main
from melrecon.core import transforms
from melrecon.methods.diagnostics import NoProgressWarning
from tests.conftest import SPEECH, shared_audio


def _help(capsys, command="invert") -> str:
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return " ".join(capsys.readouterr().out.split())


def _help_defaults(text: str) -> dict[str, list[int]]:
    """``--iters``'s help -> {method: [default count per stage]}."""
    listed = re.search(r"--iters .*?\(defaults: (.*?); other pipelines", text).group(1)
    out = {}
    for entry in listed.split("; "):
        name, counts = entry.rsplit(" ", 1)
        out[name] = [int(c) for c in counts.split(",")]
    return out


def _reported(out: str) -> list[tuple[str, int]]:
    """``wrote x.wav (... meladmm 300 + melgl 200 iterations in ...)`` -> [("meladmm", 300), ("melgl", 200)]."""
    text = re.search(r", ([a-z]+ \d+(?: \+ [a-z]+ \d+)*) iterations in", out).group(1)
    return [(name, int(n)) for name, n in (part.split() for part in text.split(" + "))]


@pytest.fixture(scope="module")
def short_mel(tmp_path_factory):
    x, _ = sf.read(str(SPEECH), dtype="float32")
    cfg = MelConfig.preset("seed")
    mel = np.asarray(transforms.mel_spectrogram(x[: cfg.sample_rate // 4], cfg))
    path = tmp_path_factory.mktemp("mel") / "short.npy"
    np.save(path, mel)
    return path


@pytest.mark.parametrize("method", [None, "gl+gd", "lbfgs"])
def test_help_defaults_are_what_runs(method, short_mel, tmp_path, capsys):
    text = _help(capsys)
    defaults = _help_defaults(text)
    from melrecon.methods.resolve import DEFAULT_METHODS

    shown = re.search(r"--method METHOD .*?\(default: by --mel-source, ([a-z+]+) for audio inputs, ([a-z+]+) for mel "
                      r"files\)", text.split("options:")[1])
    assert shown.groups() == (DEFAULT_METHODS["analysis"], DEFAULT_METHODS["predicted"])
    name = method or DEFAULT_METHODS["predicted"]  # the input is a mel file: handed in
    args = ["invert", str(short_mel), str(tmp_path / "o.wav"), "--preset", "seed", "--quiet"]
    code = main(args + (["--method", method] if method else []))
    assert code == 0
    ran = _reported(capsys.readouterr().out)
    assert [n for _, n in ran] == defaults[name], f"help says {defaults[name]} for {name}, the run did {ran}"
    assert len(ran) == len(name.split("+"))


def test_iters_per_stage_runs_exactly_that(short_mel, tmp_path, capsys):
    out = tmp_path / "o.wav"
    assert main(["invert", str(short_mel), str(out), "--preset", "seed", "--iters", "7,5", "--quiet"]) == 0
    assert _reported(capsys.readouterr().out) == [("tolmeladmm", 7), ("tolmelgl", 5)]  # a mel file: handed in
    assert main(["invert", str(short_mel), str(out), "--preset", "seed", "--method", "gl+gd", "--iters", "4,6",
                 "--quiet"]) == 0
    assert _reported(capsys.readouterr().out) == [("fgla", 4), ("gd", 6)]
    # --n-iter is the same option: one count per stage, never silently multiplied
    assert main(["invert", str(short_mel), str(out), "--preset", "seed", "--method", "fgla", "--n-iter", "9",
                 "--quiet"]) == 0
    assert _reported(capsys.readouterr().out) == [("fgla", 9)]


@pytest.mark.parametrize("extra, words", [
    (["--iters", "100"], ["--iters '100' gives 1 count", "2 stage(s)", "tolmeladmm, tolmelgl", "--iters 60,40"]),
    (["--n-iter", "100"], ["gives 1 count", "tolmeladmm+tolmelgl"]),
    (["--iters", "10,x"], ["whole numbers"]),
    (["--gl-iters", "50", "--gd-iters", "50"], ["--gl-iters was replaced by --iters"]),
    (["--method", "fgla", "--lr", "0.1"], ["--lr is not taken by any stage of method 'fgla'"]),
    (["--method", "fgla", "--optimizer", "sgd"], ["--optimizer is not taken", "'fgla'"]),
    (["--method", "lbfgs", "--lr", "0.1"], ["--lr is not taken", "'lbfgs'"]),
    (["--method", "fgla", "--outside", "zero"], ["--outside is not taken", "'fgla'"]),
    (["--method", "fgla", "--metric", "relative"], ["--metric is not taken"]),
    (["--method", "meladmm+melgl", "--tolerance", "0.3"], ["--tolerance is not taken", "'meladmm+melgl'"]),
    (["--method", "lbfgs", "--init", "pghi"], ["--init is not taken", "'lbfgs'"]),
    (["--seed", "3"], ["--seed has no effect", "--init random"]),
    (["--method", "fgla", "--init", "zero", "--seed", "3"], ["--seed has no effect"]),
])
def test_options_no_stage_takes_are_errors(extra, words, short_mel, tmp_path, capsys):
    out = tmp_path / "o.wav"
    code = main(["invert", str(short_mel), str(out), "--preset", "seed", "--quiet", *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    for w in words:
        assert w in err, (w, err)
    assert not out.exists()


def _cli_audio(short_mel, tmp_path, *extra) -> np.ndarray:
    out = tmp_path / ("o_" + "_".join(a.strip("-") for a in extra) + ".wav")
    assert main(["invert", str(short_mel), str(out), "--preset", "seed", "--quiet", "--no-bucket", *extra]) == 0
    return sf.read(str(out), dtype="float32")[0]


def test_stage_option_flags_reach_the_stages(short_mel, tmp_path):
    """Each flag does what the same option does in Python; seeds matter only for random starts."""
    mel = np.load(short_mel)
    py = reconstruct(mel, "seed", method="meladmm+melgl", n_iter=[6, 4], init="pghi", outside="zero",
                     progress=False).audio
    cli = _cli_audio(short_mel, tmp_path, "--method", "meladmm+melgl", "--iters", "6,4", "--init", "pghi",
                     "--outside", "zero")
    assert np.allclose(cli, np.asarray(py), atol=1e-4)
    plain = _cli_audio(short_mel, tmp_path, "--method", "meladmm+melgl", "--iters", "6,4")
    assert not np.allclose(cli, plain, atol=1e-3)  # the options changed the output
    # tolerance 0 and sharpen 0: the noise-aware pipeline is exactly the plain one
    off = _cli_audio(short_mel, tmp_path, "--method", "tolmeladmm+tolmelgl", "--iters", "6,4", "--tolerance", "0",
                     "--sharpen", "0")
    assert np.allclose(off, plain, atol=1e-5)
    a, b = (_cli_audio(short_mel, tmp_path, "--method", "fgla", "--iters", "3", "--seed", s) for s in ("1", "2"))
    assert not np.allclose(a, b, atol=1e-3)


def test_lr_is_used_where_a_stage_takes_it(short_mel, tmp_path, capsys):
    assert main(["invert", str(short_mel), str(tmp_path / "o.wav"), "--preset", "seed", "--method", "gl+gd",
                 "--iters", "3,3", "--lr", "0.05", "--quiet"]) == 0


def test_a_batch_of_mels_writes_one_file_per_item(tmp_path, capsys):
    x, _ = sf.read(str(SPEECH), dtype="float32")
    cfg = MelConfig.preset("seed")
    n = cfg.sample_rate // 4
    mels = np.stack([np.asarray(transforms.mel_spectrogram(x[i * n:(i + 1) * n], cfg)) for i in (0, 2)])
    np.save(tmp_path / "mels.npy", mels)
    code = main(["invert", str(tmp_path / "mels.npy"), str(tmp_path / "out.wav"), "--preset", "seed",
                 "--method", "fgla", "--iters", "30", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert not (tmp_path / "out.wav").exists()
    assert "a batch of 2 mels" in captured.err and "out_0.wav" in captured.err
    for i in (0, 1):
        y, sr = sf.read(tmp_path / f"out_{i}.wav", dtype="float32")
        assert y.ndim == 1 and sr == cfg.sample_rate, f"item {i} became shape {y.shape}"
        again = np.asarray(transforms.mel_spectrogram(y, cfg))[:, : mels.shape[-1]]
        own, other = (np.linalg.norm(again - mels[j]) / np.linalg.norm(mels[j]) for j in (i, 1 - i))
        assert own < 0.5 < other, (i, own, other)  # each file is its own item, not a mixture
    assert captured.out.count("wrote") == 2


@pytest.fixture(scope="module")
def librosa_mel(tmp_path_factory):
    librosa = pytest.importorskip("librosa")
    x, sr = sf.read(str(SPEECH), dtype="float32")
    y = librosa.resample(x[: int(1.5 * sr)], orig_sr=sr, target_sr=22050)
    mel = librosa.feature.melspectrogram(y=y, sr=22050).astype(np.float32)  # power 2, no compression
    path = tmp_path_factory.mktemp("librosa") / "mel.npy"
    np.save(path, mel)
    return path, mel


def test_lbfgs_converges_on_a_librosa_mel(librosa_mel, tmp_path, capsys):
    path, mel = librosa_mel
    out = tmp_path / "out.wav"
    code = main(["invert", str(path), str(out), "--preset", "librosa", "--method", "lbfgs", "--effort", "balanced",
                 "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    sc = float(re.search(r"Mel SC ([0-9.]+)", captured.out).group(1))
    assert sc < 0.2, captured.out
    y, _ = sf.read(out, dtype="float32")
    librosa = pytest.importorskip("librosa")
    again = librosa.feature.melspectrogram(y=y, sr=22050)[:, : mel.shape[1]]
    assert np.linalg.norm(again - mel) / np.linalg.norm(mel) < 0.3  # librosa itself sees the mel again


def test_no_progress_warns_in_the_api_and_fails_in_the_cli(librosa_mel, tmp_path, capsys):
    path, mel = librosa_mel
    # a start from near-silence (the old default) cannot move on a power-2 mel: that must never look fine
    with pytest.warns(NoProgressWarning, match="no progress"):
        res = reconstruct(mel, "librosa", method="lbfgs", n_iter=20, init_noise=1e-3, progress=False)
    assert float(res.mel_sc) > 0.9
    # the CLI: a mel no signal comes near (one Mel bin in one frame), three iterations from the noise start
    silent = np.zeros((128, 40), np.float32)
    silent[60, 20] = 100.0
    np.save(tmp_path / "odd.npy", silent)
    code = main(["invert", str(tmp_path / "odd.npy"), str(tmp_path / "odd.wav"), "--preset", "librosa",
                 "--method", "lbfgs", "--iters", "3", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "no progress" in err and "odd.wav (Mel SC" in err


def test_batch_lists_no_progress_files_and_fails(tmp_path, capsys):
    # the same unreachable mel in a folder: written (finished work is kept) but listed, and the run exits 1
    silent = np.zeros((128, 40), np.float32)
    silent[60, 20] = 100.0
    (tmp_path / "in").mkdir()
    np.save(tmp_path / "in" / "odd.npy", silent)
    code = main(["batch", str(tmp_path / "in"), str(tmp_path / "out"), "--preset", "librosa",
                 "--method", "lbfgs", "--iters", "3", "--quiet"])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "NO PROGRESS" in out and "odd.npy: Mel SC" in out
    assert (tmp_path / "out" / "odd.wav").exists()
    summary = json.loads((tmp_path / "out" / "batch_summary.json").read_text())
    assert list(summary["no_progress"]) == [str(tmp_path / "in" / "odd.npy")]
    assert summary["no_progress"][str(tmp_path / "in" / "odd.npy")] > 0.9


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"melrecon {melrecon.__version__}"


def test_batch_notes_resampling_like_invert(tmp_path, capsys):
    x, sr = sf.read(str(shared_audio("seed_arctic_raw_16k.wav")), dtype="float32")  # 16 kHz
    src = tmp_path / "in"
    src.mkdir()
    sf.write(src / "a.wav", x[: sr // 2], sr)
    assert main(["invert", str(src / "a.wav"), str(tmp_path / "a.wav"), "--preset", "hifigan", "--method", "fgla",
                 "--iters", "3", "--quiet"]) == 0
    note = "a.wav is at 16000 Hz; resampling to 22050 Hz."
    assert f"melrecon: warning: {note}" in capsys.readouterr().err
    assert main(["batch", str(src), str(tmp_path / "out"), "--preset", "hifigan", "--method", "fgla",
                 "--iters", "3", "--quiet"]) == 0
    assert note in capsys.readouterr().out
