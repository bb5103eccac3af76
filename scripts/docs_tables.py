"""Write the generated tables of the docs: docs/notebooks.md's figures from the run that produced them and its
list of notebooks, README's notebook table (from notebooks/NN_*.py: each one's title) and README's quality
table (from a stored ``benchmarks/quality.py`` run).

Notebook 02 run in full mode (``MELRECON_FAST`` unset) writes ``results/notebooks/metrics.json``. This script
copies that file to ``docs/data/notebook02_metrics.json`` and rewrites the table between the markers
``<!-- notebook02-table -->`` and ``<!-- /notebook02-table -->`` in docs/notebooks.md from it; nothing in that
block is typed by hand. The list of notebooks (between ``<!-- notebook-list -->`` markers) is written
from :data:`NOTEBOOKS`, one row per ``notebooks/NN_*.py``.
``tests/test_docs.py`` checks that the block matches the stored file, and re-runs the
cheap rows of the stored run to check the numbers still hold.

The effort-level table (between ``<!-- levels-table -->`` markers in README.md, docs/effort.md and docs/speed.md)
is rendered from the method records (:func:`render_levels`).

docs/speed.md's start-up table (between ``<!-- startup-table -->`` markers) is rendered from
``docs/data/startup.json``; ``--startup F`` stores a ``benchmarks/startup.py --json F`` run there first.

README's headline speed ratios (between ``<!-- speed-ratios -->`` markers) are rendered from
``docs/data/speed_ratios.json``; ``--speed results/speed/speed.json`` stores a ``benchmarks/speed.py --only ratios``
run there first.

README's demo table (between ``<!-- demo-table -->`` markers) is rendered from ``docs/data/demo.json``; ``--demo
results/demo/metrics.json --demo-context "..."`` stores a ``make demo`` run there first.

README's drop-in table (between ``<!-- dropin-table -->`` markers) is rendered from ``docs/data/dropin.json``;
``--dropin results/dropin/dropin.json`` stores a new ``benchmarks/dropin.py`` run there first.

README's opening figures (between ``<!-- headline -->`` markers) are rendered from ``docs/data/effort_headline.json``
(a ``benchmarks/effort.py --part quality`` run's speech clips: the default and balanced levels, librosa, the peer)
and the stored headline ratios.

README's test-time line (between ``<!-- suite-time -->`` markers) is rendered from ``docs/data/suite.json``;
``--suite results/test/suite.json --suite-context "..."`` stores the record a whole ``make test`` run writes (and
``results/test/notebooks.json``, which ``make notebooks-check`` writes) there first.

README's quality table (between ``<!-- quality-table -->`` markers) is rendered from
``docs/data/quality_readme.json``; ``--quality results/quality/quality.json`` stores the speech means of a new
``benchmarks/quality.py`` run (``hifigan`` preset) there first.

    python scripts/docs_tables.py [--metrics results/notebooks/metrics.json] [--context "what the run was"]
                                  [--quality results/quality/quality.json --quality-context "what the run was"]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import time
from pathlib import Path

import numpy as np

from melrecon.apps.cli.demo import DEMO_COLUMNS
from melrecon.apps.plotting import metrics_table
from melrecon.methods.registry import EFFORT_SCALE, EFFORTS, STREAMING
from melrecon.methods.resolve import DEFAULT_METHODS, describe

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "notebooks.md"
DATA = REPO / "docs" / "data" / "notebook02_metrics.json"
BEGIN, END = "<!-- notebook02-table -->", "<!-- /notebook02-table -->"
#: The notebook list of docs/notebooks.md (between the notebook-list markers): one row per notebooks/NN_*.py.
NOTEBOOKS = {
    "01_quickstart": (
        'Load the bundled sample (`melrecon.apps.examples.example("speech")`), make its Mel spectrogram '
        '(`melrecon.mel_spectrogram`), reconstruct with fast Griffin-Lim (`method="fgla"`), with GL then '
        'GD (`method="gl+gd"`) and with the default method for a mel computed from audio '
        '(`melrecon.DEFAULT_METHODS["analysis"]`); the original, '
        'Mel and reconstructed spectrograms; inline players; the metrics (Mel SC, LSD, Mel dB distance, '
        'PESQ-wb, STOI).'
    ),
    "02_griffin_lim_vs_gradient_descent": (
        'The seed experiment reproduced and extended: GL 200, GL 5000, GL 200 + GD 5000, the default '
        'method for a mel computed from audio (`source="analysis"`), and every other method of '
        '`melrecon.METHODS` (GLA, AGLA, ADMM, the Mel-constrained projections and their noise-aware variants, '
        'GD from a random phase, Adam and L-BFGS on the waveform, GL + L-BFGS), at the `seed` and `hifigan` '
        'presets. Every loss term of every run, one panel per family of methods, each on its own log-scale '
        'axes, against iterations and against wall-clock seconds (one colour per run, one line style per loss '
        "term); the output's Mel SC of every run on one figure; spectrograms with error "
        "maps; a metrics table; players for each output next to the original. Uses the seed's CMU ARCTIC "
        'recording from `../shared/audio` when present, else the bundled clip. Writes figures, wavs and '
        '`metrics.md`/`metrics.json` to `results/notebooks/`.'
    ),
    "03_interactive": (
        'The workbench (below).'
    ),
    "04_mel_conventions": (
        'How the presets differ (filterbank plots; magnitude, power, natural log and dB Mels), the exact '
        "librosa call that gives each preset's Mel (checked against `melrecon.mel_spectrogram` in the "
        'notebook), how to pass a librosa / HiFi-GAN-style Mel to `reconstruct`, and what a mismatch '
        'does: the `ParameterError` messages for the detectable ones (wrong band count, transposed, dB '
        'given as log, log given as linear), and the audible and measured damage of the undetectable '
        'ones (a log10 Mel read as ln, the log of a power Mel read as magnitude).'
    ),
    "05_mels_from_your_toolkit": (
        'A mel as a toolkit stores it (Vocos, BigVGAN, ESPnet, Coqui TTS, Tacotron 2, SpeechBrain, '
        'HiFi-GAN; a dropdown picks the preset, or load your own file): `conventions.prepare` undoes its '
        "layout and normalisation, then the default method and librosa's `mel_to_audio` invert it; "
        'players, PESQ-wb and spectrograms.'
    ),
    "06_imperfect_mels": (
        'Imperfect (predicted) mels: the clean mel of a recording degraded by a dropdown and a slider '
        '(`melrecon.apps.degrade`: log-domain noise, smoothing along time or across bands, a time stretch); '
        "what the noise-aware method's automatic choice measures in it (band spread, noise level, sharpness) "
        'and the target it fits; the exact method (`meladmm+melgl`), the L-BFGS peer and the noise-aware '
        'method (`tolmeladmm+tolmelgl`, the default for a mel handed in) inverting it, '
        'with PESQ-wb / STOI / DNSMOS / Mel SC, A/B players and spectrograms '
        '([docs/robustness.md](robustness.md) has the benchmark).'
    ),
    "07_streaming": (
        'Streaming inversion (`melrecon.stream.Streamer`): the mel of the bundled sample pushed one frame at '
        'a time, with a live waveform and a player of what has come out; the latency / quality curve '
        '(PESQ-wb against look-ahead 0-8 frames, the offline default as the reference line); A/B players '
        'of the stream and the offline default ([docs/streaming.md](streaming.md) has the benchmark).'
    ),
    "08_listening_test": (
        'A blind MUSHRA listening test (ITU-R BS.1534-3) of a few methods and effort levels on a few clips '
        '(`melrecon.apps.listening`): hidden reference, 3.5 / 7 kHz low-pass anchors, loudness matched, seeded '
        'order; taken in the notebook with ipywidgets (looping players that switch at the same position, one '
        'slider per condition, answers saved atomically, a restart resumes), a shareable self-contained HTML page '
        'for other listeners, and the analysis: post-screening, means with 95 % t-intervals, Pearson / Spearman '
        'correlation with PESQ-wb, DNSMOS and Mel SC, a figure and a table, of your answers and of simulated '
        'listeners\' (who answer through the widget\'s Python API into a folder of their own).'
    ),
}
LIST_BEGIN, LIST_END = "<!-- notebook-list -->", "<!-- /notebook-list -->"
README = REPO / "README.md"
README_NB = ("<!-- notebook-table -->", "<!-- /notebook-table -->")
QUALITY = ("<!-- quality-table -->", "<!-- /quality-table -->")
QUALITY_DATA = REPO / "docs" / "data" / "quality_readme.json"
STARTUP = ("<!-- startup-table -->", "<!-- /startup-table -->")
STARTUP_DATA = REPO / "docs" / "data" / "startup.json"
SPEED_DOC = REPO / "docs" / "speed.md"
SPEED = ("<!-- speed-ratios -->", "<!-- /speed-ratios -->")
SPEED_DATA = REPO / "docs" / "data" / "speed_ratios.json"
DEMO = ("<!-- demo-table -->", "<!-- /demo-table -->")
DEMO_DATA = REPO / "docs" / "data" / "demo.json"
DROPIN = ("<!-- dropin-table -->", "<!-- /dropin-table -->")
DROPIN_DATA = REPO / "docs" / "data" / "dropin.json"
HEADLINE = ("<!-- headline -->", "<!-- /headline -->")
HEADLINE_DATA = REPO / "docs" / "data" / "effort_headline.json"
SUITE = ("<!-- suite-time -->", "<!-- /suite-time -->")
SUITE_DATA = REPO / "docs" / "data" / "suite.json"
#: quality.json row label -> README label (the default's label is built from its name and counts).
QUALITY_ROWS = {"librosa-32": "librosa `mel_to_audio`, 32 it.", "librosa-1000": "librosa `mel_to_audio`, 1000 it.",
                "lbfgs (peer) 200": "L-BFGS peer (waveform, 200 it.)", "fgla-200": "fast GL 200",
                "gl+gd (seed method) 200+300": "seed's GL+GD 200+300"}
QUALITY_COLUMNS = [("pesq", "PESQ-wb", "{:.2f}"), ("stoi", "STOI", "{:.3f}"), ("mel_sc", "Mel SC", "{:.4f}"),
                   ("mel_db", "Mel dist (dB)", "{:.3f}"), ("rtf", "RTF", "{:.2f}")]


def notebook_title(path: Path) -> str:
    """The first ``# # Title`` line of a py:percent notebook."""
    for line in path.read_text().splitlines():
        if line.startswith("# # "):
            return line[4:].strip()
    raise SystemExit(f"{path} has no '# # Title' line")


def render_readme_notebooks() -> str:
    """README's notebook table (markers included): one row per notebooks/NN_*.py, its title."""
    rows = [f"| [`{p.stem}`](notebooks/{p.stem}.ipynb) | {notebook_title(p)} |"
            for p in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.py"))]
    return "\n".join([README_NB[0], "| notebook | what it shows |", "|---|---|", *rows, README_NB[1]])


def quality_from_run(path: Path, preset: str = "hifigan", category: str = "speech") -> list[dict]:
    """README rows from a ``benchmarks/quality.py`` quality.json: means over the preset's speech clips."""
    clips = [c for c in json.loads(Path(path).read_text())["runs"][preset] if c["category"] == category]
    rows = []
    for key in [*QUALITY_ROWS, "default:"]:
        labels = [k for k in clips[0]["results"] if (k.startswith(key) if key == "default:" else k == key)]
        if not labels:
            continue
        label = labels[0]
        means = {m: float(np.nanmean([c["results"][label][m] for c in clips])) for m, _, _ in QUALITY_COLUMNS}
        name = QUALITY_ROWS.get(label) or "default `{}` {}".format(*label.split(": ", 1)[1].rsplit(" ", 1))
        rows.append(dict(method=name, default=key == "default:", **means))
    return rows


def render_dropin(data: dict) -> str:
    """README's drop-in table (markers included) from a ``benchmarks/dropin.py`` run's json: its context
    line, then one row per call with librosa's and melrecon's figures side by side."""
    lines = [DROPIN[0], data["context"], "",
             "| call | librosa s | melrecon s | speed-up | Mel SC librosa | Mel SC melrecon | SC librosa | "
             "SC melrecon | PESQ-wb librosa | PESQ-wb melrecon |", "|---|" + "---|" * 9]
    for r in data["rows"]:
        lin = f"{r['sc_librosa']:.4f} | {r['sc_melrecon']:.4f}" if r["sc_librosa"] is not None else "– | –"
        lines.append(f"| {r['call']} | {r['librosa_s']:.2f} | {r['melrecon_s']:.2f} | "
                     f"{r['librosa_s'] / r['melrecon_s']:.1f}× | {r['mel_sc_librosa']:.4f} | "
                     f"{r['mel_sc_melrecon']:.4f} | {lin} | {r['pesq_librosa']:.2f} | {r['pesq_melrecon']:.2f} |")
    return "\n".join([*lines, DROPIN[1]])


def stored_dropin() -> dict:
    return json.loads(DROPIN_DATA.read_text())


def _benchmark(name: str):
    """benchmarks/NAME.py as a module (its own table renders the docs' block of its stored run)."""
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render_startup(data: dict) -> str:
    """docs/speed.md's start-up table (markers included) from a stored ``benchmarks/startup.py --json`` run."""
    head = f"{data['date']}, {data['cpus']}-core machine, `python benchmarks/startup.py --json F`; "
    return "\n".join([STARTUP[0], head + _benchmark("startup").table(data["rows"], data["load"]), STARTUP[1]])


def stored_startup() -> dict:
    return json.loads(STARTUP_DATA.read_text())


def render_speed(data: dict) -> str:
    """README's headline speed ratios (markers included) from a stored ``benchmarks/speed.py --only ratios`` run."""
    meta = data["meta"]
    context = (f"`{meta['command']}`, {meta['date']}, {meta['cpus']} cores, jax {meta['jax']}, load average "
               f"{meta['load_before'].split()[0]} before and {meta['load_after'].split()[0]} after; peer and melrecon "
               f"in one process, alternating, best of three:")
    return "\n".join([SPEED[0], context, "", *_benchmark("speed")._ratio_lines(data["rows"])[1:-1], SPEED[1]])


def stored_speed() -> dict:
    return json.loads(SPEED_DATA.read_text())


def render_demo(data: dict) -> str:
    """README's demo table (markers included): a stored ``make demo`` run's rows, as the demo prints them, and
    what they show (:func:`demo_summary`)."""
    return "\n".join([DEMO[0], data["context"], "", metrics_table(data["rows"], DEMO_COLUMNS), "",
                      demo_summary(data["rows"]), DEMO[1]])


def demo_summary(rows: list[dict]) -> str:
    """The demo table in words, every figure and comparison read from its rows: GD after GL against GL alone,
    and the default level against GL+GD, per preset."""
    by = {(r["preset"], r["method"]): r for r in rows}
    presets = list(dict.fromkeys(r["preset"] for r in rows))
    pairs = " and ".join(f"{by[p, 'GL']['mel_sc']:.4f} → {by[p, 'GL+GD']['mel_sc']:.4f} at `{p}`" for p in presets)
    lower = all(by[p, "GL+GD"]["mel_sc"] < by[p, "GL"]["mel_sc"] for p in presets)
    text = [f"GD after GL {'lowers' if lower else 'does not always lower'} the Mel spectral convergence below GL "
            f"alone ({pairs})."]
    for p in presets:
        d, g = by[p, "default"], by[p, "GL+GD"]
        mel = "closer" if d["mel_sc"] < g["mel_sc"] else "less closely"
        gap = d["pesq"] - g["pesq"]
        pesq = "a higher" if gap > 0.005 else "a lower" if gap < -0.005 else "the same"
        text.append(f"At `{p}` the default level ({d['iters']} iterations against GL+GD's {g['iters']}) fits the Mel "
                    f"{mel} (Mel SC {d['mel_sc']:.4f} vs {g['mel_sc']:.4f}) at {pesq} PESQ-wb ({d['pesq']:.2f} vs "
                    f"{g['pesq']:.2f}) in {d['seconds']:.1f} s against {g['seconds']:.1f} s.")
    return " ".join(text)


def headline_figures(effort: dict, speed: dict) -> dict:
    """The README's first figures: speech means of the default and balanced levels, librosa's and the peer's
    (a stored ``benchmarks/effort.py --part quality`` run), clips below the peer, and the default's speed ratio
    against librosa's ``mel_to_audio`` (the stored headline ratios)."""
    clips = effort["per_clip"].values()
    mean = lambda label: float(np.mean([c[label]["pesq"] for c in clips]))  # noqa: E731
    default, peer = effort["levels"]["default"], effort["peer"]
    ratio = next(r["ratio"] for r in speed["rows"] if r.get("kind") == "default")
    return {"n": len(clips), "default": mean(default), "balanced": mean(effort["levels"]["balanced"]),
            "librosa": mean(effort["librosa"]), "peer": mean(peer), "ratio": ratio,
            "below": sum(c[default]["pesq"] < c[peer]["pesq"] for c in clips)}


def render_headline(effort: dict, speed: dict) -> str:
    """README's opening claim (markers included), every figure from the stored runs (:func:`headline_figures`)."""
    f = headline_figures(effort, speed)
    below = "none" if f["below"] == 0 else f"{f['below']} of them"
    return "\n".join([HEADLINE[0], (
        f"**At its default effort, melrecon is {f['ratio']:.1f}× faster than librosa's `mel_to_audio` and "
        f"{f['default'] - f['librosa']:+.2f} PESQ-wb better** ({f['default']:.2f} vs {f['librosa']:.2f}, mean of "
        f"{f['n']} speech clips at the HiFi-GAN setting, {below} below the L-BFGS peer (mean {f['peer']:.2f}); "
        f"`effort=\"balanced\"` {f['balanced']:.2f}; `{effort['meta']['command'].split(' --out')[0]}`, "
        f"{effort['meta']['date']}, [docs/effort.md](docs/effort.md); the speed end to end on a 10 s mel in one "
        f"process: [the headline ratios](#speed-and-scale))."), HEADLINE[1]])


def stored_headline() -> tuple[dict, dict]:
    return json.loads(HEADLINE_DATA.read_text()), stored_speed()


def render_suite(data: dict) -> str:
    """README's test-time line (markers included) from a stored whole-suite record (tests/conftest.py writes
    ``results/test/suite.json``; ``scripts/run_notebooks.py`` writes ``results/test/notebooks.json``)."""
    t, nb = data["tests"], data.get("notebooks")
    minutes = lambda s: f"{int(s // 60)} min {int(round(s % 60))} s"  # noqa: E731
    load = (f", load average {t['load_before']:.1f} before and {t['load_after']:.1f} after"
            if t.get("load_before") is not None else "")
    line = (f"{data['context']} {t['date']}, {t['cpus']} cores{load}: pytest **{minutes(t['seconds'])}** for "
            f"{t['passed']} passed and "
            f"{t['skipped']} skipped tests ({t['failed'] + t['errors']} failed) on {t['workers']} worker(s)")
    if nb:
        line += (f"; the notebooks' normal-mode lane (`make notebooks-check`, {nb['count']} notebooks) "
                 f"{minutes(nb['seconds'])}")
    return "\n".join([SUITE[0], line + ".", SUITE[1]])


def stored_suite() -> dict:
    return json.loads(SUITE_DATA.read_text())


def stored_demo() -> dict:
    return json.loads(DEMO_DATA.read_text())


def render_quality(rows: list[dict], context: str) -> str:
    """README's quality table (markers included): a context line, then the rows (the default in bold)."""
    lines = [QUALITY[0], context, "", "| method | " + " | ".join(c[1] for c in QUALITY_COLUMNS) + " |",
             "|---|" + "---|" * len(QUALITY_COLUMNS)]
    for r in rows:
        cells = [r["method"], *(fmt.format(r[k]) for k, _, fmt in QUALITY_COLUMNS)]
        lines.append("| " + " | ".join(f"**{c}**" if r.get("default") else c for c in cells) + " |")
    lines.append(QUALITY[1])
    return "\n".join(lines)


def stored_quality() -> tuple[list[dict], str]:
    data = json.loads(QUALITY_DATA.read_text())
    return data["rows"], data["context"]
#: Rows shown in the docs (the notebook's labels at full iteration counts); the rest stay in the json.
SHOWN = ["GL 200", "GL 5000", "GL 200 + GD 5000", "AGLA 1000", "GL 200 + L-BFGS 300", "default"]
COLUMNS = [("mel_sc", "Mel SC", "{:.4f}", min), ("pesq", "PESQ-wb", "{:.2f}", max), ("stoi", "STOI", "{:.3f}", max),
           ("seconds", "seconds", "{:.1f}", None)]


def _shown(row: dict) -> bool:
    return row["method"] in SHOWN or row["method"].startswith("default")


def render(rows: list[dict], context: str) -> str:
    """The Markdown block (markers included): a context line, then one table, best per preset in bold."""
    lines = [BEGIN, context, "", "| preset | method | " + " | ".join(c[1] for c in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    shown = [r for r in rows if _shown(r)]
    for r in shown:
        group = [g for g in shown if g["preset"] == r["preset"]]
        cells = []
        for key, _, fmt, best in COLUMNS:
            text = fmt.format(r[key])
            if best is not None and r[key] == best(g[key] for g in group):
                text = f"**{text}**"
            cells.append(text)
        lines.append(f"| {r['preset']} | {r['method']} | " + " | ".join(cells) + " |")
    lines.append(END)
    return "\n".join(lines)


def render_list() -> str:
    """The notebook list (markers included)."""
    rows = [f"| `{name}` | {text} |" for name, text in NOTEBOOKS.items()]
    return "\n".join([LIST_BEGIN, "| notebook | what it shows |", "|---|---|", *rows, LIST_END])


def stored() -> tuple[list[dict], str]:
    data = json.loads(DATA.read_text())
    return data["rows"], data["context"]


#: The effort-level table (between these markers in README.md, docs/effort.md and docs/speed.md): what each
#: level runs, read from the method records (melrecon/methods/registry.py), so no count is typed by hand.
LEVELS = ("<!-- levels-table -->", "<!-- /levels-table -->")
LEVEL_DOCS = (README, REPO / "docs" / "effort.md", REPO / "docs" / "speed.md")


def _level_cell(choice) -> str:
    text = " + ".join(map(str, choice.counts))
    if choice.init_phases:
        phases = " and ".join(p.upper() if p == "pghi" else p for p in choice.init_phases)
        if choice.race is not None:
            return f"{text} from the {phases} start of lower Mel SC after a start race of {choice.race} steps"
        return f"{text} from each of {phases} starts, the lower Mel SC kept"
    return text + (f" from a {choice.init_phase.upper()} start" if choice.init_phase == "pghi" else "")


def render_levels() -> str:
    """The effort-level table from the records: each default method's stages per level, the streaming
    inverter's iterations per frame, and the rule of the other methods."""
    words = {"analysis": "mels melrecon computed from audio", "predicted": "mels handed in"}
    head = "| method | " + " | ".join(f"`{e}`" for e in EFFORTS) + " |"
    lines = [LEVELS[0], head, "|---" * (len(EFFORTS) + 1) + "|"]
    for source, method in DEFAULT_METHODS.items():
        cells = [_level_cell(describe(method, e)) for e in EFFORTS]
        lines.append(f"| `{method}` (default for {words[source]}) | " + " | ".join(cells) + " |")
    lines.append("| `Streamer` (iterations per arriving frame) | "
                 + " | ".join(str(STREAMING.level(e).counts[0]) for e in EFFORTS) + " |")
    lines.append("| any other method (× its `default_iters`) | "
                 + " | ".join(f"{EFFORT_SCALE[e]:g}×" for e in EFFORTS) + " |")
    return "\n".join(lines + [LEVELS[1]])


def doc_block(text: str | None = None, begin: str = BEGIN, end: str = END, doc: Path = DOC) -> str:
    text = doc.read_text() if text is None else text
    match = re.search(re.escape(begin) + ".*?" + re.escape(end), text, flags=re.S)
    if match is None:
        raise SystemExit(f"{doc} lacks the {begin} ... {end} markers")
    return match.group(0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", default=None, help="metrics.json of a full notebook-02 run to store first")
    parser.add_argument("--context", default=None, help="the line above the table: how the run was made")
    parser.add_argument("--quality", default=None, help="quality.json of a benchmarks/quality.py run to store first")
    parser.add_argument("--quality-context", default=None, help="the line above README's quality table")
    parser.add_argument("--dropin", default=None, help="dropin.json of a benchmarks/dropin.py run to store first")
    parser.add_argument("--startup", default=None, help="json of a benchmarks/startup.py --json run to store first")
    parser.add_argument("--speed", default=None, help="speed.json of a benchmarks/speed.py --only ratios run")
    parser.add_argument("--demo", default=None, help="metrics.json of a make demo run to store first")
    parser.add_argument("--demo-context", default=None, help="the line above README's demo table (where, when, load)")
    parser.add_argument("--suite", default=None, help="suite.json of a whole `make test` run (results/test/) to store "
                                                      "first, with results/test/notebooks.json when present")
    parser.add_argument("--suite-context", default=None, help="where the suite ran (e.g. 'A fresh clone, .ci/run,')")
    args = parser.parse_args(argv)
    if args.startup:
        STARTUP_DATA.write_text(Path(args.startup).read_text())
    if args.speed:
        run = json.loads(Path(args.speed).read_text())
        rows = [r for r in run["rows"] if r.get("kind") in ("default", "gl", "cli")]
        SPEED_DATA.write_text(json.dumps({"meta": run["meta"], "rows": rows}, indent=2) + "\n")
    if args.demo:
        context = args.demo_context or (f"`make demo`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
                                        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} when stored.")
        DEMO_DATA.write_text(json.dumps({"context": context, "rows": json.loads(Path(args.demo).read_text())},
                                        indent=2) + "\n")
    if args.suite:
        tests = json.loads(Path(args.suite).read_text())
        if tests["failed"] or tests["errors"] or not tests["passed"]:
            raise SystemExit(f"{args.suite} records failures or no test run: store a passing run")
        notebooks = Path(args.suite).with_name("notebooks.json")
        SUITE_DATA.write_text(json.dumps({
            "context": args.suite_context or "Measured", "tests": tests,
            "notebooks": json.loads(notebooks.read_text()) if notebooks.exists() else None}, indent=2) + "\n")
    if args.dropin:
        DROPIN_DATA.write_text(Path(args.dropin).read_text())
    if args.quality:
        context = args.quality_context or "From a `benchmarks/quality.py` run, `hifigan` preset, speech clips."
        QUALITY_DATA.write_text(json.dumps({"context": context, "rows": quality_from_run(args.quality)}, indent=2)
                                + "\n")
    if args.metrics:
        rows = json.loads(Path(args.metrics).read_text())
        context = args.context or "From a full run of notebook 02."
        DATA.parent.mkdir(parents=True, exist_ok=True)
        DATA.write_text(json.dumps({"context": context, "rows": rows}, indent=2) + "\n")
    rows, context = stored()
    text = DOC.read_text()
    text = text.replace(doc_block(text), render(rows, context))
    DOC.write_text(text.replace(doc_block(text, LIST_BEGIN, LIST_END), render_list()))
    readme = README.read_text()
    readme = readme.replace(doc_block(readme, *README_NB, doc=README), render_readme_notebooks())
    readme = readme.replace(doc_block(readme, *QUALITY, doc=README), render_quality(*stored_quality()))
    readme = readme.replace(doc_block(readme, *DROPIN, doc=README), render_dropin(stored_dropin()))
    readme = readme.replace(doc_block(readme, *DEMO, doc=README), render_demo(stored_demo()))
    readme = readme.replace(doc_block(readme, *SPEED, doc=README), render_speed(stored_speed()))
    readme = readme.replace(doc_block(readme, *SUITE, doc=README), render_suite(stored_suite()))
    readme = readme.replace(doc_block(readme, *HEADLINE, doc=README), render_headline(*stored_headline()))
    README.write_text(readme)
    text = SPEED_DOC.read_text()
    SPEED_DOC.write_text(text.replace(doc_block(text, *STARTUP, doc=SPEED_DOC), render_startup(stored_startup())))
    for doc in LEVEL_DOCS:
        text = doc.read_text()
        doc.write_text(text.replace(doc_block(text, *LEVELS, doc=doc), render_levels()))
    print(f"wrote the tables of {DOC.relative_to(REPO)} and README.md from docs/data/ and notebooks/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
