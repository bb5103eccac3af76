"""The workbench's callbacks, driven from Python: settings from the sliders reach ``reconstruct``, the loss
plot is redrawn during a run, the A/B board gets players and metrics, Stop keeps the best result so far, and
the first Run with the method's own slider values is ``reconstruct`` with that method (the same audio)."""

from __future__ import annotations

import base64
import io
import time

import numpy as np
import pytest

pytest.importorskip("ipywidgets")

import melrecon  # noqa: E402
from melrecon.apps.workbench import Workbench  # noqa: E402
from melrecon.apps.workbench.session import read_upload  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


def _clip(sr=16000, seconds=0.6):
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def _audio_sources(box) -> list[bytes]:
    """The wav payloads of the <audio> players on the A/B board."""
    out = []
    for card in box.children:
        html = card.value
        if "<audio" in html:
            start = html.index("base64,") + len("base64,")
            out.append(base64.b64decode(html[start:html.index('"', start)]))
    return out


@pytest.fixture()
def bench():
    wb = Workbench((_clip(), 16000), preset="seed", method="gl+gd", n_iter=[10, 10], chunk_size=5)
    yield wb
    wb.stop()
    wb.wait(30)


def test_sliders_reach_reconstruct_and_board_updates(bench):
    import soundfile as sf

    before = bench.plot_updates
    first_png = bytes(bench.loss_image.value)
    assert first_png.startswith(PNG)
    assert len(_audio_sources(bench.players)) == 1  # the original only
    bench.set_iters(20, 30)
    bench.learning_rate.value = 0.02
    res = bench.run(blocking=True)
    assert bench.error is None
    assert isinstance(res, melrecon.Reconstruction) and res is bench.result
    assert [(name, stop - start) for name, start, stop in res.stage_spans] == [("fgla", 20), ("gd", 30)]
    assert res.settings["stages"][1]["learning_rate"] == pytest.approx(0.02)
    # redrawn live (50 iterations in chunks of 5) and at the end, with a different picture
    assert bench.plot_updates >= before + 2
    assert bytes(bench.loss_image.value).startswith(PNG) and bytes(bench.loss_image.value) != first_png
    assert bytes(bench.spec_image.value).startswith(PNG)
    wavs = _audio_sources(bench.players)
    assert len(wavs) == 2  # original and the result
    y, sr = sf.read(io.BytesIO(wavs[1]), dtype="float32")
    assert sr == 16000 and y.shape == res.audio.shape
    np.testing.assert_allclose(y, np.clip(res.audio, -1, 1), atol=2 / 32768)  # real level, not normalised
    label, kept, scores = bench.results[-1]
    assert kept is res and {"mel_sc", "pesq", "stoi", "lsd"} <= set(scores)
    from melrecon.apps import metrics

    assert scores["mel_sc"] == pytest.approx(metrics.evaluate(_clip(), res.audio, "seed")["mel_sc"])
    assert "Mel SC" in bench.players.children[1].value and "done" in bench.status.value
    assert bench.progress.value == bench.progress.max == 50


def test_method_choice_disables_unused_controls(bench):
    bench.method.value = "fgla"
    assert bench.learning_rate.disabled and [s.description for s in bench.stage_iters] == ["fgla iterations"]
    bench.set_iters(12)
    res = bench.run(blocking=True)
    assert [s[0] for s in res.stage_spans] == ["fgla"] and res.n_iterations == 12
    bench.method.value = "lbfgs"
    assert bench.learning_rate.disabled and [s.description for s in bench.stage_iters] == ["lbfgs iterations"]


def test_stop_button_returns_best_so_far(bench):
    bench.set_iters(10, 3000)
    bench.run()  # background thread: the caller (the kernel) stays free
    deadline = time.monotonic() + 120
    while bench.progress.value < 20 and bench.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert bench.running, bench.error
    assert bench.stop_button.disabled is False and bench.run_button.disabled is True
    bench.stop_button.click()
    res = bench.wait(60)
    assert not bench.running
    assert res is not None and res.stop_reason == "callback"
    assert 20 <= res.n_iterations < 3010 and np.isfinite(res.audio).all()
    assert res.best_iteration <= res.n_iterations
    assert "stopped" in bench.status.value
    assert len(_audio_sources(bench.players)) == 2
    assert "(stopped)" in bench.players.children[1].value and "callback" not in bench.players.children[1].value
    assert bench.run_button.disabled is False and bench.stop_button.disabled is True


def test_keyboard_interrupt_in_blocking_run_keeps_result(bench, monkeypatch):
    calls = {"n": 0}
    original = bench._on_progress

    def interrupting(job, p):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return original(job, p)

    monkeypatch.setattr(bench, "_on_progress", interrupting)
    res = bench.run(blocking=True)
    assert res is not None and res.interrupted and res.n_iterations == 10
    assert "interrupted" in bench.status.value


def test_bad_settings_are_reported_not_raised(bench):
    bench.method.value = "gd"
    bench.set_iters(0)
    assert bench.run(blocking=True) is None
    assert "0 iterations" in bench.error and "0 iterations" in bench.status.value
    bench.set_iters(10)
    bench.add_clip("wrong mel", mel=np.zeros((80, 20), np.float32))  # 80 bands, seed has 128
    assert bench.run(blocking=True) is None
    assert "n_mels=128" in bench.error
    assert bench.run_button.disabled is False


def test_upload_audio_and_mel(bench):
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.stack([_clip(22050), _clip(22050)], axis=1), 22050, format="WAV")
    bench._on_upload({"new": ({"name": "mine.wav", "content": memoryview(buf.getvalue())},)})
    assert bench.clip.value == "upload: mine.wav" and "loaded mine.wav" in bench.status.value
    res = bench.run(blocking=True)  # resampled to the seed preset's 16 kHz
    assert res.sample_rate == 16000 and bench.error is None

    cfg = melrecon.MelConfig.preset("seed")
    mel = np.asarray(melrecon.mel_spectrogram(_clip(), cfg))
    buf = io.BytesIO()
    np.save(buf, mel)
    bench._on_upload({"new": ({"name": "mel.npy", "content": memoryview(buf.getvalue())},)})
    assert bench.clips[bench.clip.value].mel.shape == mel.shape
    res = bench.run(blocking=True)
    assert res.n_iterations == 20 and set(bench.results[-1][2]) == {"mel_sc", "seconds"}
    assert bench.results[-1][2]["mel_sc"] == pytest.approx(float(res.mel_sc))
    with pytest.raises(melrecon.ParameterError, match="could not be read as audio"):
        read_upload("notes.wav", b"not audio at all")


def test_first_run_is_reconstruct_with_the_methods_own_counts():
    """The sliders start at the level's counts of the method the resolver chooses for the clip (auto: an audio
    clip is analysed): the first Run gives reconstruct's audio, sample for sample."""
    from melrecon.methods.resolve import resolve

    clip = _clip(seconds=0.3)
    wb = Workbench((clip, 16000), preset="seed")
    assert wb.method.value == "auto"
    assert [s.value for s in wb.stage_iters] == list(resolve(source="analysis").counts)
    res = wb.run(blocking=True)
    ref = melrecon.reconstruct(melrecon.mel_spectrogram(clip, "seed"), "seed", source="analysis", progress=False)
    assert res.stage_spans == ref.stage_spans
    np.testing.assert_array_equal(res.audio, ref.audio)
