"""melrecon: recover audio from Mel spectrograms (Griffin-Lim family and gradient descent, in JAX).

>>> import melrecon
>>> cfg = melrecon.MelConfig.preset("hifigan")
>>> # mel = melrecon.mel_spectrogram(audio, cfg); out = melrecon.reconstruct(mel, cfg)
"""

from . import _moved

_moved.install()  # former module paths (melrecon.transforms, melrecon.cli, ...) keep working

from .core.config import PRESETS, MelConfig, ParameterError, get_config
from .core.filters import mel_filterbank
from .methods.registry import DEFAULT_METHOD, METHODS, Stage, build_stages
from .reconstruct import reconstruct
from .methods.result import Progress, Reconstruction
from .apps.compat import mel_to_audio
from .core.transforms import compress, decompress, istft, mel_spectrogram, mel_to_linear, stft

__version__ = "0.1.0"

__all__ = [
    "MelConfig",
    "ParameterError",
    "PRESETS",
    "get_config",
    "mel_filterbank",
    "stft",
    "istft",
    "mel_spectrogram",
    "compress",
    "decompress",
    "mel_to_linear",
    "reconstruct",
    "Reconstruction",
    "Progress",
    "METHODS",
    "DEFAULT_METHOD",
    "Stage",
    "build_stages",
    "mel_to_audio",
]
