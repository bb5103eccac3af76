"""Streaming inversion: audio out while the Mel frames are still arriving (RTISI-LA on the Mel constraint).

:class:`Streamer` takes Mel frames as they come (``push``) and returns the samples that no later frame
can change any more; ``flush`` returns the tail. The method is real-time iterative spectrogram inversion
with look-ahead (RTISI-LA; Zhu, Beauregard & Wyse 2007) with the magnitude projection replaced by the
projection onto the magnitudes whose Mel spectrogram is the target (the Mel constraint is frame-local,
:func:`~melrecon.algorithms.mel_griffin_lim.mel_projection_tm`):

* the stream keeps a window of ``lookahead + 1`` *active* frames (the newest ones, still changing) and
  the ``R - 1`` *committed* frames before them that overlap the oldest active one (``R = ceil(n_fft /
  hop)``);
* a new frame enters with the magnitude of its own Mel frame (non-negative least squares, frame-local)
  and a phase started from the overlapping frames: the phase of the partial reconstruction at its place
  (RTISI, ``init_phase="rtisi"``) or, default, its previous frame's phase advanced by the phase-gradient
  heuristic (RTPGHI; Prusa & Holighaus 2017, ``init_phase="pghi"``);
* ``iters`` fast Griffin-Lim iterations (momentum ``alpha``) run over the active frames: the Mel-constraint
  projection, then the consistency projection of the window (inverse STFT of committed and active frames,
  STFT of the active ones);
* the oldest active frame is committed, and the ``hop`` samples that only committed frames overlap are
  final: they come out.

Everything a step does depends on the frames only, never on how they were grouped into pushes: one
compiled step (fixed shapes) runs once per frame, so pushing 1, 7 or all frames at a time gives the same
samples. After ``k`` frames have been pushed, every sample before frame ``k - lookahead`` (padded position
``(k - lookahead) * hop``, minus the config's padding) has come out: the latency is ``lookahead`` frames
plus one window (:attr:`Streamer.latency_seconds`). All outputs together have the offline length,
``config.n_samples(frames)``.

Example
-------
>>> import numpy as np
>>> from melrecon import MelConfig, mel_spectrogram
>>> from melrecon.stream import Streamer
>>> cfg = MelConfig.preset("seed")
>>> x = np.sin(2 * np.pi * 440 * np.arange(4000) / 16000).astype(np.float32)
>>> mel = np.asarray(mel_spectrogram(x, cfg))
>>> s = Streamer(cfg, lookahead=2, iters=4)
>>> parts = [s.push(mel[:, t:t + 5]) for t in range(0, mel.shape[1], 5)]
>>> audio = np.concatenate(parts + [s.flush()])
>>> audio.shape == (cfg.n_samples(mel.shape[1]),)
True
"""

from __future__ import annotations

import collections
import functools
import math
import struct
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .algorithms.mel_griffin_lim import MelTarget, check_mel_options, mel_projection_tm
from .core import cache as _cache
from .core.config import DEFAULT_PRESET, MelConfig, ParameterError, get_config
from .core.pghi import nearest_peak, phase_gradients
from .core.transforms import decompress_kernel, frame_signal, mel_to_linear_kernel, overlap_add, window
from .core.validation import check_iterations, check_mel_range, check_mel_shape, mel_float32, min_frames
from .methods.resolve import streaming_iters

__all__ = ["Streamer", "GrowingWav", "stream_pcm", "stream_to_wav", "trace_count", "INIT_PHASES"]

#: How a new frame's phase starts: the partial reconstruction's phase at its place, or the previous frame's
#: phase advanced by the phase-gradient heuristic.
INIT_PHASES = ("pghi", "rtisi")

#: Momentum of the iterations with look-ahead. Without look-ahead the one open frame overshoots with momentum:
#: 0 there (hifigan, 6 speech clips, 16 iterations: PESQ-wb 2.88 at alpha 0 against 1.66 at 0.9 (8 it.);
#: look-ahead 1: 3.38 at 0, 3.44 at 0.5, 3.57 at 0.9; look-ahead 2: 3.66 at 0.5, 3.78 at 0.9).
_DEFAULT_ALPHA = 0.9

#: The step's ``present`` flag as host scalars (a frame, or an absent one after the last): no conversion per step.
_PRESENT = {True: np.float32(1.0), False: np.float32(0.0)}

#: Traces of the streaming step per settings key (a test checks that pushes do not retrace).
_TRACES: collections.Counter = collections.Counter()


def trace_count() -> int:
    """How many times a streaming step has been traced (compiled) in this process."""
    return sum(_TRACES.values())


class _Settings(NamedTuple):
    """The static settings of one compiled step (hashable)."""

    config: MelConfig
    lookahead: int
    iters: int
    alpha: float
    init_phase: str
    outside: str
    metric: str
    nnls_iters: int

    @property
    def span(self) -> int:  # frames overlapping one frame, itself included (R)
        return math.ceil(self.config.n_fft / self.config.hop_length)

    @property
    def width(self) -> int:  # frames in the window: R - 1 committed + lookahead + 1 active
        return self.span + self.lookahead


class _State(NamedTuple):
    """What the stream carries from one frame to the next (a pytree of fixed shapes)."""

    spec: jax.Array  # (W, F) complex64: the window's frames, time-major, oldest first
    prev: jax.Array  # (L + 1, F) complex64: the momentum buffer of the active frames
    mel: jax.Array  # (L + 1, n_mels) float32: the active frames' linear Mel
    valid: jax.Array  # (W,) float32: 1 for real frames (0 before the first and after the last)


def _initial_state(s: _Settings) -> _State:
    cfg, active = s.config, s.lookahead + 1
    return _State(spec=jnp.zeros((s.width, cfg.n_freq), jnp.complex64),
                  prev=jnp.zeros((active, cfg.n_freq), jnp.complex64),
                  mel=jnp.zeros((active, cfg.n_mels), jnp.float32),
                  valid=jnp.zeros((s.width,), jnp.float32))


def _inverse_envelope(valid: jax.Array, cfg: MelConfig) -> jax.Array:
    """1 / (overlap-added squared window of the valid frames), 1 where that sum is ~0."""
    w2 = jnp.asarray(window(cfg)) ** 2
    env = overlap_add(valid[:, None] * w2, cfg.hop_length)
    tiny = jnp.finfo(jnp.float32).tiny
    return jnp.where(env > tiny, 1.0 / jnp.where(env > tiny, env, 1.0), 1.0)


def _synthesis(spec: jax.Array, cfg: MelConfig) -> jax.Array:
    """Windowed inverse FFTs of time-major frames ``(n, F) -> (n, n_fft)``."""
    return jnp.fft.irfft(spec, n=cfg.n_fft, axis=-1) * jnp.asarray(window(cfg))


def _analysis(signal: jax.Array, cfg: MelConfig, n_frames: int) -> jax.Array:
    """STFT frames ``(n_frames, F)`` of a signal that starts at the first frame's first sample."""
    return jnp.fft.rfft(frame_signal(signal, cfg.n_fft, cfg.hop_length, n_frames, window(cfg)), axis=-1)


def _project_active(fixed: jax.Array, active: jax.Array, inv_env: jax.Array, s: _Settings) -> jax.Array:
    """The consistency projection of the active frames: the window's signal (overlap-add of the committed
    frames' syntheses ``fixed`` and the active frames, normalised) analysed at the active frames."""
    cfg = s.config
    y = overlap_add(jnp.concatenate([fixed, _synthesis(active, cfg)]), cfg.hop_length) * inv_env
    start = (s.span - 1) * cfg.hop_length
    return _analysis(y[start:], cfg, s.lookahead + 1)


def _pghi_start(prev: jax.Array, mag: jax.Array, cfg: MelConfig) -> jax.Array:
    """The new frame's phase: the previous frame's phase advanced by the phase-gradient heuristic (RTPGHI:
    along time at spectral peaks, along frequency from the nearest peak around them)."""
    mags = jnp.stack([jnp.abs(prev), mag])
    floor = 1e-5 * jnp.max(mags) + 1e-30
    along_time, along_freq = phase_gradients(jnp.log(jnp.maximum(mags, floor)), cfg)
    timed = jnp.angle(prev) + 0.5 * (along_time[0] + along_time[1])
    steps = 0.5 * (along_freq[1, 1:] + along_freq[1, :-1])
    cum = jnp.concatenate([jnp.zeros((1,), steps.dtype), jnp.cumsum(steps)])
    owner = nearest_peak(mag, mag > floor)
    return timed[owner] + cum - cum[owner]


def _new_frame(state: _State, mel_lin: jax.Array, fixed: jax.Array, inv_env: jax.Array, s: _Settings) -> jax.Array:
    """The entering frame: its Mel frame's magnitude estimate with a phase from the frames before it."""
    cfg = s.config
    mag = mel_to_linear_kernel(mel_lin[:, None], cfg, n_iter=s.nnls_iters)[:, 0]
    if s.init_phase == "pghi":
        phase = _pghi_start(state.spec[-2], mag, cfg)
    else:  # the partial reconstruction at the new frame's place (its own contribution is still 0)
        y = overlap_add(jnp.concatenate([fixed, _synthesis(state.spec[s.span - 1:], cfg)]), cfg.hop_length)
        phase = jnp.angle(_analysis((y * inv_env)[(s.width - 1) * cfg.hop_length:], cfg, 1)[0])
    return (mag * jnp.exp(1j * phase)).astype(jnp.complex64)


def _iterate(state: _State, fixed: jax.Array, inv_env: jax.Array, s: _Settings) -> _State:
    """``iters`` fast Griffin-Lim iterations over the active frames (Mel constraint, then consistency)."""
    cfg, first = s.config, s.span - 1
    target = MelTarget(mel=state.mel, estimate=jnp.zeros((0, cfg.n_freq), jnp.float32))
    mask = state.valid[first:, None]

    def body(_, carry):
        c, prev = carry
        x = mel_projection_tm(c, target, cfg, s.outside, s.metric)
        p = _project_active(fixed, x, inv_env, s) * mask
        return (1.0 + s.alpha) * p - s.alpha * prev, p

    c, prev = jax.lax.fori_loop(0, s.iters, body, (state.spec[first:], state.prev))
    return state._replace(spec=state.spec.at[first:].set(c), prev=prev)


def _step(state: _State, frame: jax.Array, present: jax.Array, s: _Settings) -> tuple[_State, jax.Array]:
    """One frame in; out, the ``n_fft`` samples from the committed frame's place that only committed frames
    reach: the first hop is final, the rest is the stream's tail when no frame follows (after flush)."""
    _TRACES[s] += 1  # runs at trace time only
    cfg, first, hop = s.config, s.span - 1, s.config.hop_length
    mel_lin = decompress_kernel(frame, cfg).astype(jnp.float32) * present
    state = _State(spec=jnp.concatenate([state.spec[1:], jnp.zeros_like(state.spec[:1])]),
                   prev=state.prev[1:], mel=jnp.concatenate([state.mel[1:], mel_lin[None]]),
                   valid=jnp.concatenate([state.valid[1:], present[None]]))
    inv_env = _inverse_envelope(state.valid, cfg)
    fixed = _synthesis(state.spec[:first], cfg) * state.valid[:first, None]
    new = _new_frame(state, mel_lin, fixed, inv_env, s) * present
    state = state._replace(spec=state.spec.at[-1].set(new), prev=jnp.concatenate([state.prev, new[None]]))
    state = _iterate(state, fixed, inv_env, s)
    target = MelTarget(mel=state.mel[:1], estimate=jnp.zeros((0, cfg.n_freq), jnp.float32))
    committed = mel_projection_tm(state.spec[first:first + 1], target, cfg, s.outside, s.metric) * state.valid[first]
    state = state._replace(spec=state.spec.at[first].set(committed[0]))
    y = overlap_add(_synthesis(state.spec[:s.span], cfg) * state.valid[:s.span, None], hop)
    return state, (y * inv_env[:y.shape[0]])[first * hop:]


@functools.lru_cache(maxsize=32)
def _compiled(s: _Settings):
    """The jitted step for one settings key (compiled once, reused by every Streamer with these settings)."""
    return jax.jit(functools.partial(_step, s=s))


class Streamer:
    """Invert a Mel spectrogram as its frames arrive (module docstring: RTISI-LA on the Mel constraint).

    Parameters
    ----------
    config : MelConfig or preset name
        The settings the frames were made with; frames are in its power and compression, as
        :func:`~melrecon.reconstruct` takes them, one column per frame.
    lookahead : int
        Frames kept open (still iterated) after the newest one's arrival before the oldest is committed:
        more look-ahead, better audio, more latency (:attr:`latency_seconds`).
    effort : {"fast", "default", "balanced", "best"}, optional
        Sets ``iters`` when it is not given (the streaming record's level, :data:`melrecon.methods.registry.STREAMING`:
        8, 16, 24, 32 from fast to best).
    iters : int, optional
        Griffin-Lim iterations over the open frames per arriving frame.
    seed : int
        Kept for the API's symmetry with :func:`~melrecon.reconstruct`; the stream starts every frame from a
        deterministic phase, so it does not change the output.
    **options
        ``alpha`` (momentum; default 0.9, and 0 without look-ahead), ``init_phase`` (``"pghi"`` or
        ``"rtisi"``), ``outside`` and ``metric`` (as for the Mel-constraint methods), ``nnls_iters`` (the
        magnitude estimate of a new frame).

    ``push(frames)`` returns the samples that became final; ``flush()`` ends the stream, returns the rest and
    makes the Streamer ready for a new stream (the compiled step is kept).
    """

    def __init__(self, config: MelConfig | str = DEFAULT_PRESET, lookahead: int = 4, *, effort: str | None = None,
                 iters: int | None = None, seed: int = 0, **options):
        _cache.enable()  # JAX's persistent compilation cache, as reconstruct() does
        cfg = get_config(config)
        iters = streaming_iters(effort, iters)
        unknown = set(options) - {"alpha", "init_phase", "outside", "metric", "nnls_iters"}
        if unknown:
            raise ParameterError(f"Streamer got unknown option(s) {sorted(unknown)}; it takes alpha, init_phase, "
                                 f"outside, metric and nnls_iters.")
        lookahead = check_iterations("lookahead", lookahead, minimum=0)
        alpha = options.get("alpha", _DEFAULT_ALPHA if lookahead else 0.0)
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 <= alpha < 1:
            raise ParameterError(f"alpha={alpha!r} must be a number in [0, 1) (e.g. 0.9).")
        init_phase = options.get("init_phase", "pghi")
        if init_phase not in INIT_PHASES:
            raise ParameterError(f"init_phase={init_phase!r} must be one of {INIT_PHASES}.")
        outside, metric = options.get("outside", "free"), options.get("metric", "auto")
        check_mel_options(outside, metric)
        if outside == "estimate":  # the frame's NNLS estimate is 0 outside the bands: that is "zero"
            raise ParameterError("outside='estimate' is not a stream option; use 'zero' (the same for the "
                                 "non-negative least-squares estimate, 0 outside every band), 'free' or 'extend'.")
        self.settings = _Settings(
            config=cfg, lookahead=lookahead,
            iters=check_iterations("iters", iters, minimum=0), alpha=float(alpha), init_phase=init_phase,
            outside=outside, metric=metric, nnls_iters=check_iterations("nnls_iters", options.get("nnls_iters", 50)))
        self.seed = int(seed)
        self._step = _compiled(self.settings)
        self._reset()

    @property
    def config(self) -> MelConfig:
        return self.settings.config

    @property
    def lookahead(self) -> int:
        return self.settings.lookahead

    @property
    def latency_seconds(self) -> float:
        """The most time between a frame's arrival and its samples' output: ``lookahead`` frames plus one
        window (``(lookahead * hop + n_fft) / sample_rate``)."""
        cfg = self.config
        return (self.lookahead * cfg.hop_length + cfg.n_fft) / cfg.sample_rate

    @property
    def frames_pushed(self) -> int:
        return self._pushed

    @property
    def samples_out(self) -> int:
        """Samples returned so far in this stream."""
        return self._released

    def _reset(self) -> None:
        self._state = _initial_state(self.settings)
        self._pushed = 0  # frames received
        self._steps = 0  # compiled steps run (frames pushed, then the absent frames of flush)
        self._blocks: list = []  # device arrays: per committed frame, in order, its first hop is final
        self._last = None  # the last step's output (its samples after the first hop: the tail at flush)
        self._buffer = np.zeros(0, np.float32)  # final samples not yet returned, from padded index _start
        self._start = 0
        self._released = 0  # output samples returned (output index = padded index - pad)

    def _check(self, frames) -> np.ndarray:
        """The frames as a checked float32 ``(k, n_mels)`` array (one row per frame)."""
        cfg = self.config
        arr = frames if hasattr(frames, "ndim") else np.asarray(frames)
        if arr.ndim == 1 and arr.shape[0] == cfg.n_mels:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ParameterError(f"frames has shape {tuple(arr.shape)}; push (n_mels, k) = ({cfg.n_mels}, k) "
                                 f"arrays, one column per frame (or one ({cfg.n_mels},) frame).")
        # the checks of check_mel but the convention guess, which needs many frames (a few mislead it)
        arr = check_mel_shape(arr, cfg, name="frames", reconstruct=False)
        bad = ~np.isfinite(np.asarray(arr, np.float64)).all(axis=0)
        frame = self._pushed + int(np.argmax(bad))  # the first non-finite frame, or the one frame pushed
        name = f"frames (stream frame {frame})" if bad.any() or arr.shape[1] == 1 else "frames"
        arr = mel_float32(arr, name)
        if cfg.compression != "db" or cfg.signal_norm is None:
            check_mel_range(name, cfg, cfg.compression, float(arr.min()), float(arr.max()), True)
        return np.ascontiguousarray(arr.T)

    def _advance(self, col: np.ndarray, present: bool) -> None:
        """One compiled step (a frame, or after the last one an absent frame); keeps its output when the
        frame it commits is a real one. The counters move with the state (a Ctrl-C between two steps of a
        push leaves a consistent stream to flush)."""
        committed = self._steps - self.lookahead  # the frame this step commits
        self._state, self._last = self._step(self._state, col, _PRESENT[present])
        self._steps += 1
        self._pushed += int(present)
        if committed >= 0:
            self._blocks.append(self._last)

    def push(self, frames) -> np.ndarray:
        """Add Mel frames ``(n_mels, k)``; return the samples (float32) that no later frame can change.

        Raises
        ------
        ParameterError
            Frames of the wrong number of bands, non-finite or out-of-range values (nothing is consumed).
        """
        cols = self._check(frames)
        for col in cols:  # host rows: the compiled step takes them without an eager transfer each
            self._advance(col, True)
        cfg = self.config
        done = max(0, self._pushed - self.lookahead) * cfg.hop_length - cfg.pad
        return self._release(min(done, cfg.n_samples(self._pushed)))

    def flush(self) -> np.ndarray:
        """End the stream: commit the open frames, return every remaining sample, and reset for a new stream.

        Raises
        ------
        ParameterError
            Fewer frames than the config needs to describe one sample (the stream is kept: push more).
        """
        cfg, total = self.config, self._pushed
        need = min_frames(cfg)
        if total < need:
            raise ParameterError(f"the stream has {total} frame(s); config {cfg.name!r} needs at least {need} "
                                 f"frame(s) to describe a signal: push more frames before flush().")
        absent = np.zeros((cfg.n_mels,), np.float32)
        for _ in range(self.lookahead):
            self._advance(absent, False)
        out = self._release(cfg.n_samples(total), tail=True)
        self._reset()
        return out

    def _release(self, limit: int, tail: bool = False) -> np.ndarray:
        """Return the output samples ``[released, limit)`` from the final samples computed so far (and the
        last step's tail, at the end of the stream)."""
        if self._blocks or tail:
            hop = self.config.hop_length
            parts = [np.asarray(b, np.float32)[:hop] for b in jax.device_get(self._blocks)]
            if tail:
                parts.append(np.asarray(self._last, np.float32)[hop:])
            self._buffer = np.concatenate([self._buffer, *parts])
            self._blocks = []
        pad = self.config.pad
        lo = self._released + pad - self._start
        hi = min(limit + pad - self._start, self._buffer.size)
        if hi <= lo:
            return np.zeros(0, np.float32)
        out = self._buffer[lo:hi].copy()
        self._released += out.size
        self._buffer, self._start = self._buffer[hi:], self._start + hi
        return out


class GrowingWav:
    """A mono 32-bit float WAV file that is valid after every :meth:`write`: the header's sizes are rewritten
    after each block, so a reader (a player, ``soundfile.read``) sees every sample written so far.

    >>> import tempfile, os, numpy as np, soundfile as sf
    >>> path = os.path.join(tempfile.mkdtemp(), "grow.wav")
    >>> with GrowingWav(path, 16000) as w:
    ...     w.write(np.zeros(100, np.float32))
    ...     sf.info(path).frames
    100
    """

    _HEADER = 58  # RIFF + WAVE, fmt (18 bytes: IEEE float, cbSize 0), fact (sample count), data

    def __init__(self, path, sample_rate: int):
        self.path, self.samples = path, 0
        self.sample_rate = check_iterations("sample_rate", sample_rate, minimum=1)
        self._file = open(path, "wb")
        fmt = struct.pack("<HHIIHHH", 3, 1, self.sample_rate, 4 * self.sample_rate, 4, 32, 0)
        self._file.write(b"RIFF" + struct.pack("<I", self._HEADER - 8) + b"WAVE" + b"fmt " + struct.pack("<I", 18)
                         + fmt + b"fact" + struct.pack("<II", 4, 0) + b"data" + struct.pack("<I", 0))
        self._file.flush()

    def write(self, audio) -> None:
        """Append samples (float32, mono) and make the header count them."""
        data = np.asarray(audio, "<f4").reshape(-1)
        if not data.size:
            return
        pack, f = struct.pack, self._file
        f.seek(0, 2)
        f.write(data.tobytes())
        self.samples += data.size
        size = 4 * self.samples
        f.seek(4)
        f.write(pack("<I", self._HEADER - 8 + size))
        f.seek(46)
        f.write(pack("<I", self.samples))
        f.seek(54)
        f.write(pack("<I", size))
        f.flush()

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> "GrowingWav":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _frames_from(infile, n_mels: int, name: str):
    """Blocks ``(k, n_mels)`` of float32 frames read from a binary stream (``name``) as the bytes come
    (frame-major, little-endian); a stream that ends inside a frame raises :class:`ParameterError`."""
    frame_bytes, rest = 4 * n_mels, b""
    read = getattr(infile, "read1", None) or infile.read
    while True:
        chunk = read(max(frame_bytes, 1 << 16))
        if not chunk:
            break
        rest += chunk
        whole = len(rest) // frame_bytes * frame_bytes
        if whole:
            yield np.frombuffer(rest[:whole], "<f4").reshape(-1, n_mels)
            rest = rest[whole:]
    if rest:
        raise ParameterError(f"{name} ended inside a frame: {len(rest)} trailing byte(s), but a frame is {n_mels} "
                             f"float32 values ({frame_bytes} bytes; the config's n_mels); send whole frames.")


def stream_pcm(config: MelConfig | str, infile, outfile, lookahead: int = 4, *, name: str = "the input",
               **options) -> int:
    """Invert raw float32 Mel frames from ``infile`` (binary, ``n_mels`` values per frame, frame-major,
    little-endian) to raw float32 PCM on ``outfile`` (mono, ``config.sample_rate``) as the frames come.

    ``outfile`` is a binary stream (``sys.stdout.buffer``) or a :class:`GrowingWav`. Ends at EOF with the
    flushed tail. Bad input (a partial frame, NaN, values the compression cannot give) raises
    :class:`ParameterError` naming the bad frame, after writing the samples of the good frames before it
    (flushed; the message says how many); so does KeyboardInterrupt, which is re-raised after the flush. Fewer
    frames than a signal needs (none at all, say) raise it too. ``name`` names ``infile`` in the messages
    (``"stdin"``); ``options`` go to :class:`Streamer`. Returns the number of frames read.
    """
    streamer = Streamer(config, lookahead, **options)
    write = outfile.write if isinstance(outfile, GrowingWav) else (lambda a: _write_raw(outfile, a))
    try:
        for block in _frames_from(infile, streamer.config.n_mels, name):
            _push_frames(streamer, block, write)
    except ParameterError as exc:
        good = streamer.frames_pushed
        _flush_quietly(streamer, write)
        raise ParameterError(f"{exc} {_good_frames(good, streamer.config, name)}") from None
    except KeyboardInterrupt:
        _flush_quietly(streamer, write)
        raise
    frames, cfg = streamer.frames_pushed, streamer.config
    if frames < min_frames(cfg):
        raise ParameterError(
            f"{'no frames' if frames == 0 else f'only {frames} frame(s)'} on {name}: expected at least "
            f"{min_frames(cfg)} Mel frames of {cfg.n_mels} little-endian float32 values (the n_mels of config "
            f"{cfg.name!r}), one after another; nothing was written.")
    write(streamer.flush())
    return frames


def _push_frames(streamer: Streamer, block: np.ndarray, write) -> None:
    """Push a ``(k, n_mels)`` block of frames. When the block is refused (nothing of it consumed), its frames go
    one at a time: the good ones before the bad one count, and the error names that one."""
    try:
        write(streamer.push(block.T))
    except ParameterError:
        if len(block) == 1:
            raise
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one frame is too little evidence for the range warnings
            for frame in block:
                write(streamer.push(frame[:, None]))
        raise


def _good_frames(good: int, cfg: MelConfig, name: str) -> str:
    """What became of the frames before a bad one."""
    if good >= min_frames(cfg):
        return f"The first {good} frame(s) of {name} were good: their audio was written."
    return (f"Nothing was written: the first {good} frame(s) of {name} were good, fewer than the "
            f"{min_frames(cfg)} a signal needs.")


def _write_raw(outfile, audio: np.ndarray) -> None:
    if audio.size:
        outfile.write(np.asarray(audio, "<f4").tobytes())
        outfile.flush()


def _flush_quietly(streamer: Streamer, write) -> None:
    """Write the committed frames' samples and the tail, when there are enough frames for a signal."""
    if streamer.frames_pushed >= min_frames(streamer.config):
        write(streamer.flush())


def stream_to_wav(mel, config: MelConfig | str, path, lookahead: int = 4, *, frames_per_push: int = 1,
                  **options) -> int:
    """Invert ``mel`` (``(n_mels, frames)``, as :func:`~melrecon.reconstruct` takes it) as a stream into a
    :class:`GrowingWav` at ``path`` (``.wav``): the file is valid, and grows, after every push of
    ``frames_per_push`` frames. KeyboardInterrupt writes the flushed stream so far, then is re-raised.
    ``options`` go to :class:`Streamer`. Returns the number of samples written."""
    streamer = Streamer(config, lookahead, **options)
    if not str(path).lower().endswith(".wav"):
        raise ParameterError(f"path={str(path)!r}: a stream is written as a growing .wav; give a .wav path.")
    step = check_iterations("frames_per_push", frames_per_push, minimum=1)
    mel = np.asarray(streamer._check(mel)).T  # the whole mel checked once: a bad frame is refused up front
    with GrowingWav(path, streamer.config.sample_rate) as wav:
        try:
            for t in range(0, mel.shape[1], step):
                wav.write(streamer.push(mel[:, t:t + step]))
        except KeyboardInterrupt:
            _flush_quietly(streamer, wav.write)
            raise
        wav.write(streamer.flush())
        return wav.samples
