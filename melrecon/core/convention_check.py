"""The wrong-convention evidence of a stored mel: the floor its bins sit at, its level range, whether it looks
mean/variance-normalised (:func:`melrecon.io.conventions.check_convention` warns with it; the Mel check of
:mod:`melrecon.core.validation` calls it). Needs only the config (no transforms), so the checks can use it.
"""

from __future__ import annotations

import math

import numpy as np

from .config import COMPRESSIONS, PRESETS, MelConfig, get_config, normalise_db

__all__ = ["floor_presets", "convention_message", "bands_hint"]


# ------------------------------------------------------------------------------ wrong-convention warning
def _floor_value(cfg: MelConfig) -> float:
    """The stored value of a bin at the compression's floor (or at the bottom of Coqui's range)."""
    if cfg.signal_norm == "symmetric" and cfg.clip_norm:
        return -cfg.max_norm
    if cfg.signal_norm == "asymmetric" and cfg.clip_norm:
        return 0.0
    law = COMPRESSIONS[cfg.compression]
    value = float(law.forward(np, np.float64(cfg.floor), cfg.power))
    return float(normalise_db(np, value - cfg.db_ref, cfg)) if cfg.compression == "db" else value


def _floor_table() -> list[tuple[float, list[str]]]:
    table: dict[float, list[str]] = {}
    for name, cfg in PRESETS.items():
        if cfg.compression != "none":
            table.setdefault(round(_floor_value(cfg), 3), []).append(name)
    return sorted(table.items())


def _looks_mean_var(arr: np.ndarray) -> bool:
    band_mean, band_std = arr.mean(axis=-1), arr.std(axis=-1)
    return bool(abs(float(arr.mean())) < 0.3 and float(np.mean(np.abs(band_mean))) < 0.6
                and 0.4 < float(np.median(band_std)) < 2.0)


def floor_presets(mel) -> tuple[float, list[str]]:
    """The value many bins of ``mel`` sit at (>= 0.2 %) and the presets whose floor it is (or ``[]``)."""
    arr = np.asarray(mel, np.float64)
    lo = float(arr.min())
    if float(np.mean(np.abs(arr - lo) < 1e-3)) < 0.002:
        return lo, []
    return lo, next((names for value, names in _floor_table() if abs(value - lo) < 1e-2), [])


def bands_hint(n_bands: int) -> str:
    """`` The preset(s) with 80 bands: config='hifigan', ... or 'speechbrain'.`` (or ``""``): the presets a mel of
    ``n_bands`` bands may have been made with (for the message about a mel whose band count is not the config's)."""
    names = [repr(name) for name, cfg in PRESETS.items() if cfg.n_mels == n_bands]
    if not names:
        return ""
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
    return f" The preset(s) with {n_bands} bands: config={listed}."


def _db_per_unit(cfg: MelConfig) -> float:
    """dB per stored unit for a log / log10 / dB compression (power 1: 20 log10, power 2: 10 log10)."""
    per_log10 = 20.0 if cfg.power == 1.0 else 10.0
    return {"log": per_log10 / math.log(10.0), "log10": per_log10}.get(cfg.compression, 1.0)


def _span_message(arr: np.ndarray, cfg: MelConfig, name: str) -> str | None:
    """A log/log10 mel whose level range (above its floor) is implausible for speech under that base."""
    if cfg.compression not in ("log", "log10") or arr.shape[-1] < 50:
        return None
    lo = float(arr.min())
    above = arr[arr > lo + 1e-3]
    if above.size < 100:
        return None
    span_db = (float(above.max()) - float(np.percentile(above, 1))) * _db_per_unit(cfg)
    ln_presets = [n for n, c in PRESETS.items() if c.compression == "log"]
    if cfg.compression == "log" and span_db < 55:
        guess = "log10-compressed (preset 'espnet') or mean/variance-normalised (--stats)"
    elif cfg.compression == "log10" and span_db > 200:
        guess = f"natural-log-compressed (presets {', '.join(ln_presets)})"
    else:
        return None
    return (f"{name} spans only {span_db:.0f} dB" if span_db < 55 else f"{name} spans {span_db:.0f} dB") + (
        f" when read as {cfg.compression} (config {cfg.name!r}); speech mels span about 60-130 dB. It looks "
        f"{guess}: check the convention it was made with (melrecon presets).")


def convention_message(mel, config: MelConfig | str, *, name: str = "mel") -> str | None:
    """The message (or None) of :func:`melrecon.io.conventions.check_convention`: when the values of ``mel``
    (``(..., n_mels, T)``, as stored) contradict the config's compression or normalisation, naming the presets
    they look like.

    Evidence used, in order: the value many bins sit at (a compression's floor or Coqui's clipped
    bottom: ln(1e-5) = -11.51 for HiFi-GAN-like presets, ln(1e-7) = -16.12 for Vocos, log10(1e-10) = -10
    for ESPnet, -4 for Coqui); the level range above that floor in dB under the declared base (speech
    spans about 60-130 dB: a log10 mel read as ln spans under 55, an ln mel read as log10 over 200; mels
    of 50 frames or more); values that look mean/variance-normalised (band means near 0, standard
    deviations near 1). These are heuristics: a mel without floored bins and of a narrow-range signal
    (steady noise, a tone) gives little evidence, and may warn about its range.
    """
    cfg = get_config(config)
    arr = np.asarray(mel, np.float64)
    if cfg.compression == "none" or arr.size == 0 or not np.isfinite(arr).all():
        return None
    lo, match = floor_presets(arr)
    message = None
    own = _floor_value(cfg)
    if match and abs(lo - own) > 1e-2:
        message = (f"{name}: many of its values sit at {lo:.4g}, the floor of preset(s) {', '.join(match)}, not "
                   f"of config {cfg.name!r} ({cfg.description}, floor value {own:.4g}); it was probably made with "
                   f"preset {match[0]!r}: invert it with that preset (config={match[0]!r}).")
    if message is None and cfg.signal_norm is not None and cfg.clip_norm:
        bottom = -cfg.max_norm if cfg.signal_norm == "symmetric" else 0.0
        if lo < bottom - 1e-3 or float(arr.max()) > cfg.max_norm + 1e-3:
            guess = (f"preset(s) {', '.join(match)}" if match else
                     "a log-compressed mel (ln: 'hifigan' and the like; log10: 'espnet')")
            message = (f"{name} has values outside [{bottom:g}, {cfg.max_norm:g}] "
                       f"({lo:.4g} .. {float(arr.max()):.4g}), "
                       f"which the clipped {cfg.signal_norm} normalisation of config {cfg.name!r} never gives; it "
                       f"looks like {guess}.")
    if message is None and arr.ndim >= 2:
        message = _span_message(arr.reshape(-1, arr.shape[-1]) if arr.ndim > 2 else arr, cfg, name)
    if message is None and cfg.signal_norm is None and arr.ndim >= 2 and arr.shape[-1] > 8 and _looks_mean_var(arr):
        message = (f"{name} looks mean/variance-normalised (overall mean {arr.mean():.3g}, band std near 1), not "
                   f"{cfg.compression}-compressed as config {cfg.name!r} declares; pass the statistics it was "
                   f"normalised with (e.g. stats='feats_stats.npz'), as ESPnet recipes (preset 'espnet') "
                   f"and Coqui with stats_path (preset 'coqui') need.")
    return message

