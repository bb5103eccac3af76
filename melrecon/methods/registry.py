"""Methods as values: a :class:`Stage` is an algorithm with its iteration count, and a named method is a
:class:`Method` record that says, once, which algorithms it runs and what it runs at every effort level.

Words used the same way everywhere: a **method** is any name of :data:`METHODS` or a ``+``-joined chain of them
(a method of several stages is a *pipeline*); a **stage** is one algorithm of a method with its count; an
**effort** level says how much work a method gets; the **starting phase** (``init_phase``) is the phase the
first stage starts from, and ``init_phases`` the starting phases a level tries, keeping the result of lowest
Mel SC. What the user asked for is turned into stages by :func:`melrecon.methods.resolve.resolve` only.

>>> METHODS["meladmm+melgl"].level("fast")
Level(counts=(30, 20), init_phase='pghi', init_phases=(), race=None)
>>> [(s.algorithm.name, s.n_iter) for s in METHODS["gl"].stages("balanced")]
[('fgla', 200)]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, Sequence

from ..algorithms import (
    ADMMGriffinLim,
    Algorithm,
    MelGriffinLim,
    STFTGradientDescent,
    TolerantMelADMM,
    TolerantMelGriffinLim,
    WaveformGradientDescent,
    agla,
    fgla,
    gla,
)
from ..core.config import ParameterError

__all__ = ["Stage", "Level", "Method", "METHODS", "EFFORTS", "DEFAULT_EFFORT", "EXACT_METHOD", "NOISE_AWARE_METHOD",
           "STREAMING", "check_effort", "method_record", "register", "unregister", "families", "known_options",
           "used_options"]


class Stage(NamedTuple):
    """One stage of a method: ``algorithm`` run for ``n_iter`` iterations (unpacks as a pair)."""

    algorithm: Algorithm
    n_iter: int


#: Effort levels, least work first: how much time the user gives the inversion. ``"default"`` is what
#: every entry point runs when no effort is given.
EFFORTS = ("fast", "default", "balanced", "best")
DEFAULT_EFFORT = "default"
#: Iterations at each effort, as a fraction of an algorithm's ``default_iters`` (its balanced count), for the
#: methods whose record does not give its own levels.
EFFORT_SCALE = {"fast": 0.1, "default": 0.2, "balanced": 1.0, "best": 5.0}


def check_effort(effort: Any) -> str:
    """A checked effort level (None: :data:`DEFAULT_EFFORT`)."""
    if effort is None:
        return DEFAULT_EFFORT
    if not isinstance(effort, str) or effort.strip().lower() not in EFFORTS:
        raise ParameterError(f"effort={effort!r} must be one of {EFFORTS} (least work first; default "
                             f"{DEFAULT_EFFORT!r}); explicit iteration counts (n_iter, --iters) override it.")
    return effort.strip().lower()


@dataclass(frozen=True)
class Level:
    """What a method runs at one effort level: one count per stage, the first stage's starting phase where the
    level sets one (None: the algorithm's own), the starting phases it tries (empty: one run) and how: whole
    runs, the result of lowest Mel SC kept (``race`` None), or a start race (``race`` = K): the first K steps of
    the first stage from each starting phase, then one run goes on from the one of lowest Mel SC."""

    counts: tuple[int, ...]
    init_phase: str | None = None
    init_phases: tuple[str, ...] = ()
    race: int | None = None


@dataclass(frozen=True)
class Method:
    """A named method, said once: the algorithms of its stages (each made fresh by a factory) and its
    :class:`Level` at every effort (``levels``; None: each algorithm's ``default_iters`` scaled by
    :data:`EFFORT_SCALE`)."""

    name: str
    makes: tuple[Callable[[], Algorithm], ...]
    levels: Mapping[str, Level] | None = field(default=None, hash=False)

    def level(self, effort: str = DEFAULT_EFFORT) -> Level:
        """The :class:`Level` at ``effort``."""
        if self.levels is not None:
            return self.levels[effort]
        return Level(tuple(max(1, int(round(make().default_iters * EFFORT_SCALE[effort]))) for make in self.makes))

    def stages(self, effort: str = DEFAULT_EFFORT) -> tuple[Stage, ...]:
        """The stages at ``effort`` (its counts, and its starting phase on the first stage)."""
        level = self.level(effort)
        stages = [Stage(make(), n) for make, n in zip(self.makes, level.counts)]
        if level.init_phase is not None:
            stages[0] = Stage(stages[0].algorithm.with_options({"init_phase": level.init_phase}), stages[0].n_iter)
        return tuple(stages)


def _meladmm() -> ADMMGriffinLim:
    # Zero initial phase on its own: deterministic, and on speech at the hifigan preset it averaged higher
    # PESQ than random phases (4.02 vs 3.97-3.98 over 8 clips) and avoided their occasional poor draw. The
    # fast, default and balanced levels start from PGHI (melrecon/core/pghi.py), which raises speech most at small
    # budgets; the 1.1 PESQ it once lost on music_guitar at 300 + 200 no longer reproduces (that clip swings
    # by +-0.4 between budgets from either start), docs/effort.md. The Mel-constraint metric is "auto":
    # relative for power-2 mels.
    return ADMMGriffinLim(magnitude="mel", init_phase="zero", name="meladmm")


#: The levels of the two Mel-constraint pipelines, measured on 17 speech clips at the hifigan preset against
#: librosa's mel_to_audio (32 iterations, 2.66 PESQ-wb) and the L-BFGS peer (3.61), docs/effort.md: fast 30+20
#: from a PGHI start 3.79 at ~3.9x librosa's speed; default 60+40 from a PGHI start 3.92, no clip below the
#: peer (from zero: 3.77, one clip below; timed from zero at ~2.3-2.8x, the PGHI start adds ~0.1 s on 10 s);
#: balanced 300+200 from a PGHI start 4.09 (from zero 4.03; music 3.50 against 3.30) at ~0.7x; best 300+950
#: from a zero and from a PGHI start, the lower Mel SC kept, 4.15 at ~5x balanced's time. A start race
#: (Level.race) between zero and PGHI picked PGHI on every dev clip, speech, music and noise, after 0-15 steps
#: and after whole 60+40 runs alike.
PIPELINE_LEVELS = {
    "fast": Level((30, 20), init_phase="pghi"),
    "default": Level((60, 40), init_phase="pghi"),
    "balanced": Level((300, 200), init_phase="pghi"),
    "best": Level((300, 950), init_phases=("zero", "pghi")),
}

#: The exact method (the Mel of the output equals the mel given): the default for mels melrecon computed from
#: audio. ADMM between the Mel-constraint set and the consistent STFTs, then Mel-constrained fast GL.
EXACT_METHOD = "meladmm+melgl"
#: The noise-aware method: the same pipeline towards a target cleaned of what the mel reads as an acoustic
#: model's noise, time smoothing or band blur (the exact method when it reads none): the default for mels
#: handed in (arrays, mel files, ``mel_to_audio``).
NOISE_AWARE_METHOD = "tolmeladmm+tolmelgl"


def _single(name: str, make: Callable[[], Algorithm]) -> Method:
    return Method(name, (make,))


#: Named methods. Any of them can be joined with "+" into a pipeline ("gl" is an alias of "fgla").
METHODS: dict[str, Method] = {m.name: m for m in (
    _single("gla", gla),
    _single("fgla", fgla),
    _single("gl", fgla),
    _single("agla", agla),
    _single("gd", STFTGradientDescent),
    _single("waveform", lambda: WaveformGradientDescent(optimizer="adam", learning_rate=1e-3, name="waveform")),
    _single("lbfgs", lambda: WaveformGradientDescent(optimizer="lbfgs", learning_rate=None, name="lbfgs")),
    _single("melgl", MelGriffinLim),
    _single("admm", ADMMGriffinLim),
    _single("meladmm", _meladmm),
    Method(EXACT_METHOD, (_meladmm, MelGriffinLim), PIPELINE_LEVELS),
    _single("tolmeladmm", TolerantMelADMM),
    _single("tolmelgl", TolerantMelGriffinLim),
    Method(NOISE_AWARE_METHOD, (TolerantMelADMM, TolerantMelGriffinLim), PIPELINE_LEVELS),
)}

#: The streaming inverter's (:class:`melrecon.stream.Streamer`) Mel-constrained GL iterations per arriving frame
#: at each effort (16 vs 8: PESQ-wb 3.82 vs 3.76 on 16 speech clips at look-ahead 4, docs/streaming.md).
STREAMING = Method("streaming", (MelGriffinLim,), {e: Level((n,)) for e, n in zip(EFFORTS, (8, 16, 24, 32))})


def _unknown(name: str, method: Any) -> ParameterError:
    return ParameterError(f"method={method!r}: unknown method {name!r}; choose from {sorted(METHODS)} or join them "
                          f"with '+' (e.g. 'gl+gd').")


@functools.lru_cache(maxsize=256)
def method_record(name: str) -> Method:
    """The :class:`Method` of a name or a ``+``-joined chain of names (a chain's level joins its parts' counts,
    each part keeping its own starting phase; a chain tries one starting phase)."""
    key = name.strip().lower()
    if key in METHODS:
        return METHODS[key]
    parts = [METHODS.get(part.strip().lower()) for part in key.split("+")]
    for part, record in zip(key.split("+"), parts):
        if record is None:
            raise _unknown(part.strip().lower(), name)
    makes = tuple(make for p in parts for make in p.makes)
    levels = {e: Level(tuple(n for p in parts for n in p.level(e).counts)) for e in EFFORTS}
    return _Chain(key, makes, levels, tuple(parts))


@dataclass(frozen=True)
class _Chain(Method):
    """A ``+``-joined chain: its parts' stages one after another, at each part's own level."""

    parts: tuple[Method, ...] = ()

    def stages(self, effort: str = DEFAULT_EFFORT) -> tuple[Stage, ...]:
        return tuple(s for p in self.parts for s in p.stages(effort))


def register(name: str, make: Callable[[], Any]) -> None:
    """Name a method: ``make()`` returns an :class:`~melrecon.algorithms.Algorithm` (a one-stage method with its
    ``default_iters`` as the balanced count, scaled per effort; an algorithm class will do) or the stages of a
    pipeline with their counts (the same at every level). One line per new algorithm: ``register("mygl", MyGL)``."""
    key = name.strip().lower()
    if not key or "+" in key:
        raise ParameterError(f"method name {name!r} must be non-empty and hold no '+'.")
    made = make()
    if isinstance(made, Algorithm):
        METHODS[key] = Method(key, (make,))
    else:
        stages = tuple(made)
        makes = tuple((lambda i=i: tuple(make())[i].algorithm) for i in range(len(stages)))
        METHODS[key] = Method(key, makes, {e: Level(tuple(n for _, n in stages)) for e in EFFORTS})
    method_record.cache_clear()
    _all_options.cache_clear()
    GENERATION[0] += 1


def unregister(name: str) -> None:
    """Forget a method named by :func:`register`."""
    METHODS.pop(name.strip().lower(), None)
    method_record.cache_clear()
    _all_options.cache_clear()
    GENERATION[0] += 1


#: Bumped by :func:`register` and :func:`unregister`: descriptions cached elsewhere
#: (:func:`melrecon.methods.resolve.describe`) key on it.
GENERATION = [0]


@functools.lru_cache(maxsize=1)
def _all_options() -> frozenset:
    return frozenset().union(*(s.algorithm.options() for m in METHODS.values() for s in m.stages()))


def known_options(stages: Sequence[Stage] = ()) -> set[str]:
    """Every option name some named method (or one of ``stages``) takes."""
    return set(_all_options()).union(*(s.algorithm.options() for s in stages))


def families(stages: Sequence[Stage]) -> set[str]:
    """The families (``"projection"``, ``"gradient"``) of the stages."""
    return {s.algorithm.family for s in stages}


def used_options(stages: Sequence[Stage], names, options: dict[str, Any] | None = None) -> set[str]:
    """Which of the option ``names`` some stage takes (given the other ``options``)."""
    return {n for n in names for s in stages if s.algorithm.takes(n, options)}
