"""Listening tests (melrecon.apps.listening): the statistics against hand-computed cases, the builder (anchors
really low-passed, loudness matched, a seeded order recorded), atomic resumable answer files (a real SIGKILL
in the middle of a save), the notebook views through their Python API, ``melrecon listen`` in-process, and the
shareable page in real Chromium with every network request blocked (marked ``browser``)."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from melrecon.apps.cli import main
from melrecon.apps.listening import (
    Session,
    analyse,
    binomial_p,
    build_abx,
    build_mushra,
    build_page,
    collect,
    load_test,
    lowpass,
    mean_ci,
    pearson,
    screening_reasons,
    spearman,
    t_quantile,
)
from melrecon.apps.listening.audio import rms_dbfs
from melrecon.core.config import ParameterError

REPO = Path(__file__).resolve().parents[1]
SR = 16000


# ------------------------------------------------------------------------------------ statistics
def test_mean_ci_uses_the_t_quantile():
    # n = 3: mean 80, s = 10, t(0.975, 2) = 4.302653 (tables) -> half width 4.302653 * 10 / sqrt(3) = 24.8414
    ci = mean_ci([70, 80, 90])
    assert ci.mean == 80 and ci.n == 3
    assert ci.half_width == pytest.approx(24.8414, abs=1e-4)
    assert (ci.low, ci.high) == pytest.approx((80 - 24.8414, 80 + 24.8414), abs=1e-4)
    # n = 2: s = 7.0711, se = 5, t(0.975, 1) = 12.7062 -> 63.531
    assert mean_ci([50, 60]).half_width == pytest.approx(63.531, abs=1e-3)
    assert mean_ci([50, 60], confidence=0.9).half_width == pytest.approx(6.3138 * 5, abs=1e-3)
    assert t_quantile(0.975, 10) == pytest.approx(2.228139, abs=1e-6)
    one, none = mean_ci([42]), mean_ci([])
    assert one.mean == 42 and math.isnan(one.half_width) and none.n == 0 and math.isnan(none.mean)
    with pytest.raises(ParameterError, match="confidence"):
        mean_ci([1, 2], confidence=95)


def test_binomial_p_is_the_one_sided_tail():
    assert binomial_p(10, 10) == pytest.approx(1 / 1024)
    assert binomial_p(9, 10) == pytest.approx(11 / 1024)  # C(10,9) + C(10,10)
    assert binomial_p(6, 10) == pytest.approx((210 + 120 + 45 + 10 + 1) / 1024)
    assert binomial_p(0, 10) == 1.0 and binomial_p(0, 0) == 1.0
    from scipy.stats import binomtest

    for k, n in ((7, 12), (15, 20), (3, 5)):
        assert binomial_p(k, n) == pytest.approx(binomtest(k, n, 0.5, alternative="greater").pvalue, rel=1e-12)
    with pytest.raises(ParameterError, match="k=11, n=10"):
        binomial_p(11, 10)


def test_screening_rule_at_the_15_percent_boundary():
    # 20 trials: 3 below 90 is exactly 15 % (kept), 4 is 20 % (excluded)
    assert screening_reasons([85] * 3 + [100] * 17) == []
    reasons = screening_reasons([85] * 4 + [100] * 16)
    assert len(reasons) == 1 and "hidden reference below 90 in 4 of 20 trials" in reasons[0]
    assert screening_reasons([89.9] + [100] * 6) == []  # 1 of 7: 14.3 %
    assert screening_reasons([89.9] * 2 + [100] * 5) != []  # 2 of 7: 28.6 %
    assert screening_reasons([90] * 10) == []  # 90 is not below 90
    # the mid anchor rated above 90 in more than 15 % of the trials
    assert "mid anchor above 90" in screening_reasons([100] * 5, [95, 95, 10, 10, 10])[0]
    assert screening_reasons([100] * 20, [95] * 3 + [20] * 17) == []


def test_correlations():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    # x = 1..4, y = 1, 3, 2, 4: Pearson = 0.8 by hand (sxy = 4, sxx = syy = 5); Spearman on the same ranks
    assert pearson([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 3, 4], [1, 3, 2, 4]) == pytest.approx(0.8)
    assert spearman([1, 2, 3, 4], [1, 8, 27, 1000]) == pytest.approx(1.0)  # monotone, not linear
    from scipy import stats

    x, y = [3.1, 2.2, 4.0, 2.2, 1.0], [60, 55, 80, 40, 20]  # a tie
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y).statistic)
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y).statistic)
    assert math.isnan(pearson([1, 2], [3, 4]))


# ------------------------------------------------------------------------------------ building
def _clips(rng, seconds=0.6):
    t = np.arange(int(seconds * SR)) / SR
    return {name: (0.3 * np.sin(2 * np.pi * f0 * t) + 0.08 * rng.standard_normal(t.size)).astype(np.float32)
            for name, f0 in (("one", 220.0), ("two", 330.0))}


@pytest.fixture
def material():
    rng = np.random.default_rng(0)
    ref = _clips(rng)
    conditions = {"muffled": {k: lowpass(v, SR, 2000.0) for k, v in ref.items()},
                  "loud noisy": {k: np.clip(3 * v + 0.1 * rng.standard_normal(v.size), -1, 1).astype(np.float32)
                                 for k, v in ref.items()}}
    return ref, conditions


@pytest.fixture
def mushra(material, tmp_path):
    ref, conditions = material
    return build_mushra(ref, conditions, tmp_path / "mushra", sample_rate=SR, seed=7)


def _band_share(x: np.ndarray, cutoff: float) -> float:
    spec = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return float(spec[f > cutoff].sum() / spec.sum())


def test_mushra_has_hidden_reference_and_low_passed_anchors(mushra):
    roles = {c["label"]: c["role"] for c in mushra.spec["conditions"]}
    assert roles == {"muffled": "system", "loud noisy": "system", "hidden reference": "reference",
                     "anchor 3.5 kHz": "anchor", "anchor 7 kHz": "anchor"}
    for trial in mushra.trials:
        ref, _ = sf.read(mushra.audio_path(trial["reference"]), dtype="float32")
        assert _band_share(ref, 3500) > 0.05  # broadband: the anchors have something to remove
        for cid in mushra.ids_with_role("anchor"):
            cutoff = mushra.conditions[cid]["cutoff_hz"]
            x, _ = sf.read(mushra.audio_path(next(s["file"] for s in trial["stimuli"] if s["id"] == cid)),
                           dtype="float32")
            assert _band_share(x, cutoff) < 1e-5, f"anchor {cutoff} Hz keeps energy above its cutoff"
            assert _band_share(x, 0.9 * cutoff) > 1e-3  # and keeps the band below
        [hidden] = mushra.ids_with_role("reference")
        h, _ = sf.read(mushra.audio_path(f"audio/{trial['id']}_{hidden}.wav"), dtype="float32")
        assert np.abs(h - ref).max() < 2e-4  # the hidden reference is the reference
        assert mushra.audio_path(trial["reference"]).read_bytes() != mushra.audio_path(
            f"audio/{trial['id']}_{hidden}.wav").read_bytes()  # but not a byte copy the page would give away


def test_stimuli_are_loudness_matched_and_never_clip(mushra):
    assert mushra.spec["loudness"]["rule"] == "rms"
    for trial in mushra.trials:
        files = [trial["reference"]] + [s["file"] for s in trial["stimuli"]]
        audio = [sf.read(mushra.audio_path(f), dtype="float32")[0] for f in files]
        levels = [rms_dbfs(x) for x in audio]
        assert max(levels) - min(levels) < 0.05, levels
        assert max(float(np.abs(x).max()) for x in audio) <= 0.99 + 1 / 32768
        # the loud condition would clip at -26 dBFS RMS: the whole clip was lowered by one common gain
        assert max(float(np.abs(x).max()) for x in audio) > 0.95 or max(levels) == pytest.approx(-26, abs=0.05)


def test_order_is_a_seeded_shuffle_recorded_in_the_test(material, mushra, tmp_path):
    ref, conditions = material
    again = build_mushra(ref, conditions, tmp_path / "again", sample_rate=SR, seed=7)
    other = build_mushra(ref, conditions, tmp_path / "other", sample_rate=SR, seed=8)
    orders = [t["order"] for t in mushra.trials]
    assert mushra.spec["seed"] == 7 and orders == [t["order"] for t in again.trials]
    assert [t["clip"] for t in mushra.trials] == [t["clip"] for t in again.trials]
    assert orders != [t["order"] for t in other.trials] or mushra.conditions.keys() != other.conditions.keys()
    for t in mushra.trials:
        assert t["order"] == [s["id"] for s in t["stimuli"]] and sorted(t["order"]) == sorted(mushra.conditions)
    assert len({tuple(o) for o in orders}) >= 1 and all(c.startswith("c") and len(c) == 5 for c in mushra.conditions)
    with pytest.raises(ParameterError, match="overwrite=True"):
        build_mushra(ref, conditions, mushra.folder, sample_rate=SR)
    _answer_all(Session(mushra, "kim"))
    same = build_mushra(ref, conditions, mushra.folder, sample_rate=SR, seed=7, overwrite=True)
    assert same.id == mushra.id and Session(same, "kim").done  # the same trials: the answers still count
    changed = build_mushra(ref, conditions, mushra.folder, sample_rate=SR, seed=9, overwrite=True)
    assert changed.id != mushra.id and Session(changed, "kim").index == 0
    assert (mushra.folder / f"superseded-{mushra.id}" / "kim.json").exists()


def test_builder_refuses_bad_inputs(material, tmp_path):
    ref, conditions = material
    with pytest.raises(ParameterError, match="same names"):
        build_mushra(ref, {"x": {"one": ref["one"]}}, tmp_path / "a", sample_rate=SR)
    with pytest.raises(ParameterError, match="cutoff_hz=9000"):
        build_mushra(ref, conditions, tmp_path / "b", sample_rate=SR, anchors=(3500, 9000))
    with pytest.raises(ParameterError, match="silent"):
        build_mushra(ref, {"mute": {k: np.zeros_like(v) for k, v in ref.items()}}, tmp_path / "c", sample_rate=SR)
    with pytest.raises(ParameterError, match="test.json"):
        load_test(tmp_path / "nothing")


def test_abx_is_balanced_and_blind(material, tmp_path):
    ref, conditions = material
    test = build_abx(conditions, tmp_path / "abx", sample_rate=SR, reference=ref, trials_per_pair=6, seed=1)
    assert len(test.trials) == 3 * 6  # three pairs
    for pair in {tuple(t["pair"]) for t in test.trials}:
        xs = [t["x"] for t in test.trials if tuple(t["pair"]) == pair]
        assert xs.count("A") == xs.count("B") == 3
    public = json.dumps(test.public())
    assert '"x"' not in public and "loud noisy" not in public and "reference" not in public
    t = test.trials[0]
    raw = {k: test.audio_path(f).read_bytes() for k, f in t["files"].items()}
    assert raw["X"] not in (raw["A"], raw["B"])  # dithered: never a byte copy
    x, a = (sf.read(test.audio_path(t["files"][k]), dtype="float32")[0] for k in ("X", t["x"]))
    assert np.abs(x - a).max() < 1e-3


# ------------------------------------------------------------------------------------ answers
def _answer_all(session: Session, value=80):
    for trial in session.trials[session.index:]:
        session.rate(trial["id"], {s["id"]: value for s in trial["stimuli"]})


def test_answers_are_saved_at_once_and_a_restart_resumes(mushra, tmp_path):
    s = Session(mushra, "alice")
    assert (s.index, s.progress) == (0, (0, 2))
    first = mushra.trials[0]
    s.rate(first["id"], {c: 50 + i for i, c in enumerate(first["order"])})
    saved = json.loads(s.path.read_text())
    assert saved["answers"][0]["order"] == first["order"] and saved["seed"] == 7 and saved["finished"] is None
    again = Session(mushra, "alice")  # "the kernel restarted"
    assert again.index == 1 and again.current["id"] == mushra.trials[1]["id"]
    _answer_all(again)
    assert again.done and json.loads(again.path.read_text())["finished"]
    with pytest.raises(ParameterError, match="rate exactly"):
        again.rate(first["id"], {"cxxxx": 1})
    with pytest.raises(ParameterError, match="listener"):
        Session(mushra, "../evil")


_KILLER = """
import os, signal, sys
sys.path.insert(0, {repo!r})
from melrecon.apps.listening import Session
s = Session({folder!r}, "bob")
t = s.trials[0]
s.rate(t["id"], {{c: 70 for c in t["order"]}})
real = os.replace
def die(src, dst):  # killed after the temporary file is written, before the rename
    os.kill(os.getpid(), signal.SIGKILL)
os.replace = die
t = s.trials[1]
s.rate(t["id"], {{c: 30 for c in t["order"]}})
"""


def test_a_kill_in_the_middle_of_a_save_loses_nothing_given_before(mushra):
    code = _KILLER.format(repo=str(REPO), folder=str(mushra.folder))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    path = mushra.folder / "bob.json"
    record = json.loads(path.read_text())  # complete JSON: the first answer, not the half-saved second
    assert [a["trial"] for a in record["answers"]] == [mushra.trials[0]["id"]]
    leftovers = [p.name for p in mushra.folder.glob(".bob.json.*")]
    assert leftovers, "the killed save should have left its temporary file (it is never read)"
    s = Session(mushra, "bob")
    assert s.index == 1  # resumes at the first unanswered trial
    _answer_all(s)
    assert [r.listener for r in collect(mushra.folder, test=mushra)] == ["bob"]


def test_collect_and_analyse(mushra, tmp_path):
    labels = {c: mushra.label(c) for c in mushra.conditions}
    fixed = {"hidden reference": 100, "anchor 7 kHz": 60, "anchor 3.5 kHz": 30, "muffled": 50, "loud noisy": 70}
    for name, shift in (("ann", 0), ("ben", -4), ("cid", 4)):
        s = Session(mushra, name)
        for t in mushra.trials:
            s.rate(t["id"], {c: min(100, fixed[labels[c]] + shift * (labels[c] != "hidden reference"))
                             for c in t["order"]})
    lazy = Session(mushra, "lazy")  # rates the hidden reference 50: excluded
    _answer_all(lazy, value=50)
    report = analyse(mushra, scores={"PESQ-wb": {"muffled": 2.0, "loud noisy": 3.0, "anchor 3.5 kHz": 1.2}})
    assert list(report.excluded) == ["lazy"] and "hidden reference below 90 in 2 of 2" in report.excluded["lazy"][0]
    rows = {r.label: r for r in report.conditions}
    assert [r.label for r in report.conditions][0] == "hidden reference"  # ordered by mean
    assert rows["loud noisy"].ci.mean == pytest.approx(70) and rows["loud noisy"].ci.n == 6
    # six ratings 66, 66, 70, 70, 74, 74: s = 3.5777, t(0.975, 5) = 2.570582
    assert rows["loud noisy"].ci.half_width == pytest.approx(2.570582 * 3.5777 / math.sqrt(6), abs=1e-3)
    assert report.correlations["PESQ-wb"]["n"] == 3 and report.correlations["PESQ-wb"]["spearman"] == pytest.approx(1)
    md = report.markdown()
    assert "| loud noisy | system | 70.0 |" in md and "lazy (excluded)" in md and "Excluded by post-screening" in md
    paths = report.save(tmp_path / "rep")
    assert all(p.stat().st_size > 0 for p in paths)
    with pytest.raises(ParameterError, match="not conditions of the test"):
        analyse(mushra, scores={"Mel SC": {"nope": 1.0}})


def test_abx_analysis_counts_correct_answers(material, tmp_path):
    ref, conditions = material
    test = build_abx(conditions, tmp_path / "abx", sample_rate=SR, trials_per_pair=10, seed=2)
    s = Session(test, "eve")
    for i, t in enumerate(test.trials):  # right 9 times of 10
        s.choose(t["id"], t["x"] if i else ("B" if t["x"] == "A" else "A"))
    [row] = analyse(test).abx
    assert (row.n, row.correct) == (10, 9) and row.p == pytest.approx(11 / 1024)
    assert "| muffled vs loud noisy | 9 | 10 | 90 % | 0.011 |" in analyse(test).markdown()


# ------------------------------------------------------------------------------------ notebook views
def test_mushra_view_through_its_python_api(mushra):
    pytest.importorskip("ipywidgets")
    from melrecon.apps.listening import take_test

    view = take_test(mushra, "nina")
    assert len(view.sliders) == 5 and view.next_button.disabled
    assert view.players.value.count("<audio") == 6 and "loop" in view.players.value
    assert "anchor" not in view.players.value and "muffled" not in view.players.value  # blind
    for i in range(4):
        view.set_rating(i, 10 * i)
    assert not view.next() and "not moved yet: 5" in view.status.value
    view.sliders[4].value = 90  # as a person drags it
    assert not view.next_button.disabled
    view.next_button.click()
    assert view.progress.value == 1 and view.session.index == 1
    resumed = take_test(mushra, "nina")  # the kernel restarted: the first unanswered trial
    assert resumed.trial["id"] == mushra.trials[1]["id"]
    for cid in resumed.stimulus_ids:
        resumed.set_rating(cid, 77)
    assert resumed.next() and resumed.session.done and "Done" in resumed.status.value


def test_abx_view_through_its_python_api(material, tmp_path):
    pytest.importorskip("ipywidgets")
    from melrecon.apps.listening import take_test

    ref, conditions = material
    test = build_abx(conditions, tmp_path / "abx", sample_rate=SR, trials_per_pair=2)
    view = take_test(test, "otto")
    assert view.players.value.count("<audio") == 3
    view.buttons[0].click()
    assert view.choose("B") and view.session.done and not view.choose("A")


# ------------------------------------------------------------------------------------ the command line
def _wav_folders(tmp_path, material):
    ref, conditions = material
    folders = {"ref": ref, **conditions}
    for name, clips in folders.items():
        for clip, audio in clips.items():
            (tmp_path / name.replace(" ", "_")).mkdir(exist_ok=True)
            sf.write(tmp_path / name.replace(" ", "_") / f"{clip}.wav", audio, SR)
    return tmp_path


def test_cli_new_build_collect_report(material, tmp_path, capsys):
    src = _wav_folders(tmp_path / "wavs", material) if (tmp_path / "wavs").mkdir() is None else None
    test_dir = tmp_path / "test"
    assert main(["listen", "new", str(test_dir), "--reference", str(src / "ref"), "--condition",
                 f"muffled={src / 'muffled'}", "--condition", f"loud={src / 'loud_noisy'}", "--seed", "3"]) == 0
    assert "MUSHRA test 'test', 2 trials, 5 conditions" in capsys.readouterr().out
    page = tmp_path / "page.html"
    assert main(["listen", "build", str(test_dir), str(page)]) == 0
    text = page.read_text()
    assert "5 conditions" in text and "muffled" not in text and "loud" not in text
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    s = Session(test_dir, "zoe", folder=downloads)
    _answer_all(s, 95)
    assert main(["listen", "collect", str(downloads), "--test", str(test_dir), "--into", str(test_dir)]) == 0
    assert "zoe: 2 answers (finished, mushra, from the notebook)" in capsys.readouterr().out
    scores = tmp_path / "scores.json"
    scores.write_text(json.dumps({"Mel SC": {"muffled": 0.3, "loud": 0.1}}))
    assert main(["listen", "report", str(test_dir), "--scores", str(scores)]) == 0
    out = capsys.readouterr().out  # 95 for everything: the 7 kHz anchor too, which post-screening excludes
    assert "zoe: rated the mid anchor above 90 in 2 of 2 trials" in out
    assert (test_dir / "report.png").stat().st_size > 1000 and (test_dir / "report.md").exists()
    assert main(["listen", "report", str(test_dir), "--scores", str(scores), "--no-screen"]) == 0
    out = capsys.readouterr().out
    assert "| muffled | system | 95.0 |" in out and "| Mel SC |" in out
    assert main(["listen", "build", str(tmp_path / "missing"), str(page)]) == 2
    assert "holds no test.json" in capsys.readouterr().err
    assert main(["listen", "new", str(tmp_path / "t2"), "--reference", str(src / "ref"), "--condition", "x"]) == 2
    assert "NAME=DIR" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ the page in Chromium
CHROMIUM = os.environ.get("MELRECON_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


@pytest.mark.browser
def test_page_in_chromium_offline(material, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install it: make system-deps, or apt-get install chromium)")
    ref, conditions = material
    longer = {"one": np.tile(ref["one"], 4)}  # 2.4 s: long enough to hear the switch keep its position
    mushra = build_mushra(longer, {k: {"one": np.tile(v["one"], 4)} for k, v in conditions.items()},
                          tmp_path / "long", sample_rate=SR, seed=5)
    page_file = build_page(mushra, tmp_path / "mushra.html")
    abx = build_abx(conditions, tmp_path / "abx", sample_rate=SR, trials_per_pair=2, seed=4)
    abx_file = build_page(abx, tmp_path / "abx.html")
    attempted = []

    def guard(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            return route.continue_()
        attempted.append(url)
        return route.abort()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                                           "--disable-component-update", "--no-first-run", "--disable-sync"])
        try:
            # the page's own Content-Security-Policy forbids the network too; bypass it here so that any
            # request the page tries reaches the route below and is counted
            assert "default-src 'none'" in page_file.read_text()
            context = browser.new_context(accept_downloads=True, bypass_csp=True)
            context.route("**/*", guard)
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:"))
                    else attempted.append(r.url))
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            answers = _take_mushra_page(page, page_file, mushra, tmp_path)
            choices = _take_abx_page(page, abx_file, tmp_path)
        finally:
            browser.close()
    assert not errors, errors
    assert attempted == [], f"the page tried the network: {attempted}"
    assert answers["source"] == "page" and answers["listener"] == "pat" and answers["finished"]
    for trial, given in zip(mushra.trials, answers["answers"]):
        assert given["trial"] == trial["id"] and given["order"] == trial["order"]
        assert given["ratings"] == {cid: 11 + 17 * i for i, cid in enumerate(trial["order"])}
    [res] = collect(tmp_path / "pat.json", test=mushra)
    assert res.finished and analyse(mushra, [res]).listeners["pat"]
    assert [a["choice"] for a in choices["answers"]] == ["A"] * len(abx.trials)


def _take_mushra_page(page, page_file: Path, test, tmp_path: Path) -> dict:
    page.goto(page_file.as_uri())
    intro = page.locator("#mr-intro").inner_text()
    assert "MUSHRA" in intro and "5 conditions" in intro
    page.fill("#mr-listener", "pat")
    page.click("#mr-begin")
    for n, trial in enumerate(test.trials):
        page.wait_for_selector(f"text=Trial {n + 1} of {len(test.trials)}")
        first, second = trial["order"][:2]
        page.click(f"button[data-key='{first}']")
        page.wait_for_selector(f"body[data-playing='{first}']", state="attached")
        assert page.get_attribute("body", "data-engine") == "webaudio"  # decoded in the page, one clock
        start = float(page.get_attribute("body", "data-offset"))
        page.wait_for_timeout(500)
        page.click(f"button[data-key='{second}']")  # switch at the same position
        page.wait_for_selector(f"body[data-playing='{second}']", state="attached")
        offset = float(page.get_attribute("body", "data-offset"))
        assert 0.3 < offset - start < 2.0, f"switched at {offset:.3f} s after starting at {start:.3f} s"
        assert page.is_disabled("#mr-next")
        sliders = page.locator("input.mr-slider")
        assert sliders.count() == len(trial["order"])
        for i in range(sliders.count()):
            sliders.nth(i).fill(str(11 + 17 * i))
        page.click("#mr-next")
    page.wait_for_selector("body[data-done='1']", state="attached")
    with page.expect_download() as info:
        page.click("#mr-download")
    path = tmp_path / "pat.json"
    info.value.save_as(path)
    assert info.value.suggested_filename == "pat.json"
    return json.loads(path.read_text())


def _take_abx_page(page, page_file: Path, tmp_path: Path) -> dict:
    page.goto(page_file.as_uri())
    assert "ABX" in page.locator("#mr-intro").inner_text()
    page.fill("#mr-listener", "abe")
    page.click("#mr-begin")
    while page.locator("button.mr-choice").count():
        page.click("button[data-key='X']")
        page.wait_for_selector("body[data-playing='X']", state="attached")
        page.click("button.mr-choice[data-choice='A']")
        page.wait_for_timeout(50)
    page.wait_for_selector("body[data-done='1']", state="attached")
    with page.expect_download() as info:
        page.click("#mr-download")
    path = tmp_path / "abe.json"
    info.value.save_as(path)
    return json.loads(path.read_text())


@pytest.mark.browser
def test_notebook_players_switch_at_the_same_position(tmp_path):
    """The notebook view's player group (ipywidgets.HTML sets innerHTML: no <script> runs, event attributes do)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install it: make system-deps, or apt-get install chromium)")
    from melrecon.apps.listening.widgets import player_group

    t = np.arange(3 * SR) / SR
    for name, f0 in (("a", 220), ("b", 330)):
        sf.write(tmp_path / f"{name}.wav", (0.2 * np.sin(2 * np.pi * f0 * t)).astype(np.float32), SR)
    group = player_group([("ref", "reference", tmp_path / "a.wav"), ("c1", "condition 1", tmp_path / "b.wav")])
    state = "() => [...document.querySelectorAll('audio')].map(a => [a.dataset.key, a.paused, a.currentTime])"
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.set_content("<div id='widget'></div>")
            page.evaluate("h => { document.getElementById('widget').innerHTML = h; }", group)
            page.click("button[data-key='ref']")
            page.wait_for_timeout(600)
            page.click("button[data-key='c1']")
            (_, ref_paused, ref_at), (_, c1_paused, c1_at) = page.evaluate(state)
        finally:
            browser.close()
    assert ref_paused and not c1_paused and ref_at > 0.3 and abs(c1_at - ref_at) < 0.3, (ref_at, c1_at)
