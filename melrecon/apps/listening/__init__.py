"""Listening tests of reconstructions: blind MUSHRA (ITU-R BS.1534-3) and ABX, in the notebook or in a
shareable page, with the analysis.

1. Build a test folder from any set of reconstructions (conditions × clips of arrays, reconstruction results
   or wav files): :func:`build_mushra` (open and hidden reference, 3.5 / 7 kHz low-pass anchors made from the
   reference, RMS loudness matching, a seeded per-trial order recorded in ``test.json``) or :func:`build_abx`
   (trials per pair, X balanced).
2. Take it in a notebook, :func:`take_test` (ipywidgets; every answer saved atomically to
   ``<folder>/<listener>.json``, a restart resumes at the first unanswered trial), or send the page:
   :func:`build_page` writes one self-contained HTML file (``melrecon listen build TEST_DIR out.html``).
3. :func:`collect` the answer files and :func:`analyse` them: screened means with 95 % t-intervals, ABX
   binomial p-values, correlations with objective scores; ``Report.markdown()`` and ``Report.figure()``
   (``melrecon listen report DIR``).

>>> from melrecon.apps.listening import build_mushra, take_test      # doctest: +SKIP
>>> test = build_mushra(originals, {"fast GL": gl, "default": out}, "results/listening/demo", sample_rate=22050)
...                                                                  # doctest: +SKIP
"""

from .answers import Results, Session, collect
from .audio import lowpass, match_loudness, rms_dbfs
from .build import ANCHORS_HZ, ListeningTest, build_abx, build_mushra, load_test
from .page import build_page, page_html
from .report import Report, analyse
from .stats import binomial_p, mean_ci, pearson, screening_reasons, spearman, t_quantile
from .widgets import take_test

__all__ = ["build_mushra", "build_abx", "load_test", "ListeningTest", "ANCHORS_HZ", "Session", "Results", "collect",
           "take_test", "build_page", "page_html", "analyse", "Report", "mean_ci", "t_quantile", "binomial_p",
           "pearson", "spearman", "screening_reasons", "lowpass", "match_loudness", "rms_dbfs"]
