"""The structure of the package: what a method is is said once (on the algorithm) and every caller asks
it; one default method; one init_phase check; no import circle; short functions; a wheel that runs."""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import melrecon
from melrecon import EXACT_METHOD, METHODS, MelConfig, ParameterError, build_stages, reconstruct
from melrecon.algorithms import ALGORITHMS, STFTGradientDescent, agla, fgla, gla
from melrecon.methods.resolve import describe, resolve

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "melrecon"


# ------------------------------------------------------------------------------------ one default
# (the resolver's rules and every entry point asking it: tests/test_resolve.py)
def test_default_method_is_meladmm_then_melgl():
    (a, na), (b, nb) = build_stages(source="analysis", effort="balanced")
    assert (a.name, a.magnitude, a.init_phase, na, b.name, nb) == ("meladmm", "mel", "pghi", 300, "melgl", 200)
    (a, na), (b, nb) = build_stages(source="analysis")  # the default effort
    assert (a.init_phase, na, nb) == ("pghi", 60, 40)
    (a, na), (b, nb) = build_stages(source="analysis", effort="fast")
    assert (a.init_phase, na, nb) == ("pghi", 30, 20)
    assert inspect.signature(reconstruct).parameters["method"].default is None


def test_best_effort_keeps_the_start_of_lowest_mel_sc(monkeypatch):
    from melrecon.methods import registry
    from melrecon.methods.resolve import describe

    cfg = MelConfig.preset("seed")
    t = np.arange(4000) / 16000
    mel = np.asarray(melrecon.mel_spectrogram((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), cfg))
    assert describe(EXACT_METHOD, "best").init_phases == ("zero", "pghi")
    out = reconstruct(mel, cfg, effort="best", source="analysis", gl_iters=None, progress=False,
                      method=[("meladmm", 6), ("melgl", 4)])  # explicit stages: one start
    assert out.settings["init_phases"] == []
    monkeypatch.setitem(registry.PIPELINE_LEVELS, "best", registry.Level((6, 4), init_phases=("zero", "pghi")))
    best = reconstruct(mel, cfg, effort="best", source="analysis", progress=False)  # the real record, small counts
    scores = best.settings["init_phase_mel_sc"]
    assert set(scores) == {"zero", "pghi"} and float(best.mel_sc) == pytest.approx(min(scores.values()), rel=1e-6)
    assert best.settings["init_phase"] in scores


def test_a_start_race_goes_on_from_the_start_of_lowest_mel_sc(monkeypatch):
    """A level with a race runs the first stage's first steps from each starting phase and one run goes on from
    the start of lower Mel SC: the same audio as a plain run from that start, at the level's counts."""
    from melrecon.methods import registry

    cfg = MelConfig.preset("seed")
    t = np.arange(4000) / 16000
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + 0.5 * np.sin(2 * np.pi * 5 * t))).astype(np.float32)
    chirp = (0.3 * np.sin(2 * np.pi * (200 + 3000 * t) * t)).astype(np.float32)
    mels = [np.asarray(melrecon.mel_spectrogram(x, cfg)) for x in (tone, chirp)]
    monkeypatch.setitem(registry.PIPELINE_LEVELS, "default", registry.Level((6, 4), init_phases=("zero", "pghi"),
                                                                            race=2))
    describe.cache_clear()
    choice = resolve(source="analysis")
    assert (choice.init_phases, choice.race, choice.settings()["race"]) == (("zero", "pghi"), 2, 2)
    assert "from the better of zero/pghi after 2 steps" in choice.summary()
    assert resolve(source="analysis", init_phase="zero").race is None  # a start given: no race
    kept = []
    for mel in mels:
        raced = reconstruct(mel, cfg, source="analysis", progress=False)
        scores, start = raced.settings["init_phase_mel_sc"], raced.settings["init_phase"]
        assert set(scores) == {"zero", "pghi"} and scores[start] == min(scores.values())
        assert raced.settings["race"] == 2 and [(n, b - a) for n, a, b in raced.stage_spans] == [("meladmm", 6),
                                                                                                   ("melgl", 4)]
        plain = reconstruct(mel, cfg, source="analysis", init=start, progress=False)  # one start: no race
        assert "init_phase_mel_sc" not in plain.settings
        np.testing.assert_allclose(raced.audio, plain.audio, atol=1e-5)
        kept.append(start)
    batch = reconstruct(np.stack(mels), cfg, source="analysis", progress=False)  # each item races on its own
    assert batch.settings["init_phase"] == kept
    describe.cache_clear()


def test_a_start_race_keeps_each_items_own_winner():
    """The race's per-item choice of a batch: the winner's leaves where it won, the batch-wide leaves kept."""
    from melrecon.methods.runner import _select

    old = {"z": np.zeros((2, 3, 4)), "shared": np.arange(5.0)}
    new = {"z": np.ones((2, 3, 4)), "shared": np.arange(5.0)}
    out = _select(np.array([False, True]), new, old, (2,))
    np.testing.assert_array_equal(out["z"][0], 0.0)
    np.testing.assert_array_equal(out["z"][1], 1.0)
    assert out["shared"].shape == (5,)
    assert _select(np.array(True), new, old, ()) is new


# ------------------------------------------------------------------------------------ init_phase
def _with_init_phase():
    for cls in ALGORITHMS:
        if "init_phase" in cls.options():
            yield cls.__name__, cls
    yield from (("gla", gla), ("fgla", fgla), ("agla", agla))


@pytest.mark.parametrize("name,make", list(_with_init_phase()), ids=lambda v: v if isinstance(v, str) else "")
def test_bad_init_phase_is_rejected_by_every_algorithm(name, make):
    with pytest.raises(ParameterError, match="init_phase='zeros'"):
        make(init_phase="zeros")
    assert make(init_phase="zero").init_phase == "zero"


def test_init_phase_of_every_algorithm_class_is_checked():
    names = {cls.__name__ for cls in ALGORITHMS if "init_phase" in cls.options()}
    assert {"GriffinLim", "MelGriffinLim", "ADMMGriffinLim", "STFTGradientDescent"} <= names


@pytest.mark.parametrize("method", sorted(METHODS))
def test_bad_init_phase_is_rejected_for_every_named_method(method):
    takes = any("init_phase" in s.algorithm.options() for s in build_stages(method))
    if takes:
        with pytest.raises(ParameterError, match="init_phase"):
            build_stages(method, init_phase="zeros")
    else:  # the option goes to no stage of this method
        build_stages(method, init_phase="zeros")


# ------------------------------------------------------------------------------------ the workbench
EXPECTED_CONTROLS = {  # enabled option controls, from what each method's algorithms do (independent of the code)
    "meladmm+melgl": set(),
    "tolmeladmm": set(),
    "tolmelgl": set(),
    "tolmeladmm+tolmelgl": set(),
    "melgl": set(),
    "meladmm": set(),
    "admm": set(),
    "auto": set(),  # the default for the clip's mel source: meladmm+melgl for the audio clip here
    "fgla": set(),
    "gla": set(),
    "agla": set(),
    "gd": {"optimizer", "learning_rate", "consistency_weight", "mel_weight", "mel_loss"},
    "waveform": {"optimizer", "learning_rate", "mel_loss"},
    "lbfgs": {"optimizer", "mel_loss"},  # the line search sets the step
    "gl+gd": {"optimizer", "learning_rate", "consistency_weight", "mel_weight", "mel_loss"},
    "gl+lbfgs": {"optimizer", "mel_loss"},
    "agla+gd": {"optimizer", "learning_rate", "consistency_weight", "mel_weight", "mel_loss"},
    "gl+waveform": {"optimizer", "learning_rate", "mel_loss"},
}
CONTROLS = ("optimizer", "learning_rate", "consistency_weight", "mel_weight", "mel_loss")


@pytest.fixture(scope="module")
def bench():
    pytest.importorskip("ipywidgets")
    from melrecon.apps.workbench import Workbench

    t = np.arange(8000) / 16000
    return Workbench(((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000), preset="seed")


def test_every_offered_method_has_an_expected_control_set():
    pytest.importorskip("ipywidgets")
    from melrecon.apps.workbench import METHOD_CHOICES

    assert set(METHOD_CHOICES) == set(EXPECTED_CONTROLS)
    assert set(METHODS) - {"gl"} <= set(METHOD_CHOICES)


@pytest.mark.parametrize("method", sorted(EXPECTED_CONTROLS))
def test_workbench_enables_exactly_the_controls_the_method_takes(bench, method):
    bench.method.value = method
    enabled = {name for name in CONTROLS if not getattr(bench, name).disabled}
    assert enabled == EXPECTED_CONTROLS[method]
    # one iterations slider per stage, named after it, starting at the method's own counts
    info = resolve(None if method == "auto" else method, source="analysis")  # the bench's clip is audio
    assert [s.description for s in bench.stage_iters] == [f"{st.algorithm.name} iterations" for st in info.stages]
    assert [s.value for s in bench.stage_iters] == list(info.counts)
    # and the sliders really set the stages, each its own
    mine = [30 + 10 * i for i in range(len(info.stages))]
    bench.set_iters(*mine)
    job = bench._prepare()
    stages = build_stages(job.kwargs.pop("method"), **{k: v for k, v in job.kwargs.items() if k != "seed"})
    assert [n for _, n in stages] == mine
    for name in EXPECTED_CONTROLS[method] - {"optimizer"}:  # options reach a stage
        value = job.kwargs[name]
        assert any(s.algorithm.describe().get(name) == value for s in stages), name


def test_learning_rate_control_follows_the_optimizer(bench):
    bench.method.value = "lbfgs"
    assert bench.learning_rate.disabled  # L-BFGS's line search sets the step
    bench.optimizer.value = "adam"
    try:  # another optimizer for the same stage takes a learning rate, and it reaches the stage
        assert not bench.learning_rate.disabled
        bench.learning_rate.value = 0.05
        job = bench._prepare()
        [(algo, _)] = build_stages("lbfgs", **{k: job.kwargs[k] for k in ("optimizer", "learning_rate")})
        assert (algo.optimizer, algo.learning_rate) == ("adam", pytest.approx(0.05))
    finally:
        bench.optimizer.value = "(method default)"
    assert bench.learning_rate.disabled


def test_session_runs_without_widgets():
    from melrecon.apps.workbench import session

    assert "ipywidgets" not in Path(session.__file__).read_text()
    seen = []
    s = session.Session(chunk_size=5, on_progress=lambda request, p: seen.append(p.iteration))
    t = np.arange(8000) / 16000
    s.add_clip("tone", audio=(0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), sample_rate=16000)
    request = s.prepare("tone", "seed", "fgla", n_iter=[10])
    res = s.start(request, blocking=True)
    assert s.error is None and res.n_iterations == 10 and seen == [5, 10]
    assert s.results[-1][1] is res and "mel_sc" in s.results[-1][2]


# ------------------------------------------------------------------------------------ stages as values
def test_stages_are_values_and_families_route_the_iterations():
    stages = build_stages("agla+lbfgs", gl_iters=7, gd_iters=9, alpha=0.5, learning_rate=0.1)
    assert all(isinstance(s, melrecon.Stage) for s in stages)
    (a, na), (w, nw) = stages
    assert (a.family, na, a.alpha, w.family, nw) == ("projection", 7, 0.5, "gradient", 9)
    assert w.learning_rate is None  # L-BFGS: the line search sets the step
    assert build_stages("lbfgs", optimizer="adam", learning_rate=0.1)[0].algorithm.learning_rate == 0.1
    # a count given with the stage wins over the family's
    assert build_stages([(fgla(), 3), ("gd", 4)], gl_iters=99) == (melrecon.Stage(fgla(), 3),
                                                                   melrecon.Stage(STFTGradientDescent(), 4))


def test_every_algorithm_declares_family_options_and_iterations():
    for record in METHODS.values():
        for stage in record.stages("balanced"):  # an algorithm's default_iters is its balanced count
            algo = stage.algorithm
            assert algo.family in ("projection", "gradient")
            assert stage.n_iter == algo.default_iters or len(record.makes) > 1
            assert "name" not in algo.options() and set(algo.options()) <= set(algo.describe())


@pytest.mark.parametrize("method", sorted(METHODS) + ["gl+gd"])
def test_every_method_has_every_effort_level_and_explicit_counts_win(method):
    from melrecon.methods.registry import DEFAULT_EFFORT, EFFORTS

    levels = describe(method).levels
    assert tuple(levels) == EFFORTS
    totals = [sum(levels[e]) for e in EFFORTS]
    assert totals == sorted(totals) and totals[0] < totals[-1]  # more effort, more iterations
    assert describe(method).counts == levels[DEFAULT_EFFORT]
    n = len(levels["fast"])
    assert [s.n_iter for s in build_stages(method, effort="best", n_iter=[3] * n)] == [3] * n
    with pytest.raises(ParameterError, match="effort='turbo'"):
        build_stages(method, effort="turbo")


def test_effort_reaches_the_api_the_cli_and_the_settings(tmp_path):
    from melrecon.apps.cli.common import method_kwargs as _method_kwargs
    from melrecon.apps.cli.parser import build_parser as _parser
    from melrecon.methods.resolve import describe

    args = _parser().parse_args(["invert", "a.wav", "b.wav", "--effort", "fast"])
    kw = _method_kwargs(args)
    assert kw["effort"] == "fast"
    cfg = MelConfig.preset("seed")
    t = np.arange(4000) / 16000
    mel = np.asarray(melrecon.mel_spectrogram((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), cfg))
    out = reconstruct(mel, cfg, method="fgla", effort="fast", progress=False)
    assert out.settings["effort"] == "fast"
    assert [s["n_iter"] for s in out.settings["stages"]] == list(describe("fgla", "fast").counts)


def test_cli_lists_the_methods(capsys):
    from melrecon.apps.cli import main

    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert all(f"{name}:" in out for name in METHODS) and "meladmm (projection) then melgl (projection)" in out
    assert "balanced 300+200" in out  # each level's counts


# ------------------------------------------------------------------------------------ module structure
def test_filters_stand_alone():
    """filters.py imports nothing from the package: loaded alone (no package around it), it works."""
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('filters_alone', {str(PACKAGE / 'core' / 'filters.py')!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "assert not [m for m in sys.modules if m.startswith('melrecon')]\n"
        "print(mod.mel(sr=16000, n_fft=512, n_mels=40).shape)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(40, 257)"


def test_filterbank_on_plain_numbers_matches_librosa_and_warns_like_it():
    librosa = pytest.importorskip("librosa")
    from melrecon.core import filters

    ref = librosa.filters.mel(sr=22050, n_fft=1024, n_mels=80, fmin=0.0, fmax=8000.0, htk=False, norm="slaney")
    np.testing.assert_allclose(filters.mel(sr=22050, n_fft=1024, n_mels=80, fmax=8000.0), ref, rtol=1e-5,
                               atol=1e-7 * ref.max())
    with pytest.warns(UserWarning, match="empty"):
        filters.mel(sr=16000, n_fft=256, n_mels=128)


def _package_imports() -> dict[str, set[str]]:
    """Module -> package modules it imports (module level and inside functions; TYPE_CHECKING excluded)."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(REPO).with_suffix("")
        parts = list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)
        name = ".".join(parts)
        base = parts if rel.name == "__init__" else parts[:-1]
        deps = set()
        tree = ast.parse(path.read_text())
        skip = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(
            node.test) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if id(node) in skip:
                continue
            if isinstance(node, ast.ImportFrom) and node.level:
                target = base[: len(base) - node.level + 1] + (node.module.split(".") if node.module else [])
                mod = ".".join(target)
                deps.add(mod)
                deps.update(f"{mod}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.startswith("melrecon"))
        graph[name] = deps
    return {k: {d for d in v if d in graph and d != k} for k, v in graph.items()}


def test_no_import_circle_between_modules():
    graph = _package_imports()
    assert "melrecon.core.config" in graph["melrecon.core.transforms"]
    assert "melrecon.core.filters" in graph["melrecon.core.config"]
    assert not graph["melrecon.core.filters"]
    # leave out the package facades (melrecon, melrecon.algorithms, ...: re-exports only) and look for cycles
    facades = {k for k in graph if (PACKAGE.parent / k.replace(".", "/") / "__init__.py").exists()}
    deps = {k: v - facades for k, v in graph.items() if k not in facades}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in deps.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError("import circle: " + " -> ".join(path[path.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in deps:
        if node not in state:
            visit(node, [node])


def _long_functions(limit: int = 80) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            body = node.body
            doc = isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str)
            doc_lines = body[0].end_lineno - body[0].lineno + 1 if doc else 0
            length = node.end_lineno - node.lineno + 1 - doc_lines
            if length > limit:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({length} lines)")
    return found


def test_no_function_longer_than_80_lines():
    assert _long_functions() == []


def test_package_code_does_not_locate_files_from_its_own_path():
    offenders = [str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py") if "parents[1]" in p.read_text()]
    assert offenders == []


def test_bundled_example_is_package_data():
    from melrecon.apps.examples import example

    path = example("speech")
    assert path.is_file() and PACKAGE in path.resolve().parents
    with pytest.raises(ParameterError, match="unknown"):
        example("nope")
    assert not (REPO / "samples" / "speech.wav").exists()  # one copy in the repository


# ------------------------------------------------------------------------------------ a wheel that runs
@pytest.mark.slow
def test_wheel_installs_and_runs_the_demo(tmp_path):
    """Build a wheel, install it alone into a fresh venv (dependencies seen through the project
    environment's site-packages, never its editable melrecon), and run ``melrecon demo`` outside the repo."""
    import site
    import sysconfig

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MELRECON_ROOT", "MELRECON_RESULTS")}
    import shutil

    src = tmp_path / "src"  # a clean copy: an in-tree build/ folder could carry stale modules into the wheel
    shutil.copytree(PACKAGE, src / "melrecon", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, src / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                            "--no-index", "-w", str(wheels)], capture_output=True, text=True, timeout=600,
                           cwd=tmp_path, env=env)
    assert build.returncode == 0, build.stdout + build.stderr
    [wheel] = wheels.glob("melrecon-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                              str(wheel)], capture_output=True, text=True, timeout=600, env=env)
    assert install.returncode == 0, install.stdout + install.stderr
    # dependencies (jax, optax, ...) from this environment: a plain path entry, so its .pth files (the
    # editable install of the checkout) are not processed
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    deps = [p for p in [sysconfig.get_paths()["purelib"], *site.getsitepackages()] if os.path.isdir(p)]
    Path(purelib, "project_deps.pth").write_text("\n".join(dict.fromkeys(deps)) + "\n")
    where = subprocess.run([str(py), "-c", "import melrecon, melrecon.apps.examples as e; print(melrecon.__file__); "
                            "print(e.example('speech'))"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    assert all(line.startswith(str(venv)) for line in where.stdout.split()), where.stdout
    out = tmp_path / "demo"
    demo = subprocess.run([str(venv / "bin" / "melrecon"), "demo", "--out", str(out), "--presets", "seed",
                           "--iters", "5,5", "--default-iters", "5", "--quiet"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    wavs = sorted(p.name for p in out.glob("*.wav"))
    assert wavs == ["seed_default.wav", "seed_gl.wav", "seed_gl_gd.wav"]
    import soundfile as sf

    y, sr = sf.read(str(out / "seed_default.wav"))
    assert sr == 16000 and y.size > 16000 and np.isfinite(y).all() and np.abs(y).max() > 0.01


# ------------------------------------------------------------------------------------ the house (structure II)
def test_at_most_twelve_modules_directly_in_the_package():
    flat = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(flat) <= 12, flat
    layers = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert {"core", "algorithms", "methods", "io", "apps"} <= layers


def test_layers_import_downwards_only():
    """core, io <- algorithms <- methods <- the front doors (reconstruct, stream) <- apps: no module imports a
    layer above its own (every module of the package has a layer)
    (io reads and writes files beside core; its one convenience ``conventions.invert`` is the front door
    after a toolkit's preparation)."""
    rank = {"core": 0, "io": 0, "algorithms": 1, "methods": 2, "reconstruct": 3, "stream": 3, "apps": 4}
    graph = _package_imports()

    def layer(mod):
        parts = mod.split(".")
        return rank.get(parts[1]) if len(parts) > 1 else None

    bad = [(m, d) for m, deps in graph.items() for d in deps
           if layer(m) is not None and layer(d) is not None and layer(d) > layer(m)]
    assert bad == [("melrecon.io.conventions", "melrecon.reconstruct")]


#: Module paths that are gone (relative to ``melrecon``), with where the module lives now. Nothing keeps
#: them alive (no import finder, no re-exporting module); the tests below keep them from coming back.
FORMER_PATHS = {
    "_cache": "core.cache", "config": "core.config", "convention_check": "core.convention_check",
    "filters": "core.filters", "losses": "core.losses", "pghi": "core.pghi", "transforms": "core.transforms",
    "validation": "core.validation", "conventions": "io.conventions", "batching": "methods.batching",
    "diagnostics": "methods.diagnostics", "stage_options": "methods.options", "pieces": "methods.planner",
    "result": "methods.result", "runner": "methods.runner", "segments": "methods.segments",
    "batch": "apps.batch", "batch_ray": "apps.batch.engines.ray", "jobs": "apps.batch.jobs", "cli": "apps.cli",
    "cliconfig": "apps.cli.config_args", "apps.cliconfig": "apps.cli.config_args",
    "apps.batch.core": "apps.batch.groups", "compat": "apps.compat", "degrade": "apps.degrade",
    "examples": "apps.examples", "metrics": "apps.metrics", "plotting": "apps.plotting",
    "widgets": "apps.workbench", "workbench": "apps.workbench", "apps.widgets": "apps.workbench",
    "_moved": None,
}



def test_every_module_has_a_layer_and_no_module_imports_anothers_private_names():
    layers = {"core", "io", "algorithms", "methods", "reconstruct", "stream", "apps"}
    modules = [p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py")]
    loose = [str(m) for m in modules if m.parts[0].removesuffix(".py") not in layers | {"__init__", "__main__"}]
    assert loose == []
    private = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                private += [f"{path.relative_to(REPO)}:{node.lineno} {a.name}" for a in node.names
                            if a.name.startswith("_") and not a.name.startswith("__")]
    assert private == [], "make what another module needs public where it lives"

def test_former_module_paths_are_gone():
    import importlib

    for old, new in FORMER_PATHS.items():
        if "." not in old:
            assert not hasattr(melrecon, old), old  # no attribute of the package stands in for it
        try:
            module = importlib.import_module(f"melrecon.{old}")
        except ModuleNotFoundError:
            pass
        else:  # only another checkout's copy (an editable install of it on the path) may answer, not this one
            assert PACKAGE not in Path(module.__file__).resolve().parents, (old, module.__file__)
        if new is not None:
            importlib.import_module(f"melrecon.{new}")


def _former_imports(path: Path, text: str) -> list[str]:
    """Imports in a Python file that name a former path (absolute, relative, or ``from melrecon import X``)."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    package = parts[:-1]
    found = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            mods = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[:len(package) - node.level + 1] + ([node.module] if node.module else []))
            mods = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for mod in mods:
            rest = mod[len("melrecon."):] if mod.startswith("melrecon.") else None
            if rest is not None and any(rest == old or rest.startswith(old + ".") for old in FORMER_PATHS):
                found.append(f"{path.relative_to(REPO)}:{node.lineno}: {mod}")
    return found


def test_no_file_uses_a_former_module_path():
    """No source, notebook, document or config names a former path (``melrecon.<old>`` in code, docs,
    docstrings, doctests, warning filters, ``python -m``; ``from melrecon import <old>``)."""
    names = "|".join(sorted((re.escape(old) for old in FORMER_PATHS), key=len, reverse=True))
    dotted = re.compile(rf"(?<![\w.])melrecon\.({names})\b")
    from_import = re.compile(r"from melrecon import \(?([\w ,]+)")
    files = []
    for folder, dirs, names_here in os.walk(REPO):  # hidden folders (.git, .venv, ...) and build outputs pruned
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in {"node_modules", "build", "dist",
                                                                          "__pycache__"}]
        files += [Path(folder, n) for n in names_here if n.endswith((".py", ".ipynb", ".md", ".toml"))]
    assert len(files) > 50, len(files)  # the walk found the repository
    bad = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            hits = [m.group(0) for m in dotted.finditer(line)]
            hits += [name for m in from_import.finditer(line) for name in re.split(r"[ ,]+", m.group(1))
                     if name in FORMER_PATHS]
            bad += [f"{path.relative_to(REPO)}:{n}: {h}" for h in hits]
        if path.suffix == ".py":
            bad += _former_imports(path, text)
    assert not bad, "\n".join(bad)


def test_python_dash_m_runs_the_command_without_jax():
    """``python -m melrecon`` and ``python -m melrecon.apps.cli`` are the ``melrecon`` command; --version
    answers without importing JAX."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for module in ("melrecon", "melrecon.apps.cli"):
        proc = subprocess.run([sys.executable, "-X", "importtime", "-m", module, "--version"], capture_output=True,
                              text=True, timeout=120, env=env, cwd=REPO)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.strip() == f"melrecon {melrecon.__version__}", proc.stdout
        imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
        assert "jax" not in imported, module
        assert not [m for m in imported if m.startswith("melrecon.") and m.split(".")[1] in FORMER_PATHS]


def test_front_door_is_entered_once_on_a_70_second_mel():
    """One public call on a long mel: segments (and pieces inside them) run below the front door."""
    cfg = MelConfig.preset("seed")
    rng = np.random.default_rng(0)
    mel = np.abs(rng.standard_normal((cfg.n_mels, cfg.n_frames(70 * cfg.sample_rate)))).astype(np.float32) + 0.1
    entries = []

    def profile(frame, event, arg):
        if event == "call" and frame.f_code is reconstruct.__code__:
            entries.append(1)

    sys.setprofile(profile)
    try:
        out = reconstruct(mel, cfg, method="gla", n_iter=1, progress=False, pieces=2)
    finally:
        sys.setprofile(None)
    assert len(out.settings["segments"]) == 3 and out.audio.shape == (cfg.n_samples(mel.shape[-1]),)
    assert len(entries) == 1


def test_a_new_algorithm_is_one_module_and_one_registration_line():
    """A toy algorithm (plain GLA written here, as a user's own module would) named by one line runs through
    every entry: build_stages, describe, reconstruct, and is listed among the algorithms."""
    from dataclasses import dataclass

    import jax.numpy as jnp

    from melrecon.algorithms import Algorithm
    from melrecon.algorithms.base import SUBCLASSES, initial_spectrogram
    from melrecon.core.transforms import project_consistent
    from melrecon.methods.registry import register, unregister

    @dataclass(frozen=True)
    class ToyGL(Algorithm):
        init_phase: str = "zero"
        name: str = "toygl"
        default_iters = 7

        def init(self, problem, config, key, spec=None):
            return initial_spectrogram(problem, key, spec, self.init_phase)

        def step(self, problem, config, state):
            c = project_consistent(problem.magnitude * jnp.exp(1j * jnp.angle(state)), config)
            return c, {"inconsistency": jnp.zeros(state.shape[:-2])}

        def spectrogram(self, problem, config, state):
            return state

    register("toygl", ToyGL)  # the one registration line
    try:
        assert ToyGL in SUBCLASSES and describe("toygl", "balanced").counts == (7,)  # default_iters: balanced
        cfg = MelConfig.preset("seed")
        t = np.arange(4000) / 16000
        mel = np.asarray(melrecon.mel_spectrogram((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), cfg))
        out = reconstruct(mel, cfg, method="toygl", effort="balanced", progress=False)
        assert out.settings["stages"][0]["n_iter"] == 7 and out.n_iterations == 7
        assert float(out.mel_sc) < 0.5
    finally:
        unregister("toygl")


def test_version_and_help_do_not_import_jax():
    code = ("import sys\nfrom melrecon.apps.cli import main\n"
            "for argv in (['--version'], ['--help']):\n"
            "    try:\n        main(argv)\n    except SystemExit as exc:\n        assert exc.code == 0\n"
            "import melrecon\nassert melrecon.__version__\n"
            "print(sorted(m for m in ('jax', 'optax', 'matplotlib', 'ray', 'torch', 'h5py') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


def _ruff() -> list[str] | None:
    """The ruff command: this interpreter's ruff package (the dev extra), else one on PATH; None when neither."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("ruff") is not None:
        return [sys.executable, "-m", "ruff"]
    found = shutil.which("ruff")
    return [found] if found else None


def test_the_tree_passes_ruff():
    """``ruff check .`` with the repository's configuration (pyproject.toml [tool.ruff]): line length, pyflakes,
    sorted imports, and imports at module top but the named lazy ones (``# noqa: PLC0415 - <reason>``)."""
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    out = subprocess.run([*ruff, "check", "--no-cache", "."], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
