"""The methods layer: what a method is (:mod:`~melrecon.methods.registry`: one record per method, its stages at
every effort level), the one decision of what a call runs (:mod:`~melrecon.methods.resolve`), how a problem runs
(:mod:`~melrecon.methods.planner`: whole, length buckets, segments, pieces), the engine-level inversion of a
checked problem (:mod:`~melrecon.methods.execute`), the one loop (:mod:`~melrecon.methods.runner`) and what comes
back (:mod:`~melrecon.methods.result`)."""

from .registry import EXACT_METHOD, METHODS, NOISE_AWARE_METHOD, Stage, families, known_options, used_options
from .resolve import DEFAULT_METHODS, Choice, build_stages, describe_methods, resolve

__all__ = ["Stage", "METHODS", "EXACT_METHOD", "NOISE_AWARE_METHOD", "DEFAULT_METHODS", "Choice", "resolve",
           "build_stages", "known_options", "families", "used_options", "describe_methods"]
