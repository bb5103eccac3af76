"""Reconstruction methods, each a frozen dataclass with pure ``init`` / ``step`` / ``spectrogram``."""

from .admm import ADMMGriffinLim
from .base import Algorithm, Problem
from .gradient import OPTIMIZERS, STFTGradientDescent, WaveformGradientDescent, make_optimizer
from .griffin_lim import GriffinLim, agla, fgla, gla
from .mel_griffin_lim import MelGriffinLim, mel_projection
from .tolerant import TolerantMelADMM, TolerantMelGriffinLim

__all__ = [
    "Algorithm",
    "Problem",
    "GriffinLim",
    "gla",
    "fgla",
    "agla",
    "STFTGradientDescent",
    "WaveformGradientDescent",
    "make_optimizer",
    "OPTIMIZERS",
    "MelGriffinLim",
    "mel_projection",
    "ADMMGriffinLim",
    "TolerantMelADMM",
    "TolerantMelGriffinLim",
]
