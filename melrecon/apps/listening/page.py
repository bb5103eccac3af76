"""The shareable page: one self-contained static HTML file a listener opens and takes the test in.

Everything is inside the file: the stimuli as base64 ``data:`` URIs, the CSS and the script
(:mod:`~melrecon.apps.listening.page_assets`). It makes no network request, needs no server, and offers the
answers as ``<listener>.json`` through a Blob download link; :func:`melrecon.apps.listening.collect` (``melrecon
listen collect``) reads those files back. The page states the test's kind and how many conditions a trial has,
never what they are: condition ids are opaque, and the mapping stays in ``test.json``.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path

from ... import io
from ...core.config import ParameterError
from .build import ListeningTest, load_test
from .page_assets import CSS, JS

__all__ = ["build_page", "page_html"]

_KIND_TEXT = {
    "mushra": ("MUSHRA listening test",
               "Each trial has a reference and {n} conditions to rate from 0 (bad) to 100 (excellent) against it. "
               "A hidden copy of the reference and low-pass versions of it are among the conditions. Play the "
               "reference and every condition (a button switches at the same position; playback loops), move "
               "every slider, then go to the next trial."),
    "abx": ("ABX listening test",
            "Each trial has two versions, A and B, and X, which is one of them. Play A, B and X as often as you "
            "like (a button switches at the same position; playback loops) and say whether X is A or B. "
            "The test compares {n} conditions in pairs."),
}


def _data_uri(path: Path) -> str:
    if not path.is_file():
        raise ParameterError(f"the stimulus {path} named in test.json is missing; rebuild the test.")
    return "data:audio/wav;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def page_html(test: ListeningTest | str | Path, *, title: str | None = None) -> str:
    """The page's HTML text (see :func:`build_page`)."""
    test = load_test(test)
    public = test.public()
    files = [t["reference"] for t in public["trials"] if "reference" in t]
    files += [s["file"] for t in public["trials"] for s in t.get("stimuli", [])]
    files += [f for t in public["trials"] for f in t.get("files", {}).values()]
    public["audio"] = {f: _data_uri(test.audio_path(f)) for f in dict.fromkeys(files)}
    n = public["n_conditions"]
    heading, text = _KIND_TEXT[test.kind]
    data = json.dumps(public, separators=(",", ":")).replace("</", "<\\/")
    heading = html.escape(title or heading)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; \
style-src 'unsafe-inline'; media-src data: blob:; connect-src data: blob:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{heading}</title><style>{CSS}</style></head>
<body data-kind="{test.kind}" data-conditions="{n}">
<h1>{heading}</h1>
<p id="mr-intro"><b>{test.kind.upper()}</b> · <span id="mr-count">{n} conditions</span> ·
{len(public["trials"])} trials. {html.escape(text.format(n=n))}</p>
<p class="mr-muted">Use headphones in a quiet room. This page works offline; your answers stay in this browser
until you download them.</p>
<div id="mr-start"><label>Your name: <input id="mr-listener" value="listener" maxlength="64"></label>
<button id="mr-begin">start</button></div>
<div id="mr-test-box" style="display:none">
<div class="mr-row"><span id="mr-where"></span><progress id="mr-progress" value="0"></progress>
<button id="mr-stop">\u25A0 stop</button></div>
<div id="mr-trial"></div></div>
<div id="mr-status"></div>
<div id="mr-footer"><a id="mr-download" style="display:none"></a></div>
<script type="application/json" id="mr-test">{data}</script>
<script>{JS}</script>
</body></html>
"""


def build_page(test: ListeningTest | str | Path, out: str | Path, *, title: str | None = None) -> Path:
    """Write the test's shareable page: ONE static HTML file with everything inside (see the module docstring).

    Parameters
    ----------
    test : ListeningTest or path
        The test (its folder, holding ``test.json`` and ``audio/``).
    out : str or Path
        The ``.html`` file to write (atomically).
    title : str, optional
        The page's heading (default: the kind of test; never the conditions).

    Returns
    -------
    Path
        ``out``.
    """
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ParameterError(f"out={str(out)!r} must end in .html (the page is one HTML file).")
    text = page_html(test, title=title)
    out.parent.mkdir(parents=True, exist_ok=True)
    with io.atomic_path(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return out
