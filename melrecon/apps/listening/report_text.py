"""How a :class:`~melrecon.apps.listening.report.Report` is shown: Markdown tables and one matplotlib figure."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import Report

__all__ = ["report_markdown", "report_figure", "MUSHRA_BANDS"]

#: The five MUSHRA scale bands (BS.1534-3), from the bottom.
MUSHRA_BANDS = ("bad", "poor", "fair", "good", "excellent")


def _num(value: float, fmt: str = "{:.1f}") -> str:
    return "–" if value is None or not math.isfinite(value) else fmt.format(value)


def _p(value: float) -> str:
    return "–" if not math.isfinite(value) else ("< 0.001" if value < 0.001 else f"{value:.3f}")


def _mushra_tables(report: Report) -> list[str]:
    pct = f"{100 * report.confidence:g}"
    lines = [f"| condition | role | mean | {pct} % CI | ratings |", "|---|---|---|---|---|"]
    for r in report.conditions:
        ci = f"{_num(r.ci.low)} – {_num(r.ci.high)}" if math.isfinite(r.ci.half_width) else "–"
        lines.append(f"| {r.label} | {r.role} | {_num(r.ci.mean)} | {ci} | {r.ci.n} |")
    if report.correlations:
        lines += ["", "| objective score | Pearson r | Spearman ρ | conditions |", "|---|---|---|---|"]
        for metric, c in report.correlations.items():
            lines.append(f"| {metric} | {_num(c['pearson'], '{:.2f}')} | {_num(c['spearman'], '{:.2f}')} | {c['n']} |")
    if report.listeners:
        labels = [r.label for r in report.conditions]
        lines += ["", "Mean rating per listener:", "", "| listener | " + " | ".join(labels) + " |",
                  "|---|" + "---|" * len(labels)]
        for name, per in report.listeners.items():
            mark = " (excluded)" if name in report.excluded else ""
            lines.append(f"| {name}{mark} | " + " | ".join(_num(per.get(lab, math.nan)) for lab in labels) + " |")
    return lines


def _abx_tables(report: Report) -> list[str]:
    lines = ["| comparison | correct | trials | share | p (one-sided binomial) |", "|---|---|---|---|---|"]
    for r in report.abx:
        share = _num(100 * r.correct / r.n, "{:.0f} %") if r.n else "–"
        lines.append(f"| {r.a} vs {r.b} | {r.correct} | {r.n} | {share} | {_p(r.p)} |")
    if report.listeners:
        comparisons = [f"{r.a} vs {r.b}" for r in report.abx]
        lines += ["", "Correct answers per listener:", "", "| listener | " + " | ".join(comparisons) + " |",
                  "|---|" + "---|" * len(comparisons)]
        for name, per in report.listeners.items():
            lines.append(f"| {name} | " + " | ".join(per.get(c, "–") for c in comparisons) + " |")
    return lines


def report_markdown(report: Report) -> str:
    """The report as Markdown (a heading line, the tables, the screened-out listeners with their reasons)."""
    test = report.test
    n = len(report.listeners)
    trials = len(test.trials)
    head = [f"**{test.name}** ({test.kind.upper()}, {trials} trial{'s' * (trials != 1)}): "
            f"{n} listener{'s' * (n != 1)}"]
    if test.kind == "mushra":
        head[0] += f", {len(report.included)} after post-screening (BS.1534-3)"
    lines = head + [""] + (_mushra_tables(report) if test.kind == "mushra" else _abx_tables(report))
    if report.excluded:
        lines += ["", "Excluded by post-screening:", ""]
        lines += [f"- {name}: {'; '.join(reasons)}" for name, reasons in report.excluded.items()]
    if not report.listeners:
        lines += ["", "No answers yet."]
    return "\n".join(lines)


def _mushra_figure(report: Report, ax) -> None:
    for i, band in enumerate(MUSHRA_BANDS):
        ax.axhspan(20 * i, 20 * (i + 1), color="0.93" if i % 2 else "0.97", zorder=0)
        ax.text(1.01, 20 * i + 10, band, transform=ax.get_yaxis_transform(), va="center", fontsize=8, color="0.4")
    colours = {"system": "C0", "reference": "C2", "anchor": "C3"}
    for x, r in enumerate(report.conditions):
        err = r.ci.half_width if math.isfinite(r.ci.half_width) else 0.0
        ax.errorbar(x, r.ci.mean, yerr=err, fmt="o", color=colours.get(r.role, "C0"), capsize=5, ms=7)
    ax.set_xticks(range(len(report.conditions)), [r.label for r in report.conditions], rotation=25, ha="right")
    ax.set(ylim=(0, 100), ylabel=f"MUSHRA score (mean, {100 * report.confidence:g} % CI)",
           title=f"{report.test.name}: {len(report.included)} listener(s) after post-screening")


def _abx_figure(report: Report, ax) -> None:
    names = [f"{r.a}\nvs {r.b}" for r in report.abx]
    shares = [r.correct / r.n if r.n else math.nan for r in report.abx]
    ax.bar(range(len(names)), shares, color="C0")
    for x, r in enumerate(report.abx):
        ax.text(x, (shares[x] if math.isfinite(shares[x]) else 0) + 0.02, f"{r.correct}/{r.n}\np {_p(r.p)}",
                ha="center", fontsize=8)
    ax.axhline(0.5, color="0.3", ls="--", lw=1, label="chance")
    ax.set_xticks(range(len(names)), names, fontsize=8)
    ax.set(ylim=(0, 1.15), ylabel="share of correct answers", title=f"{report.test.name}: ABX")
    ax.legend(loc="upper right")


def report_figure(report: Report):
    """One figure of the report (see :meth:`Report.figure`)."""
    # every CLI command's parser loads this package (apps.cli.parser -> listening.cli): invert loads no matplotlib
    import matplotlib.pyplot as plt  # noqa: PLC0415 - see above

    n = max(len(report.conditions), len(report.abx), 2)
    fig, ax = plt.subplots(figsize=(min(2.0 + 1.1 * n, 14), 4.2), layout="constrained")
    (_mushra_figure if report.kind == "mushra" else _abx_figure)(report, ax)
    return fig
