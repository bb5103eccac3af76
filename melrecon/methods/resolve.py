"""The one decision of what to run: the user's raw choices become one :class:`Choice`.

Every entry point (``reconstruct``, the CLI's ``invert``/``batch``/``demo``/``stream``, ``invert_folder`` and
its engines, the workbench, ``mel_to_audio``, ``Streamer``) hands what the user said — where the mel came from
(``source``, or the input file's kind), ``method``, ``effort``, explicit counts, a starting phase — to
:func:`resolve` and decides nothing itself. What a method runs at each effort is said once, in its record
(:mod:`melrecon.methods.registry`); the rules that join the user's choices with it are here:

* **method**: as given; else the default of the mel's source (:data:`DEFAULT_METHODS`): a mel melrecon computed
  from audio (``"analysis"``) is exact and gets :data:`~melrecon.methods.registry.EXACT_METHOD`; a mel handed in
  (``"predicted"``: arrays, mel files, ``mel_to_audio``; the default source) gets the noise-aware
  :data:`~melrecon.methods.registry.NOISE_AWARE_METHOD`;
* **counts**, first match wins: a count given in a list of stages; ``gl_iters`` for projection stages and
  ``gd_iters`` for gradient stages; ``n_iter`` (one, or one per stage); ``total_iters`` (librosa's ``n_iter``:
  that many in all, split over the stages in the proportion of the level's counts); the level's counts;
* **starting phase**: ``init_phase`` when given, else the level's (e.g. PGHI at ``"fast"``), else the
  algorithm's own; **starting phases tried** (``init_phases``): the level's (``"best"`` tries zero and PGHI
  and keeps the lower Mel SC) unless a starting phase or a starting point is given; with the level's
  ``race`` (steps), as a start race: only the first stage's first steps run from each, one run goes on.

>>> c = resolve(source="analysis", effort="best")
>>> c.method, c.counts, c.init_phases
('meladmm+melgl', (300, 950), ('zero', 'pghi'))
>>> resolve(total_iters=32).counts  # librosa's n_iter=32 over the default's 60:40
(19, 13)
>>> print(resolve(path="mel.npy").summary())
tolmeladmm+tolmelgl 60+40 (method: the default for a mel handed in; source: predicted: a mel file; counts: effort default)
"""  # noqa: E501 - a doctest's output line

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..algorithms import Algorithm
from ..core.config import ParameterError
from ..core.validation import check_iterations
from ..io import MEL_SUFFIXES
from . import registry
from .registry import (
    DEFAULT_EFFORT,
    EFFORTS,
    EXACT_METHOD,
    METHODS,
    NOISE_AWARE_METHOD,
    STREAMING,
    Level,
    Method,
    Stage,
    check_effort,
    families,
    known_options,
    method_record,
)

__all__ = ["Choice", "resolve", "build_stages", "describe", "source_of", "default_method", "streaming_iters",
           "SOURCES", "DEFAULT_SOURCE", "DEFAULT_METHODS", "describe_line", "describe_methods"]

#: Where a mel came from: ``"analysis"`` (melrecon computed it from audio: exact), ``"predicted"`` (handed in).
SOURCES = ("analysis", "predicted")
#: The source of a mel nothing is said about: handed in (mostly an acoustic model's).
DEFAULT_SOURCE = "predicted"
#: The default method of each source.
DEFAULT_METHODS = {"analysis": EXACT_METHOD, "predicted": NOISE_AWARE_METHOD}
_SOURCE_WORDS = {"analysis": "a mel melrecon computed from audio", "predicted": "a mel handed in"}


def _check_source(source: Any) -> str:
    if source not in SOURCES:
        raise ParameterError(f"source={source!r} must be one of {SOURCES}: 'analysis' for a mel melrecon computed "
                             f"from audio (exact), 'predicted' for one handed in (an acoustic model's).")
    return source


def source_of(item: str | Path) -> str:
    """Where the mel of an input comes from, by its kind: ``"predicted"`` for a mel file
    (:data:`melrecon.io.MEL_SUFFIXES`) or ``"mel"`` (handed in), ``"analysis"`` for an audio file or ``"audio"``
    (melrecon computes its mel)."""
    if str(item) in ("mel", "audio"):
        return "predicted" if str(item) == "mel" else "analysis"
    return "predicted" if Path(item).suffix.lower() in MEL_SUFFIXES else "analysis"


def default_method(source: str | None = None) -> str:
    """The default method for a mel of ``source`` (None: :data:`DEFAULT_SOURCE`)."""
    return DEFAULT_METHODS[_check_source(DEFAULT_SOURCE if source is None else source)]


def streaming_iters(effort: str | None = None, iters: int | None = None) -> int:
    """The streaming inverter's iterations per frame: ``iters`` when given, else the level's."""
    if iters is not None:
        return check_iterations("iters", iters, minimum=0)
    return STREAMING.level(check_effort(effort)).counts[0]


@dataclass(frozen=True)
class Choice:
    """What one call runs, resolved once: the method's name, the mel's source, the effort level, the stages with
    their counts, the starting phases tried (empty: one run) and why each was chosen (``reasons``)."""

    method: str
    source: str
    effort: str
    stages: tuple[Stage, ...]
    init_phases: tuple[str, ...] = ()
    reasons: tuple[tuple[str, str], ...] = ()
    race: int | None = None  # with init_phases: a start race of this many first-stage steps (None: whole runs)

    @property
    def counts(self) -> tuple[int, ...]:
        """The iterations, one per stage."""
        return tuple(n for _, n in self.stages)

    @property
    def init_phase(self) -> str:
        """The first stage's starting phase (``"random"`` for a stage without the option: seeded noise)."""
        return getattr(self.stages[0].algorithm, "init_phase", "random")

    @property
    def random_start(self) -> bool:
        """Whether the first stage starts from a seeded random phase (the seed matters)."""
        return self.init_phase == "random" and not self.init_phases

    @property
    def families(self) -> frozenset:
        return frozenset(families(self.stages))

    @property
    def options(self) -> frozenset:
        """Every option some stage takes."""
        return frozenset().union(*(s.algorithm.options() for s in self.stages))

    @property
    def levels(self) -> dict[str, tuple[int, ...]]:
        """The method's counts at every effort level (as resolved without explicit counts)."""
        return {e: describe(self.method, e).counts for e in EFFORTS}

    def summary(self) -> str:
        """One line: what runs and why (the CLI's summary line prints it)."""
        tries = f" from each of {'/'.join(self.init_phases)}" if self.init_phases else ""
        if self.init_phases and self.race is not None:
            tries = f" from the better of {'/'.join(self.init_phases)} after {self.race} steps"
        why = "; ".join(f"{k}: {v}" for k, v in self.reasons)
        return f"{self.method} {'+'.join(map(str, self.counts))}{tries} ({why})"

    def settings(self) -> dict[str, Any]:
        """The choice as plain values (``Reconstruction.settings``)."""
        return {"method": self.method, "effort": self.effort, "source": self.source,
                "init_phases": list(self.init_phases), "race": self.race, "reasons": dict(self.reasons),
                "stages": [dict(a.describe(), n_iter=n) for a, n in self.stages]}


def resolve(method: Any = None, *, source: str | None = None, path: str | Path | None = None,
            effort: str | None = None, n_iter=None, gl_iters: int | None = None, gd_iters: int | None = None,
            total_iters: int | None = None, init_phase: str | None = None, init_given: bool = False,
            options: dict[str, Any] | None = None) -> Choice:
    """Resolve the user's raw choices into one :class:`Choice` (the rules: module docstring).

    ``method`` is a name of :data:`~melrecon.methods.registry.METHODS`, a ``+``-joined chain such as ``"gl+gd"``,
    an :class:`~melrecon.algorithms.Algorithm`, a list of ``(algorithm or name, n_iter)`` or None (by source);
    ``source`` where the mel came from (None: by ``path``'s kind, else :data:`DEFAULT_SOURCE`); ``init_given``
    says a starting point (an array) was given. Other ``options`` go to every stage that takes them.
    """
    options = dict(options or {})
    if init_phase is not None:
        options["init_phase"] = init_phase
    effort = check_effort(effort)
    reasons = []
    if source is None and path is not None:
        source = source_of(path)
        reasons.append(("source", f"{source}: {'a mel file' if source == 'predicted' else 'an audio file'}"))
    elif source is None:
        source = DEFAULT_SOURCE
    else:
        _check_source(source)
    if method is None:
        method = DEFAULT_METHODS[source]
        reasons.insert(0, ("method", f"the default for {_SOURCE_WORDS[source]}"))
    items, record = _items(method, effort)
    stages, how = _counts(items, record.level(effort) if record else None, n_iter=n_iter, gl_iters=gl_iters,
                          gd_iters=gd_iters, total_iters=total_iters, options=options)
    reasons.append(("counts", how if how else f"effort {effort}"))
    started = init_given or "init_phase" in options
    tried = () if started or record is None else record.level(effort).init_phases
    race = record.level(effort).race if tried else None
    if tried:
        how = "the lower Mel SC kept" if race is None else f"a start race of {race} steps, the lower Mel SC goes on"
        reasons.append(("init_phases", f"effort {effort}: {how}"))
    name = method.strip().lower() if isinstance(method, str) else "+".join(a.name for a, _ in stages)
    return Choice(name, source, effort, stages, tuple(tried), tuple(reasons), race)


def _items(method: Any, effort: str) -> tuple[list[tuple[Stage, bool]], Method | None]:
    """``method`` -> ([(stage at the level, whether its count was given)], its record or None)."""
    if isinstance(method, str):
        record = method_record(method)
        return [(s, False) for s in record.stages(effort)], record
    if isinstance(method, Algorithm):
        record = Method(method.name, (lambda: method,))
        return [(s, False) for s in record.stages(effort)], None
    if isinstance(method, (list, tuple)):
        return _from_list(method), None
    raise ParameterError(f"method={method!r} must be a name such as 'gl+gd', an Algorithm or a list of stages.")


def _from_list(method: Sequence) -> list[tuple[Stage, bool]]:
    """A list of ``(algorithm or name, n_iter)`` pairs; their counts are explicit."""
    items = []
    for entry in method:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2):
            raise ParameterError(f"method entries must be (algorithm or name, n_iter) pairs, got {entry!r}.")
        algo, n = entry
        n = check_iterations("n_iter", n)
        if isinstance(algo, str):
            items += [(Stage(s.algorithm, n), True) for s in method_record(algo).stages(DEFAULT_EFFORT)]
        elif isinstance(algo, Algorithm):
            items.append((Stage(algo, n), True))
        else:
            raise ParameterError(f"method entry {entry!r}: the first item must be an Algorithm or a method name.")
    return items


def _per_stage(n_iter, n_stages: int) -> list:
    if n_iter is None:
        return [None] * n_stages
    counts = list(n_iter) if isinstance(n_iter, (list, tuple)) else [n_iter] * n_stages
    if len(counts) != n_stages:
        raise ParameterError(f"n_iter={n_iter!r} gives {len(counts)} counts for {n_stages} stage(s).")
    return counts


def split_total(total: int, counts: Sequence[int]) -> list[int]:
    """``total`` iterations over stages in the proportion of ``counts`` (cumulative rounding; the first stage
    gets at least one when ``total`` >= 1)."""
    total = check_iterations("n_iter", total)
    weight = sum(counts) or 1
    bounds, acc = [0], 0
    for c in counts:
        acc += c
        bounds.append(round(total * acc / weight))
    if total >= 1 and bounds[1] == 0:
        bounds[1] = 1
    return [max(0, b - a) for a, b in zip(bounds, bounds[1:])]


def _counts(items, level: Level | None, *, n_iter, gl_iters, gd_iters, total_iters, options):
    """The stages with their counts and options; -> (stages, what set the counts or '' for the level)."""
    unknown = set(options) - known_options([s for s, _ in items])
    if unknown:
        raise ParameterError(f"unknown option(s) {sorted(unknown)}; known: {sorted(known_options())}.")
    if total_iters is not None:
        n_iter = split_total(total_iters, [s.n_iter for s, _ in items])
    by_family = {"projection": gl_iters, "gradient": gd_iters}
    per_stage = _per_stage(n_iter, len(items))
    stages, how = [], set()
    for (stage, explicit), count in zip(items, per_stage):
        n = stage.n_iter
        if explicit:
            how.add("given per stage")
        else:
            family_count = by_family.get(stage.algorithm.family)
            n = next(c for c in (family_count, count, n) if c is not None)
            how.add("given" if (family_count, count) != (None, None) else "")
        stages.append(Stage(stage.algorithm.with_options(options), check_iterations("n_iter", n)))
    if total_iters is not None:
        return tuple(stages), f"n_iter={total_iters} in all, split as the level's counts"
    return tuple(stages), ", ".join(sorted(h for h in how if h))


def build_stages(method: Any = None, *, effort: str | None = None, source: str | None = None, n_iter=None,
                 gl_iters=None, gd_iters=None, **options) -> tuple[Stage, ...]:
    """The tuple of :class:`~melrecon.methods.registry.Stage` a call with these choices runs (:func:`resolve`'s
    stages; ``method`` None: the default of ``source``).

    >>> [(s.algorithm.name, s.algorithm.family, s.n_iter) for s in build_stages("gl+gd", effort="balanced",
    ...                                                                          gl_iters=30)]
    [('fgla', 'projection', 30), ('gd', 'gradient', 500)]
    """
    return resolve(method, source=source, effort=effort, n_iter=n_iter, gl_iters=gl_iters, gd_iters=gd_iters,
                   options=options).stages


def describe(method: str, effort: str = DEFAULT_EFFORT) -> Choice:
    """What a method name runs at ``effort`` with nothing else given (cached until a method is registered)."""
    return _described(method, effort, registry.GENERATION[0])


@functools.lru_cache(maxsize=512)
def _described(method: str, effort: str, generation: int) -> Choice:
    return resolve(method, effort=effort)


describe.cache_clear = _described.cache_clear


def describe_line(name: str, mark: str = "") -> str:
    """A method in two lines: its stages with their families (then ``mark``), and its counts per effort level
    (with the starting phase where a level sets its own, and the starting phases it tries)."""
    info = describe(name)
    parts = [f"{s.algorithm.name} ({s.algorithm.family})" for s in info.stages]
    levels = []
    for effort, counts in info.levels.items():
        level = describe(name, effort)
        text = f"{effort} {'+'.join(map(str, counts))}"
        text += f" ({level.init_phase} start)" if level.init_phase != info.init_phase else ""
        if level.init_phases:
            text += (f" (best of {'/'.join(level.init_phases)} starts)" if level.race is None else
                     f" (start race of {level.race} steps: {'/'.join(level.init_phases)})")
        levels.append(text)
    return f"{name}: {' then '.join(parts)}{mark}\n    iterations by effort: {'; '.join(levels)}"


def describe_methods() -> str:
    """Each named method in two lines (:func:`describe_line`; the CLI's ``melrecon methods``)."""
    marks = {m: f" [default for {_SOURCE_WORDS[s]}]" for s, m in DEFAULT_METHODS.items()}
    return "\n".join(describe_line(name, marks.get(name, "")) for name in METHODS)
