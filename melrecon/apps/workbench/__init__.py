"""An ipywidgets workbench for JupyterLab: pick a clip (or upload audio / a ``.npy`` Mel), set the method and
its iterations with sliders, press Run, watch the loss fall, and play the original against each result.

>>> from melrecon.apps.workbench import Workbench      # doctest: +SKIP
>>> Workbench().show()                             # doctest: +SKIP

:mod:`~melrecon.apps.workbench.session` holds the jobs, the worker thread and the results (no widgets);
:mod:`~melrecon.apps.workbench.view` the widgets, their layout and wiring. The reconstruction runs in a
background thread, so the kernel stays responsive: Stop asks :func:`melrecon.reconstruct` (through its
``callback``) to stop after the current chunk, and the best result so far is kept and shown.
``run(blocking=True)`` runs in the calling thread instead (scripts, tests); there an interrupt of the
kernel (Ctrl-C) also ends the run with the best result so far.
"""

from .session import Clip, Request, Session, read_upload
from .view import METHOD_CHOICES, Workbench

__all__ = ["Workbench", "Session", "Clip", "Request", "read_upload", "METHOD_CHOICES"]
