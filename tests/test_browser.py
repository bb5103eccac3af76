"""A real browser against a real JupyterLab: open ``notebooks/03_interactive.ipynb`` in headless Chromium, run
all cells, drag the GD-iterations slider, press Run, and check that the loss plot is redrawn while it runs and
that the A/B board holds playable ``<audio>`` players. A screenshot goes to ``results/browser/``. Then every
notebook is opened and run in fast mode, what it shows is checked (``tests.test_notebooks.check_executed``: no
error, its figures, players and files), and every ``<audio>`` it shows is measured: controls, a width at which
Chromium shows the play button, a wav that loads.

Needs Chromium at /usr/bin/chromium (``make system-deps``) and the Python ``playwright`` package; no browser
download. The server (and its kernel) is shut down whatever happens.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = "notebooks/03_interactive.ipynb"
CHROMIUM = os.environ.get("MELRECON_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
SHOTS = REPO / "results" / "browser"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings: Path) -> None:
    """User settings for this server only: no news or update checks, no autosave (the committed notebook
    must not be rewritten with outputs)."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                            "checkForUpdates": False},
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        # every cell rendered in the page (not only those in view), so every player can be measured
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }
    for rel, content in files.items():
        path = settings / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))


def _wait_for_server(proc: subprocess.Popen, url: str, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"jupyter lab did not answer {url.split('?')[0]} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def _kernel_pids(runtime: Path) -> list[int]:
    """Processes (kernels) started with a connection file in this server's private runtime folder."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if str(runtime).encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
    return pids


def _shutdown(proc: subprocess.Popen, base: str, token: str, runtime: Path) -> None:
    with contextlib.suppress(OSError):  # graceful: the server stops its kernels
        req = urllib.request.Request(f"{base}/api/shutdown", method="POST",
                                     headers={"Authorization": f"token {token}"})
        urllib.request.urlopen(req, timeout=5).close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
    for pid in _kernel_pids(runtime):  # a kernel left behind by a server that had to be killed
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@contextlib.contextmanager
def _lab(tmp_path: Path, watched: list[Path]):
    """A private JupyterLab server and a headless Chromium: yields ``(browser, base_url, token, log)``.

    The server (and its kernels) is shut down whatever happens, and the ``watched`` files must come out
    unchanged (no autosave of a notebook with outputs)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    pytest.importorskip("jupyterlab")
    pytest.importorskip("ipywidgets")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install it: make system-deps, or apt-get install chromium)")

    port, token = _free_port(), secrets.token_hex(16)
    base = f"http://127.0.0.1:{port}"
    runtime, settings = tmp_path / "runtime", tmp_path / "settings"
    runtime.mkdir()
    _write_settings(settings)
    # Open the .ipynb as a plain notebook: no jupytext pairing (which would refuse to open a notebook newer
    # than its differing .py, or write the .py), no language-server scanning.
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_server_config.json").write_text(json.dumps(
        {"ServerApp": {"jpserver_extensions": {"jupyterlab_jupytext": False, "jupyter_lsp": False}}}))
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        MELRECON_FAST="1", MELRECON_RESULTS=str(tmp_path / "results"), MPLBACKEND="Agg",
        JUPYTER_RUNTIME_DIR=str(runtime), JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={REPO}", "--LabApp.news_url=", "--LabApp.extension_manager=readonly",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.expose_app_in_browser=True"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # CI containers run as root
    before = {p: _digest(p) for p in watched}
    log = tmp_path / "jupyter.log"
    with open(log, "w") as log_fh:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log_fh, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        _wait_for_server(proc, f"{base}/api/status?token={token}", log)
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                yield browser, base, token, log
            finally:
                browser.close()
    finally:
        _shutdown(proc, base, token, runtime)
        changed = [p.name for p in watched if _digest(p) != before[p]]
        assert not changed, f"the browser session rewrote {changed}; restore them with git checkout"


def test_workbench_in_jupyterlab(tmp_path):
    watched = [REPO / NOTEBOOK, REPO / NOTEBOOK.replace(".ipynb", ".py")]
    with _lab(tmp_path, watched) as (browser, base, token, log):
        page = browser.new_page(viewport={"width": 1280, "height": 1500})
        page.set_default_timeout(60_000)
        _drive(page, f"{base}/lab/tree/{NOTEBOOK}?token={token}", log)


#: Narrower than this, Chromium drops the play button from an <audio controls> element.
MIN_PLAYER_WIDTH = 250
#: Narrowest track of a horizontal slider in a notebook (ipywidgets' default layout left notebook 06's at 124 px).
MIN_SLIDER_WIDTH = 250
ALL_NOTEBOOKS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_every_notebook_players_are_wide_enough_to_play(tmp_path):
    """Open every notebook, run all its cells (fast mode), check what it shows (``check_executed``: no error, its
    figures, players and files), and measure every rendered <audio>: controls shown, at least MIN_PLAYER_WIDTH
    px wide, a wav source that loads; and every horizontal slider's track, at least MIN_SLIDER_WIDTH px wide."""
    from tests.test_notebooks import check_executed

    watched = [REPO / nb for nb in ALL_NOTEBOOKS] + [REPO / nb.replace(".ipynb", ".py") for nb in ALL_NOTEBOOKS]
    problems, counts = [], {}
    with _lab(tmp_path, watched) as (browser, base, token, log):
        for nb in ALL_NOTEBOOKS:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(60_000)
            workspace = Path(nb).stem  # a workspace per notebook: no other notebook is restored beside it
            players = _run_notebook(page, f"{base}/lab/workspaces/{workspace}/tree/{nb}?token={token}", log)
            counts[nb] = len(players)
            model = page.evaluate("() => jupyterapp.shell.currentWidget.content.model.toJSON()")
            try:  # what nbclient's headless run checked, on the notebook as run here (fast mode, as there)
                check_executed(Path(nb).stem, model, tmp_path / "results")
            except AssertionError as exc:
                problems.append(f"{nb}: {exc}")
            for i, width in enumerate(_slider_tracks(page)):
                if width < MIN_SLIDER_WIDTH:
                    problems.append(f"{nb} slider {i}'s track is {width:.0f} px wide (< {MIN_SLIDER_WIDTH})")
            for i, p in enumerate(players):
                where = f"{nb} player {i} ({p['label']!r})"
                if not p["controls"]:
                    problems.append(f"{where} has no controls")
                if p["width"] < MIN_PLAYER_WIDTH:
                    problems.append(f"{where} is {p['width']:.0f} px wide (< {MIN_PLAYER_WIDTH}: no play button)")
                if not (p["src"].startswith("data:audio/wav") and p["ready"] >= 1 and p["duration"] > 0.2):
                    problems.append(f"{where} did not load its wav: {p}")
            page.evaluate("() => jupyterapp.shell.currentWidget.sessionContext.shutdown()")
            page.close()
    assert all(counts.values()), f"a notebook showed no player: {counts}"
    assert not problems, "\n".join(problems)


def _run_notebook(page, url: str, log: Path) -> list[dict]:
    """Open ``url``, run all cells, wait until every code cell has run; return every <audio>'s measures."""
    def fail(msg: str):
        with contextlib.suppress(Exception):
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
        pytest.fail(f"{msg} (screenshot: results/browser/failure.png; server log tail:\n{log.read_text()[-2000:]})")

    def wait(what: str, js: str, timeout: float):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if page.evaluate(js):
                return
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                                  ":has(.ansi-red-fg)")
            if errors.count():
                fail(f"a cell raised an error while waiting for {what}:\n{errors.first.inner_text()[-1500:]}")
            page.wait_for_timeout(500)
        fail(f"timed out after {timeout:.0f} s waiting for {what}")

    page.goto(url, wait_until="domcontentloaded")
    wait("JupyterLab to open the notebook", "() => !!(window.jupyterapp && jupyterapp.shell.currentWidget && "
         "jupyterapp.shell.currentWidget.sessionContext)", 90)
    idle = ("() => { const k = jupyterapp.shell.currentWidget.sessionContext.session && "
            "jupyterapp.shell.currentWidget.sessionContext.session.kernel; return !!k && k.status === 'idle'; }")
    wait("the kernel to start", idle, 90)
    page.evaluate("() => jupyterapp.shell.collapseLeft()")
    page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")
    all_ran = ("() => { const w = jupyterapp.shell.currentWidget; const k = w.sessionContext.session.kernel;"
               " return k.status === 'idle' && w.content.widgets.filter(c => c.model.type === 'code')"
               ".every(c => c.model.executionCount !== null && c.promptNode.textContent.indexOf('*') < 0); }")
    wait("every cell to run", all_ran, 420)
    page.wait_for_timeout(500)
    return _measure_players(page, ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea audio")


def _slider_tracks(page) -> list[float]:
    """The rendered width of every horizontal ipywidgets slider's track in the open notebook's outputs."""
    return page.evaluate("""() => [...document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea .widget-hslider .slider-container')]
        .map(t => { t.scrollIntoView(); return t.getBoundingClientRect().width; })""")


def _measure_players(page, selector: str) -> list[dict]:
    """Every <audio> matching ``selector``, once its metadata loaded (or failed): width, controls, source."""
    return page.evaluate("""selector => Promise.all([...document.querySelectorAll(selector)].map(a =>
        new Promise(resolve => {
            a.scrollIntoView();
            const cell = a.closest('div[style]');
            const label = cell && cell.querySelector('b') ? cell.querySelector('b').textContent : '';
            const report = () => resolve({width: a.getBoundingClientRect().width, controls: a.controls,
                ready: a.readyState, duration: a.duration, error: !!a.error, label: label,
                src: (a.currentSrc || (a.querySelector('source') || {}).src || '').slice(0, 22),
                canPlay: a.canPlayType('audio/wav')});
            if (a.readyState >= 1) return report();
            a.addEventListener('loadedmetadata', report, {once: true});
            a.addEventListener('error', report, {once: true});
            setTimeout(report, 20000);
            a.load();
        })))""", selector)


def _drive(page, url: str, log: Path) -> None:
    def fail(msg: str):
        with contextlib.suppress(Exception):
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
        pytest.fail(f"{msg} (screenshot: results/browser/failure.png; server log tail:\n{log.read_text()[-2000:]})")

    def cell_error() -> str:
        """The text of a traceback shown in the notebook (error outputs carry ANSI-coloured spans)."""
        errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
                              ":has(.ansi-red-fg)")
        return errors.first.inner_text()[-1500:] if errors.count() else ""

    def wait(what: str, fn, timeout: float, poll: float = 0.25):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = fn()
            if value:
                return value
            error = cell_error()
            if error:
                fail(f"a cell raised an error while waiting for {what}:\n{error}")
            page.wait_for_timeout(poll * 1000)
        fail(f"timed out after {timeout:.0f} s waiting for {what}")

    page.goto(url, wait_until="domcontentloaded")
    opened = ("() => !!(window.jupyterapp && jupyterapp.shell.currentWidget && "
              "jupyterapp.shell.currentWidget.sessionContext)")
    wait("JupyterLab to open the notebook", lambda: page.evaluate(opened), 90)
    kernel_idle = ("() => { const w = jupyterapp.shell.currentWidget; const k = w.sessionContext.session && "
                   "w.sessionContext.session.kernel; return !!k && k.status === 'idle'; }")
    wait("the kernel to start", lambda: page.evaluate(kernel_idle), 90)
    page.evaluate("() => jupyterapp.shell.collapseLeft()")  # more room for the workbench
    page.evaluate("() => jupyterapp.commands.execute('notebook:run-all-cells')")

    # the workbench appears; the notebook's last cell runs it once from code ("done: #1 ...")
    wait("the workbench widgets", lambda: page.locator(".mr-workbench").count() > 0, 120)
    status = page.locator(".mr-status")
    wait("the scripted run of the last cell", lambda: "done: #1" in status.inner_text(), 150)
    wait("all cells to finish", lambda: page.evaluate(kernel_idle), 60)

    # drag the gd stage's iterations slider handle to about 5% of its track (0..3000: ~150 iterations)
    page.locator(".mr-workbench").scroll_into_view_if_needed()
    readout = page.locator(".mr-iters-gd .widget-readout")
    start_value = readout.inner_text().strip()
    track = page.locator(".mr-iters-gd .noUi-target").bounding_box()
    handle = page.locator(".mr-iters-gd .noUi-handle").bounding_box()
    if not track or not handle:
        fail("the GD-iterations slider is not visible")
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(track["x"] + 0.05 * track["width"], handle["y"] + handle["height"] / 2, steps=8)
    page.mouse.up()
    wait("the slider readout to change", lambda: readout.inner_text().strip() != start_value, 10)
    gd_iters = int(readout.inner_text().strip().replace(",", ""))
    assert 20 <= gd_iters <= 600, f"dragging to 5% of the track gave {gd_iters} GD iterations"

    # watch the loss plot's <img> while the run goes; count distinct pictures
    page.evaluate("""() => {
        const img = document.querySelector('.mr-loss-plot');
        window.__mrSrcs = new Set();
        new MutationObserver(() => window.__mrSrcs.add(img.src)).observe(img, {attributes: true,
                                                                              attributeFilter: ['src']});
    }""")
    page.locator(".mr-run").click()
    wait("the Stop button to become active", lambda: page.locator(".mr-stop").is_enabled()
         or "done: #2" in status.inner_text(), 30, poll=0.05)
    wait("the second run to finish", lambda: "done: #2" in status.inner_text(), 150)
    text = status.inner_text()
    assert f"gd {gd_iters}" in text, f"the run did not use the slider's {gd_iters} GD iterations: {text!r}"
    redraws = page.evaluate("() => window.__mrSrcs.size")
    assert redraws >= 2, f"the loss plot was redrawn {redraws} time(s) during the run; expected live updates"

    # the A/B board: the original and both results, each a playable <audio>
    audio = page.locator(".mr-players audio")
    wait("three players on the A/B board", lambda: audio.count() >= 3, 30)
    info = _measure_players(page, ".mr-players audio")
    for i, a in enumerate(info):
        assert a["src"].startswith("data:audio/wav"), f"player {i} has no wav source: {a}"
        assert a["canPlay"] and not a["error"], f"player {i} cannot play its source: {a}"
        assert a["ready"] >= 1 and a["duration"] > 0.5, f"player {i} did not load its audio: {a}"

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)
    page.locator(".mr-workbench").screenshot(path=str(SHOTS / "workbench.png"))
    page.screenshot(path=str(SHOTS / "lab.png"))

    # the file picker: upload a wav of one's own; it becomes the selected clip and the original's player
    import numpy as np
    import soundfile as sf

    wav = log.parent / "my_clip.wav"
    t = np.arange(16000) / 16000
    sf.write(wav, (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 16000)
    with page.expect_file_chooser(timeout=15_000) as chooser:
        page.locator(".mr-upload").click()
    chooser.value.set_files(str(wav))
    wait("the uploaded clip to be selected", lambda: "loaded my_clip.wav" in status.inner_text(), 30)
    assert "my_clip.wav" in page.locator(".mr-players").inner_text()
