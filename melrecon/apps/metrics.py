"""Objective measures of a reconstruction.

Spectral measures compare spectrograms made with the same :class:`MelConfig` (the estimate's STFT is
taken from its audio, so inconsistency is counted). PESQ (wide-band, at 16 kHz, resampled with soxr) and
STOI need the original audio and the ``metrics`` extra (``pip install melrecon[metrics]``). DNSMOS
(Microsoft's non-intrusive P.835 predictor: no reference needed, which is what a predicted mel has; ONNX
models shipped in ``speechmos``, run by ``onnxruntime``) and ViSQOL audio mode (full band, 48 kHz; model
shipped in ``visqol-python``) are optional measures of the same extra; neither downloads anything.
"""

from __future__ import annotations

import warnings

import numpy as np
import soxr

from ..core.config import MelConfig, ParameterError, get_config
from ..core.transforms import magnitude, mel_from_magnitude, stft
from ..core.validation import analysing_reconstruction, check_audio, check_mel, check_sample_rate

__all__ = [
    "spectral_convergence",
    "mel_spectral_convergence",
    "log_spectral_distance",
    "mel_distance_db",
    "pesq_wb",
    "stoi",
    "dnsmos",
    "visqol",
    "evaluate",
]

_EPS = 1e-10


def _align(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = min(a.shape[-1], b.shape[-1])
    return a[..., :n], b[..., :n]


def _lin_spec(audio, cfg: MelConfig) -> np.ndarray:
    return np.asarray(magnitude(stft(np.asarray(audio, np.float32), cfg)), np.float64)


def _mel(audio, cfg: MelConfig) -> np.ndarray:
    return np.asarray(mel_from_magnitude(magnitude(stft(np.asarray(audio, np.float32), cfg)), cfg), np.float64)


def _checked(reference, estimate, cfg: MelConfig | None, *, reference_is_mel: bool = False):
    """Validate the two signals (ParameterError naming ``reference`` / ``estimate``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # integer PCM: the conversion is documented
        if reference_is_mel:
            ref = check_mel(reference, cfg, name="reference", compressed=False)
        else:
            ref = check_audio(reference, cfg, name="reference")
        est = check_audio(estimate, cfg, name="estimate")
    return ref, est


def _sc(est: np.ndarray, ref: np.ndarray) -> float:
    est, ref = _align(est, ref)
    return float(np.linalg.norm(est - ref) / max(np.linalg.norm(ref), _EPS))


def spectral_convergence(reference, estimate, config: MelConfig | str) -> float:
    """``|| |S_est| - |S_ref| || / || |S_ref| ||`` of the linear STFT magnitudes of two signals."""
    cfg = get_config(config)
    reference, estimate = _checked(reference, estimate, cfg)
    return _sc(_lin_spec(estimate, cfg), _lin_spec(reference, cfg))


def mel_spectral_convergence(reference, estimate, config: MelConfig | str, *, reference_is_mel: bool = False) -> float:
    """Spectral convergence of the (linear) Mel spectrograms; ``reference`` may be a linear Mel."""
    cfg = get_config(config)
    reference, estimate = _checked(reference, estimate, cfg, reference_is_mel=reference_is_mel)
    ref = np.asarray(reference, np.float64) if reference_is_mel else _mel(reference, cfg)
    return _sc(_mel(estimate, cfg), ref)


def log_spectral_distance(reference, estimate, config: MelConfig | str) -> float:
    """Log-spectral distance in dB: RMS over bins of ``10 log10(P_ref / P_est)``, averaged over frames."""
    cfg = get_config(config)
    reference, estimate = _checked(reference, estimate, cfg)
    ref, est = _align(_lin_spec(reference, cfg) ** 2, _lin_spec(estimate, cfg) ** 2)
    d = 10.0 * (np.log10(ref + _EPS) - np.log10(est + _EPS))
    return float(np.mean(np.sqrt(np.mean(d * d, axis=-2))))


def mel_distance_db(reference, estimate, config: MelConfig | str) -> float:
    """Mean absolute difference of the Mel spectrograms in dB (floored at -100 dB of the peak)."""
    cfg = get_config(config)
    reference, estimate = _checked(reference, estimate, cfg)
    ref, est = _align(_mel(reference, cfg), _mel(estimate, cfg))
    scale = 10.0 if cfg.power == 2.0 else 20.0
    floor = max(ref.max(), _EPS) * 10 ** (-100 / scale)
    return float(np.mean(np.abs(scale * (np.log10(np.maximum(ref, floor)) - np.log10(np.maximum(est, floor))))))


def _to_16k(audio, sample_rate: int) -> np.ndarray:
    x = np.asarray(audio, np.float64)
    if sample_rate == 16000:
        return x
    return soxr.resample(x, sample_rate, 16000)


def pesq_wb(reference, estimate, sample_rate: int) -> float:
    """Wide-band PESQ (ITU-T P.862.2) at 16 kHz; needs the ``pesq`` package (``melrecon[metrics]``)."""
    try:
        from pesq import pesq  # noqa: PLC0415 - optional extra (melrecon[metrics])
    except ImportError:  # pragma: no cover - depends on the environment
        raise ParameterError("PESQ needs the 'pesq' package: pip install 'melrecon[metrics]'.") from None
    sample_rate = check_sample_rate(sample_rate)
    reference, estimate = _checked(reference, estimate, None)
    ref, est = _align(_to_16k(reference, sample_rate), _to_16k(estimate, sample_rate))
    return float(pesq(16000, ref, est, "wb"))


def stoi(reference, estimate, sample_rate: int, *, extended: bool = False) -> float:
    """Short-time objective intelligibility; needs the ``pystoi`` package (``melrecon[metrics]``)."""
    try:
        from pystoi import stoi as _stoi  # noqa: PLC0415 - optional extra (melrecon[metrics])
    except ImportError:  # pragma: no cover
        raise ParameterError("STOI needs the 'pystoi' package: pip install 'melrecon[metrics]'.") from None
    sample_rate = check_sample_rate(sample_rate)
    reference, estimate = _checked(reference, estimate, None)
    ref, est = _align(np.asarray(reference, np.float64), np.asarray(estimate, np.float64))
    return float(_stoi(ref, est, sample_rate, extended=extended))


def _resample(audio, sample_rate: int, target: int) -> np.ndarray:
    x = np.asarray(audio, np.float64)
    if sample_rate == target:
        return x
    return soxr.resample(x, sample_rate, target)


def dnsmos(audio, sample_rate: int) -> float:
    """DNSMOS P.835 overall quality (OVRL, about 1-5) of ``audio``, with no reference (resampled to 16 kHz);
    needs ``speechmos`` and ``onnxruntime`` (``melrecon[metrics]``)."""
    try:
        from speechmos import dnsmos as _dnsmos  # noqa: PLC0415 - optional extra (melrecon[metrics])
    except ImportError:  # pragma: no cover - depends on the environment
        raise ParameterError("DNSMOS needs 'speechmos' and 'onnxruntime': pip install 'melrecon[metrics]'.") from None
    sample_rate = check_sample_rate(sample_rate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = check_audio(audio, None, name="audio")
    x = _resample(x, sample_rate, 16000)
    x = x / max(float(np.max(np.abs(x))), _EPS) * 0.89 if np.max(np.abs(x)) > 1.0 else x
    return float(_dnsmos.run(x.astype(np.float32), sr=16000, return_df=False)["ovrl_mos"])


def visqol(reference, estimate, sample_rate: int) -> float:
    """ViSQOL audio mode MOS-LQO (about 1-4.75) of ``estimate`` against ``reference``, full band at 48 kHz;
    needs ``visqol-python`` (``melrecon[metrics]``)."""
    try:
        from visqol import VisqolApi  # noqa: PLC0415 - optional extra (melrecon[metrics])
    except ImportError:  # pragma: no cover
        raise ParameterError("ViSQOL needs the 'visqol-python' package: pip install 'melrecon[metrics]'.") from None
    sample_rate = check_sample_rate(sample_rate)
    reference, estimate = _checked(reference, estimate, None)
    ref, est = _align(_resample(reference, sample_rate, 48000), _resample(estimate, sample_rate, 48000))
    api = VisqolApi()
    api.create(mode="audio")
    return float(api.measure_from_arrays(ref, est, 48000).moslqo)


OPTIONAL_MEASURES = ("dnsmos", "visqol")


def evaluate(reference, estimate, config: MelConfig | str, *, perceptual: bool = True,
             extra: tuple[str, ...] = ()) -> dict[str, float]:
    """All measures in one dict: ``mel_sc``, ``sc``, ``lsd``, ``mel_db`` and, when available and
    ``perceptual``, ``pesq`` and ``stoi`` (NaN if the package is missing or the clip is too short).
    ``extra`` adds optional measures: ``"dnsmos"`` (of the estimate, no reference) and ``"visqol"``;
    a missing package then raises :class:`ParameterError` naming it."""
    unknown = set(extra) - set(OPTIONAL_MEASURES)
    if isinstance(extra, str) or unknown:
        raise ParameterError(f"extra={extra!r} must be a tuple of {OPTIONAL_MEASURES}, e.g. ('dnsmos',).")
    cfg = get_config(config)
    reference, estimate = _checked(reference, estimate, cfg)
    with analysing_reconstruction("the estimate"):  # a far too loud estimate: said once, with the likely cause
        check_audio(estimate, cfg, name="estimate")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*far outside \[-1, 1\]")  # not again per measure
        out = {
            "mel_sc": mel_spectral_convergence(reference, estimate, cfg),
            "sc": spectral_convergence(reference, estimate, cfg),
            "lsd": log_spectral_distance(reference, estimate, cfg),
            "mel_db": mel_distance_db(reference, estimate, cfg),
        }
    if perceptual:
        for name, fn in (("pesq", pesq_wb), ("stoi", stoi)):
            try:
                out[name] = fn(reference, estimate, cfg.sample_rate)
            except Exception:  # missing package, or a clip PESQ cannot score (too short / silent)
                out[name] = float("nan")
    if "dnsmos" in extra:
        out["dnsmos"] = dnsmos(estimate, cfg.sample_rate)
    if "visqol" in extra:
        out["visqol"] = visqol(reference, estimate, cfg.sample_rate)
    return out
