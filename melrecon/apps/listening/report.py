"""The analysis of a listening test: screened MUSHRA means with 95 % t-intervals, per-listener tables, ABX
counts with binomial p-values, correlations with objective scores; a Markdown table and one figure.

>>> report = analyse("results/listening/my_test")          # doctest: +SKIP
>>> print(report.markdown()); report.figure()              # doctest: +SKIP
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np

from ... import io
from ...core.config import ParameterError
from .answers import Results, collect
from .build import ListeningTest, load_test
from .report_text import MUSHRA_BANDS, report_figure, report_markdown
from .stats import MeanCI, binomial_p, mean_ci, pearson, screening_reasons, spearman

__all__ = ["Report", "ConditionRow", "AbxRow", "analyse", "MUSHRA_BANDS"]



@dataclass
class ConditionRow:
    """One condition of a MUSHRA test: its id, label, role and the screened listeners' mean with its CI."""

    id: str
    label: str
    role: str
    ci: MeanCI


@dataclass
class AbxRow:
    """One ABX comparison (``a`` vs ``b`` labels): trials, correct answers, one-sided binomial p."""

    a: str
    b: str
    n: int
    correct: int
    p: float


@dataclass
class Report:
    """What :func:`analyse` found. ``conditions`` is ordered by mean (best first); ``listeners`` maps each
    listener to ``{condition label: mean rating}`` (MUSHRA) or ``{comparison: "k/n"}`` (ABX); ``excluded`` maps
    a screened-out listener to the reasons; ``correlations`` maps a score name to
    ``{"pearson", "spearman", "n"}``."""

    test: ListeningTest
    kind: str
    conditions: list[ConditionRow] = field(default_factory=list)
    abx: list[AbxRow] = field(default_factory=list)
    listeners: dict[str, dict] = field(default_factory=dict)
    excluded: dict[str, list[str]] = field(default_factory=dict)
    correlations: dict[str, dict] = field(default_factory=dict)
    scores: dict[str, dict] = field(default_factory=dict)
    confidence: float = 0.95

    @property
    def included(self) -> list[str]:
        """The listeners whose answers count (post-screening passed)."""
        return [name for name in self.listeners if name not in self.excluded]

    def markdown(self) -> str:
        """The report as Markdown: the condition (or comparison) table, correlations, listeners, exclusions."""
        return report_markdown(self)

    def figure(self):
        """One matplotlib figure: MUSHRA means ± CI over the scale's bands, conditions ordered by mean; ABX: the
        share of correct answers per comparison against chance."""
        return report_figure(self)

    def to_dict(self) -> dict:
        """A JSON-ready summary."""
        return {"test": self.test.name, "test_id": self.test.id, "kind": self.kind, "confidence": self.confidence,
                "conditions": [{"id": r.id, "label": r.label, "role": r.role, **r.ci._asdict()}
                               for r in self.conditions],
                "abx": [r.__dict__ for r in self.abx], "listeners": self.listeners, "excluded": self.excluded,
                "correlations": self.correlations, "scores": self.scores}

    def save(self, folder: str | Path) -> list[Path]:
        """Write ``report.md``, ``report.png`` and ``report.json`` into ``folder``; return their paths."""
        # every CLI command's parser loads this package (apps.cli.parser -> listening.cli): invert loads no matplotlib
        import matplotlib.pyplot as plt  # noqa: PLC0415 - see above

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = [folder / "report.md", folder / "report.png", folder / "report.json"]
        with io.atomic_path(paths[0]) as tmp:
            tmp.write_text(self.markdown() + "\n")
        fig = self.figure()
        with io.atomic_path(paths[1]) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight", format="png")
        plt.close(fig)
        with io.atomic_path(paths[2]) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=1, default=_json_number))
        return paths


def _json_number(value):
    return None if isinstance(value, float) and math.isnan(value) else float(value)


def _mushra_ratings(test: ListeningTest, results: list[Results]) -> dict[str, dict[str, list[float]]]:
    """listener -> condition id -> ratings (one per answered trial)."""
    out = {}
    for res in results:
        per = {cid: [] for cid in test.conditions}
        for answer in res.answers.values():
            for cid, value in answer.get("ratings", {}).items():
                if cid in per:
                    per[cid].append(float(value))
        out[res.listener] = per
    return out


def _mid_anchor(test: ListeningTest) -> str | None:
    anchors = [(test.conditions[c].get("cutoff_hz", 0), c) for c in test.ids_with_role("anchor")]
    return max(anchors)[1] if len(anchors) >= 2 else None


def _analyse_mushra(report: Report, results: list[Results], screen: bool, anchor_rule: bool) -> None:
    test = report.test
    ratings = _mushra_ratings(test, results)
    [hidden] = test.ids_with_role("reference")
    mid = _mid_anchor(test) if anchor_rule else None
    for listener, per in ratings.items():
        report.listeners[listener] = {test.label(c): (float(np.mean(v)) if v else math.nan) for c, v in per.items()}
        reasons = screening_reasons(per[hidden], per[mid] if mid else None) if screen else []
        if reasons:
            report.excluded[listener] = reasons
    kept = [ratings[name] for name in report.included]
    rows = [ConditionRow(cid, info["label"], info["role"], mean_ci([v for per in kept for v in per[cid]],
                                                                   report.confidence))
            for cid, info in test.conditions.items()]
    report.conditions = sorted(rows, key=lambda r: (-r.ci.mean if math.isfinite(r.ci.mean) else math.inf, r.label))


def _analyse_abx(report: Report, results: list[Results]) -> None:
    test = report.test
    counts: dict[tuple[str, str], list[int]] = {}
    for t in test.trials:
        counts.setdefault(tuple(t["pair"]), [0, 0])
    for res in results:
        mine: dict[str, list[int]] = {}
        for t in test.trials:
            answer = res.answers.get(t["id"])
            if answer is None:
                continue
            key = tuple(t["pair"])
            hit = int(answer.get("choice") == t["x"])
            for tally in (counts[key], mine.setdefault(" vs ".join(map(test.label, key)), [0, 0])):
                tally[0] += hit
                tally[1] += 1
        report.listeners[res.listener] = {k: f"{c}/{n}" for k, (c, n) in mine.items()}
    report.abx = [AbxRow(test.label(a), test.label(b), n, c, binomial_p(c, n)) for (a, b), (c, n) in counts.items()]


def _correlate(report: Report, scores: Mapping[str, Mapping[str, float]]) -> None:
    means = {r.label: r.ci.mean for r in report.conditions}
    for metric, per in scores.items():
        if not isinstance(per, Mapping):
            raise ParameterError(f"scores[{metric!r}] must map condition labels to values, e.g. "
                                 f"{{'PESQ-wb': {{'meladmm+melgl default': 4.0}}}}.")
        unknown = set(per) - set(means)
        if unknown:
            raise ParameterError(f"scores[{metric!r}] names {sorted(unknown)}, which are not conditions of the test; "
                                 f"use the labels {sorted(means)}.")
        labels = [k for k in per if per[k] is not None and math.isfinite(float(per[k]))]
        x, y = [float(per[k]) for k in labels], [means[k] for k in labels]
        report.scores[metric] = {k: float(per[k]) for k in labels}
        report.correlations[metric] = {"pearson": pearson(x, y), "spearman": spearman(x, y), "n": len(labels)}


def analyse(test: ListeningTest | str | Path, results: Iterable[Results] | str | Path | None = None, *,
            scores: Mapping[str, Mapping[str, float]] | None = None, confidence: float = 0.95,
            screen: bool = True, anchor_rule: bool = True) -> Report:
    """Analyse the answers to ``test``.

    Parameters
    ----------
    test : ListeningTest or path
        The test (its folder).
    results : iterable of Results, or path(s), optional
        The answers (default: every answer file in the test's folder, :func:`collect`).
    scores : mapping, optional
        Objective scores per condition label, e.g. ``{"PESQ-wb": {"meladmm+melgl default": 4.0, ...},
        "Mel SC": {...}}``: Pearson and Spearman correlations with the MUSHRA means (over the conditions scored).
        The analysis computes no metric itself.
    confidence : float
        The intervals' coverage (0.95).
    screen : bool
        Apply BS.1534-3 post-screening: a listener who rates the hidden reference below 90 in more than 15 %
        of the trials is excluded (and, with ``anchor_rule``, one who rates the 7 kHz anchor above 90 in more
        than 15 %); the excluded are named in ``Report.excluded`` with the reason.

    Returns
    -------
    Report
    """
    test = load_test(test)
    if results is None or isinstance(results, (str, Path)):
        results = collect(test.folder if results is None else results, test=test)
    results = list(results)
    for res in results:
        if res.test_id != test.id:
            raise ParameterError(f"the answers of {res.listener!r} are for test {res.test_id}, not {test.id}; "
                                 f"pass answers to this test only.")
    report = Report(test, test.kind, confidence=confidence)
    if test.kind == "mushra":
        _analyse_mushra(report, results, screen, anchor_rule)
        if scores:
            _correlate(report, scores)
    else:
        _analyse_abx(report, results)
    return report
