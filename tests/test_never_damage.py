"""Never write damage: a mel in another convention (an ESPnet mean/variance-normalised mel without --stats,
a natural-log mel read as ESPnet's log10) whose result would clip is refused with the convention message
(said once) and the fix, unless --force; any other result that would clip is scaled just below full scale,
with a note of the gain (``invert`` and ``batch``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from melrecon import MelConfig
from melrecon.apps.cli import main
from melrecon.io.conventions import toolkit_mel
from tests.conftest import SPEECH

FAST = ["--iters", "4,4", "--quiet"]


@pytest.fixture(scope="module")
def mels(tmp_path_factory):
    """An ESPnet (T, 80) mel of 0.6 s of speech, its mean/variance-normalised copy and its natural-log copy."""
    import librosa

    cfg = MelConfig.preset("espnet")
    x, sr = sf.read(str(SPEECH), dtype="float32")
    x = librosa.resample(x, orig_sr=sr, target_sr=cfg.sample_rate)[: int(0.6 * cfg.sample_rate)]
    mel = np.asarray(toolkit_mel(x, cfg))  # frames-first, log10
    folder = tmp_path_factory.mktemp("mels")
    np.save(folder / "ok.npy", mel)
    np.save(folder / "normalised.npy", (mel - mel.mean(0)) / mel.std(0))  # ESPnet's global_mvn, no stats given
    np.save(folder / "natural_log.npy", mel * np.log(10.0))
    return folder


@pytest.mark.parametrize("name, cause", [("normalised", "mean/variance-normalised"),
                                         ("natural_log", "natural-log-compressed")])
def test_invert_refuses_damage_from_a_mel_in_another_convention(mels, tmp_path, capsys, name, cause):
    out = tmp_path / "o.wav"
    code = main(["invert", str(mels / f"{name}.npy"), str(out), "--preset", "espnet"] + FAST)
    err = capsys.readouterr().err
    assert code == 2 and not out.exists()
    assert err.count(cause) == 1, err  # one warning per cause (the read and the reconstruction both check)
    assert "would clip" in err and "--stats" in err and "--preset" in err and "--force" in err
    assert main(["invert", str(mels / f"{name}.npy"), str(out), "--preset", "espnet", "--force"] + FAST) == 0
    audio, _ = sf.read(str(out), dtype="float32")
    assert np.abs(audio).max() < 1.0 and np.mean(np.abs(audio) > 0.999) == 0  # written scaled, not clipped


def test_loud_result_is_scaled_below_full_scale_with_a_note(tmp_path, capsys):
    x, sr = sf.read(str(SPEECH), dtype="float32")
    src = tmp_path / "loud.wav"
    sf.write(str(src), 3.0 * x[: sr // 2] / np.abs(x).max(), sr, subtype="FLOAT")  # peaks at 3
    out = tmp_path / "o.wav"
    assert main(["invert", str(src), str(out), "--preset", "seed", "--method", "fgla", "--iters", "8",
                 "--quiet"]) == 0
    err = capsys.readouterr().err
    audio, _ = sf.read(str(out), dtype="float32")
    assert "scaled by" in err and "dB" in err and "clipping" not in err.replace("instead of clipping", "")
    assert 0.95 < np.abs(audio).max() < 1.0


def test_batch_fails_the_damaged_file_and_writes_the_rest(mels, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("ok", "normalised"):
        (src / f"{name}.npy").write_bytes((mels / f"{name}.npy").read_bytes())
    code = main(["batch", str(src), str(tmp_path / "out"), "--preset", "espnet"] + FAST)
    printed = capsys.readouterr()
    assert code == 1
    summary = json.loads((tmp_path / "out" / "batch_summary.json").read_text())
    assert [p.rsplit("/", 1)[-1] for p in summary["written"]] == ["ok.wav"]
    error = summary["failed"][str(src / "normalised.npy")]
    assert "mean/variance-normalised" in error and "--stats" in error and "would clip" in error
    assert printed.err.count("mean/variance-normalised") == 0  # said once, in the summary
    assert not (tmp_path / "out" / "normalised.wav").exists()
    # the two files have one padded length: one bucket; and a completed run leaves no claims folder
    assert [b["size"] for b in summary["buckets"]] == [2]
    assert not (tmp_path / "out" / ".claims").exists()
