"""Analysis settings: the frozen, hashable :class:`MelConfig` and its presets.

A :class:`MelConfig` fixes everything that turns audio into a Mel spectrogram: the STFT (sample rate,
FFT size, window, hop, padding), the Mel filterbank (number of bands, frequency range, scale, norm),
the exponent applied to the magnitude and the dynamic-range compression.  It is validated eagerly, in
plain Python, so that a bad value is reported before JAX traces anything, and it is hashable, so it can
be a static argument of a jitted function.

Presets (``MelConfig.preset(name)`` or :data:`PRESETS`):

``seed``
    16 kHz, n_fft 512, hop 128, Hann, 128 bands, HTK formula, no filter norm, magnitude, no compression
    (the setting of the original experiment).
``hifigan``
    22.05 kHz, n_fft 1024, win 1024, hop 256, 80 bands, 0-8 kHz, Slaney scale and norm, magnitude,
    natural log of ``max(x, 1e-5)``; the signal is reflect-padded by ``(n_fft - hop) // 2`` on each
    side and framed without centring (HiFi-GAN, BigVGAN; NVIDIA Tacotron 2 centres its frames: preset ``tacotron2``).
``librosa``
    ``librosa.feature.melspectrogram`` defaults: 22.05 kHz, n_fft 2048, hop 512, 128 bands, Slaney,
    power 2, no compression, ``center=True``, ``pad_mode="constant"``.
``tacotron2``, ``vocos``, ``bigvgan-24k``, ``bigvgan-44k``, ``bigvgan-22k``, ``espnet``, ``coqui``, ``speechbrain``
    The conventions of those toolkits (each preset's ``citation`` names the files the facts come from,
    ``melrecon presets`` lists them): sample rate, STFT, filterbank, compression, Coqui's dB range
    normalisation and the array layout (ESPnet stores ``(T, n_mels)``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import operator
from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

from . import filters

__all__ = ["MelConfig", "ParameterError", "PRESETS", "get_config"]

_WINDOWS = ("hann", "hamming", "blackman", "rectangular")
#: numpy's pad modes librosa's STFT takes ("empty" leaves the padding unspecified: zeros here).
PAD_MODES = ("constant", "reflect", "edge", "symmetric", "linear_ramp")
_PAD_ALIASES = {"empty": "constant"}
_SCALES = ("slaney", "htk")
_NORMS = ("slaney", None)  # or a number p > 0 (inf too): each filter scaled to unit p-norm, as librosa
_DEFAULT_FLOOR = {"none": 0.0, "log": 1e-5, "log10": 1e-5, "db": 1e-10}
_SIGNAL_NORMS = (None, "symmetric", "asymmetric")
LAYOUTS = ("mels-first", "frames-first")
_LAYOUT_ALIASES = {
    "mels-first": "mels-first", "n_mels,t": "mels-first", "mt": "mels-first", "bands-first": "mels-first",
    "frames-first": "frames-first", "t,n_mels": "frames-first", "tm": "frames-first", "time-first": "frames-first",
}


def check_layout(layout: Any, name: str = "layout") -> str:
    """``"mels-first"`` (``(n_mels, T)``) or ``"frames-first"`` (``(T, n_mels)``), from any accepted spelling."""
    key = str(layout).strip().lower().replace(" ", "").replace("(", "").replace(")", "")
    if key in _LAYOUT_ALIASES:
        return _LAYOUT_ALIASES[key]
    raise ParameterError(
        f"{name}={layout!r} is not a layout; use 'mels-first' for (n_mels, T) arrays or 'frames-first' for "
        f"(T, n_mels) arrays."
    )


def db_scale(power: float) -> float:
    """Decibels per decade of a Mel in ``power``: 10 for power, 20 for magnitude."""
    return 10.0 if power == 2.0 else 20.0


class Compression(NamedTuple):
    """One dynamic-range compression: ``forward(xp, x, power)`` (of a linear Mel already clamped at the
    floor), ``inverse(xp, c, power)``, with ``xp`` NumPy or ``jax.numpy``; ``cap``: the largest compressed
    value the Mel check converts back when it estimates the linear peak (larger ones overflow anyway)."""

    forward: Callable
    inverse: Callable
    cap: float


#: The one table of compressions (used by ``compress``, ``decompress`` and the Mel check).
COMPRESSIONS: dict[str, Compression] = {
    "none": Compression(lambda xp, x, power: x, lambda xp, c, power: c, math.inf),
    "log": Compression(lambda xp, x, power: xp.log(x), lambda xp, c, power: xp.exp(c), 80.0),
    "log10": Compression(lambda xp, x, power: xp.log10(x), lambda xp, c, power: 10.0 ** c, 35.0),
    "db": Compression(lambda xp, x, power: db_scale(power) * xp.log10(x),
                      lambda xp, c, power: 10.0 ** (c / db_scale(power)), 300.0),
}
_COMPRESSIONS = tuple(COMPRESSIONS)


def normalise_db(xp, db, cfg: "MelConfig"):
    """Coqui TTS's range normalisation of decibels (``cfg.signal_norm``; None: the decibels as they are),
    with ``xp`` NumPy or ``jax.numpy``."""
    if cfg.signal_norm is None:
        return db
    s = (db - cfg.min_level_db) / -cfg.min_level_db
    lo = -cfg.max_norm if cfg.signal_norm == "symmetric" else 0.0
    out = (2.0 * cfg.max_norm) * s - cfg.max_norm if cfg.signal_norm == "symmetric" else cfg.max_norm * s
    return xp.clip(out, lo, cfg.max_norm) if cfg.clip_norm else out


class ParameterError(ValueError):
    """A parameter has a value melrecon cannot work with; the message names it and says what to do."""


def _check_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, (bool, float)) or not hasattr(value, "__index__"):
        raise ParameterError(f"{name}={value!r} must be an integer (got {type(value).__name__}).")
    value = operator.index(value)
    if value < minimum:
        raise ParameterError(f"{name}={value} must be >= {minimum}.")
    return value


def _check_rate(value: Any) -> "int | float":
    """A sample rate > 0: an integer, or a float as librosa takes (integral floats become integers)."""
    if isinstance(value, float) and not isinstance(value, bool):
        if not (math.isfinite(value) and value > 0):
            raise ParameterError(f"sample_rate={value!r} must be a positive number of Hz.")
        return int(value) if value.is_integer() else value
    return _check_int("sample_rate", value)


def _check_window(window: Any, win_length: int) -> "str | tuple":
    """A window name of :data:`_WINDOWS` (lower case; ``"hanning"`` is ``"hann"``) or ``win_length`` finite values."""
    if isinstance(window, str):
        name = window.lower()
        name = "hann" if name == "hanning" else name
        if name not in _WINDOWS:
            raise ParameterError(f"window={window!r} is not supported; choose one of {_WINDOWS} or give the window's "
                                 f"values (melrecon.mel_to_audio / griffinlim take every spec librosa takes).")
        return name
    try:
        values = tuple(float(v) for v in window)
    except (TypeError, ValueError):
        raise ParameterError(f"window={window!r} must be a name {_WINDOWS} or a sequence of numbers.") from None
    if len(values) != win_length or not all(math.isfinite(v) for v in values):
        raise ParameterError(f"window has {len(values)} values; give win_length={win_length} finite values.")
    return values


def _check_norm(norm: Any) -> "str | float | None":
    """``"slaney"``, None or a number ``p > 0`` (``inf`` allowed) of the filters' normalisation."""
    if isinstance(norm, str) and norm.lower() in ("none", ""):
        return None
    if norm in _NORMS:
        return norm
    if isinstance(norm, str):  # a number as text (a CLI flag, a TOML string): "1", "2.5", "inf"
        with contextlib.suppress(ValueError):
            norm = float(norm)
    if isinstance(norm, (int, float)) and not isinstance(norm, bool) and norm > 0:
        return float(norm)
    raise ParameterError(f"norm={norm!r} is not supported; choose 'slaney', None or a number p > 0 (unit p-norm).")


def _check_float(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} must be a number.") from None
    if not math.isfinite(out):
        raise ParameterError(f"{name}={value!r} must be finite.")
    return out


@dataclass(frozen=True)
class MelConfig:
    """Mel-spectrogram analysis settings (frozen and hashable; validated on construction).

    Parameters
    ----------
    sample_rate : int or float
        Sampling rate in Hz (a float as librosa's ``sr``; integral values are stored as integers).
    n_fft : int
        FFT size; the STFT has ``n_fft // 2 + 1`` frequency bins.
    hop_length : int
        Samples between frames.
    win_length : int or None
        Window length (<= n_fft, zero-padded to n_fft in the centre). Default: ``n_fft``.
    window : {"hann", "hamming", "blackman", "rectangular"} or tuple of float
        Periodic window, as ``scipy.signal.get_window(..., fftbins=True)``; or the window's
        ``win_length`` values as a tuple (any window; :func:`melrecon.apps.compat.window_values` turns
        every spec librosa takes into one).
    center : bool
        Pad ``n_fft // 2`` samples on each side so that frame ``t`` is centred on sample ``t * hop``.
    pad_mode : {"constant", "reflect", "edge", "symmetric", "linear_ramp"}
        How padding is filled (numpy's modes, as librosa's STFT; ``"empty"`` is read as ``"constant"``).
    pad : int or None
        Samples padded on each side before framing; default ``n_fft // 2`` if ``center`` else 0.
        HiFi-GAN and BigVGAN use ``center=False, pad=(n_fft - hop) // 2, pad_mode="reflect"``.
    n_mels : int
        Number of Mel bands.
    fmin, fmax : float
        Frequency range of the filterbank in Hz; ``fmax=None`` means ``sample_rate / 2``.
    mel_scale : {"slaney", "htk"}
        Hz <-> Mel formula.
    norm : {"slaney", None} or float
        Filter normalisation: ``"slaney"`` divides each triangle by its width (constant energy per
        band), ``None`` leaves peaks at 1, a number ``p > 0`` (or ``inf``) scales each filter to unit
        ``p``-norm (librosa's numeric ``norm``).
    power : float
        Exponent of the STFT magnitude before the filterbank (1: magnitude, 2: power; any ``> 0``).
    compression : {"none", "log", "log10", "db"}
        Dynamic-range compression of the Mel spectrogram: ``log(max(x, floor))``,
        ``log10(max(x, floor))`` or decibels (``10 log10`` of power, ``20 log10`` of magnitude).
    floor : float or None
        Clamp used by the compression; default 1e-5 for log/log10, 1e-10 for dB.
    name : str
        A label (the preset's name, or "custom").
    db_ref : float
        Decibels subtracted after the dB compression (Coqui's ``ref_level_db``); ``compression="db"`` only.
    signal_norm : {None, "symmetric", "asymmetric"}
        Coqui TTS range normalisation of the dB values (``compression="db"`` only):
        ``s = (dB - db_ref - min_level_db) / -min_level_db``, then ``2 max_norm s - max_norm``
        (symmetric, in ``[-max_norm, max_norm]``) or ``max_norm s`` (asymmetric, in ``[0, max_norm]``),
        clipped to that range when ``clip_norm``.
    min_level_db, max_norm, clip_norm : float, float, bool
        Parameters of ``signal_norm`` (Coqui defaults -100, 4, True).
    layout : {"mels-first", "frames-first"}
        How the toolkit stores a mel: ``(n_mels, T)`` or ``(T, n_mels)``. The transforms always work
        on ``(..., n_mels, T)``; the layout is applied when files are read (:mod:`melrecon.io.conventions`).
    citation : str
        Where the settings come from (the toolkit's file); not part of equality.

    Examples
    --------
    >>> from melrecon import MelConfig
    >>> cfg = MelConfig.preset("hifigan")
    >>> cfg.n_freq, cfg.n_mels
    (513, 80)
    >>> cfg.replace(n_mels=100).n_mels
    100
    """

    sample_rate: int = 22050
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int | None = None
    window: str | tuple = "hann"
    center: bool = True
    pad_mode: str = "constant"
    pad: int | None = None
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float | None = None
    mel_scale: str = "slaney"
    norm: str | None = "slaney"
    power: float = 1.0
    compression: str = "none"
    floor: float | None = None
    name: str = "custom"
    db_ref: float = 0.0
    signal_norm: str | None = None
    min_level_db: float = -100.0
    max_norm: float = 4.0
    clip_norm: bool = True
    layout: str = "mels-first"
    citation: str = dataclasses.field(default="", compare=False)

    def __post_init__(self) -> None:
        s = object.__setattr__
        sr = _check_rate(self.sample_rate)
        n_fft = _check_int("n_fft", self.n_fft, 2)
        hop = _check_int("hop_length", self.hop_length)
        win = n_fft if self.win_length is None else _check_int("win_length", self.win_length)
        if win > n_fft:
            raise ParameterError(
                f"win_length={win} is longer than n_fft={n_fft}; use win_length={n_fft} or less (or n_fft={win} or "
                f"more)."
            )
        if hop > win:
            raise ParameterError(
                f"hop_length={hop} is larger than the window ({win} samples): samples between frames "
                f"would never be analysed; use hop_length={win} or less (typically a quarter of the window, "
                f"hop_length={win // 4})."
            )
        window = _check_window(self.window, win)
        if not isinstance(self.center, (bool, int)):
            raise ParameterError(f"center={self.center!r} must be True or False.")
        pad_mode = _PAD_ALIASES.get(self.pad_mode, self.pad_mode) if isinstance(self.pad_mode, str) else None
        if pad_mode not in PAD_MODES:
            raise ParameterError(f"pad_mode={self.pad_mode!r} is not supported; choose one of {PAD_MODES}.")
        pad = (n_fft // 2 if self.center else 0) if self.pad is None else _check_int("pad", self.pad, 0)
        if pad_mode == "reflect" and pad >= n_fft:
            raise ParameterError(f"pad={pad} must be smaller than n_fft={n_fft} with pad_mode='reflect'.")
        n_mels = _check_int("n_mels", self.n_mels)
        fmin = _check_float("fmin", self.fmin)
        nyquist = sr / 2.0
        fmax = nyquist if self.fmax is None else _check_float("fmax", self.fmax)
        if fmin < 0:
            raise ParameterError(f"fmin={fmin} must be >= 0 Hz.")
        if fmax > nyquist + 1e-6:
            raise ParameterError(
                f"fmax={fmax} Hz is above the Nyquist frequency sample_rate/2 = {nyquist} Hz; "
                f"use fmax={nyquist} or less."
            )
        if fmin >= fmax:
            raise ParameterError(f"fmin={fmin} Hz must be below fmax={fmax} Hz.")
        scale = str(self.mel_scale).lower()
        if scale not in _SCALES:
            raise ParameterError(f"mel_scale={self.mel_scale!r} is not supported; choose 'slaney' or 'htk'.")
        norm = _check_norm(self.norm)
        power = _check_float("power", self.power)
        if power <= 0:
            raise ParameterError(f"power={self.power!r} must be > 0 (1: magnitude, 2: power).")
        comp = "none" if self.compression is None else str(self.compression).lower()
        comp = {"ln": "log", "natural_log": "log", "decibel": "db", "dB": "db"}.get(comp, comp)
        if comp not in _COMPRESSIONS:
            raise ParameterError(
                f"compression={self.compression!r} is not supported; choose one of {_COMPRESSIONS}."
            )
        floor = _DEFAULT_FLOOR[comp] if self.floor is None else _check_float("floor", self.floor)
        if comp != "none" and floor <= 0:
            raise ParameterError(f"floor={floor} must be > 0 with compression={comp!r} (e.g. 1e-5).")
        s(self, "sample_rate", sr)
        s(self, "n_fft", n_fft)
        s(self, "hop_length", hop)
        s(self, "win_length", win)
        s(self, "window", window)
        s(self, "center", bool(self.center))
        s(self, "pad_mode", pad_mode)
        s(self, "pad", pad)
        s(self, "n_mels", n_mels)
        s(self, "fmin", fmin)
        s(self, "fmax", fmax)
        s(self, "mel_scale", scale)
        s(self, "norm", norm)
        s(self, "power", power)
        s(self, "compression", comp)
        s(self, "floor", floor)
        s(self, "name", str(self.name))
        self._check_normalisation(comp)  # and the layout
        # Bands narrower than an FFT bin come out empty: warn as librosa does (at the caller's line).
        filters.warn_empty(filters.config_key(self), stacklevel=3)

    def _check_normalisation(self, comp: str) -> None:
        s = object.__setattr__
        db_ref = _check_float("db_ref", self.db_ref)
        mode = self.signal_norm
        if isinstance(mode, str) and mode.lower() in ("none", ""):
            mode = None
        mode = mode.lower() if isinstance(mode, str) else mode
        if mode not in _SIGNAL_NORMS:
            raise ParameterError(f"signal_norm={self.signal_norm!r} is not supported; choose one of {_SIGNAL_NORMS}.")
        if (mode is not None or db_ref != 0.0) and comp != "db":
            raise ParameterError(
                f"signal_norm={mode!r} / db_ref={db_ref} apply to decibels; set compression='db' (Coqui TTS: "
                f"20 log10 of the magnitude Mel, power=1) or drop them."
            )
        min_db = _check_float("min_level_db", self.min_level_db)
        if min_db >= 0:
            raise ParameterError(f"min_level_db={min_db} must be negative (Coqui's default is -100).")
        max_norm = _check_float("max_norm", self.max_norm)
        if max_norm <= 0:
            raise ParameterError(f"max_norm={max_norm} must be > 0 (Coqui's default is 4).")
        s(self, "db_ref", db_ref)
        s(self, "signal_norm", mode)
        s(self, "min_level_db", min_db)
        s(self, "max_norm", max_norm)
        s(self, "clip_norm", bool(self.clip_norm))
        s(self, "layout", check_layout(self.layout))
        s(self, "citation", str(self.citation))

    # ------------------------------------------------------------------ derived
    @property
    def n_freq(self) -> int:
        """Number of STFT frequency bins, ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    def n_frames(self, n_samples: int) -> int:
        """Frames the STFT of ``n_samples`` samples has under this config."""
        padded = int(n_samples) + 2 * self.pad
        if padded < self.n_fft:
            raise ParameterError(
                f"audio of {n_samples} samples is too short for n_fft={self.n_fft} with pad={self.pad}: "
                f"give at least {self.n_fft - 2 * self.pad} samples."
            )
        return 1 + (padded - self.n_fft) // self.hop_length

    def n_samples(self, n_frames: int) -> int:
        """Length of the signal that ``n_frames`` frames describe (what iSTFT returns)."""
        return (int(n_frames) - 1) * self.hop_length + self.n_fft - 2 * self.pad

    def replace(self, **changes: Any) -> "MelConfig":
        """A copy with some fields changed (named "custom" unless ``name`` is given)."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ParameterError(
                f"MelConfig has no field(s) {sorted(unknown)}; the fields are "
                f"{[f.name for f in dataclasses.fields(self)]}."
            )
        changes.setdefault("name", "custom")
        if changes["name"] == "custom" and "citation" not in changes and self.name != "custom":
            changes["citation"] = f"preset {self.name!r}, modified"
        if "center" in changes and "pad" not in changes:
            changes["pad"] = None
        if "n_fft" in changes and "win_length" not in changes and self.win_length == self.n_fft:
            changes["win_length"] = None
        if "n_fft" in changes and "pad" not in changes and self.center:
            changes["pad"] = None
        if "sample_rate" in changes and "fmax" not in changes and self.fmax == self.sample_rate / 2:
            changes["fmax"] = None
        if "compression" in changes and "floor" not in changes:
            changes["floor"] = None
        if changes.get("compression", "db") != "db":  # dB-only settings go with the dB compression
            changes.setdefault("signal_norm", None)
            changes.setdefault("db_ref", 0.0)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def description(self) -> str:
        """One line: the convention in words (for tables and messages)."""
        comp = {"none": "linear", "log": f"ln(max(x, {self.floor:g}))", "log10": f"log10(max(x, {self.floor:g}))",
                "db": f"{10 if self.power == 2 else 20}·log10(max(x, {self.floor:g}))"}[self.compression]
        if self.db_ref:
            comp += f" - {self.db_ref:g}"
        if self.signal_norm:
            lo = -self.max_norm if self.signal_norm == "symmetric" else 0.0
            comp += f", {self.signal_norm} norm to [{lo:g}, {self.max_norm:g}] (min_level_db {self.min_level_db:g})"
        pad = f"center, {self.pad_mode}" if self.center else f"{self.pad_mode} pad {self.pad}, no centring"
        return (f"{self.sample_rate} Hz, {self.n_fft}/{self.win_length}/{self.hop_length}, {self.n_mels} "
                f"{self.mel_scale} bands {self.fmin:g}-{self.fmax:g} Hz, norm {self.norm}, power {self.power:g}, "
                f"{comp}, {pad}, {self.layout}")

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "MelConfig":
        """One of :data:`PRESETS` (``"seed"``, ``"hifigan"``, ``"librosa"``), optionally modified."""
        cfg = get_config(name)
        return cfg.replace(**overrides) if overrides else cfg


def _hifigan_like(name: str, sr: int, n_fft: int, hop: int, n_mels: int, fmax: float | None,
                  citation: str) -> MelConfig:
    """HiFi-GAN's ``meldataset.mel_spectrogram``: reflect pad (n_fft - hop) / 2, no centring, Slaney, ln."""
    return MelConfig(
        sample_rate=sr, n_fft=n_fft, win_length=n_fft, hop_length=hop, n_mels=n_mels, fmin=0.0, fmax=fmax,
        mel_scale="slaney", norm="slaney", power=1.0, compression="log", floor=1e-5, center=False,
        pad=(n_fft - hop) // 2, pad_mode="reflect", name=name, citation=citation,
    )


def _center_reflect(name: str, citation: str, **fields: Any) -> MelConfig:
    """A 22.05 kHz, 1024/1024/256, Slaney, centred reflect-padded STFT, with ``fields`` changed."""
    base = dict(sample_rate=22050, n_fft=1024, win_length=1024, hop_length=256, n_mels=80, fmin=0.0,
                fmax=8000.0, mel_scale="slaney", norm="slaney", power=1.0, center=True, pad_mode="reflect")
    base.update(fields)
    return MelConfig(name=name, citation=citation, **base)


PRESETS: dict[str, MelConfig] = {
    "seed": MelConfig(
        sample_rate=16000, n_fft=512, hop_length=128, n_mels=128, fmin=0.0, fmax=None,
        mel_scale="htk", norm=None, power=1.0, compression="none", center=True, pad_mode="constant",
        name="seed", citation="melrecon's original experiment",
    ),
    "hifigan": _hifigan_like("hifigan", 22050, 1024, 256, 80, 8000.0,
                             "jik876/hifi-gan meldataset.py mel_spectrogram + config_v1.json"),
    "librosa": MelConfig(
        sample_rate=22050, n_fft=2048, hop_length=512, n_mels=128, fmin=0.0, fmax=None,
        mel_scale="slaney", norm="slaney", power=2.0, compression="none", center=True,
        pad_mode="constant", name="librosa", citation="librosa.feature.melspectrogram defaults (librosa 0.10/0.11)",
    ),
    "tacotron2": _center_reflect(
        "tacotron2", "NVIDIA/tacotron2 hparams.py + layers.py TacotronSTFT (stft.py: reflect pad n_fft/2; "
        "audio_processing.py dynamic_range_compression ln(clamp(x, 1e-5)))", compression="log", floor=1e-5),
    "vocos": MelConfig(
        sample_rate=24000, n_fft=1024, win_length=1024, hop_length=256, n_mels=100, fmin=0.0, fmax=None,
        mel_scale="htk", norm=None, power=1.0, compression="log", floor=1e-7, center=True, pad_mode="reflect",
        name="vocos", citation="gemelo-ai/vocos feature_extractors.py MelSpectrogramFeatures (torchaudio "
        "MelSpectrogram defaults: HTK, no norm; safe_log clip 1e-7) + configs/vocos.yaml",
    ),
    "bigvgan-24k": _hifigan_like("bigvgan-24k", 24000, 1024, 256, 100, 12000.0,
                                 "NVIDIA/BigVGAN meldataset.py + configs/bigvgan_v2_24khz_100band_256x.json"),
    "bigvgan-44k": _hifigan_like("bigvgan-44k", 44100, 2048, 512, 128, None,
                                 "NVIDIA/BigVGAN meldataset.py + configs/bigvgan_v2_44khz_128band_512x.json"),
    "bigvgan-22k": _hifigan_like("bigvgan-22k", 22050, 1024, 256, 80, 8000.0,
                                 "NVIDIA/BigVGAN meldataset.py + configs/bigvgan_v2_22khz_80band_fmax8k_256x.json"),
    "espnet": _center_reflect(
        "espnet", "espnet2/layers/stft.py + espnet2/asr/frontend/default.py LogMelFbank (log_base 10, clamp "
        "1e-10) + egs2/ljspeech/tts1 recipe (fs 22050, n_fft 1024, n_shift 256, fmin 80, fmax 7600); optional "
        "global mean-var stats feats_stats.npz (--stats)", fmin=80.0, fmax=7600.0, compression="log10",
        floor=1e-10, layout="frames-first"),
    "coqui": _center_reflect(
        "coqui", "coqui-ai/TTS TTS/utils/audio/processor.py AudioProcessor + TTS/config/shared_configs.py "
        "BaseAudioConfig defaults (ref_level_db 20, min_level_db -100, symmetric_norm, max_norm 4, clip_norm)",
        fmax=None, compression="db", floor=1e-5, db_ref=20.0, signal_norm="symmetric", min_level_db=-100.0,
        max_norm=4.0, clip_norm=True),
    "speechbrain": _center_reflect(
        "speechbrain", "speechbrain/lobes/models/HifiGAN.py mel_spectogram (torchaudio MelSpectrogram, "
        "slaney scale and norm; dynamic_range_compression ln(clamp(x, 1e-5))) + LJSpeech HiFi-GAN hparams",
        compression="log", floor=1e-5),
}


#: The preset of every entry point when none is given (the API, the CLI, folder inversion, the workbench).
DEFAULT_PRESET = "hifigan"


def get_config(config: "MelConfig | str") -> MelConfig:
    """Return ``config`` if it is a :class:`MelConfig`, else the preset of that name."""
    if isinstance(config, MelConfig):
        return config
    if isinstance(config, str):
        try:
            return PRESETS[config.lower()]
        except KeyError:
            raise ParameterError(
                f"preset={config!r} is unknown; choose one of {sorted(PRESETS)} or pass a MelConfig."
            ) from None
    raise ParameterError(f"config={config!r} must be a MelConfig or a preset name {sorted(PRESETS)}.")


def db_values(mel, config: MelConfig | str):
    """Decibels (before ``db_ref`` is subtracted) of a dB-compressed, possibly range-normalised mel."""
    cfg = get_config(config)
    if cfg.signal_norm == "symmetric":
        mel = (mel + cfg.max_norm) / (2.0 * cfg.max_norm)
    elif cfg.signal_norm == "asymmetric":
        mel = mel / cfg.max_norm
    if cfg.signal_norm is not None:
        mel = mel * -cfg.min_level_db + cfg.min_level_db
    return mel + cfg.db_ref
