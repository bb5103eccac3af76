"""The workbench under its former name: :mod:`melrecon.workbench` (and the example helpers of
:mod:`melrecon.examples`) re-exported for notebooks and scripts that import ``melrecon.widgets``."""

from .examples import clips as sample_paths
from .examples import fast_mode, results_dir, seed_recording
from .workbench import METHOD_CHOICES, Session, Source, Workbench
from .workbench.session import read_upload as _read_upload

__all__ = ["Workbench", "Session", "Source", "sample_paths", "seed_recording", "results_dir", "fast_mode",
           "METHOD_CHOICES", "_read_upload"]
