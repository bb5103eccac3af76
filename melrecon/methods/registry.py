"""Methods as values: a :class:`Stage` is an algorithm with its iteration count, a pipeline is a tuple of
stages, and a named method is a recipe that returns one (in the spirit of ``optax.chain``).

What a method is (its family, its options, its default iterations) is declared on the algorithm
(:class:`melrecon.algorithms.Algorithm`); everything here, and every caller (``reconstruct``, the CLI,
``invert_folder``, the workbench), asks the stages instead of keeping lists of names.

>>> stages = build_stages("gl+gd", effort="balanced", gl_iters=30)
>>> [(s.algorithm.name, s.algorithm.family, s.n_iter) for s in stages]
[('fgla', 'projection', 30), ('gd', 'gradient', 500)]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple, Sequence

from ..algorithms import (
    ADMMGriffinLim, Algorithm, MelGriffinLim, STFTGradientDescent, TolerantMelADMM, TolerantMelGriffinLim,
    WaveformGradientDescent, agla, fgla, gla,
)
from ..core.config import ParameterError
from ..core.validation import check_iterations

__all__ = ["Stage", "METHODS", "DEFAULT_METHOD", "EFFORTS", "DEFAULT_EFFORT", "check_effort", "build_stages", "known_options", "families", "used_options",
           "describe_methods", "describe_line", "MethodInfo", "describe", "register", "PREDICTED_METHOD", "SOURCES", "default_method"]


class Stage(NamedTuple):
    """One stage of a pipeline: ``algorithm`` run for ``n_iter`` iterations (unpacks as a pair)."""

    algorithm: Algorithm
    n_iter: int


#: Effort levels, least work first: how much time the user gives the inversion. ``"default"`` is what
#: every entry (API, CLI, folder inversion, workbench, streaming) runs when no effort is given.
EFFORTS = ("fast", "default", "balanced", "best")
DEFAULT_EFFORT = "default"
#: Iterations at each effort, as a fraction of an algorithm's ``default_iters`` (its balanced count), for the
#: methods whose recipe does not give its own counts per effort.
EFFORT_SCALE = {"fast": 0.1, "default": 0.2, "balanced": 1.0, "best": 5.0}

#: A recipe: takes an effort level, returns the stages of a named method with their iterations at that effort.
Recipe = Callable[[str], tuple[Stage, ...]]


def check_effort(effort: Any) -> str:
    """A checked effort level (None: :data:`DEFAULT_EFFORT`)."""
    if effort is None:
        return DEFAULT_EFFORT
    if not isinstance(effort, str) or effort.strip().lower() not in EFFORTS:
        raise ParameterError(f"effort={effort!r} must be one of {EFFORTS} (least work first; default "
                             f"{DEFAULT_EFFORT!r}); explicit iteration counts (n_iter, --iters) override it.")
    return effort.strip().lower()


def scaled_iters(balanced: int, effort: str) -> int:
    """An algorithm's iterations at ``effort`` from its balanced count (at least 1)."""
    return max(1, int(round(balanced * EFFORT_SCALE[effort])))


def _single(make: Callable[[], Algorithm], counts: dict[str, int] | None = None) -> Recipe:
    """The recipe of a one-stage method: the algorithm with its count at each effort (``counts``, else
    its ``default_iters`` scaled by :data:`EFFORT_SCALE`)."""

    def recipe(effort: str) -> tuple[Stage, ...]:
        algo = make()
        return (Stage(algo, counts[effort] if counts else scaled_iters(algo.default_iters, effort)),)

    return recipe


def _pipeline(makes: Sequence[Callable[[], Algorithm]], counts: dict[str, tuple[int, ...]],
              first_phase: dict[str, str] | None = None) -> Recipe:
    """The recipe of a pipeline: its algorithms with one count per stage at each effort (and, where
    ``first_phase`` names one for an effort, the first stage's ``init_phase`` there)."""

    def recipe(effort: str) -> tuple[Stage, ...]:
        stages = [Stage(make(), n) for make, n in zip(makes, counts[effort])]
        phase = (first_phase or {}).get(effort)
        if phase is not None:
            stages[0] = Stage(stages[0].algorithm.with_options({"init_phase": phase}), stages[0].n_iter)
        return tuple(stages)

    return recipe


def _meladmm() -> ADMMGriffinLim:
    # Zero initial phase: deterministic, and on speech at the hifigan preset it averaged higher PESQ
    # than random phases (4.02 vs 3.97-3.98 over 8 clips) and avoided their occasional poor draw.
    # init_phase="pghi" (melrecon/pghi.py) raised speech further in development runs (+0.1 on 6 clips)
    # but fell by 1.1 PESQ on one music clip (music_guitar), so it is an option, not the default
    # (docs/quality.md, "PGHI start"). The Mel-constraint metric is "auto": relative for power-2 mels.
    return ADMMGriffinLim(magnitude="mel", init_phase="zero", name="meladmm")


#: Stage counts of the Mel-constraint pipelines per effort, measured on 17 speech clips at the hifigan preset
#: against librosa's mel_to_audio (32 iterations, 2.66 PESQ-wb) and the L-BFGS peer (3.61), docs/effort.md:
#: fast 30+20 from a PGHI start 3.79 at ~3.9x librosa's speed; default 60+40 3.76 at ~2.3-2.8x; balanced
#: 300+200 4.02 at ~0.7x; best 300+950 from a zero and from a PGHI start, the lower Mel SC kept, 4.15 at ~5x
#: balanced's time (every clip above the L-BFGS peer).
PIPELINE_COUNTS = {"fast": (30, 20), "default": (60, 40), "balanced": (300, 200), "best": (300, 950)}
#: The first stage's starting phase where an effort sets it (PGHI lifted the 30+20 budget by ~0.15).
PIPELINE_PHASE = {"fast": "pghi"}
#: Efforts that run a method from several starting phases and keep the result of lowest Mel SC.
PIPELINE_STARTS = {"best": ("zero", "pghi")}

#: Named methods (recipes). Any of them can be joined with "+" into a pipeline ("gl" is an alias of "fgla").
METHODS: dict[str, Recipe] = {
    "gla": _single(gla),
    "fgla": _single(fgla),
    "gl": _single(fgla),
    "agla": _single(agla),
    "gd": _single(STFTGradientDescent),
    "waveform": _single(lambda: WaveformGradientDescent(optimizer="adam", learning_rate=1e-3, name="waveform")),
    "lbfgs": _single(lambda: WaveformGradientDescent(optimizer="lbfgs", learning_rate=None, name="lbfgs")),
    "melgl": _single(MelGriffinLim),
    "admm": _single(ADMMGriffinLim),
    "meladmm": _single(_meladmm),
    "meladmm+melgl": _pipeline((_meladmm, MelGriffinLim), PIPELINE_COUNTS, PIPELINE_PHASE),
    # Noise-aware: the exact Mel constraint towards a target whose log is smoothed along time by a width
    # measured from the mel's roughness (0 on clean mels: the exact method).
    "tolmeladmm": _single(TolerantMelADMM),
    "tolmelgl": _single(TolerantMelGriffinLim),
    "tolmeladmm+tolmelgl": _pipeline((TolerantMelADMM, TolerantMelGriffinLim), PIPELINE_COUNTS, PIPELINE_PHASE),
}
#: The default everywhere (``reconstruct``, the CLI, ``invert_folder``, the workbench): 300 iterations of
#: ADMM between the Mel-constraint set and the consistent STFTs, then 200 of Mel-consistent fast
#: Griffin-Lim (the best PESQ and Mel distance, at a real-time factor under the L-BFGS peer's, in
#: ``benchmarks/quality.py``; see docs/quality.md). On power-2 Mel spectrograms (librosa's defaults) both
#: stages project in the relative metric (``metric="auto"``), which lifted PESQ there by about 1.

DEFAULT_METHOD = "meladmm+melgl"
#: The default for mels handed in (arrays, mel files, ``mel_to_audio``), which are mostly predicted by an
#: acoustic model: the same pipeline towards a cleaned target (noise, time smoothing, band blur undone when
#: read in the mel; the default exactly when nothing is read). Mels melrecon computed from audio keep
#: :data:`DEFAULT_METHOD`.
PREDICTED_METHOD = "tolmeladmm+tolmelgl"
#: Where a mel came from: ``"analysis"`` (melrecon computed it from audio: exact), ``"predicted"`` (handed in).
SOURCES = ("analysis", "predicted")
#: Several starting phases per method and effort (the result of lowest Mel SC is kept).
STARTS = {name: PIPELINE_STARTS for name in ("meladmm+melgl", "tolmeladmm+tolmelgl")}


def default_method(source: str | None = None) -> str:
    """The default method for a mel of ``source`` (None: handed in, ``"predicted"``)."""
    if source is None:
        return PREDICTED_METHOD
    if source not in SOURCES:
        raise ParameterError(f"source={source!r} must be one of {SOURCES}: 'analysis' for a mel melrecon computed "
                             f"from audio (exact), 'predicted' for one handed in (an acoustic model's).")
    return DEFAULT_METHOD if source == "analysis" else PREDICTED_METHOD


def _recipe(name: str, method: Any, effort: str) -> tuple[Stage, ...]:
    recipe = METHODS.get(name.strip().lower())
    if recipe is None:
        raise ParameterError(
            f"method={method!r}: unknown method {name.strip().lower()!r}; choose from {sorted(METHODS)} or join "
            f"them with '+' (e.g. 'gl+gd')."
        )
    return recipe(effort)


def _from_name(method: str, effort: str) -> list[tuple[Stage, bool]]:
    """A named method, or a "+"-joined pipeline of them; the counts are the recipes' at ``effort``."""
    if method.strip().lower() in METHODS:
        return [(s, False) for s in _recipe(method, method, effort)]
    return [(s, False) for name in method.split("+") for s in _recipe(name, method, effort)]


def _from_list(method: Sequence) -> list[tuple[Stage, bool]]:
    """A list of ``(algorithm or name, n_iter)`` pairs; their counts are explicit."""
    items = []
    for entry in method:
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2):
            raise ParameterError(f"method entries must be (algorithm or name, n_iter) pairs, got {entry!r}.")
        algo, n = entry
        n = check_iterations("n_iter", n)
        if isinstance(algo, str):  # an unknown name is refused by _recipe
            items += [(Stage(s.algorithm, n), True) for s in _recipe(algo, method, DEFAULT_EFFORT)]
        elif isinstance(algo, Algorithm):
            items.append((Stage(algo, n), True))
        else:
            raise ParameterError(f"method entry {entry!r}: the first item must be an Algorithm or a method name.")
    return items


def _resolve(method: Any, effort: str) -> list[tuple[Stage, bool]]:
    """``method`` -> [(stage with its count, whether the count was given explicitly)]."""
    if isinstance(method, Algorithm):
        return [(Stage(method, scaled_iters(method.default_iters, effort)), False)]
    if isinstance(method, str):
        return _from_name(method, effort)
    if isinstance(method, (list, tuple)):
        return _from_list(method)
    raise ParameterError(f"method={method!r} must be a name such as 'gl+gd', an Algorithm or a list of stages.")


def register(name: str, make: Callable[[], Any]) -> None:
    """Name a method: ``make()`` returns an :class:`~melrecon.algorithms.Algorithm` (a one-stage method with
    its ``default_iters`` as the balanced count, scaled per effort; an algorithm class will do) or the
    stages of a pipeline with their counts. One line per new algorithm, e.g. ``register("mygl", MyGL)``."""
    key = name.strip().lower()
    if not key or "+" in key:
        raise ParameterError(f"method name {name!r} must be non-empty and hold no '+'.")

    def recipe(effort: str) -> tuple[Stage, ...]:
        made = make()
        return (Stage(made, scaled_iters(made.default_iters, effort)),) if isinstance(made, Algorithm) else tuple(made)

    METHODS[key] = recipe
    describe.cache_clear()
    _all_options.cache_clear()


@dataclass(frozen=True)
class MethodInfo:
    """What a method is, said once (built from its algorithms, cached per name): its default stages,
    their families, every option some stage takes, and the starting phase of its first stage."""

    name: str
    stages: tuple[Stage, ...]
    families: frozenset
    options: frozenset
    init_phase: str
    effort: str = DEFAULT_EFFORT
    starts: tuple[str, ...] = ()

    @property
    def counts(self) -> tuple[int, ...]:
        """The default iterations, one per stage."""
        return tuple(n for _, n in self.stages)

    @property
    def random_start(self) -> bool:
        """Whether the first stage starts from a seeded random phase (a stage without an ``init_phase``
        option, such as the waveform descents, starts from seeded noise)."""
        return self.init_phase == "random"


    @property
    def levels(self) -> dict[str, tuple[int, ...]]:
        """The stage counts at every effort level."""
        return {e: describe(self.name, e).counts for e in EFFORTS}


@functools.lru_cache(maxsize=512)
def describe(method: str, effort: str = DEFAULT_EFFORT) -> MethodInfo:
    """The :class:`MethodInfo` of a method name or ``+``-joined pipeline at ``effort`` (built once each)."""
    stages = build_stages(method, effort=effort)
    return MethodInfo(name=method, stages=stages, families=frozenset(families(stages)),
                      options=frozenset().union(*(s.algorithm.options() for s in stages)),
                      init_phase=getattr(stages[0].algorithm, "init_phase", "random"), effort=effort,
                      starts=STARTS.get(method.strip().lower(), {}).get(effort, ()))


@functools.lru_cache(maxsize=1)
def _all_options() -> frozenset:
    return frozenset().union(*(a.options() for recipe in METHODS.values() for a, _ in recipe(DEFAULT_EFFORT)))


def known_options(stages: Sequence[Stage] = ()) -> set[str]:
    """Every option name some named method (or one of ``stages``) takes."""
    return set(_all_options()).union(*(s.algorithm.options() for s in stages))


def _per_stage(n_iter, n_stages: int) -> list:
    if n_iter is None:
        return [None] * n_stages
    counts = list(n_iter) if isinstance(n_iter, (list, tuple)) else [n_iter] * n_stages
    if len(counts) != n_stages:
        raise ParameterError(f"n_iter={n_iter!r} gives {len(counts)} counts for {n_stages} stage(s).")
    return counts


def build_stages(method: Any = DEFAULT_METHOD, *, effort: str | None = None, n_iter=None, gl_iters=None,
                 gd_iters=None, **options) -> tuple[Stage, ...]:
    """Resolve ``method`` into a tuple of :class:`Stage`.

    ``method`` is a name from :data:`METHODS`, a pipeline such as ``"gl+gd"`` or ``"agla+lbfgs"``, an
    :class:`~melrecon.algorithms.Algorithm`, or a list of ``(algorithm or name, n_iter)``. Counts, first
    match wins: a count given in such a list; ``gl_iters`` for projection stages and ``gd_iters`` for
    gradient stages (each algorithm's ``family``); ``n_iter`` (an int, or one per stage); the recipe's
    count at ``effort`` (one of :data:`EFFORTS`; default :data:`DEFAULT_EFFORT`). Other keyword options (``alpha``, ``learning_rate``, ``optimizer``, ``mel_weight``, ...) go
    to every stage that takes them (:meth:`~melrecon.algorithms.Algorithm.route`).
    """
    items = _resolve(method, check_effort(effort))
    unknown = set(options) - known_options([s for s, _ in items])
    if unknown:
        raise ParameterError(f"unknown option(s) {sorted(unknown)}; known: {sorted(known_options())}.")
    by_family = {"projection": gl_iters, "gradient": gd_iters}
    counts = _per_stage(n_iter, len(items))
    stages = []
    for (stage, explicit), count in zip(items, counts):
        n = stage.n_iter
        if not explicit:
            family_count = by_family.get(stage.algorithm.family)
            n = next(c for c in (family_count, count, n) if c is not None)
        stages.append(Stage(stage.algorithm.with_options(options), check_iterations("n_iter", n)))
    return tuple(stages)


def families(stages: Sequence[Stage]) -> set[str]:
    """The families (``"projection"``, ``"gradient"``) of the stages."""
    return {s.algorithm.family for s in stages}


def used_options(stages: Sequence[Stage], names, options: dict[str, Any] | None = None) -> set[str]:
    """Which of the option ``names`` some stage takes (given the other ``options``)."""
    return {n for n in names for s in stages if s.algorithm.takes(n, options)}


def describe_line(name: str, mark: str = "") -> str:
    """A method in two lines: its stages with their families (then ``mark``), and its counts per effort level
    (with the starting phase where a level sets its own, and the starts it tries)."""
    info = describe(name)
    parts = [f"{s.algorithm.name} ({s.algorithm.family})" for s in info.stages]
    levels = []
    for effort, counts in info.levels.items():
        level = describe(name, effort)
        text = f"{effort} {'+'.join(map(str, counts))}"
        text += f" ({level.init_phase} start)" if level.init_phase != info.init_phase else ""
        text += f" (best of {'/'.join(level.starts)} starts)" if level.starts else ""
        levels.append(text)
    return f"{name}: {' then '.join(parts)}{mark}\n    iterations by effort: {'; '.join(levels)}"


def describe_methods() -> str:
    """Each named method in two lines (:func:`describe_line`; the CLI's ``melrecon methods``)."""
    return "\n".join(describe_line(name, " [default]" if name == DEFAULT_METHOD else "") for name in METHODS)
