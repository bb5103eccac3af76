"""The methods layer: what a method is (:mod:`~melrecon.methods.registry`: recipes -> stages, described
once), how a problem runs (:mod:`~melrecon.methods.planner`: whole, length buckets, segments, pieces),
the engine-level inversion of a checked problem (:mod:`~melrecon.methods.execute`), the one loop
(:mod:`~melrecon.methods.runner`) and what comes back (:mod:`~melrecon.methods.result`)."""

from .registry import DEFAULT_METHOD, METHODS, Stage, build_stages, describe_methods, families, known_options, used_options

__all__ = ["Stage", "METHODS", "DEFAULT_METHOD", "build_stages", "known_options", "families", "used_options",
           "describe_methods"]
