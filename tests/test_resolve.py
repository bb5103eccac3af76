"""One decision of what to run (:mod:`melrecon.methods.resolve`): its rules, and every entry point handing the
same raw choices to it and running the same thing."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import soundfile as sf

import melrecon
from melrecon import MelConfig, ParameterError, reconstruct
from melrecon.methods import registry
from melrecon.methods.registry import EXACT_METHOD, NOISE_AWARE_METHOD, STREAMING, Level
from melrecon.methods.resolve import (
    DEFAULT_METHODS,
    default_method,
    describe,
    resolve,
    source_of,
    split_total,
    streaming_iters,
)

CFG = MelConfig.preset("seed")


# ------------------------------------------------------------------------------------ the rules
def test_the_mels_source_chooses_the_default_method():
    assert DEFAULT_METHODS == {"analysis": EXACT_METHOD, "predicted": NOISE_AWARE_METHOD}
    assert EXACT_METHOD == "meladmm+melgl" and NOISE_AWARE_METHOD == "tolmeladmm+tolmelgl"
    assert (default_method(None), default_method("predicted"), default_method("analysis")) == \
        (NOISE_AWARE_METHOD, NOISE_AWARE_METHOD, EXACT_METHOD)
    assert [source_of(p) for p in ("x.wav", "x.FLAC", "x.npy", "x.h5", "x.pt", "mel", "audio")] == \
        ["analysis", "analysis", "predicted", "predicted", "predicted", "predicted", "analysis"]
    assert resolve(path="a.wav").method == EXACT_METHOD and resolve(path="a.npz").method == NOISE_AWARE_METHOD
    assert resolve(path="a.wav", source="predicted").method == NOISE_AWARE_METHOD  # the source given wins
    assert resolve("gl+gd", source="analysis").method == "gl+gd"  # a method given wins
    with pytest.raises(ParameterError, match="source='heard' must be one of"):
        resolve(source="heard")


def test_one_record_per_method_holds_every_level():
    levels = {e: registry.METHODS[EXACT_METHOD].level(e) for e in registry.EFFORTS}
    assert levels == {"fast": Level((30, 20), "pghi"), "default": Level((60, 40), "pghi"),
                      "balanced": Level((300, 200), "pghi"), "best": Level((300, 950), init_phases=("zero", "pghi"))}
    assert registry.METHODS[NOISE_AWARE_METHOD].levels is registry.METHODS[EXACT_METHOD].levels
    assert describe("gl+gd", "balanced").counts == (200, 500)  # a chain joins its parts' levels
    assert [streaming_iters(e) for e in registry.EFFORTS] == [STREAMING.level(e).counts[0] for e in registry.EFFORTS]
    assert streaming_iters("best", iters=3) == 3


def test_counts_first_match_wins_and_librosas_total_is_split():
    assert resolve(source="analysis", effort="balanced").counts == (300, 200)
    assert resolve(source="analysis", n_iter=[7, 5]).counts == (7, 5)
    assert resolve("gl+gd", n_iter=9, gd_iters=3).counts == (9, 3)  # the family count wins over n_iter
    assert resolve([("fgla", 4), ("gd", 2)], gl_iters=99).counts == (4, 2)  # a list's counts are explicit
    assert resolve(total_iters=32).counts == (19, 13) and resolve(total_iters=1).counts == (1, 0)
    assert split_total(0, (60, 40)) == [0, 0] and split_total(10, (1, 1, 2)) == [2, 3, 5]
    with pytest.raises(ParameterError, match="2 counts for 1 stage"):
        resolve("fgla", n_iter=[1, 2])


def test_starting_phases_come_from_the_level_unless_a_start_is_given():
    best = resolve(source="analysis", effort="best")
    assert best.init_phases == ("zero", "pghi") and best.init_phase == "zero"
    assert resolve(source="analysis", effort="best", n_iter=[5, 5]).init_phases == ("zero", "pghi")  # counts only
    assert resolve(source="analysis", effort="best", init_phase="pghi").init_phases == ()
    assert resolve(source="analysis", effort="best", init_given=True).init_phases == ()
    assert resolve([("meladmm", 6), ("melgl", 4)], effort="best").init_phases == ()  # explicit stages: one start
    assert resolve(source="analysis", effort="fast").init_phase == "pghi"
    assert resolve("gl+gd", effort="best").init_phases == ()  # a chain tries one


def test_the_choice_says_why():
    choice = resolve(path="speech.npy", effort="best")
    assert dict(choice.reasons) == {"method": "the default for a mel handed in",
                                    "source": "predicted: a mel file", "counts": "effort best",
                                    "init_phases": "effort best: the lower Mel SC kept"}
    assert choice.summary().startswith("tolmeladmm+tolmelgl 300+950 from each of zero/pghi (method: the default")
    assert choice.settings()["init_phases"] == ["zero", "pghi"]


# ------------------------------------------------------------------------------------ every entry point
@pytest.fixture
def small_levels(monkeypatch):
    """The real records with small counts (the same dict every pipeline record holds)."""
    for effort, level in registry.PIPELINE_LEVELS.items():
        counts = (4, 3) if effort != "best" else (5, 3)
        monkeypatch.setitem(registry.PIPELINE_LEVELS, effort, Level(counts, level.init_phase, level.init_phases,
                                                                     level.race))
    describe.cache_clear()
    yield
    describe.cache_clear()


def _tone(seconds=0.4):
    t = np.arange(int(seconds * CFG.sample_rate)) / CFG.sample_rate
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 660 * t)).astype(np.float32)


def _ran(settings) -> tuple:
    return (settings["method"], settings["source"], settings["effort"],
            tuple(s["n_iter"] for s in settings["stages"]), tuple(settings["init_phases"]))


def _via_cli(tmp_path, capsys, src, choices) -> tuple:
    from melrecon.apps.cli import main

    argv = ["invert", str(src), str(tmp_path / "cli.wav"), "--preset", "seed", "--quiet", "--no-bucket"]
    argv += ["--effort", choices["effort"]] + (["--method", choices["method"]] if "method" in choices else [])
    assert main(argv) == 0
    line = capsys.readouterr().out
    found = re.search(r"wrote \S+ \([\d.]+ s, (\S+) \[(\w+) mel, effort (\w+)[^\]]*\], (.*?) iterations", line)
    method, source, effort, ran = found.groups()
    counts = tuple(int(part.rsplit(" ", 1)[1]) for part in ran.split(" + "))
    kept = re.search(r"kept the \w+ start of ([\w/]+)", line)
    return method, source, effort, counts, tuple(kept.group(1).split("/")) if kept else ()


@pytest.mark.parametrize("choices", [dict(kind="audio", effort="best"), dict(kind="mel", effort="fast"),
                                     dict(kind="mel", effort="default", method="gl+gd")], ids=str)
def test_every_entry_point_runs_the_resolvers_choice(choices, small_levels, tmp_path, capsys):
    """API, CLI, folder inversion, workbench and the drop-in, given the same raw choices, run the same thing:
    the resolver's (the workbench's ``best`` tries both starting phases, as ``reconstruct`` does)."""
    pytest.importorskip("ipywidgets")
    from melrecon.apps.batch import invert_folder
    from melrecon.apps.workbench import Workbench

    audio = _tone()
    mel = np.asarray(melrecon.mel_spectrogram(audio, CFG))
    src = tmp_path / "in" / ("a.wav" if choices["kind"] == "audio" else "a.npy")
    src.parent.mkdir()
    sf.write(src, audio, CFG.sample_rate, subtype="FLOAT") if choices["kind"] == "audio" else np.save(src, mel)
    raw = {k: v for k, v in choices.items() if k != "kind"}
    want = resolve(path=src, **raw)
    expected = (want.method, want.source, want.effort, want.counts, want.init_phases)

    api = reconstruct(mel, CFG, source=source_of(src), progress=False, **raw)
    assert _ran(api.settings) == expected
    assert _via_cli(tmp_path, capsys, src, choices) == expected
    invert_folder(src.parent, tmp_path / "out", CFG, progress=False, **raw)
    [record] = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    ran = record["ran"]
    assert (ran["method"], ran["source"], ran["effort"], tuple(ran["counts"]), tuple(ran["init_phases"])) == expected
    wb = Workbench((audio, CFG.sample_rate), preset="seed", method=raw.get("method", "auto")) \
        if choices["kind"] == "audio" else Workbench(preset="seed", method=raw.get("method", "auto"))
    if choices["kind"] == "mel":
        wb.add_clip("mel", mel=mel)
    wb.effort.value = choices["effort"]
    bench = wb.run(blocking=True)
    assert _ran(bench.settings) == expected
    np.testing.assert_array_equal(bench.audio, api.audio)  # the workbench's run is reconstruct's, sample for sample
    if choices["kind"] == "mel":  # the drop-in: a linear power mel handed in, at librosa's settings
        lin = MelConfig.preset("librosa")
        power = np.asarray(melrecon.mel_spectrogram(np.tile(audio, 3), lin))
        dropped = melrecon.mel_to_audio(power, effort=choices["effort"], **{k: raw[k] for k in raw if k == "method"})
        direct = reconstruct(power, lin.replace(name="librosa-call"), progress=False, **raw)
        np.testing.assert_array_equal(dropped, direct.audio)


def test_the_stream_asks_the_same_record(capsys):
    from melrecon.apps.cli import main

    assert melrecon.Streamer(CFG, effort="best").settings.iters == STREAMING.level("best").counts[0]
    assert melrecon.Streamer(CFG).settings.iters == STREAMING.level("default").counts[0]
    with pytest.raises(SystemExit):
        main(["stream", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "iterations per frame: " + ", ".join(f"{e} {STREAMING.level(e).counts[0]}" for e in
                                                 registry.EFFORTS).replace("default 16", "default 16 (default)") in text
