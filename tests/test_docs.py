"""The docs state what a run shows: docs/notebooks.md's table is generated from the stored notebook-02 run and
its cheap rows still hold on a fresh run; the documented install gives every package the notebooks import;
the accepted input files are listed."""

from __future__ import annotations

import ast
import importlib.metadata as md
import importlib.util
import re
import sys
import warnings

import numpy as np
import pytest
import tomllib

from melrecon import io
from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("docs_tables", REPO / "scripts" / "docs_tables.py")
docs_tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(docs_tables)


def test_notebook02_table_is_generated_from_the_stored_run():
    rows, context = docs_tables.stored()
    assert docs_tables.doc_block() == docs_tables.render(rows, context), (
        "docs/notebooks.md's table differs from docs/data/notebook02_metrics.json; run python scripts/docs_tables.py")


def test_notebook_list_is_generated_and_names_every_notebook():
    assert docs_tables.doc_block(None, docs_tables.LIST_BEGIN, docs_tables.LIST_END) == docs_tables.render_list(), (
        "docs/notebooks.md's notebook list differs from NOTEBOOKS in scripts/docs_tables.py; run it")
    assert sorted(docs_tables.NOTEBOOKS) == sorted(p.stem for p in (REPO / "notebooks").glob("[0-9][0-9]_*.py"))


def test_readme_tables_are_generated():
    """README's notebook table lists every notebooks/NN_*.py (a new notebook appears after docs_tables.py), and
    its quality table is the stored run's (docs/data/quality_readme.json)."""
    readme = (REPO / "README.md").read_text()
    block = docs_tables.doc_block(readme, *docs_tables.README_NB, doc=REPO / "README.md")
    assert block == docs_tables.render_readme_notebooks(), \
        "README's notebook table is stale; run scripts/docs_tables.py"
    for nb in (REPO / "notebooks").glob("[0-9][0-9]_*.py"):
        assert f"`{nb.stem}`" in block
    rendered = {  # README's block -> (its rendering from the stored run, the stored file)
        docs_tables.QUALITY: (docs_tables.render_quality(*docs_tables.stored_quality()), "quality_readme.json"),
        docs_tables.DROPIN: (docs_tables.render_dropin(docs_tables.stored_dropin()), "dropin.json"),
        docs_tables.DEMO: (docs_tables.render_demo(docs_tables.stored_demo()), "demo.json"),
        docs_tables.SPEED: (docs_tables.render_speed(docs_tables.stored_speed()), "speed_ratios.json"),
        docs_tables.HEADLINE: (docs_tables.render_headline(*docs_tables.stored_headline()), "effort_headline.json"),
        docs_tables.SUITE: (docs_tables.render_suite(docs_tables.stored_suite()), "suite.json"),
    }
    for markers, (expected, stored) in rendered.items():
        assert docs_tables.doc_block(readme, *markers, doc=REPO / "README.md") == expected, (
            f"README's {markers[0]} block differs from docs/data/{stored}; run python scripts/docs_tables.py")
    text = docs_tables.SPEED_DOC.read_text()
    assert docs_tables.doc_block(text, *docs_tables.STARTUP, doc=docs_tables.SPEED_DOC) == \
        docs_tables.render_startup(docs_tables.stored_startup()), (
            "docs/speed.md's start-up table differs from docs/data/startup.json; run python scripts/docs_tables.py")


def test_readme_states_what_the_code_does():
    import melrecon

    readme = (REPO / "README.md").read_text()
    for name in ("chromium", "flite", "espeak-ng", "fluidsynth"):  # what make test installs (system-deps.sh)
        assert name in readme and name in (REPO / "scripts" / "system-deps.sh").read_text()
    cfg = melrecon.MelConfig.preset("seed")
    mel = melrecon.mel_spectrogram(np.sin(np.arange(4000) / 7.0).astype(np.float32) * 0.3, cfg)
    keys = set(melrecon.reconstruct(mel, cfg, source="analysis", n_iter=[2, 2], progress=False).history)
    line = next(ln for ln in readme.splitlines() if ln.startswith("out.history"))
    assert all(f'"{k}"' in line for k in keys), (keys, line)
    errors = (REPO / "docs" / "errors.md").read_text()
    assert "| 143 |" in errors and "SIGTERM is not handled" not in errors and "cannot tell `log` from" not in errors


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["seed", "hifigan"])
def test_notebook02_figures_hold_on_a_fresh_run(preset):
    """Re-run the stored run's GL 200 rows (notebook 02: fgla, seed 0, the whole recording)."""
    from melrecon import reconstruct
    from melrecon.apps import metrics
    from melrecon.apps.examples import seed_recording
    from melrecon.core.transforms import mel_spectrogram

    rows, context = docs_tables.stored()
    source = seed_recording()
    if source is None or source.name not in context:
        pytest.skip("the stored run used a recording that is absent here")
    row = next(r for r in rows if r["preset"] == preset and r["method"] == "GL 200")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # resampling notice
        audio, _ = io.load_audio(source, sample_rate=__import__("melrecon").get_config(preset).sample_rate)
    mel = np.asarray(mel_spectrogram(audio, preset))
    res = reconstruct(mel, preset, method="fgla", n_iter=200, seed=0, progress=False)
    m = metrics.evaluate(audio, res.audio, preset)
    assert m["mel_sc"] == pytest.approx(row["mel_sc"], rel=0.02), (m, row)
    assert m["stoi"] == pytest.approx(row["stoi"], abs=0.005), (m, row)
    if np.isfinite(row["pesq"]):
        assert m["pesq"] == pytest.approx(row["pesq"], abs=0.05), (m, row)


def _requirements(names: list[str]) -> set[str]:
    """Distribution names reachable from ``names`` (requirement strings) through installed metadata."""
    norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()  # noqa: E731
    seen: set[str] = set()
    todo = [re.split(r"[ <>=!~;\[]", n, maxsplit=1)[0] for n in names]
    while todo:
        name = norm(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        try:
            reqs = md.requires(name) or []
        except md.PackageNotFoundError:
            continue
        todo += [re.split(r"[ <>=!~;\[]", r, maxsplit=1)[0] for r in reqs if "extra ==" not in r]
    return seen


def test_documented_install_has_what_the_notebooks_import():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    doc = (REPO / "docs" / "notebooks.md").read_text()
    extras = re.search(r'pip install (?:-e )?"\.\[([a-z,]+)\]"', doc).group(1).split(",")
    declared = project["dependencies"] + [r for e in extras for r in project["optional-dependencies"][e]]
    available = _requirements(declared)
    owners = md.packages_distributions()
    missing = {}
    for nb in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py")):
        for node in ast.walk(ast.parse(nb.read_text())):
            mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for mod in mods:
                top = mod.split(".")[0]
                if top in sys.stdlib_module_names or top == "melrecon":
                    continue
                dists = {re.sub(r"[-_.]+", "-", d).lower() for d in owners.get(top, [top])}
                if not dists & available:
                    missing.setdefault(nb.name, set()).add(top)
    assert not missing, f"pip install \".[{','.join(extras)}]\" lacks what these notebooks import: {missing}"


def test_docs_list_the_accepted_input_files():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("Accepted inputs"):][:600]
    for suffix in io.AUDIO_SUFFIXES + io.MEL_SUFFIXES:
        assert f"`{suffix}`" in section, f"README's accepted inputs do not list {suffix}"


def test_level_tables_are_generated_from_the_method_records():
    for doc in docs_tables.LEVEL_DOCS:
        assert docs_tables.doc_block(None, *docs_tables.LEVELS, doc=doc) == docs_tables.render_levels(), (
            f"{doc.name}'s levels table differs from the method records; run python scripts/docs_tables.py")


def test_counts_quoted_next_to_a_level_are_the_levels():
    """Wherever the README or a doc names an effort level and then gives counts (``effort="best"`` ... 300 + 950),
    they are what that level runs for the default methods (melrecon.methods.registry)."""
    from melrecon.methods.resolve import DEFAULT_METHODS, describe

    pattern = re.compile(r'[`"]{1,2}(fast|default|balanced|best)[`"]{1,2}\)?[^.|;]{0,30}?\b(\d+) ?\+ ?(\d+)')
    quoted = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for number, line in enumerate(doc.read_text().splitlines(), 1):
            for level, a, b in pattern.findall(line):
                counts = {describe(m, level).counts for m in DEFAULT_METHODS.values()}
                quoted.append((f"{doc.name}:{number}", level, (int(a), int(b)), counts))
    assert quoted, "the pattern found nothing: the test no longer reads the docs"
    wrong = [q for q in quoted if q[2] not in q[3]]
    assert wrong == [], wrong


def test_the_architecture_page_names_the_places_that_exist():
    text = (REPO / "docs" / "architecture.md").read_text()
    for path in re.findall(r"`((?:methods|apps|core|io|algorithms)/[\w/]+\.py)`", text):
        assert (REPO / "melrecon" / path).exists(), path
    for name in ("resolve", "plan_single", "plan_items", "padded_length", "DEFAULT_METHODS", "PIPELINE_LEVELS"):
        assert name in text


def test_the_starter_samples_ship_and_the_readme_uses_them():
    import soundfile as sf

    import melrecon

    starter = REPO / "samples" / "starter"
    files = sorted(starter.iterdir())
    assert sum(p.stat().st_size for p in files) <= 2 * 1024**2
    kinds = {p.name.split("_")[0] for p in files if p.suffix == ".wav"}
    assert kinds == {"speech", "music", "noise", "tone"}
    for wav in (p for p in files if p.suffix == ".wav"):
        x, sr = sf.read(wav, dtype="float32")
        assert sr == 22050 and x.ndim == 1 and 2.0 < x.size / sr < 5.0 and 0.5 < np.abs(x).max() <= 0.9
    [mel] = [p for p in files if p.suffix == ".npy"]
    cfg = melrecon.MelConfig.preset("hifigan")
    np.testing.assert_allclose(np.load(mel), melrecon.mel_spectrogram(sf.read(starter / "speech_flite_awb.wav",
                                                                                dtype="float32")[0], cfg), atol=1e-4)
    readme = (REPO / "README.md").read_text()
    for name in re.findall(r"samples/starter/([\w.-]+)", readme):
        assert (starter / name).exists(), name


def test_the_opening_figures_are_of_the_levels_as_they_are():
    """The stored run behind README's opening figures ran the default and balanced levels' counts and starts
    (a row without ``init=`` takes the default level's start), so a change of a level fails here until re-taken."""
    from melrecon.methods.registry import EXACT_METHOD, METHODS

    effort, _ = docs_tables.stored_headline()
    default_start = METHODS[EXACT_METHOD].level("default").init_phase
    for effort_name, label in effort["levels"].items():
        level = METHODS[EXACT_METHOD].level(effort_name)
        head, _, opts = label.partition(":")
        assert head == f"{EXACT_METHOD}@{'+'.join(map(str, level.counts))}", (effort_name, label, level)
        start = dict(o.split("=") for o in opts.split(",") if o).get("init", default_start)
        assert start == (level.init_phase or "zero"), (effort_name, label, level)
