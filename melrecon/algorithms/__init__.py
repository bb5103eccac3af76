"""Reconstruction methods, each a frozen dataclass with pure ``init`` / ``step`` / ``spectrogram``.

Adding one is one new module here (a subclass of :class:`Algorithm`: it is listed in :data:`ALGORITHMS`
by being defined) plus one line naming it as a method (:func:`melrecon.methods.registry.register`, or an
entry of :data:`melrecon.methods.registry.METHODS`)."""

from .admm import ADMMGriffinLim
from .base import FAMILIES, INIT_PHASES, SUBCLASSES, Algorithm, Problem, check_init_phase
from .gradient import OPTIMIZERS, OptaxDescent, STFTGradientDescent, WaveformGradientDescent, make_optimizer
from .griffin_lim import GriffinLim, agla, fgla, gla
from .mel_griffin_lim import MelGriffinLim, mel_projection
from .tolerant import TolerantMelADMM, TolerantMelGriffinLim

#: Every algorithm class of the package (its subclasses of Algorithm with options; OptaxDescent is their base).
ALGORITHMS = tuple(cls for cls in SUBCLASSES if cls.__module__.startswith(__name__) and cls is not OptaxDescent)

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
