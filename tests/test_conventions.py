"""Mels as toolkits store them: layouts, mean/variance statistics, .pt/.h5 files, the wrong-convention warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soxr

import melrecon
from melrecon import PRESETS, ParameterError, io
from melrecon.io.conventions import Stats, check_convention, load_stats, prepare, to_mels_first, toolkit_mel

VALUE_FIELDS = ("compression", "floor", "db_ref", "signal_norm", "min_level_db", "max_norm", "clip_norm", "power")
COMPRESSED = [n for n, c in PRESETS.items() if c.compression != "none"]


def _family(cfg):
    return tuple(getattr(cfg, f) for f in VALUE_FIELDS)


@pytest.fixture(scope="module")
def arctic(seed_audio):
    """3 s of the CMU ARCTIC recording in ../shared (not in the repo)."""
    x, sr = seed_audio
    return x[: 3 * sr], sr


@pytest.fixture(scope="module")
def stored(arctic):
    """Each compressed preset's stored mel of the recording (its toolkit's formula, at its sample rate)."""
    x, sr = arctic
    return {n: toolkit_mel(soxr.resample(x, sr, PRESETS[n].sample_rate).astype(np.float32), PRESETS[n])
            for n in COMPRESSED}


# ------------------------------------------------------------------------------------------ layouts
def test_layouts_and_a_batch_axis_of_one():
    cfg = PRESETS["hifigan"]
    mel = np.random.default_rng(0).uniform(-8, 0, (80, 37)).astype(np.float32)
    np.testing.assert_array_equal(to_mels_first(mel, cfg), mel)
    np.testing.assert_array_equal(to_mels_first(mel[None], cfg), mel)
    np.testing.assert_array_equal(to_mels_first(mel.T, cfg, layout="frames-first"), mel)
    np.testing.assert_array_equal(to_mels_first(mel.T[None], cfg, layout="(T, n_mels)"), mel)
    # The ESPnet preset stores (T, 80): its own layout is the default.
    np.testing.assert_array_equal(to_mels_first(mel.T, PRESETS["espnet"]), mel)


def test_a_shape_that_fits_neither_layout_names_both():
    with pytest.raises(ParameterError) as err:
        to_mels_first(np.zeros((64, 30)), PRESETS["hifigan"])
    msg = str(err.value)
    assert "n_mels=80" in msg and "(n_mels, T)" in msg and "(T, n_mels)" in msg and "(64, 30)" in msg
    with pytest.raises(ParameterError, match="fits frames-first"):
        to_mels_first(np.zeros((30, 80)), PRESETS["hifigan"])  # the other layout: say so
    with pytest.raises(ParameterError, match="'mels-first' for"):
        to_mels_first(np.zeros((80, 30)), PRESETS["hifigan"], layout="sideways")
    with pytest.raises(ParameterError, match=r"\(2, 64, 30\)"):
        to_mels_first(np.zeros((2, 64, 30)), PRESETS["hifigan"])
    # Leading axes other than a single 1 are a batch of mels, kept as such (the CLI writes one file per item).
    batch = np.arange(2 * 30 * 80, dtype=np.float32).reshape(2, 30, 80)
    np.testing.assert_array_equal(to_mels_first(batch, PRESETS["espnet"]), np.swapaxes(batch, -1, -2))


# ---------------------------------------------------------------------------------- statistics
def _espnet_stats(mels_tf: list[np.ndarray]) -> dict[str, np.ndarray]:
    """What ESPnet's collect_stats writes to feats_stats.npz: count, sum, sum_square over all frames."""
    feats = np.concatenate(mels_tf, axis=0).astype(np.float64)
    return {"count": np.array(feats.shape[0]), "sum": feats.sum(0), "sum_square": (feats ** 2).sum(0)}


def test_espnet_stats_round_trip(tmp_path, arctic):
    x, sr = arctic
    cfg = PRESETS["espnet"]
    y = soxr.resample(x, sr, cfg.sample_rate).astype(np.float32)
    mel_tf = toolkit_mel(y, cfg)  # (T, 80)
    np.savez(tmp_path / "feats_stats.npz", **_espnet_stats([mel_tf, toolkit_mel(y[::-1].copy(), cfg)]))
    stats = load_stats(tmp_path / "feats_stats.npz")
    feats = np.concatenate([mel_tf, toolkit_mel(y[::-1].copy(), cfg)])
    np.testing.assert_allclose(stats.mean, feats.mean(0), rtol=1e-6)
    np.testing.assert_allclose(stats.std, feats.std(0), rtol=1e-4)
    normalised = (mel_tf - stats.mean) / stats.std  # ESPnet GlobalMVN
    np.testing.assert_allclose(toolkit_mel(y, cfg, stats=stats), normalised, atol=1e-5)
    back = prepare(normalised, cfg, stats=tmp_path / "feats_stats.npz")
    np.testing.assert_allclose(back, mel_tf.T, atol=1e-4)
    # Without the statistics, the normalised mel is recognised as such.
    with pytest.warns(UserWarning, match="mean/variance-normalised"):
        prepare(normalised, cfg)


@pytest.mark.parametrize("kind", ["npz-mean-std", "npz-mel-mean", "npy", "h5"])
def test_mean_std_stats_files(tmp_path, kind):
    rng = np.random.default_rng(1)
    mean, std = rng.uniform(-6, -2, 80), rng.uniform(0.5, 2, 80)
    path = tmp_path / ("stats.h5" if kind == "h5" else "stats.npy" if kind == "npy" else "stats.npz")
    if kind == "npz-mean-std":
        np.savez(path, mean=mean, std=std)
    elif kind == "npz-mel-mean":
        np.savez(path, mel_mean=mean, mel_std=std)
    elif kind == "npy":
        np.save(path, np.stack([mean, std]))
    else:
        h5py = pytest.importorskip("h5py")
        with h5py.File(path, "w") as fh:  # ParallelWaveGAN's stats.h5 (StandardScaler mean / scale)
            fh["mean"], fh["scale"] = mean, std
    st = load_stats(path)
    np.testing.assert_allclose(st.mean, mean)
    np.testing.assert_allclose(st.std, std)
    mel = rng.uniform(-9, 0, (80, 60)).astype(np.float32)
    stored = (mel - mean[:, None]) / std[:, None]
    np.testing.assert_allclose(prepare(stored, PRESETS["hifigan"], stats=st), mel, atol=1e-4)


def test_bad_stats_are_refused(tmp_path):
    np.savez(tmp_path / "s.npz", mean=np.zeros(64), std=np.ones(64))
    with pytest.raises(ParameterError, match="n_mels=80"):
        prepare(np.zeros((80, 10), np.float32) - 5, PRESETS["hifigan"], stats=tmp_path / "s.npz")
    np.savez(tmp_path / "t.npz", average=np.zeros(80))
    with pytest.raises(ParameterError, match="count/sum/sum_square"):
        load_stats(tmp_path / "t.npz")
    np.save(tmp_path / "coqui.npy", {"mel_mean": np.zeros(80)}, allow_pickle=True)
    with pytest.raises(ParameterError, match="pickled"):
        load_stats(tmp_path / "coqui.npy")
    with pytest.raises(ParameterError, match="std > 0"):
        Stats(np.zeros(80), np.zeros(80)).check(80)


# ------------------------------------------------------------------------------- .pt / .h5 files
def test_torch_files(tmp_path):
    torch = pytest.importorskip("torch")
    mel = np.random.default_rng(2).uniform(-9, 0, (80, 40)).astype(np.float32)
    torch.save(torch.from_numpy(mel)[None], tmp_path / "m.pt")
    torch.save({"mel": torch.from_numpy(mel), "lengths": torch.tensor([40])}, tmp_path / "d.pth")
    np.testing.assert_array_equal(io.load_mel(tmp_path / "m.pt"), mel[None])
    np.testing.assert_array_equal(io.load_mel(tmp_path / "d.pth"), mel)
    np.testing.assert_array_equal(prepare(io.load_mel(tmp_path / "m.pt"), PRESETS["hifigan"]), mel)
    torch.save({"a": torch.zeros(2), "b": torch.zeros(2)}, tmp_path / "x.pt")
    with pytest.raises(ParameterError, match="--mel-key"):
        io.load_mel(tmp_path / "x.pt")


def test_h5_feature_dumps(tmp_path):
    h5py = pytest.importorskip("h5py")
    mel_tf = np.random.default_rng(3).uniform(-9, 0, (40, 80)).astype(np.float32)
    with h5py.File(tmp_path / "utt.h5", "w") as fh:  # ParallelWaveGAN's dump: (T, n_mels) "feats" + "wave"
        fh["feats"] = mel_tf
        fh["wave"] = np.zeros(40 * 256, np.float32)
    np.testing.assert_array_equal(io.load_mel(tmp_path / "utt.h5"), mel_tf)
    np.testing.assert_array_equal(prepare(io.load_mel(tmp_path / "utt.h5"), PRESETS["hifigan"],
                                          layout="frames-first"), mel_tf.T)
    (tmp_path / "bad.h5").write_text("not hdf5")
    with pytest.raises(ParameterError, match="HDF5"):
        io.load_mel(tmp_path / "bad.h5")


def test_missing_optional_package_message():
    with pytest.raises(ParameterError, match=r"not installed.*pip install"):
        io.require_extra("melrecon_no_such_package", "read .pt tensors")


# ------------------------------------------------------------------------- wrong-convention warning
WRONG = [(made, declared) for made in COMPRESSED for declared in COMPRESSED
         if _family(PRESETS[made]) != _family(PRESETS[declared])]


@pytest.mark.parametrize("made, declared", WRONG)
def test_a_mel_declared_under_another_convention_warns(made, declared, stored):
    """The mel made with ``made``, read with ``declared``'s values convention (same analysis otherwise)."""
    cfg = PRESETS[made].replace(**{f: getattr(PRESETS[declared], f) for f in VALUE_FIELDS}, name=declared)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            prepare(stored[made], cfg)
        except ParameterError as exc:  # values impossible under the declaration: refused, naming the preset
            assert made in str(exc)
            return
    messages = " ".join(str(w.message) for w in caught)
    assert made in messages, messages


@pytest.mark.parametrize("name", COMPRESSED)
def test_the_right_convention_does_not_warn(name, stored):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prepare(stored[name], PRESETS[name])
        assert check_convention(np.swapaxes(stored[name], 0, 1) if PRESETS[name].layout == "frames-first"
                                else stored[name], PRESETS[name]) is None


def test_warning_examples_from_the_issue(stored):
    # a Coqui mel in [-4, 4] declared as natural log; a log10 mel declared as ln
    coqui_as_ln = PRESETS["coqui"].replace(compression="log", name="as-ln")
    with pytest.warns(UserWarning, match="coqui"):
        melrecon.reconstruct(stored["coqui"][:, :60], coqui_as_ln, method="gla", n_iter=1, progress=False)
    espnet_as_ln = PRESETS["espnet"].replace(compression="log", name="as-ln")
    with pytest.warns(UserWarning, match="espnet"):
        prepare(stored["espnet"], espnet_as_ln)
