"""Write the figures of docs/notebooks.md from the run that produced them.

Notebook 02 run in full mode (``MELRECON_FAST`` unset) writes ``results/notebooks/metrics.json``. This script
copies that file to ``docs/data/notebook02_metrics.json`` and rewrites the table between the markers
``<!-- notebook02-table -->`` and ``<!-- /notebook02-table -->`` in docs/notebooks.md from it; nothing in that
block is typed by hand. ``tests/test_docs.py`` checks that the block matches the stored file, and re-runs the
cheap rows of the stored run to check the numbers still hold.

    python scripts/docs_tables.py [--metrics results/notebooks/metrics.json] [--context "what the run was"]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "notebooks.md"
DATA = REPO / "docs" / "data" / "notebook02_metrics.json"
BEGIN, END = "<!-- notebook02-table -->", "<!-- /notebook02-table -->"
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


def stored() -> tuple[list[dict], str]:
    data = json.loads(DATA.read_text())
    return data["rows"], data["context"]


def doc_block(text: str | None = None) -> str:
    text = DOC.read_text() if text is None else text
    match = re.search(re.escape(BEGIN) + ".*?" + re.escape(END), text, flags=re.S)
    if match is None:
        raise SystemExit(f"{DOC} lacks the {BEGIN} ... {END} markers")
    return match.group(0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", default=None, help="metrics.json of a full notebook-02 run to store first")
    parser.add_argument("--context", default=None, help="the line above the table: how the run was made")
    args = parser.parse_args(argv)
    if args.metrics:
        rows = json.loads(Path(args.metrics).read_text())
        context = args.context or "From a full run of notebook 02."
        DATA.parent.mkdir(parents=True, exist_ok=True)
        DATA.write_text(json.dumps({"context": context, "rows": rows}, indent=2) + "\n")
    rows, context = stored()
    text = DOC.read_text()
    DOC.write_text(text.replace(doc_block(text), render(rows, context)))
    print(f"wrote the table of {DOC.relative_to(REPO)} from {DATA.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
