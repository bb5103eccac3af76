"""melrecon: recover audio from Mel spectrograms (Griffin-Lim family and gradient descent, in JAX).

>>> import melrecon
>>> cfg = melrecon.MelConfig.preset("hifigan")
>>> # mel = melrecon.mel_spectrogram(audio, cfg); out = melrecon.reconstruct(mel, cfg)

The names below are re-exports of the layers' modules, loaded when first used: ``import melrecon`` alone
(and ``melrecon --version`` / ``--help``) does not import JAX.
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_EXPORTS = {
    "MelConfig": "core.config", "ParameterError": "core.config", "PRESETS": "core.config",
    "DEFAULT_PRESET": "core.config", "get_config": "core.config",
    "mel_filterbank": "core.filters",
    "stft": "core.transforms", "istft": "core.transforms", "mel_spectrogram": "core.transforms",
    "compress": "core.transforms", "decompress": "core.transforms", "mel_to_linear": "core.transforms",
    "reconstruct": "reconstruct",
    "Reconstruction": "methods.result", "Progress": "methods.result",
    "METHODS": "methods.registry", "EXACT_METHOD": "methods.registry", "NOISE_AWARE_METHOD": "methods.registry",
    "EFFORTS": "methods.registry", "DEFAULT_EFFORT": "methods.registry", "Stage": "methods.registry",
    "DEFAULT_METHODS": "methods.resolve", "build_stages": "methods.resolve", "resolve": "methods.resolve",
    "mel_to_audio": "apps.compat", "griffinlim": "apps.compat",
    "Streamer": "stream",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'melrecon' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


class _Facade(types.ModuleType):
    """The package keeps the function ``reconstruct`` under that name when its module of the same name is
    imported (the import system would set the attribute to the module)."""

    def __setattr__(self, name, value):
        if name == "reconstruct" and isinstance(value, types.ModuleType):
            value = value.reconstruct
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Facade
