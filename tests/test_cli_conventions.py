"""The command line with toolkit mels: presets, TOML settings and flags, layouts, statistics, .pt/.h5 inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import soxr

from melrecon import PRESETS
from melrecon.apps.cli import main
from melrecon.apps.cli.config_args import config_from_args, config_toml
from melrecon.apps.cli.parser import build_parser as _parser
from melrecon.io.conventions import toolkit_mel

FAST = ["--method", "fgla", "--n-iter", "4", "--quiet"]


@pytest.fixture(scope="module")
def clip(seed_audio):
    """1.5 s of the CMU ARCTIC recording in ../shared (the repo does not contain it)."""
    x, sr = seed_audio
    return x[sr // 2: 2 * sr], sr


def _source(clip, cfg):
    x, sr = clip
    return soxr.resample(x, sr, cfg.sample_rate).astype(np.float32)


def test_presets_lists_every_preset_with_its_source(capsys):
    assert main(["presets"]) == 0
    out = capsys.readouterr().out
    for name, cfg in PRESETS.items():
        assert f"{name}\n" in out and cfg.citation in out


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_config_file_round_trips(name, tmp_path, capsys):
    assert main(["config", "--preset", name]) == 0
    text = capsys.readouterr().out
    assert text == config_toml(name)
    (tmp_path / "my.toml").write_text(text)
    args = _parser().parse_args(["invert", "m.npy", "o.wav", "--config", str(tmp_path / "my.toml")])
    assert config_from_args(args) == PRESETS[name]


def test_flags_override_the_file_and_the_preset(tmp_path):
    (tmp_path / "my.toml").write_text('preset = "vocos"\nn_mels = 80\nfmax = 8000.0\n')
    args = _parser().parse_args(["invert", "m.npy", "o.wav", "--config", str(tmp_path / "my.toml"),
                                 "--hop-length", "200", "--slaney", "--norm", "slaney", "--no-center",
                                 "--pad-mode", "constant", "--compression", "log10", "--floor", "1e-10",
                                 "--layout", "frames-first"])
    cfg = config_from_args(args)
    assert (cfg.sample_rate, cfg.n_mels, cfg.fmax, cfg.hop_length, cfg.mel_scale, cfg.norm) == \
        (24000, 80, 8000.0, 200, "slaney", "slaney")
    assert (cfg.center, cfg.pad, cfg.pad_mode, cfg.compression, cfg.floor, cfg.layout) == \
        (False, 0, "constant", "log10", 1e-10, "frames-first")
    args = _parser().parse_args(["invert", "m.npy", "o.wav", "--preset", "coqui", "--signal-norm", "asymmetric",
                                 "--db-ref", "0", "--no-clip-norm", "--max-norm", "1"])
    cfg = config_from_args(args)
    assert (cfg.signal_norm, cfg.db_ref, cfg.clip_norm, cfg.max_norm, cfg.sample_rate) == \
        ("asymmetric", 0.0, False, 1.0, 22050)
    for text, norm in (("1", 1.0), ("2.5", 2.5), ("inf", float("inf")), ("none", None)):  # librosa's numeric norms
        args = _parser().parse_args(["invert", "m.npy", "o.wav", "--preset", "librosa", "--norm", text])
        assert config_from_args(args).norm == norm
    # With neither a preset nor a file, the default preset.
    assert config_from_args(_parser().parse_args(["invert", "m.npy", "o.wav"])) == PRESETS["hifigan"]


@pytest.mark.parametrize("text, fragment", [
    ("n_mel = 80\n", "unknown key(s) ['n_mel']"),
    ("n_mels = \n", "not valid TOML"),
    ("hop_length = 4096\n", "--hop-length 4096"),
])
def test_bad_config_files(tmp_path, capsys, text, fragment):
    (tmp_path / "bad.toml").write_text(text)
    np.save(tmp_path / "m.npy", np.zeros((80, 30), np.float32) - 5)
    code = main(["invert", str(tmp_path / "m.npy"), str(tmp_path / "o.wav"), "--config", str(tmp_path / "bad.toml"),
                 *FAST])
    assert code == 2 and fragment in capsys.readouterr().err


@pytest.mark.parametrize("name", [n for n in sorted(PRESETS) if PRESETS[n].compression != "none"])
def test_invert_a_toolkit_mel_with_its_preset(name, clip, tmp_path, capsys):
    """Each toolkit's stored mel of a recording the repo does not contain: right rate, length within a hop."""
    cfg = PRESETS[name]
    src = _source(clip, cfg)
    np.save(tmp_path / "mel.npy", toolkit_mel(src, cfg)[None])  # with a leading batch axis of 1
    out = tmp_path / "out.wav"
    assert main(["invert", str(tmp_path / "mel.npy"), str(out), "--preset", name, *FAST]) == 0, \
        capsys.readouterr().err
    y, sr = sf.read(str(out))
    assert sr == cfg.sample_rate
    assert abs(len(y) - len(src)) < cfg.hop_length
    assert np.abs(y).max() > 0.01


def test_invert_refuses_the_wrong_layout_clearly(clip, tmp_path, capsys):
    cfg = PRESETS["espnet"]
    np.save(tmp_path / "mel.npy", toolkit_mel(_source(clip, cfg), cfg).T)  # (80, T) where ESPnet stores (T, 80)
    code = main(["invert", str(tmp_path / "mel.npy"), str(tmp_path / "o.wav"), "--preset", "espnet", *FAST])
    err = capsys.readouterr().err
    assert code == 2 and "--n-mels 80" in err and "pass --layout mels-first." in err
    code = main(["invert", str(tmp_path / "mel.npy"), str(tmp_path / "o.wav"), "--preset", "espnet",
                 "--layout", "mels-first", *FAST])
    assert code == 0


def test_batch_reads_pt_h5_and_npy_with_stats(clip, tmp_path, capsys):
    torch = pytest.importorskip("torch")
    h5py = pytest.importorskip("h5py")
    cfg = PRESETS["espnet"]
    src = _source(clip, cfg)
    mel = toolkit_mel(src, cfg)  # (T, 80)
    mean, std = mel.mean(0), mel.std(0)
    np.savez(tmp_path / "feats_stats.npz", count=np.array(mel.shape[0]), sum=mel.sum(0).astype(np.float64),
             sum_square=(mel.astype(np.float64) ** 2).sum(0))
    norm = ((mel - mean) / std).astype(np.float32)
    (tmp_path / "in").mkdir()
    np.save(tmp_path / "in" / "a.npy", norm)
    torch.save(torch.from_numpy(norm[: len(norm) // 2].copy()), tmp_path / "in" / "b.pt")
    with h5py.File(tmp_path / "in" / "c.h5", "w") as fh:
        fh["feats"] = norm
    code = main(["batch", str(tmp_path / "in"), str(tmp_path / "out"), "--preset", "espnet",
                 "--stats", str(tmp_path / "feats_stats.npz"), *FAST])
    assert code == 0, capsys.readouterr()
    summary = json.loads((tmp_path / "out" / "batch_summary.json").read_text())
    assert sorted(p.rsplit("/", 1)[-1] for p in summary["written"]) == ["a.wav", "b.wav", "c.wav"]
    y, sr = sf.read(str(tmp_path / "out" / "c.wav"))
    assert sr == 22050 and abs(len(y) - len(src)) < cfg.hop_length


def test_invert_with_a_missing_stats_file(tmp_path, capsys):
    np.save(tmp_path / "m.npy", np.zeros((30, 80), np.float32))
    code = main(["invert", str(tmp_path / "m.npy"), str(tmp_path / "o.wav"), "--preset", "espnet",
                 "--stats", str(tmp_path / "nope.npz"), *FAST])
    assert code == 2 and "stats file" in capsys.readouterr().err


@pytest.mark.parametrize("name", [n for n in sorted(PRESETS) if PRESETS[n].compression != "none"])
def test_batch_inverts_a_toolkit_mel_with_its_preset(name, clip, tmp_path, capsys):
    cfg = PRESETS[name]
    src = _source(clip, cfg)
    (tmp_path / "in").mkdir()
    np.save(tmp_path / "in" / "utt.npy", toolkit_mel(src, cfg))
    assert main(["batch", str(tmp_path / "in"), str(tmp_path / "out"), "--preset", name, *FAST]) == 0, \
        capsys.readouterr()
    y, sr = sf.read(str(tmp_path / "out" / "utt.wav"))
    assert sr == cfg.sample_rate and abs(len(y) - len(src)) < cfg.hop_length
