"""Reconstruction methods, each a frozen dataclass with pure ``init`` / ``step`` / ``spectrogram``."""

from .admm import ADMMGriffinLim
from .base import FAMILIES, INIT_PHASES, Algorithm, Problem, check_init_phase
from .gradient import OPTIMIZERS, OptaxDescent, STFTGradientDescent, WaveformGradientDescent, make_optimizer
from .griffin_lim import GriffinLim, agla, fgla, gla
from .mel_griffin_lim import MelGriffinLim, mel_projection
from .tolerant import TolerantMelADMM, TolerantMelGriffinLim

#: Every method class of the package (a new method is added here and gets a recipe in melrecon.methods).
ALGORITHMS = (
    GriffinLim, MelGriffinLim, ADMMGriffinLim, STFTGradientDescent, WaveformGradientDescent, TolerantMelADMM,
    TolerantMelGriffinLim,
)

__all__ = [
    "Algorithm",
    "ALGORITHMS",
    "FAMILIES",
    "INIT_PHASES",
    "check_init_phase",
    "OptaxDescent",
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
