"""What a method's stages are and which options they take: the command line's iteration counts and help.

A method (``"meladmm+melgl"``, ``"gl+gd"``, ``"fgla"``, ...) is a list of stages, each with its own
default iteration count. These small functions answer, for a method name, which stages it runs with
how many iterations by default, which hyper-parameters (``learning_rate``, ``optimizer``, ...) any of
its stages takes, and parse a per-stage count such as ``"300,200"``; the ``melrecon`` command builds
its help text and its checks from them, so help and behaviour cannot disagree. They ask the stages
(:mod:`melrecon.methods`, :class:`melrecon.algorithms.Algorithm`) and keep no list of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..algorithms import INIT_PHASES
from ..algorithms.mel_griffin_lim import METRICS, OUTSIDE
from ..core.config import ParameterError
from ..core.losses import MEL_LOSSES
from .registry import used_options
from .resolve import describe


def auto_or_float(text: str):
    """``"auto"`` or a number (the command line's parser of such options)."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither 'auto' nor a number") from None


@dataclass(frozen=True)
class OptionSpec:
    """A stage option as the command line and the workbench offer it (the one table both read)."""

    name: str
    flag: str
    help: str
    parse: Callable[[str], Any] = str
    choices: tuple | None = None
    probe: Any = "auto"  # a value to ask the stages whether they take the option
    control: bool = False  # the workbench has a control for it
    metavar: str | None = None


#: Every stage option offered by name: command-line flags (``melrecon invert --help``) and workbench controls.
STAGE_OPTIONS = (
    OptionSpec("optimizer", "--optimizer", "optax optimizer of the gradient stages (adam, sgd, lbfgs, ...)",
               choices=None, probe="lbfgs", control=True),
    OptionSpec("learning_rate", "--lr", "learning rate of the gradient stages (lbfgs: only with --optimizer)", float,
               probe="lbfgs", control=True),
    OptionSpec("consistency_weight", "--consistency-weight", "weight of the STFT-consistency term of the gd loss",
               float, probe=1.0, control=True),
    OptionSpec("mel_weight", "--mel-weight", "weight of the Mel term of the gradient losses", float, probe=1.0,
               control=True),
    OptionSpec("mel_loss", "--mel-loss", "Mel term of the gradient losses", choices=tuple(MEL_LOSSES), probe="linear",
               control=True),
    OptionSpec("init_phase", "--init", "initial phase of the first stage (pghi: phase-gradient heuristic integration)",
               choices=tuple(INIT_PHASES), probe="zero"),
    OptionSpec("outside", "--outside", "what the bins above fmax (in no Mel band) hold", choices=tuple(OUTSIDE),
               probe="free"),
    OptionSpec("metric", "--metric", "metric of the Mel-constraint projection (auto: relative for power-2 mels)",
               choices=tuple(METRICS)),
    OptionSpec("tolerance", "--tolerance", "how far the output's Mel may depart from a noisy input mel (0: off)",
               auto_or_float, metavar="auto|X"),
    OptionSpec("sharpen", "--sharpen", "unsharp-mask amount for mels smoothed along time (0: off)", auto_or_float,
               metavar="auto|X"),
    OptionSpec("deblur", "--deblur", "width (bands) of the deconvolution across bands for mels smoothed across "
               "bands (0: off)", auto_or_float, metavar="auto|X"),
    OptionSpec("unbox", "--unbox", "size of the moving average (frames and bands) of the linear mel to undo first "
               "(0: off; auto: a 3 x 3 box read from the mel)", auto_or_float, metavar="auto|K"),
)


def option_spec(name: str) -> OptionSpec:
    """The :class:`OptionSpec` of option ``name``."""
    return next(o for o in STAGE_OPTIONS if o.name == name)

__all__ = ["default_stages", "stage_options", "check_stage_options", "parse_iters", "iters_help", "OptionSpec",
           "STAGE_OPTIONS", "option_spec"]


def default_stages(method: str) -> list[tuple[str, int]]:
    """``[(stage name, default iterations), ...]`` of ``method`` (a name or a ``+``-joined pipeline)."""
    return [(algo.name, n) for algo, n in describe(method).stages]


def stage_options(method: str, given: Mapping[str, Any] | None = None) -> set[str]:
    """The options among ``given`` (or among all stage options) that some stage of ``method`` takes
    (what each algorithm declares: :meth:`melrecon.algorithms.Algorithm.takes`)."""
    given = dict(given or {})
    info = describe(method)
    return used_options(info.stages, set(given) if given else set(info.options), given)


def check_stage_options(method: str, given: Mapping[str, Any], flags: Mapping[str, str] | None = None) -> None:
    """Raise :class:`ParameterError` for a given (not None) option that no stage of ``method`` takes.

    ``flags`` maps option names to how the user wrote them (e.g. ``{"learning_rate": "--lr"}``).
    """
    given = {k: v for k, v in given.items() if v is not None}
    unused = sorted(set(given) - stage_options(method, given))
    if unused:
        flags = flags or {}
        names = ", ".join(flags.get(o, o) for o in unused)
        stages = ", ".join(name for name, _ in default_stages(method))
        raise ParameterError(
            f"{names} is not taken by any stage of method {method!r} (stages: {stages}); drop it or choose a "
            f"method with a gradient stage (e.g. --method gl+gd)."
        )


def parse_iters(text: str | None, method: str, *, flag: str = "--iters") -> list[int] | None:
    """``"300,200"`` -> ``[300, 200]``: one count per stage of ``method`` (None: the stages' defaults)."""
    if text is None:
        return None
    stages = default_stages(method)
    parts = [p.strip() for p in str(text).split(",")]
    try:
        counts = [int(p) for p in parts]
    except ValueError:
        counts = []
    if not counts or any(c < 0 for c in counts):
        raise ParameterError(f"{flag} {text!r} must be whole numbers >= 0 separated by commas, one per stage "
                             f"(e.g. {flag} {','.join(str(n) for _, n in stages)}).")
    if len(counts) != len(stages):
        raise ParameterError(
            f"{flag} {text!r} gives {len(counts)} count(s) for the {len(stages)} stage(s) of method {method!r} "
            f"({', '.join(n for n, _ in stages)}); give one per stage, e.g. {flag} "
            f"{','.join(str(n) for _, n in stages)}."
        )
    return counts


def iters_help(methods) -> str:
    """Help text of the per-stage iteration option, generated from each method's default stages."""
    listed = "; ".join(f"{m} {','.join(str(n) for _, n in default_stages(m))}" for m in methods)
    return (f"iterations per stage, comma-separated, one count per stage of --method (defaults: {listed}; "
            f"other pipelines: each stage's own default)")
