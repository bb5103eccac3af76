"""The one loop every method runs in.

Each stage's pure ``step`` runs in jitted ``fori_loop`` chunks (compiled once per method, config and
shape, kept in one :class:`CompileCache`), driven from Python so that a progress bar, a callback and
Ctrl-C can act between chunks. After each chunk the output audio's Mel spectral convergence is
measured and the best estimate so far is kept; an interrupt, a callback asking to stop or a non-finite
loss ends the run and returns that best estimate. Nothing here validates: :func:`melrecon.reconstruct`
checked everything before.
"""

from __future__ import annotations

import collections
import functools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from ..algorithms import Algorithm, Problem
from ..core.config import MelConfig
from ..core.filters import mel_filterbank
from ..core.losses import relative_error
from ..core.transforms import magnitude, project_consistent_tm
from ..core.validation import warn_user
from .registry import Stage
from .result import Progress

__all__ = ["CompileCache", "CACHE", "RunOutput", "run_stages", "trace_count", "assemble_history"]


def _step_fn(algo: Algorithm, config: MelConfig, batched: bool):
    """``(problem, state) -> (state, terms)``; vmapped over the leading axis for a padded batch."""
    step = lambda problem, state: algo.step(problem, config, state)  # noqa: E731
    return jax.vmap(step) if batched else step


def _chunk_fn(algo: Algorithm, config: MelConfig, n_steps: int, batched: bool, traces: collections.Counter):
    """Up to ``n_steps`` steps in a ``fori_loop`` with a traced trip count (no per-step branch).

    The per-step terms go into a NaN-filled ``(n_steps, ...)`` buffer, so any count ``<= n_steps``
    runs the same compiled loop. Methods with ``unroll = 2`` (Griffin-Lim) run two steps per loop
    iteration (and a last single step when the count is odd): a loop-carried buffer can then be
    written in place instead of being copied each step.
    """
    step = _step_fn(algo, config, batched)
    unroll = int(getattr(algo, "unroll", 1))

    def run(problem: Problem, state, n_active):
        traces[algo.name] += 1  # runs at trace time only
        template = jax.eval_shape(lambda s: step(problem, s)[1], state)
        buffer = jax.tree.map(lambda t: jnp.full((n_steps, *t.shape), jnp.nan, t.dtype), template)
        count = jnp.minimum(n_active, n_steps)

        def one(i, carry):
            s, buf = carry
            s, terms = step(problem, s)
            buf = jax.tree.map(lambda b, v: jax.lax.dynamic_update_index_in_dim(b, v, i, 0), buf, terms)
            return s, buf

        if unroll < 2:
            return jax.lax.fori_loop(0, count, one, (state, buffer))

        def pair(j, carry):
            return one(2 * j + 1, one(2 * j, carry))

        carry = jax.lax.fori_loop(0, count // 2, pair, (state, buffer))
        return jax.lax.cond(count % 2 == 1, lambda c: one(count - 1, c), lambda c: c, carry)

    return run


def _evaluate_fn(algo: Algorithm, config: MelConfig, batched: bool):
    """``(problem, state) -> (time-major STFT estimate, Mel SC of its output audio)``.

    Time-major throughout (the layout of the fast projection); the estimate is transposed back to
    ``(..., F, frames)`` only when a stage ends or the result is returned. A problem without a mel (``mel``
    None: a linear magnitude to invert, ``melrecon.griffinlim``) measures the spectral convergence of the
    magnitude instead.
    """
    fb_t = np.ascontiguousarray(mel_filterbank(config).T)

    def evaluate(problem: Problem, state):
        spec_tm = jnp.swapaxes(algo.spectrogram(problem, config, state), -1, -2)
        consistent = project_consistent_tm(spec_tm, config, layout=problem.layout)
        if problem.mel is None:
            target = jnp.swapaxes(problem.magnitude, -1, -2)
            return spec_tm, relative_error(target, magnitude(consistent, 1.0))
        mag = magnitude(consistent, config.power)
        target = algo.mel_target(problem, state) if hasattr(algo, "mel_target") else problem.mel  # tolerant methods
        sc = relative_error(jnp.swapaxes(target, -1, -2), mag @ fb_t)
        return spec_tm, sc

    return jax.vmap(evaluate) if batched else evaluate


def _sharding_key(x) -> str:
    sharding = getattr(x, "sharding", None)
    if sharding is None or len(getattr(sharding, "device_set", ())) < 2:
        return ""
    return repr(sharding)


def _signature(tree) -> tuple:
    leaves, treedef = jax.tree.flatten(tree)
    return treedef, tuple((tuple(x.shape), str(x.dtype), _sharding_key(x)) for x in leaves)


class CompileCache:
    """The compiled parts of a run, per method, config and shape: the chunk loop, ``init`` and the
    evaluation. One instance (:data:`CACHE`) serves every call, so a second call with the same method,
    config and shape compiles nothing."""

    def __init__(self, max_chunks: int = 64):
        self.max_chunks = max_chunks
        self.traces: collections.Counter = collections.Counter()
        self._chunks: dict = {}
        self._inits: dict = {}
        self._evaluators: dict = {}
        self._lock = threading.Lock()

    def chunk(self, algo, config, n_steps, problem, state, batched=False):
        """The compiled chunk and the seconds spent compiling it now (0 when cached).

        The state is donated: the loop updates it in place instead of holding two copies.
        """
        return self._compiled(self._chunks, (algo, config, n_steps, batched),
                              lambda: jax.jit(_chunk_fn(algo, config, n_steps, batched, self.traces),
                                              donate_argnums=(1,)), problem, state, jnp.int32(0))

    def init(self, algo, config, problem, key, spec_tm, batched=False):
        """``algo.init`` (vmapped over the batch axis for a padded batch) from ``spec_tm``, a time-major
        estimate to start from (or None), transposed inside the program."""
        def make():
            def init(p, k, s_tm):
                return algo.init(p, config, k, None if s_tm is None else jnp.swapaxes(s_tm, -1, -2))

            return jax.jit(jax.vmap(init, in_axes=(0, None, 0)) if batched else init)

        fn, _ = self._compiled(self._inits, (algo, config, batched), make, problem, key, spec_tm)
        return fn(problem, key, spec_tm)

    def evaluate(self, algo, config, problem, state, batched=False):
        """The time-major estimate of ``state`` and the Mel SC of its output audio."""
        fn, _ = self._compiled(self._evaluators, (algo, config, batched),
                               lambda: jax.jit(_evaluate_fn(algo, config, batched)), problem, state)
        return fn(problem, state)

    def _compiled(self, store: dict, key: tuple, make, *args):
        """``make()`` (a jitted function) compiled for the shapes of ``args``, once, and the seconds spent compiling
        it now (0 when stored): pieces run in threads (melrecon.methods.planner), one of them compiles, the others
        wait instead of tracing and compiling (or loading) the same program at the same time."""
        key = (*key, _signature(args))
        fn = store.get(key)
        if fn is not None:
            return fn, 0.0
        with self._lock:
            fn = store.get(key)
            if fn is not None:
                return fn, 0.0
            t0 = time.perf_counter()
            fn = make().lower(*args).compile()
            if len(store) > self.max_chunks:
                store.pop(next(iter(store)))
            store[key] = fn
            return fn, time.perf_counter() - t0

    def trace_count(self, name: str | None = None) -> int:
        """How many times the chunk loop was traced (for one method name, or in all)."""
        return sum(self.traces.values()) if name is None else self.traces[name]


#: The compile cache of the package.
CACHE = CompileCache()


def trace_count(name: str | None = None) -> int:
    """How many times the chunk loop was traced (for one method name, or in all)."""
    return CACHE.trace_count(name)


def auto_chunk(problem: Problem) -> int:
    """Steps per chunk by size: 10-100 (about 1e8 spectrogram elements per chunk)."""
    elements = int(np.prod(problem.magnitude.shape))
    return int(min(100, max(10, 1e8 // max(elements, 1))))


def assemble_history(history: dict, spans: list, batch_shape: tuple) -> dict[str, np.ndarray]:
    """Per-stage lists of chunk arrays -> one array per term over all iterations (NaN where absent)."""
    names = sorted({name for (_, name) in history if name != "time"})
    n_total = spans[-1][2] if spans else 0
    out = {name: np.full((n_total, *batch_shape), np.nan, np.float32) for name in names}
    out["stage_index"] = np.zeros(n_total, np.int32)
    out["time"] = np.zeros(n_total, np.float64)
    for index, (_, start, stop) in enumerate(spans):
        out["stage_index"][start:stop] = index
        for name in names + ["time"]:
            parts = history.get((index, name))
            if parts:
                values = np.concatenate(parts)[: stop - start]
                out[name][start:start + len(values)] = values
    return out


@dataclass
class RunOutput:
    """What :func:`run_stages` hands to :meth:`melrecon.Reconstruction.from_run`."""

    best_spec: Any  # (..., F, frames)
    best_sc: np.ndarray
    best_iter: int
    history: dict[str, np.ndarray]
    evaluations: dict[str, list]
    spans: list[tuple[str, int, int]]
    stop_reason: str | None
    run_s: float
    compile_s: float
    chunk: int
    started: dict | None = None  # a start race: each starting phase's Mel SC after the race, and the one kept


class _NonFinite(Exception):
    """A chunk's loss or output became non-finite."""


@dataclass
class _Loop:
    """The state of one run on the host: best estimate, history, evaluations, timings."""

    problem: Problem
    cfg: MelConfig
    batched: bool
    chunk: int
    total: int
    callback: Callable[[Progress], Any] | None
    bar: Any
    cache: CompileCache
    batch_shape: tuple = ()
    history: dict = field(default_factory=lambda: collections.defaultdict(list))
    evaluations: dict = field(default_factory=lambda: collections.defaultdict(list))
    spans: list = field(default_factory=list)
    best_spec: Any = None
    best_sc: np.ndarray | None = None
    best_iter: int = 0
    done: int = 0
    run_s: float = 0.0
    compile_s: float = 0.0
    spec_tm: Any = None  # the latest time-major estimate (the next stage starts from it)
    started: dict | None = None  # what a start race measured and kept (:meth:`race`)

    def __post_init__(self):
        target = self.problem.magnitude if self.problem.mel is None else self.problem.mel
        self.batch_shape = tuple(target.shape[:-2])
        self.best_sc = np.full(self.batch_shape, np.inf, np.float32)

    def keep_best(self, spec_now, sc_now, it: int) -> np.ndarray:
        sc_host = np.asarray(sc_now, np.float32).reshape(self.batch_shape)
        better = np.isfinite(sc_host) & (sc_host < self.best_sc)
        if better.any():
            if self.best_spec is None or better.all():
                self.best_spec = spec_now
            else:
                mask = jnp.asarray(better)[..., None, None]
                self.best_spec = jnp.where(mask, spec_now, self.best_spec)
            self.best_sc = np.where(better, sc_host, self.best_sc)
            self.best_iter = it
        return sc_host

    def record(self, sc_host, spec_now=None) -> None:
        if spec_now is not None:
            self.keep_best(spec_now, sc_host, self.done)
        self.evaluations["iteration"].append(self.done)
        self.evaluations["time"].append(self.run_s)
        self.evaluations["mel_sc"].append(np.asarray(sc_host))

    def start_stage(self, index: int, algo: Algorithm, key) -> Any:
        state = self.cache.init(algo, self.cfg, self.problem, key, self.spec_tm, self.batched)
        self.spans.append((algo.name, self.done, self.done))
        if index == 0:  # the starting point counts as a candidate
            spec0, sc0 = self.cache.evaluate(algo, self.cfg, self.problem, state, self.batched)
            self.keep_best(spec0, sc0, 0)
            self.record(np.asarray(sc0))
        return state

    def run_chunk(self, index: int, algo: Algorithm, state, n_active: int):
        """One jitted chunk of ``n_active`` steps; returns the new state (raises :class:`_NonFinite`)."""
        fn, c_s = self.cache.chunk(algo, self.cfg, self.chunk, self.problem, state, self.batched)
        self.compile_s += c_s
        t0 = time.perf_counter()
        new_state, terms = fn(self.problem, state, jnp.int32(n_active))
        spec_now, sc_now = self.cache.evaluate(algo, self.cfg, self.problem, new_state, self.batched)
        terms = jax.device_get(terms)
        sc_host = np.asarray(sc_now)
        dt = time.perf_counter() - t0
        for name, values in terms.items():
            self.history[(index, name)].append(np.asarray(values)[:n_active])
        self.history[(index, "time")].append(self.run_s + dt * (np.arange(1, n_active + 1) / n_active))
        self.run_s += dt
        self.done += n_active
        start = self.spans[-1][1]
        self.spans[-1] = (algo.name, start, self.done)
        readings = getattr(algo, "readings", ())  # what it read in the mel (NaN: not read), not a loss
        finite = all(np.isfinite(np.asarray(v)[:n_active]).all() for k, v in terms.items() if k not in readings)
        if not finite or not np.isfinite(sc_host).all():
            raise _NonFinite(algo.name)
        self.spec_tm = spec_now
        self.record(sc_host, spec_now)
        return new_state, sc_host

    def report(self, index: int, algo: Algorithm, n_active: int, sc_host) -> bool:
        """Progress bar and callback after a chunk; False when the callback asks to stop."""
        if self.bar is not None:
            self.bar.update(n_active)
            self.bar.set_postfix(stage=algo.name, mel_sc=f"{float(np.mean(sc_host)):.4f}")
        if self.callback is None:
            return True
        info = Progress(
            iteration=self.done, total=self.total, stage_index=index, stage_name=algo.name, mel_sc=sc_host,
            best_mel_sc=self.best_sc.copy(), elapsed=self.run_s,
            history=assemble_history(self.history, self.spans, self.batch_shape),
        )
        return self.callback(info) is not False

    def race(self, algo: Algorithm, phases: Sequence[str], n_race: int, key) -> Any:
        """A start race on the first stage: ``n_race`` steps from each starting phase of ``phases``; each item
        goes on from the state of lowest output Mel SC (the others are dropped). Returns that state."""
        self.spans.append((algo.name, 0, 0))
        states, scores, specs, terms_of = [], [], [], []
        t0 = time.perf_counter()
        for phase in phases:
            # init from the phase; the steps of ``algo`` itself (the starting phase is not part of a step), so
            # the race runs the stage's one compiled loop
            state = self.cache.init(algo.with_options({"init_phase": phase}), self.cfg, self.problem, key, None,
                                    self.batched)
            parts, left = [], n_race
            while left > 0:
                n_active = min(self.chunk, left)
                fn, c_s = self.cache.chunk(algo, self.cfg, self.chunk, self.problem, state, self.batched)
                self.compile_s += c_s
                t0 += c_s
                state, terms = fn(self.problem, state, jnp.int32(n_active))
                parts.append({k: np.asarray(v)[:n_active] for k, v in jax.device_get(terms).items()})
                left -= n_active
            spec, sc = self.cache.evaluate(algo, self.cfg, self.problem, state, self.batched)
            states.append(state)
            specs.append(spec)
            scores.append(np.asarray(sc, np.float32).reshape(self.batch_shape))
            terms_of.append({k: np.concatenate([p[k] for p in parts]) for k in parts[0]} if parts else {})
        table = np.stack(scores)
        chosen = np.argmin(np.where(np.isfinite(table), table, np.inf), axis=0)
        state, spec_now = states[0], specs[0]
        for j in range(1, len(phases)):
            if not (chosen == j).any():
                continue
            state = _select(chosen == j, states[j], state, self.batch_shape)
            spec_now = _select(chosen == j, specs[j], spec_now, self.batch_shape)
        sc_host = np.choose(chosen, table) if self.batch_shape else table[int(chosen)]
        dt = time.perf_counter() - t0
        if n_race > 0:
            for name in terms_of[0]:
                values = np.stack([t[name] for t in terms_of])  # (phases, steps, *batch)
                picked = np.take_along_axis(values, chosen[None, None].astype(int), 0)[0] if self.batch_shape \
                    else values[int(chosen)]
                self.history[(0, name)].append(picked)
            self.history[(0, "time")].append(self.run_s + dt * (np.arange(1, n_race + 1) / n_race))
        self.run_s += dt
        self.done += n_race
        self.spans[-1] = (algo.name, 0, self.done)
        self.spec_tm = spec_now
        self.record(sc_host, spec_now)
        names = np.asarray(phases)[chosen]
        self.started = dict(race=n_race, init_phase=names.tolist() if self.batch_shape else str(names),
                            init_phase_mel_sc={p: (v.tolist() if self.batch_shape else float(v))
                                               for p, v in zip(phases, table)})
        return state

    def run_stage(self, index: int, algo: Algorithm, n_steps: int, key, race=None) -> str | None:
        """All chunks of one stage; the stop reason (None when the stage completed). ``race``: (starting phases,
        steps) of a start race that begins the stage (:meth:`race`)."""
        if race is not None:
            phases, n_race = race
            n_race = min(n_race, n_steps)
            state = self.race(algo, phases, n_race, key)
            remaining = n_steps - n_race
        else:
            state = self.start_stage(index, algo, key)
            remaining = n_steps
        while remaining > 0:
            n_active = min(self.chunk, remaining)
            state, sc_host = self.run_chunk(index, algo, state, n_active)
            remaining -= n_active
            if not self.report(index, algo, n_active, sc_host):
                return "callback"
        return None

    def output(self, stop_reason: str | None) -> RunOutput:
        if self.best_spec is None:
            if stop_reason != "non-finite":  # interrupted before anything was evaluated
                raise KeyboardInterrupt
            raise FloatingPointError(
                "every estimate of this run was non-finite (not even the starting point could be measured); "
                "check the mel's scale and lower the learning rate."
            )
        return RunOutput(
            best_spec=jnp.swapaxes(self.best_spec, -1, -2), best_sc=self.best_sc, best_iter=self.best_iter,
            history=assemble_history(self.history, self.spans, self.batch_shape),
            evaluations=self.evaluations, spans=self.spans, stop_reason=stop_reason, run_s=self.run_s,
            compile_s=self.compile_s, chunk=self.chunk, started=self.started,
        )


def _select(mask: np.ndarray, new, old, batch_shape: tuple):
    """Per item of the batch (``mask`` of ``batch_shape``): ``new``'s leaves where ``mask``, else ``old``'s.
    A leaf without the batch's leading axes is the same for every item: ``old``'s is kept."""
    if not batch_shape:
        return new

    def pick(a, b):
        if tuple(a.shape[:len(batch_shape)]) != tuple(batch_shape):
            return b
        m = jnp.asarray(mask).reshape(mask.shape + (1,) * (a.ndim - mask.ndim))
        return jnp.where(m, a, b)

    return jax.tree.map(pick, new, old)


def _warn_non_finite(loop: _Loop, name: str) -> None:
    warn_user(
        f"the loss of stage {name!r} became non-finite at iteration {loop.done}; stopping and returning the "
        f"best finite estimate (iteration {loop.best_iter}). Lower the learning rate.",
        RuntimeWarning,
    )


@functools.partial(jax.jit, static_argnums=(1,))
def _stage_keys_kernel(seed, n: int) -> tuple:
    key, subs = jax.random.key(seed), []
    for _ in range(n):
        key, sub = jax.random.split(key)
        subs.append(sub)
    return tuple(subs)


def _stage_keys(seed: int, n: int) -> tuple:
    """The random key of each of ``n`` stages, split one after another from ``seed``: one compiled program (an
    int32 seed) instead of a few eager operations."""
    if -2**31 <= seed < 2**31:
        return _stage_keys_kernel(np.int32(seed), n)
    return _stage_keys_kernel.__wrapped__(seed, n)  # a seed beyond int32: as JAX takes a Python int


def run_stages(problem: Problem, stages: Sequence[Stage], cfg: MelConfig, *, batched: bool = False, seed: int = 0,
               callback: Callable[[Progress], Any] | None = None, progress: bool = False,
               chunk_size: int | None = None, name: str = "", init_spec=None, race=None,
               cache: CompileCache = CACHE) -> RunOutput:
    """Run the stages on one problem (or one padded batch); keep the best estimate by output Mel SC. ``race``:
    (starting phases, steps): the first stage begins with a start race (:meth:`_Loop.race`), unless the run
    starts from ``init_spec``."""
    total = sum(n for _, n in stages)
    bar = None
    if progress:
        bar = tqdm(total=total, desc=name, unit="it", leave=False)
    loop = _Loop(problem=problem, cfg=cfg, batched=batched, chunk=chunk_size or auto_chunk(problem), total=total,
                 callback=callback, bar=bar, cache=cache)
    if init_spec is not None:
        loop.spec_tm = jnp.swapaxes(init_spec, -1, -2)
    keys = _stage_keys(int(seed), len(stages))
    stop_reason = None
    try:
        for index, (algo, n_steps) in enumerate(stages):
            raced = race if index == 0 and init_spec is None else None
            stop_reason = loop.run_stage(index, algo, n_steps, keys[index], race=raced)
            if stop_reason is not None:
                break
    except _NonFinite as exc:
        stop_reason = "non-finite"
        _warn_non_finite(loop, str(exc))
    except KeyboardInterrupt:
        stop_reason = "interrupted"
    finally:
        if bar is not None:
            bar.close()
    return loop.output(stop_reason)
