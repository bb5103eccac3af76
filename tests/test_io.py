"""Files: clear errors for missing / unreadable / non-audio input and unwritable output; atomic writes;
conversions (stereo, other sample rates, integer PCM) with a warning; CLI exit codes for bad files."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest
import soundfile as sf

from melrecon import ParameterError, io
from melrecon.apps.cli import EXIT_FAILURE, EXIT_USAGE, main

SR = 16000


def tone(n=SR, f=440.0, amp=0.3):
    return (amp * np.sin(2 * np.pi * f * np.arange(n) / SR)).astype(np.float32)


def _unwritable_folder(tmp_path):
    """A folder this process cannot create files in (skips where permissions do not bind, e.g. root)."""
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        (folder / "probe").write_bytes(b"")
    except OSError:
        return folder
    (folder / "probe").unlink()
    folder.chmod(0o700)
    if sys.platform.startswith("linux") and os.path.isdir("/proc/self"):
        return "/proc/self"  # root ignores permission bits, but nobody can create files in /proc
    pytest.skip("cannot make a folder unwritable for this user")


# --------------------------------------------------------------------------------------------- reading
def test_load_audio_missing_file(tmp_path):
    with pytest.raises(ParameterError, match=r"audio file '.*nope\.wav' does not exist; check the path"):
        io.load_audio(tmp_path / "nope.wav")


def test_load_audio_folder(tmp_path):
    with pytest.raises(ParameterError, match="is not a file"):
        io.load_audio(tmp_path)


@pytest.mark.parametrize("content, message", [
    (b"", r"x.wav' is empty \(0 bytes\); expected a wav, flac or ogg"),
    (b"hello, this is text", "could not be read as audio.*use a wav, flac or ogg"),
    (b"RIFF\x00\x00\x00\x00WAVEjunk", "could not be read as audio.*use a wav, flac or ogg"),
])
def test_load_audio_not_audio(tmp_path, content, message):
    p = tmp_path / "x.wav"
    p.write_bytes(content)
    for read in (io.load_audio, io.audio_length):  # decoded, or its header only
        with pytest.raises(ParameterError, match=message):
            read(p)


def test_load_audio_unreadable(tmp_path):
    p = tmp_path / "x.wav"
    sf.write(str(p), tone(), SR)
    p.chmod(0o000)
    try:
        if os.access(p, os.R_OK):
            pytest.skip("permission bits do not bind for this user (root)")
        with pytest.raises(ParameterError, match="is not readable"):
            io.load_audio(p)
    finally:
        p.chmod(0o600)


def test_load_audio_no_samples(tmp_path):
    p = tmp_path / "empty.wav"
    sf.write(str(p), np.zeros(0, np.float32), SR)
    with pytest.raises(ParameterError, match="has no samples"):
        io.load_audio(p)


def test_load_audio_non_finite_samples(tmp_path):
    p = tmp_path / "nan.wav"
    x = tone()
    x[5] = np.nan
    sf.write(str(p), x, SR, subtype="FLOAT")
    with pytest.raises(ParameterError, match="contains non-finite samples"):
        io.load_audio(p)


def test_load_audio_stereo_is_mixed_down_with_warning(tmp_path):
    p = tmp_path / "st.wav"
    left, right = tone(), tone(f=880.0)
    sf.write(str(p), np.stack([left, right], axis=1), SR, subtype="FLOAT")
    with pytest.warns(UserWarning, match="2 channels; mixing down to mono"):
        x, sr = io.load_audio(p)
    assert sr == SR and x.shape == (SR,)
    np.testing.assert_allclose(x, (left + right) / 2, atol=1e-6)
    y, _ = io.load_audio(p, mono=False)
    assert y.shape == (2, SR)


def test_load_audio_resamples_with_warning(tmp_path):
    p = tmp_path / "a.wav"
    sf.write(str(p), tone(), SR, subtype="FLOAT")
    with pytest.warns(UserWarning, match="at 16000 Hz; resampling to 22050 Hz"):
        x, sr = io.load_audio(p, sample_rate=22050)
    assert sr == 22050 and x.shape == (22050,)
    # still a 440 Hz tone
    spectrum = np.abs(np.fft.rfft(x[2000:-2000]))
    peak = np.argmax(spectrum) * 22050 / len(x[2000:-2000])
    assert peak == pytest.approx(440.0, abs=3.0)


def test_load_audio_bad_sample_rate(tmp_path):
    p = tmp_path / "a.wav"
    sf.write(str(p), tone(), SR)
    with pytest.raises(ParameterError, match="sample_rate=-5"):
        io.load_audio(p, sample_rate=-5)


def test_load_audio_int_pcm_file_is_float(tmp_path):
    p = tmp_path / "a.wav"
    sf.write(str(p), tone(), SR, subtype="PCM_16")
    x, _ = io.load_audio(p)
    assert x.dtype == np.float32 and np.abs(x - tone()).max() < 1e-4


def test_load_mel_errors(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        io.load_mel(tmp_path / "m.npy")
    txt = tmp_path / "m.txt"
    txt.write_text("1 2 3")
    with pytest.raises(ParameterError, match="expected a .npy or .npz"):
        io.load_mel(txt)
    bad = tmp_path / "bad.npy"
    bad.write_bytes(b"not numpy")
    with pytest.raises(ParameterError, match="could not be read"):
        io.load_mel(bad)
    pickled = tmp_path / "obj.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ParameterError, match="could not be read"):
        io.load_mel(pickled)
    many = tmp_path / "many.npz"
    np.savez(many, a=np.ones((80, 3)), b=np.ones((80, 3)))
    with pytest.raises(ParameterError, match=r"holds \['a', 'b'\].*key="):
        io.load_mel(many)
    assert io.load_mel(many, key="b").shape == (80, 3)


# --------------------------------------------------------------------------------------------- writing
def test_save_audio_refuses_bad_audio(tmp_path):
    with pytest.raises(ParameterError, match="NaN or inf"):
        io.save_audio(tmp_path / "a.wav", np.array([0.0, np.nan], np.float32), SR)
    with pytest.raises(ParameterError, match="empty"):
        io.save_audio(tmp_path / "a.wav", np.zeros(0, np.float32), SR)
    with pytest.raises(ParameterError, match="unsupported suffix '.mp3'"):
        io.save_audio(tmp_path / "a.mp3", tone(), SR)
    with pytest.raises(ParameterError, match="sample_rate=0"):
        io.save_audio(tmp_path / "a.wav", tone(), 0)
    with pytest.raises(ParameterError, match="shape"):
        io.save_audio(tmp_path / "a.wav", np.zeros((2, 2, 100), np.float32), SR)
    assert list(tmp_path.iterdir()) == []


def test_save_audio_missing_folder(tmp_path):
    with pytest.raises(ParameterError, match="does not exist; create it first"):
        io.save_audio(tmp_path / "nope" / "a.wav", tone(), SR)


def test_save_audio_destination_is_a_folder(tmp_path):
    (tmp_path / "a.wav").mkdir()
    with pytest.raises(ParameterError, match="is a folder"):
        io.save_audio(tmp_path / "a.wav", tone(), SR)


def test_save_audio_unwritable_folder(tmp_path):
    folder = _unwritable_folder(tmp_path)
    with pytest.raises(ParameterError, match="not writable; choose another output path"):
        io.save_audio(os.path.join(folder, "a.wav"), tone(), SR)
    with pytest.raises(ParameterError, match="not writable"):
        io.check_output_path(os.path.join(folder, "a.wav"), probe=True)


def test_save_audio_clips_with_warning_and_round_trips(tmp_path):
    x = tone()
    x[100] = 1.5
    with pytest.warns(UserWarning, match="peaks at 1.500 > 1; clipping"):
        io.save_audio(tmp_path / "a.wav", x, SR)
    y, sr = sf.read(str(tmp_path / "a.wav"), dtype="float32")
    assert sr == SR and y.shape == x.shape and y[100] == pytest.approx(1.0, abs=1e-4)


def test_overwrite_false_refuses(tmp_path):
    io.save_audio(tmp_path / "a.wav", tone(), SR)
    with pytest.raises(ParameterError, match="exists; pass overwrite=True"):
        io.save_audio(tmp_path / "a.wav", tone(), SR, overwrite=False)


def test_atomic_path_keeps_the_old_file_on_failure(tmp_path):
    dest = tmp_path / "out.txt"
    dest.write_text("old, complete")
    for exc in (RuntimeError("disk full"), KeyboardInterrupt()):
        with pytest.raises(type(exc)):
            with io.atomic_path(dest) as tmp:
                tmp.write_text("new, half-writ")
                raise exc
        assert dest.read_text() == "old, complete"
        assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]  # the temporary file is gone


def test_atomic_path_writes_with_usual_permissions(tmp_path):
    mask = os.umask(0o022)
    try:
        io.save_audio(tmp_path / "a.wav", tone(), SR)
    finally:
        os.umask(mask)
    assert (tmp_path / "a.wav").stat().st_mode & 0o777 == 0o644  # not mkstemp's 0o600
    (tmp_path / "a.wav").chmod(0o640)
    io.save_audio(tmp_path / "a.wav", tone(), SR)  # replacing keeps the file's mode
    assert (tmp_path / "a.wav").stat().st_mode & 0o777 == 0o640


def test_save_mel_round_trip(tmp_path):
    m = np.random.default_rng(0).random((80, 7)).astype(np.float32)
    io.save_mel(tmp_path / "m.npz", m, extra=np.arange(3))
    np.testing.assert_array_equal(io.load_mel(tmp_path / "m.npz"), m)
    with pytest.raises(ParameterError, match=r"unsupported suffix '.txt'; use one of \('.npy', '.npz'\)"):
        io.save_mel(tmp_path / "m.txt", m)


# ----------------------------------------------------------------------------------- CLI file errors
def _run(argv, capsys):
    code = main(argv)
    return code, capsys.readouterr().err


def test_cli_missing_input(tmp_path, capsys):
    code, err = _run(["invert", str(tmp_path / "nope.wav"), str(tmp_path / "o.wav"), "--quiet"], capsys)
    assert code == EXIT_USAGE and "does not exist" in err and "Traceback" not in err


def test_cli_not_audio(tmp_path, capsys):
    (tmp_path / "x.wav").write_text("text")
    code, err = _run(["invert", str(tmp_path / "x.wav"), str(tmp_path / "o.wav"), "--quiet"], capsys)
    assert code == EXIT_USAGE and "could not be read as audio" in err


def test_cli_unsupported_input_suffix(tmp_path, capsys):
    (tmp_path / "x.mp3").write_bytes(b"ID3")
    code, err = _run(["invert", str(tmp_path / "x.mp3"), str(tmp_path / "o.wav"), "--quiet"], capsys)
    assert code == EXIT_USAGE and "unsupported suffix '.mp3'" in err


def test_cli_output_checks_come_before_the_work(tmp_path, capsys):
    src = tmp_path / "a.wav"
    sf.write(str(src), tone(), SR)
    for out, fragment in ((tmp_path / "missing" / "o.wav", "does not exist"),
                          (tmp_path / "o.mp3", "unsupported suffix"),
                          (os.path.join(_unwritable_folder(tmp_path), "o.wav"), "not writable")):
        code, err = _run(["invert", str(src), str(out), "--preset", "seed", "--quiet"], capsys)
        assert code == EXIT_USAGE and fragment in err, err
        assert "Mel SC" not in err  # nothing was reconstructed


def test_cli_refuses_to_overwrite_its_input(tmp_path, capsys):
    src = tmp_path / "a.wav"
    sf.write(str(src), tone(), SR, subtype="FLOAT")
    before = src.read_bytes()
    link = tmp_path / "link.wav"
    os.link(src, link)  # the same file under another name
    for out in (src, link):
        code, err = _run(["invert", str(src), str(out), "--preset", "seed", "--quiet"], capsys)
        assert code == EXIT_USAGE and "is the input file" in err and "--force" in err
    assert src.read_bytes() == before
    code, _ = _run(["invert", str(src), str(src), "--preset", "seed", "--method", "gla", "--n-iter", "2", "--quiet",
                    "--force"], capsys)
    assert code == 0
    y, sr = sf.read(str(src))
    assert sr == SR and y.shape == (SR,)


def test_cli_bad_mel_file(tmp_path, capsys):
    np.save(tmp_path / "m.npy", np.full((80, 20), np.nan, np.float32))
    code, err = _run(["invert", str(tmp_path / "m.npy"), str(tmp_path / "o.wav"), "--quiet"], capsys)
    assert code == EXIT_USAGE and "non-finite" in err
    np.save(tmp_path / "m.npy", np.zeros((128, 20), np.float32))
    code, err = _run(["invert", str(tmp_path / "m.npy"), str(tmp_path / "o.wav"), "--quiet"], capsys)
    assert code == EXIT_USAGE and "128 bands" in err and "--n-mels 80" in err
    assert not (tmp_path / "o.wav").exists()


def test_cli_demo_bad_arguments(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    code, err = _run(["demo", "--out", str(tmp_path / "file"), "--quiet"], capsys)
    assert code == EXIT_USAGE and "is a file; give a folder" in err
    code, err = _run(["demo", "--out", str(tmp_path / "d"), "--presets", "seed,nope", "--quiet"], capsys)
    assert code == EXIT_USAGE and "--presets 'seed,nope': 'nope' is not a preset" in err
    code, err = _run(["demo", "--input", str(tmp_path / "none.wav"), "--out", str(tmp_path / "d"), "--quiet"], capsys)
    assert code == EXIT_USAGE and "does not exist" in err


def test_cli_write_failure_exits_1_and_leaves_the_destination(tmp_path, capsys, monkeypatch):
    src, dst = tmp_path / "a.wav", tmp_path / "o.wav"
    sf.write(str(src), tone(), SR)
    dst.write_bytes(b"old")

    def disk_full(file, *args, **kwargs):
        with open(file, "wb") as fh:
            fh.write(b"partial")
        raise OSError(28, "No space left on device", str(file))

    monkeypatch.setattr(sf, "write", disk_full)
    code, err = _run(["invert", str(src), str(dst), "--preset", "seed", "--method", "gla", "--n-iter", "2",
                      "--quiet"], capsys)
    assert code == EXIT_FAILURE
    assert "melrecon: error: no space left to write" in err and "No space left on device" in err
    assert str(dst) in err and "Traceback" not in err
    assert dst.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav", "o.wav"]


@pytest.mark.filterwarnings("default::RuntimeWarning")  # the CLI reports it (pyproject makes it an error)
def test_cli_diverging_run_writes_the_best_finite_estimate(tmp_path, capsys):
    src, dst = tmp_path / "a.wav", tmp_path / "o.wav"
    sf.write(str(src), tone(), SR)
    code, err = _run(["invert", str(src), str(dst), "--preset", "seed", "--method", "gd", "--n-iter", "40",
                      "--lr", "1e6", "--optimizer", "sgd", "--quiet"], capsys)
    assert code == 0
    assert "melrecon: warning: the loss of stage 'gd' became non-finite" in err
    y, sr = sf.read(str(dst), dtype="float32")
    assert sr == SR and y.shape == (SR,) and np.isfinite(y).all() and np.abs(y).max() > 0.01
