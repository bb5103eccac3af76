"""The notebooks: paired with their py:percent scripts, committed without outputs, and fast mode only lowers
sizes and counts. Every one is run top to bottom in fast mode (``MELRECON_FAST=1`` lowers the iteration counts
through each notebook's parameters cell) by ``tests/test_browser.py`` in JupyterLab, which applies
:func:`check_executed` to it; ``make notebooks-check`` runs them in normal mode.

"Committed without outputs" is checked on what git would commit (the index) in a git checkout, so outputs
that JupyterLab autosaves into a working copy do not fail the tests (``make notebooks-sync`` clears them);
outside git (an unpacked archive) the file itself is checked."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
NAMES = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.py"))  # every paired notebook of the folder


def _committed_text(path: Path) -> str | None:
    """The text of ``path`` as staged in git (what a commit would hold), or None outside git / untracked."""
    try:
        out = subprocess.run(["git", "-C", str(REPO), "show", f":{path.relative_to(REPO).as_posix()}"],
                             capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.decode("utf-8") if out.returncode == 0 else None

nbformat = pytest.importorskip("nbformat")
jupytext = pytest.importorskip("jupytext")


def _cells(nb) -> list[tuple[str, str]]:
    return [(c.cell_type, c.source.strip()) for c in nb.cells]


def test_every_notebook_is_found():
    assert len(NAMES) >= 6 and NAMES[0] == "01_quickstart"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_paired_and_output_free(name):
    ipynb, script = NOTEBOOKS / f"{name}.ipynb", NOTEBOOKS / f"{name}.py"
    assert ipynb.exists() and script.exists(), f"commit both {ipynb.name} and {script.name}"
    nb = nbformat.read(ipynb, as_version=4)
    nbformat.validate(nb)
    staged = _committed_text(ipynb)
    committed = nbformat.reads(staged, as_version=4) if staged is not None else nb
    for i, cell in enumerate(committed.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{ipynb.name} cell {i} has outputs{' staged in git' if staged is not None else ''}; clear them "
                f"(make notebooks-sync, then git add)")
    assert nb.metadata.get("jupytext", {}).get("formats") == "ipynb,py:percent", f"{ipynb.name} is not paired"
    from_script = jupytext.read(script)
    assert _cells(nb) == _cells(from_script), (
        f"{ipynb.name} and {script.name} differ; run `make notebooks-sync` (jupytext --sync)")
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells), f"{name} lacks a parameters cell"


#: Parameters that fast mode may set to something other than a size or a count: (notebook, name) -> why.
FAST_BEHAVIOUR: dict[tuple[str, str], str] = {}


def _code(cell) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in cell.source.splitlines())


@pytest.mark.parametrize("name", NAMES)
def test_fast_mode_changes_only_sizes_and_counts(name):
    """``MELRECON_FAST`` reaches a notebook only through ``FAST = notebook_setup()`` in its parameters cell, and
    ``FAST`` is read only there, each time as ``NAME = <fast value> if FAST else <normal value>``: the cells
    below run the same code in both modes, on smaller sizes and counts."""
    cells = [c for c in jupytext.read(NOTEBOOKS / f"{name}.py").cells if c.cell_type == "code"]
    params = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{name}: one parameters cell"
    for cell in cells:
        tree = ast.parse(_code(cell))
        code = ast.unparse(tree)
        assert "MELRECON_FAST" not in code and "fast_mode" not in code and "os.environ" not in code, (
            f"{name} reads the fast switch itself; use FAST = notebook_setup() in the parameters cell")
        reads = [n for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "FAST"]
        if cell is not params[0]:
            assert not reads, f"{name} reads FAST outside its parameters cell: {code[:200]}"
            continue
        setup = [n for n in tree.body if isinstance(n, ast.Assign) and ast.unparse(n) == "FAST = notebook_setup()"]
        assert len(setup) == 1, f"{name}'s parameters cell must set FAST = notebook_setup()"
        for stmt in tree.body:
            if stmt in setup or not any(isinstance(n, ast.Name) and n.id == "FAST" for n in ast.walk(stmt)):
                continue
            target = stmt.targets[0].id if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 else None
            if (name, target) in FAST_BEHAVIOUR:
                continue
            ok = (target is not None and target.isupper() and isinstance(stmt.value, ast.IfExp)
                  and ast.unparse(stmt.value.test) == "FAST"
                  and not any(isinstance(n, ast.Name) and n.id == "FAST"
                              for part in (stmt.value.body, stmt.value.orelse) for n in ast.walk(part)))
            assert ok, f"{name}: fast mode may only pick a parameter's value: {ast.unparse(stmt)}"


def plain_outputs(nb: dict) -> list[dict]:
    """Every code cell's outputs, with multi-line fields joined (a notebook's JSON may hold a string or a list)."""
    join = lambda v: "".join(v) if isinstance(v, list) else v  # noqa: E731
    outputs = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []) if cell["cell_type"] == "code" else []:
            o = dict(o, text=join(o.get("text", "")))
            o["data"] = {k: join(v) for k, v in o.get("data", {}).items()}
            outputs.append(o)
    return outputs


def check_executed(name: str, nb: dict, results: Path) -> None:
    """What a notebook run top to bottom in fast mode must show (``results``: its ``MELRECON_RESULTS``).

    Applied by ``tests/test_browser.py`` to every notebook it runs in JupyterLab (the notebook model as the
    page holds it): running them a second time headless through nbclient cost ~100 s of the suite for the same
    cells in the same mode; ``make notebooks-check`` runs them in normal mode."""
    outputs = plain_outputs(nb)
    errors = [o for o in outputs if o.get("output_type") == "error"]
    assert not errors, f"{name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    stderr = "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")
    assert not re.search(r"\.py:\d+: \w*Warning", stderr), f"{name} shows a warning's file:line: {stderr[:500]}"
    if name == "03_interactive":  # the workbench: a widget view, and a finished run
        assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
        assert any("iterations, Mel SC" in o.get("text", "") for o in outputs), "the workbench run printed nothing"
    else:
        assert any("image/png" in o.get("data", {}) for o in outputs), f"{name} showed no figure"
        html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
        assert "<audio" in html, f"{name} showed no audio player"
    if name in ("01_quickstart", "02_griffin_lim_vs_gradient_descent"):  # the default method is shown too
        from melrecon.methods.resolve import resolve

        DEFAULT_METHOD = resolve(source="analysis").method
        players = "".join(o.get("data", {}).get("text/html", "") for o in outputs if "<audio" in
                          o.get("data", {}).get("text/html", ""))
        tables = "".join(o.get("data", {}).get("text/markdown", "") for o in outputs)
        assert f"default ({DEFAULT_METHOD})" in players, f"{name} has no player for the default method"
        assert f"default ({DEFAULT_METHOD})" in tables, f"{name}'s metrics table lacks the default method"
    if name == "04_mel_conventions":  # the deliberately wrong conventions are explained as such
        text = "".join(o.get("text", "") for o in outputs)
        assert "integer PCM" not in text and "read with other settings" in text
    if name == "08_listening_test":  # taken through the widget by simulated listeners, the page written, analysed
        folder = results / "listening" / "notebook08-fast"
        assert all((folder / f).exists() for f in ("test.json", "page.html", "report.md"))
        assert not (folder / "me.json").exists(), "the notebook answered for its listener"
        simulated = folder / "simulated"
        assert (simulated / "simulated-1.json").exists() and (simulated / "report.png").exists()
        assert "after post-screening" in (simulated / "report.md").read_text()
    if name == "02_griffin_lim_vs_gradient_descent":
        out = results / "notebooks"
        assert (out / "metrics.md").exists() and (out / "metrics.json").exists()
        assert len(list(out.glob("*.wav"))) >= 4 and len(list(out.glob("*.png"))) >= 2
