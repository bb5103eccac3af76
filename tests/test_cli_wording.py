"""The command's own words (issue 31, item 7), through ``main`` with real files: the package's messages name the
flags (``--compression db``, not ``compression='db'``) in errors, warnings and the batch summary; a mel with
another preset's band count is named with ``--preset``; a usage error is three short lines with the flag meant;
an empty input file is called empty."""

from __future__ import annotations

import re

import numpy as np
import pytest

from melrecon import PRESETS
from melrecon.apps.cli import main
from melrecon.apps.cli.parser import build_parser
from melrecon.apps.cli.wording import FlagWords

FAST = ["--method", "fgla", "--iters", "1", "--quiet"]
#: An API keyword with its value (``n_mels=80``): what no message of the command should show.
API_KEYWORD = re.compile(r"(?<![\w.])[a-z][a-z0-9_]*=")


@pytest.fixture(scope="module")
def mels(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mels")
    rng = np.random.default_rng(0)
    np.save(folder / "db.npy", (rng.random((80, 50)) * 80 - 100).astype(np.float32))  # decibels
    np.save(folder / "log.npy", (rng.random((80, 50)) * 5 - 8).astype(np.float32))  # natural log, 80 bands
    np.save(folder / "log128.npy", (rng.random((128, 50)) * 5 - 8).astype(np.float32))
    np.save(folder / "log90.npy", (rng.random((90, 50)) * 5 - 8).astype(np.float32))  # no preset's band count
    espnet = (np.random.default_rng(0).random((80, 60)) * 6 - 9).astype(np.float32)
    espnet[:, ::2] = -10.0  # many bins at log10(1e-10): ESPnet's floor
    np.save(folder / "espnet_floor.npy", espnet)
    return folder


def _error(capsys, *argv: str) -> str:
    code = main(list(argv))
    err = capsys.readouterr().err
    assert code == 2, err
    return " ".join(err.split())


@pytest.mark.parametrize("mel, flags, words", [
    ("db.npy", ["--preset", "hifigan"],
     ["the log of --floor 1e-05", "not --compression log", "Use --compression db (or convert"]),
    ("log.npy", ["--compression", "none"],
     ["(config 'hifigan+custom', --compression none)", "use --compression log, log10 or db."]),
    ("log.npy", ["--n-fft", "512", "--win-length", "1024"],
     ["--win-length 1024 is longer than --n-fft 512", "use --win-length 512 or less (or --n-fft 1024 or more)"]),
    ("log.npy", ["--hop-length", "2000"], ["--hop-length 2000 is larger", "--hop-length 256)"]),
    ("log.npy", ["--fmax", "20000"], ["--fmax 20000.0 Hz is above", "use --fmax 11025.0 or less"]),
    ("log.npy", ["--signal-norm", "symmetric"],
     ["--signal-norm symmetric / --db-ref 0.0 apply to decibels; set --compression db", "--power 1"]),
    ("log.npy", ["--power", "-1"], ["--power -1.0 must be > 0"]),
    ("log.npy", ["--method", "nope"], ["--method nope: unknown method"]),
])
def test_errors_from_the_api_name_the_flags(mels, tmp_path, capsys, mel, flags, words):
    err = _error(capsys, "invert", str(mels / mel), str(tmp_path / "o.wav"), *FAST, *flags)
    for w in words:
        assert w in err, (w, err)
    assert not API_KEYWORD.search(err), err


def test_warnings_and_the_batch_summary_name_the_flags(mels, tmp_path, capsys):
    assert main(["invert", str(mels / "espnet_floor.npy"), str(tmp_path / "o.wav"), "--preset", "hifigan",
                 *FAST]) == 0
    err = " ".join(capsys.readouterr().err.split())
    assert "melrecon: warning:" in err and "invert it with that preset (--preset espnet)" in err, err
    src = tmp_path / "in"
    src.mkdir()
    (src / "db.npy").write_bytes((mels / "db.npy").read_bytes())
    assert main(["batch", str(src), str(tmp_path / "out"), "--preset", "hifigan", *FAST]) == 1
    out = capsys.readouterr().out
    assert f"FAILED {src / 'db.npy'}" in out and "Use --compression db" in out and not API_KEYWORD.search(out), out


def test_the_table_is_read_off_the_parser():
    words = FlagWords(build_parser().commands.choices["invert"])
    assert words("center=False, center=True, mel_scale='htk', norm=None, n_iter=3") == \
        "--no-center, --center, --htk, --norm none, --iters 3"
    assert words("with config='espnet' (a preset)") == "with --preset espnet (a preset)"
    assert words("pass overwrite=True (CLI: --force) to replace it") == "pass --force to replace it"
    assert words("learning_rate=0.1, init_phase='pghi'") == "--lr 0.1, --init pghi"
    assert words("alpha=0.9 is not a flag of invert") == "alpha=0.9 is not a flag of invert"


@pytest.mark.parametrize("mel, preset, named", [
    ("log.npy", "vocos", [n for n, c in PRESETS.items() if c.n_mels == 80]),
    ("log128.npy", "hifigan", [n for n, c in PRESETS.items() if c.n_mels == 128]),
    ("log90.npy", "hifigan", []),
])
def test_a_mel_of_another_presets_band_count_names_it(mels, tmp_path, capsys, mel, preset, named):
    err = _error(capsys, "invert", str(mels / mel), str(tmp_path / "o.wav"), "--preset", preset, *FAST)
    assert f"config '{preset}' has --n-mels {PRESETS[preset].n_mels}" in err, err
    if not named:
        assert "bands: --preset" not in err, err
        return
    hint = err.split(f"The preset(s) with {PRESETS[named[0]].n_mels} bands: --preset ", 1)[1]
    listed = re.split(r", | or ", hint.rstrip(".").strip())
    assert listed == named, err


@pytest.mark.parametrize("argv, lines", [
    (["invert", "x.npy", "o.wav", "--itres", "5"],
     ["usage: melrecon invert [options] input output",
      "melrecon invert: error: unrecognized arguments: --itres 5; did you mean --iters?",
      "see `melrecon invert --help`"]),
    (["invert", "--iters", "5", "x.npy"],
     ["usage: melrecon invert [options] input output",
      "melrecon invert: error: the following arguments are required: output",
      "see `melrecon invert --help`"]),
    (["stream", "--lookahed", "2", "--prset", "seed"],
     ["usage: melrecon stream [options]",
      "melrecon stream: error: unrecognized arguments: --lookahed 2 --prset seed; --lookahed: did you mean "
      "--lookahead?; --prset: did you mean --preset?",
      "see `melrecon stream --help`"]),
    (["listen", "build", "t", "o.html", "--titel", "x"],
     ["usage: melrecon listen build [options] test_dir out",
      "melrecon listen build: error: unrecognized arguments: --titel x; did you mean --title?",
      "see `melrecon listen build --help`"]),
])
def test_a_usage_error_is_short_and_names_the_flag_meant(capsys, argv, lines):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert capsys.readouterr().err.splitlines() == lines


@pytest.mark.parametrize("name, words", [
    ("empty.wav", ["audio file", "is empty (0 bytes); expected a wav, flac or ogg file of audio"]),
    ("empty.npy", ["mel file", "is empty (0 bytes); expected a Mel array saved as one of ('.npy'"]),
])
def test_an_empty_input_file_is_called_empty(tmp_path, capsys, name, words):
    (tmp_path / name).write_bytes(b"")
    err = _error(capsys, "invert", str(tmp_path / name), str(tmp_path / "o.wav"), *FAST)
    assert f"'{tmp_path / name}'" in err and "Format not recognised" not in err, err
    for w in words:
        assert w in err, (w, err)
    src = tmp_path / "in"
    src.mkdir()
    (src / name).write_bytes(b"")
    assert main(["batch", str(src), str(tmp_path / "out"), *FAST]) == 1  # the same words in batch's summary
    assert "is empty (0 bytes)" in capsys.readouterr().out


def test_summary_says_what_the_run_read_and_leaves_out_what_it_did_not(mels, tmp_path, capsys):
    """The summary line's readings are the run's own (the noise-aware stage's terms): a choice given on the command
    line reads nothing, and the line says so instead of printing NaN."""
    src = str(mels / "log.npy")
    assert main(["invert", src, str(tmp_path / "a.wav"), "--iters", "3,2"]) == 0
    auto = capsys.readouterr().out
    assert "read: noise level" in auto and "band spread" in auto and "nan" not in auto
    assert main(["invert", src, str(tmp_path / "b.wav"), "--iters", "3,2", "--deblur", "0"]) == 0
    given = capsys.readouterr().out
    assert "noise level" in given and "band spread" not in given and "nan" not in given and "deblur 0.00" in given
