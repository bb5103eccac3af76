"""Analysis settings from the command line: a preset, a TOML file (``--config``) and one flag per field.

Precedence, lowest first: the preset (``--preset``, or ``preset = "..."`` in the file, default
``hifigan``), the file's fields, the flags. ``melrecon config --preset NAME`` prints a file to start
from; ``melrecon presets`` lists the presets with their citations.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the tomli backport (a dependency there)
    import tomli as tomllib

from ...core.config import DEFAULT_PRESET, LAYOUTS, PRESETS, MelConfig, ParameterError, get_config

__all__ = ["add_config_args", "config_from_args", "config_toml", "load_toml", "presets_table"]


_FIELDS = [f.name for f in dataclasses.fields(MelConfig)]
# flag -> (field, type, help)
_FLAGS = [
    ("--sample-rate", "sample_rate", int, "sampling rate in Hz"),
    ("--n-fft", "n_fft", int, "FFT size"),
    ("--hop-length", "hop_length", int, "samples between frames"),
    ("--win-length", "win_length", int, "window length (<= n_fft)"),
    ("--window", "window", str, "hann, hamming, blackman or rectangular"),
    ("--n-mels", "n_mels", int, "number of Mel bands"),
    ("--fmin", "fmin", float, "lowest filterbank frequency (Hz)"),
    ("--fmax", "fmax", float, "highest filterbank frequency (Hz)"),
    ("--norm", "norm", str, "filter normalisation: slaney, none or a number p > 0 (unit p-norm, as librosa)"),
    ("--power", "power", float, "exponent of the magnitude: 1 (magnitude), 2 (power), any > 0"),
    ("--compression", "compression", str, "none, log (ln), log10 or db"),
    ("--floor", "floor", float, "clamp of the compression, e.g. 1e-5"),
    ("--pad-mode", "pad_mode", str, "constant, reflect, edge, symmetric or linear_ramp"),
    ("--pad", "pad", int, "samples padded on each side (HiFi-GAN: (n_fft - hop) / 2 with --no-center)"),
    ("--db-ref", "db_ref", float, "dB subtracted after the dB compression (Coqui ref_level_db)"),
    ("--signal-norm", "signal_norm", str, "Coqui dB range normalisation: none, symmetric, asymmetric"),
    ("--min-level-db", "min_level_db", float, "Coqui min_level_db (default -100)"),
    ("--max-norm", "max_norm", float, "Coqui max_norm (default 4)"),
]


def _metavar(field: str, kind: type) -> str:
    """What the help shows after a flag: ``--n-fft N``, ``--fmax HZ``, ``--window NAME``."""
    if field in ("sample_rate", "fmin", "fmax"):
        return "HZ"
    return {int: "N", float: "X", str: "NAME"}[kind]


def add_config_args(p: argparse.ArgumentParser) -> None:
    """The analysis-settings options of ``invert`` and ``batch``."""
    g = p.add_argument_group("analysis settings (override the preset; see `melrecon presets`)")
    g.add_argument("--preset", default=None, choices=sorted(PRESETS),
                   help=f"toolkit convention to start from (default {DEFAULT_PRESET})")
    g.add_argument("--config", default=None, metavar="FILE.toml",
                   help="TOML file of MelConfig fields (start from `melrecon config --preset NAME`)")
    for flag, field, kind, text in _FLAGS:
        g.add_argument(flag, dest=f"cfg_{field}", type=kind, default=None, help=text, metavar=_metavar(field, kind))
    scale = g.add_mutually_exclusive_group()
    scale.add_argument("--htk", dest="cfg_mel_scale", action="store_const", const="htk", help="HTK Mel formula")
    scale.add_argument("--slaney", dest="cfg_mel_scale", action="store_const", const="slaney",
                       help="Slaney Mel formula")
    g.add_argument("--center", dest="cfg_center", action=argparse.BooleanOptionalAction, default=None,
                   help="centre frames (pad n_fft/2 on each side)")
    g.add_argument("--clip-norm", dest="cfg_clip_norm", action=argparse.BooleanOptionalAction, default=None,
                   help="Coqui clip_norm")
    g.add_argument("--layout", default=None, metavar="LAYOUT",
                   help=f"how the mel array is stored: {' or '.join(LAYOUTS)} "
                   "((n_mels, T) or (T, n_mels); default: the preset's)")
    g.add_argument("--stats", default=None, metavar="FILE",
                   help="mean/variance statistics to undo (ESPnet feats_stats.npz, mean/std .npz, .h5)")


def load_toml(path) -> dict[str, Any]:
    """The fields of a TOML config file (``preset`` allowed); unknown keys are refused."""
    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"--config {str(p)!r} does not exist or is not a file.")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ParameterError(f"--config {str(p)!r} is not valid TOML ({exc}).") from None
    data = data.get("mel", data)  # fields at the top level or in a [mel] table
    unknown = set(data) - set(_FIELDS) - {"preset"}
    if unknown:
        raise ParameterError(f"--config {str(p)!r} has unknown key(s) {sorted(unknown)}; the keys are "
                             f"'preset' and the MelConfig fields {_FIELDS}.")
    return data


def config_from_args(args) -> MelConfig:
    """The :class:`MelConfig` of ``--preset``, ``--config`` and the per-field flags."""
    fields = load_toml(args.config) if getattr(args, "config", None) else {}
    preset = args.preset or fields.pop("preset", None) or DEFAULT_PRESET
    fields.pop("preset", None)
    fields.update({f: getattr(args, f"cfg_{f}") for f in _FIELDS if getattr(args, f"cfg_{f}", None) is not None})
    if getattr(args, "layout", None) is not None:
        fields["layout"] = args.layout
    for key in ("norm", "signal_norm"):
        if isinstance(fields.get(key), str) and fields[key].lower() == "none":
            fields[key] = None
    base = get_config(preset)
    if not fields:
        return base
    fields.setdefault("name", f"{preset}+custom")
    fields.setdefault("citation", f"preset {preset!r} with {sorted(set(fields) - {'name'})} set")
    return base.replace(**fields)


def _toml_value(value) -> str:
    if value is None:
        return '"none"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value)
    return str(value)


def config_toml(config: MelConfig | str) -> str:
    """A TOML file with every field of ``config`` (``melrecon config --preset NAME``); ``--config`` reads it back."""
    cfg = get_config(config)
    lines = [f"# melrecon analysis settings: preset {cfg.name!r}", f"# {cfg.description}"]
    if cfg.citation:
        lines.append(f"# citation: {cfg.citation}")
    lines.append("# Edit and pass as: melrecon invert MEL OUT.wav --config THIS.toml")
    for f in _FIELDS:
        if f == "citation":
            continue
        lines.append(f"{f} = {_toml_value(getattr(cfg, f))}")
    return "\n".join(lines) + "\n"


def presets_table() -> str:
    """``melrecon presets``: one block per preset (settings in words, then the citation)."""
    out = []
    for name, cfg in PRESETS.items():
        out.append(f"{name}\n    {cfg.description}\n    citation: {cfg.citation}")
    return "\n".join(out)
