"""Run every notebook top to bottom in normal mode (``MELRECON_FAST`` unset: the sizes and counts ``make lab``
gives), headless, and fail on any error. ``make notebooks-check`` runs it; ``.ci/run`` runs that after the tests.

    python scripts/run_notebooks.py [NN_name ...] [--out DIR] [--results DIR] [--timeout SECONDS]

Each ``notebooks/NN_*.ipynb`` (or the ones named) runs in a fresh kernel with ``notebooks/`` as its working
directory, one after another. What the notebooks write goes to a temporary folder (``$MELRECON_RESULTS``)
unless ``--results`` names one; ``--out`` keeps the executed notebooks (with their outputs) there. Each
notebook's wall time is printed, then the total. Exit status 1 when a notebook raised (the failing cell is
printed) or printed a warning with the file:line it came from (the notebooks' setup shows warnings without it).
A clean run of every notebook records its time in ``results/test/notebooks.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
#: A warning printed with the file and line that raised it (``.../reconstruct.py:180: UserWarning: ...``).
FILE_LINE_WARNING = re.compile(r"\.py:\d+: \w*Warning")
#: The whole lane's time, date and load (``scripts/docs_tables.py --suite`` renders README's test-time line).
RECORD = REPO / "results" / "test" / "notebooks.json"


def run(path: Path, timeout: int, out: Path | None) -> str | None:
    """Execute one notebook; None when it ran cleanly, else what went wrong."""
    import nbclient  # noqa: PLC0415 - the notebooks extra
    import nbformat  # noqa: PLC0415 - the notebooks extra

    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    problem = None
    try:
        client.execute()
    except Exception as exc:  # noqa: BLE001 - CellExecutionError, a timeout, a dead kernel: all reported
        problem = f"{type(exc).__name__}: {str(exc)[-3000:]}"
    if problem is None:
        stderr = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                         if o.get("name") == "stderr")
        found = FILE_LINE_WARNING.search(stderr)
        if found:
            start = stderr.rfind("\n", 0, found.start()) + 1
            problem = f"a warning shows its file:line: {stderr[start:start + 300]}"
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out / path.name)
    return problem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="notebooks to run (e.g. 02 or 02_griffin_lim_vs_gradient_descent); "
                                                 "default: every notebooks/NN_*.ipynb")
    parser.add_argument("--out", type=Path, help="write the executed notebooks (with outputs) to this folder")
    parser.add_argument("--results", type=Path, help="the notebooks' results folder (default: a temporary one)")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds one cell may take (default 1200)")
    args = parser.parse_args(argv)

    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if args.names:
        paths = [p for p in paths if any(p.stem == n or p.stem.startswith(f"{n}_") for n in args.names)]
        if not paths:
            parser.error(f"no notebook matches {args.names}")
    started, load = time.time(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="melrecon-notebooks-") as tmp:
        os.environ.pop("MELRECON_FAST", None)  # normal mode: what `make lab` gives
        os.environ["MELRECON_RESULTS"] = str(args.results or tmp)
        os.environ.setdefault("MPLBACKEND", "Agg")
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        failed, total = [], 0.0
        for path in paths:
            t0 = time.perf_counter()
            problem = run(path, args.timeout, args.out)
            seconds = time.perf_counter() - t0
            total += seconds
            print(f"{path.stem:<40} {seconds:7.1f} s  {'FAILED' if problem else 'ok'}", flush=True)
            if problem:
                failed.append(path.stem)
                print(problem, file=sys.stderr, flush=True)
    print(f"{len(paths)} notebook(s) in normal mode: {total:.1f} s ({total / 60:.1f} min)"
          + (f"; failed: {', '.join(failed)}" if failed else ""))
    if not args.names and not failed:  # the whole lane: its time for the README (scripts/docs_tables.py --suite)
        RECORD.parent.mkdir(parents=True, exist_ok=True)
        RECORD.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
                                      "seconds": round(total, 1), "count": len(paths),
                                      "load_before": round(load, 2), "load_after": round(os.getloadavg()[0], 2)},
                                     indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
