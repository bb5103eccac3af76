"""STFT, inverse STFT and Mel spectrograms in JAX (jittable, differentiable, batched over leading dims).

This module holds the project's one STFT implementation.  Conventions follow librosa:
spectrograms are ``(..., n_fft // 2 + 1, frames)``, Mel spectrograms ``(..., n_mels, frames)``, the
forward transform is unnormalised (``rfft`` of the windowed frame), and the inverse divides the
overlap-added, windowed frames by the window's squared sum.

When ``hop_length`` divides ``n_fft`` (every preset), frames are built from hop-sized blocks (a frame
is ``n_fft // hop`` consecutive blocks) and overlap-add is a handful of shifted block additions; no
index gathers or scatters.  Other hops fall back to an index gather and a scatter-add.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from .config import MelConfig, ParameterError, get_config
from .filters import mel_filterbank, mel_filterbank_pinv
from .validation import check_audio, check_iterations, check_mel, check_spectrogram

__all__ = [
    "window",
    "stft",
    "istft",
    "magnitude",
    "mel_from_magnitude",
    "mel_spectrogram",
    "compress",
    "decompress",
    "mel_to_linear",
]


@functools.lru_cache(maxsize=64)
def _window_np(n_fft: int, win_length: int, name: str) -> np.ndarray:
    n = np.arange(win_length)
    if name == "hann":
        w = 0.5 - 0.5 * np.cos(2 * np.pi * n / win_length)
    elif name == "hamming":
        w = 0.54 - 0.46 * np.cos(2 * np.pi * n / win_length)
    elif name == "blackman":
        w = 0.42 - 0.5 * np.cos(2 * np.pi * n / win_length) + 0.08 * np.cos(4 * np.pi * n / win_length)
    else:
        w = np.ones(win_length)
    left = (n_fft - win_length) // 2
    out = np.zeros(n_fft, dtype=np.float64)
    out[left:left + win_length] = w
    out = out.astype(np.float32)
    out.setflags(write=False)
    return out


def window(config: MelConfig) -> np.ndarray:
    """The analysis window, length ``n_fft`` (periodic, zero-padded in the centre when shorter)."""
    return _window_np(config.n_fft, config.win_length, config.window)


@functools.lru_cache(maxsize=256)
def _inverse_envelope(config: MelConfig, n_frames: int) -> np.ndarray:
    """1 / (overlap-added squared window), 1 where the sum is ~0; length ``(T - 1) * hop + n_fft``."""
    w2 = window(config).astype(np.float64) ** 2
    hop, n_fft = config.hop_length, config.n_fft
    env = np.zeros((n_frames - 1) * hop + n_fft)
    for t in range(n_frames):
        env[t * hop:t * hop + n_fft] += w2
    tiny = np.finfo(np.float32).tiny
    inv = (1.0 / np.where(env > tiny, env, 1.0)).astype(np.float32)
    inv.setflags(write=False)
    return inv


def _frames(x: jax.Array, n_fft: int, hop: int, n_frames: int) -> jax.Array:
    """(..., L) -> (..., n_frames, n_fft), frame t = x[t*hop : t*hop + n_fft]."""
    if n_fft % hop == 0:
        r = n_fft // hop
        blocks = x[..., : (n_frames + r - 1) * hop]
        blocks = blocks.reshape(*x.shape[:-1], n_frames + r - 1, hop)
        return jnp.concatenate([blocks[..., k:k + n_frames, :] for k in range(r)], axis=-1)
    idx = np.arange(n_frames)[:, None] * hop + np.arange(n_fft)[None, :]
    return x[..., idx]


def _overlap_add(frames: jax.Array, hop: int) -> jax.Array:
    """(..., T, n_fft) -> (..., (T - 1) * hop + n_fft), the sum of the frames placed ``hop`` apart."""
    *lead, n_frames, n_fft = frames.shape
    if n_fft % hop == 0:
        r = n_fft // hop
        parts = frames.reshape(*lead, n_frames, r, hop)
        nd = len(lead)
        out = None
        for k in range(r):
            widths = [(0, 0)] * nd + [(k, r - 1 - k), (0, 0)]
            piece = jnp.pad(parts[..., k, :], widths)
            out = piece if out is None else out + piece
        return out.reshape(*lead, (n_frames + r - 1) * hop)
    idx = np.arange(n_frames)[:, None] * hop + np.arange(n_fft)[None, :]
    out = jnp.zeros((*lead, (n_frames - 1) * hop + n_fft), frames.dtype)
    return out.at[..., idx].add(frames)


def _as_config(config) -> MelConfig:
    return get_config(config)


def stft(audio: jax.Array, config: MelConfig | str, *, sample_rate: int | None = None) -> jax.Array:
    """Short-time Fourier transform.

    Parameters
    ----------
    audio : array, shape (..., n_samples)
        Real signal(s) in [-1, 1]; leading dimensions are batch dimensions. Integer PCM is scaled to
        [-1, 1] with a warning.
    config : MelConfig or preset name
    sample_rate : int, optional
        The signal's rate; a value other than ``config.sample_rate`` raises (resample first).

    Returns
    -------
    complex64 array, shape (..., n_fft // 2 + 1, n_frames)
        Equal to ``librosa.stft(audio, n_fft=, hop_length=, win_length=, window=, center=,
        pad_mode=)`` when ``pad`` is the default, with ``n_frames = 1 + (n + 2 pad - n_fft) // hop``.

    Raises
    ------
    ParameterError
        Empty, too short, complex or non-finite audio (values are checked only outside ``jax.jit``).
    """
    cfg = _as_config(config)
    audio = jnp.asarray(check_audio(audio, cfg, sample_rate=sample_rate))
    if not jnp.issubdtype(audio.dtype, jnp.floating):
        audio = audio.astype(jnp.float32)
    n_frames = cfg.n_frames(audio.shape[-1])
    if cfg.pad:
        widths = [(0, 0)] * (audio.ndim - 1) + [(cfg.pad, cfg.pad)]
        audio = jnp.pad(audio, widths, mode=cfg.pad_mode)
    frames = _frames(audio, cfg.n_fft, cfg.hop_length, n_frames) * window(cfg)
    spec = jnp.fft.rfft(frames, axis=-1)
    return jnp.swapaxes(spec, -1, -2)


def istft(spec: jax.Array, config: MelConfig | str, *, length: int | None = None) -> jax.Array:
    """Inverse STFT by weighted overlap-add (the least-squares inverse of :func:`stft`).

    Parameters
    ----------
    spec : complex array, shape (..., n_fft // 2 + 1, n_frames)
    config : MelConfig or preset name
    length : int, optional
        Output length; default ``config.n_samples(n_frames)``. Shorter trims, longer zero-pads.

    Returns
    -------
    float32 array, shape (..., length)
    """
    cfg = _as_config(config)
    spec = jnp.asarray(check_spectrogram(spec, cfg))
    if length is not None:
        length = check_iterations("length", length, minimum=1)
    n_frames = spec.shape[-1]
    frames = jnp.fft.irfft(jnp.swapaxes(spec, -1, -2), n=cfg.n_fft, axis=-1) * window(cfg)
    y = _overlap_add(frames, cfg.hop_length) * _inverse_envelope(cfg, n_frames)
    out_len = cfg.n_samples(n_frames) if length is None else int(length)
    y = y[..., cfg.pad:cfg.pad + out_len]
    if y.shape[-1] < out_len:
        y = jnp.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, out_len - y.shape[-1])])
    return y


def magnitude(spec: jax.Array, power: float = 1.0) -> jax.Array:
    """``|spec| ** power`` (power 1 or 2) with a gradient that stays finite at zero."""
    sq = jnp.real(spec) ** 2 + jnp.imag(spec) ** 2
    if power == 2.0:
        return sq
    return jnp.sqrt(jnp.maximum(sq, jnp.finfo(sq.dtype).tiny))


def mel_from_magnitude(mag: jax.Array, config: MelConfig | str) -> jax.Array:
    """Linear (uncompressed) Mel spectrogram ``filterbank @ mag ** power`` from an STFT magnitude."""
    cfg = _as_config(config)
    if jnp.ndim(mag) < 2 or jnp.shape(mag)[-2] != cfg.n_freq:
        raise ParameterError(
            f"mag has shape {jnp.shape(mag)}; n_fft={cfg.n_fft} needs (..., {cfg.n_freq}, frames)."
        )
    p = mag if cfg.power == 1.0 else mag ** cfg.power
    return jnp.asarray(mel_filterbank(cfg)) @ p


def compress(mel: jax.Array, config: MelConfig | str) -> jax.Array:
    """Apply the config's compression to a linear Mel spectrogram."""
    cfg = _as_config(config)
    if cfg.compression == "none":
        return mel
    x = jnp.maximum(mel, cfg.floor)
    if cfg.compression == "log":
        return jnp.log(x)
    if cfg.compression == "log10":
        return jnp.log10(x)
    return (10.0 if cfg.power == 2.0 else 20.0) * jnp.log10(x)


def decompress(mel: jax.Array, config: MelConfig | str) -> jax.Array:
    """Undo :func:`compress` (values at the floor come back as the floor)."""
    cfg = _as_config(config)
    mel = jnp.asarray(mel)
    if cfg.compression == "none":
        return mel
    if cfg.compression == "log":
        return jnp.exp(mel)
    if cfg.compression == "log10":
        return 10.0 ** mel
    return 10.0 ** (mel / (10.0 if cfg.power == 2.0 else 20.0))


def mel_spectrogram(audio: jax.Array, config: MelConfig | str, *, sample_rate: int | None = None) -> jax.Array:
    """Mel spectrogram of ``audio`` in the config's power and compression, ``(..., n_mels, frames)``.

    Equal to ``librosa.feature.melspectrogram`` (followed by the compression) with the same settings.
    ``audio`` and ``sample_rate`` are validated as in :func:`stft` (bad input raises
    :class:`~melrecon.ParameterError`; silence gives the compression's floor, never NaN).
    """
    cfg = _as_config(config)
    return compress(mel_from_magnitude(magnitude(stft(audio, cfg, sample_rate=sample_rate)), cfg), cfg)


@functools.lru_cache(maxsize=64)
def _lipschitz(config: MelConfig) -> float:
    fb = mel_filterbank(config).astype(np.float64)
    return float(np.linalg.norm(fb, 2) ** 2)


@functools.partial(jax.jit, static_argnames=("config", "n_iter"))
def _nnls(mel_lin: jax.Array, config: MelConfig, n_iter: int) -> jax.Array:
    fb = jnp.asarray(mel_filterbank(config))
    step = 1.0 / _lipschitz(config)
    x0 = jnp.maximum(jnp.asarray(mel_filterbank_pinv(config)) @ mel_lin, 0.0)

    def body(_, carry):
        x, y, t = carry
        grad = fb.T @ (fb @ y - mel_lin)
        x_new = jnp.maximum(y - step * grad, 0.0)
        t_new = 0.5 * (1.0 + jnp.sqrt(1.0 + 4.0 * t * t))
        y_new = x_new + ((t - 1.0) / t_new) * (x_new - x)
        return x_new, y_new, t_new

    x, _, _ = jax.lax.fori_loop(0, n_iter, body, (x0, x0, jnp.float32(1.0)))
    return x


def mel_to_linear(mel: jax.Array, config: MelConfig | str, *, method: str = "nnls", n_iter: int = 200,
                  compressed: bool = True) -> jax.Array:
    """Estimate the STFT magnitude ``(..., n_fft // 2 + 1, frames)`` behind a Mel spectrogram.

    Parameters
    ----------
    mel : array, shape (..., n_mels, frames)
        In the config's compression (``compressed=True``) or linear.
    method : {"nnls", "pinv"}
        ``"pinv"``: pseudo-inverse, clipped at 0.  ``"nnls"``: non-negative least squares
        ``min_S ||fb S - M||^2, S >= 0`` by accelerated projected gradient from the clipped pseudo-inverse
        (librosa's ``mel_to_stft`` solves the same problem).
    n_iter : int
        Iterations of the NNLS solver.

    Returns
    -------
    The magnitude (the ``1 / power`` root of the solved power spectrogram).
    """
    cfg = _as_config(config)
    if method not in ("nnls", "pinv"):
        raise ParameterError(f"method={method!r} is not supported; choose 'nnls' or 'pinv'.")
    n_iter = check_iterations("n_iter", n_iter, minimum=0)
    mel = check_mel(mel, cfg, compressed=compressed, reconstruct=False)
    mel_lin = decompress(mel, cfg) if compressed else jnp.asarray(mel)
    mel_lin = mel_lin.astype(jnp.float32)
    if method == "pinv":
        s = jnp.maximum(jnp.asarray(mel_filterbank_pinv(cfg)) @ mel_lin, 0.0)
    else:
        s = _nnls(mel_lin, cfg, int(n_iter))
    return s if cfg.power == 1.0 else jnp.sqrt(s)
