"""Toolkit presets: each preset's mel (melrecon.mel_spectrogram, stored form of melrecon.io.conventions.toolkit_mel)
equals that toolkit's documented feature formula, re-derived here independently with librosa/NumPy and, where
the toolkit's feature code is torch, with torch.stft the way that code calls it."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

import melrecon
from melrecon import PRESETS, MelConfig
from melrecon.io.conventions import toolkit_mel

librosa = pytest.importorskip("librosa")


@pytest.fixture(scope="module")
def speech(speech_sample):
    x, sr = speech_sample
    return x[: sr * 2], sr  # 2 s is plenty for a formula check


def _at(speech, sr_out: int) -> np.ndarray:
    x, sr = speech
    y = soxr.resample(x, sr, sr_out).astype(np.float32)
    noise = 1e-3 * np.random.default_rng(0).standard_normal(y.shape).astype(np.float32)
    return y + noise  # no bin near the floor, where float32 rounding is amplified by the log


def _fb(cfg: MelConfig, htk: bool = False, norm="slaney") -> np.ndarray:
    return librosa.filters.mel(sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin,
                               fmax=cfg.fmax, htk=htk, norm=norm)


# ------------------------------------------------------------------ the toolkits' formulas, re-derived
def _torch():
    return pytest.importorskip("torch")


def ref_hifigan(y, cfg):
    """hifi-gan / BigVGAN meldataset.mel_spectrogram (torch)."""
    torch = _torch()
    x = torch.from_numpy(y)[None, None]
    pad = (cfg.n_fft - cfg.hop_length) // 2
    x = torch.nn.functional.pad(x, (pad, pad), mode="reflect").squeeze(1)
    spec = torch.stft(x, cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
                      window=torch.hann_window(cfg.win_length), center=False, pad_mode="reflect",
                      normalized=False, onesided=True, return_complex=True)
    spec = torch.sqrt(spec.real ** 2 + spec.imag ** 2 + 1e-9)
    mel = torch.matmul(torch.from_numpy(_fb(cfg)), spec)
    return torch.log(torch.clamp(mel, min=1e-5) * 1)[0].numpy()


def ref_tacotron2(y, cfg):
    """NVIDIA/tacotron2 stft.STFT: conv1d with a windowed Fourier basis after reflect padding n_fft/2."""
    torch = _torch()
    n_fft, hop = cfg.n_fft, cfg.hop_length
    fourier = np.fft.fft(np.eye(n_fft))
    cutoff = n_fft // 2 + 1
    basis = np.vstack([np.real(fourier[:cutoff]), np.imag(fourier[:cutoff])])
    win = librosa.util.pad_center(librosa.filters.get_window("hann", cfg.win_length, fftbins=True), size=n_fft)
    basis = torch.tensor((basis * win)[:, None, :], dtype=torch.float32)
    x = torch.nn.functional.pad(torch.from_numpy(y)[None, None, None], (n_fft // 2, n_fft // 2, 0, 0),
                                mode="reflect").squeeze(1)
    out = torch.nn.functional.conv1d(x, basis, stride=hop, padding=0)
    mag = torch.sqrt(out[:, :cutoff] ** 2 + out[:, cutoff:] ** 2)
    mel = torch.matmul(torch.from_numpy(_fb(cfg)), mag)
    return torch.log(torch.clamp(mel, min=1e-5))[0].numpy()


def _torch_center_stft_mag(y, cfg):
    """torchaudio.transforms.Spectrogram(power=1) / ESPnet Stft: torch.stft centred, reflect-padded."""
    torch = _torch()
    spec = torch.stft(torch.from_numpy(y), cfg.n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length,
                      window=torch.hann_window(cfg.win_length), center=True, pad_mode="reflect",
                      normalized=False, onesided=True, return_complex=True)
    return torch, spec


def ref_vocos(y, cfg):
    """Vocos MelSpectrogramFeatures: torchaudio MelSpectrogram(power=1; HTK, no norm) then log(clip(x, 1e-7))."""
    torch, spec = _torch_center_stft_mag(y, cfg)
    mel = torch.matmul(torch.from_numpy(_fb(cfg, htk=True, norm=None)), spec.abs())
    return torch.log(torch.clip(mel, min=1e-7)).numpy()


def ref_speechbrain(y, cfg):
    """SpeechBrain HifiGAN.mel_spectogram: torchaudio MelSpectrogram(power=1, slaney) then ln(clamp 1e-5)."""
    torch, spec = _torch_center_stft_mag(y, cfg)
    mel = torch.matmul(torch.from_numpy(_fb(cfg)), spec.abs())
    return torch.log(torch.clamp(mel, min=1e-5)).numpy()


def ref_espnet(y, cfg):
    """ESPnet2 LogMelFbank: power = re² + im², amp = sqrt(clamp(power, 1e-10)), log10(clamp(fb amp, 1e-10)), (T, 80)."""
    torch, spec = _torch_center_stft_mag(y, cfg)
    power = spec.real ** 2 + spec.imag ** 2
    amp = torch.sqrt(torch.clamp(power, min=1e-10)).T  # (T, F)
    mel = torch.matmul(amp, torch.from_numpy(_fb(cfg)).T)
    return torch.clamp(mel, min=1e-10).log10().numpy()


def ref_coqui(y, cfg):
    """Coqui AudioProcessor.melspectrogram with its defaults (NumPy/librosa, as Coqui computes it)."""
    d = librosa.stft(y=y, n_fft=1024, hop_length=256, win_length=1024, pad_mode="reflect", window="hann",
                     center=True)
    s = _fb(cfg) @ np.abs(d)
    s = 20 * np.log10(np.maximum(1e-5, s))  # amp_to_db, spec_gain 20, base 10
    s = s - 20  # ref_level_db
    s = (s - -100) / 100  # min_level_db
    return np.clip(2 * 4 * s - 4, -4, 4)  # symmetric_norm, max_norm 4, clip_norm


def ref_librosa(y, cfg):
    return librosa.feature.melspectrogram(y=y, sr=cfg.sample_rate)


def ref_seed(y, cfg):
    s = np.abs(librosa.stft(y, n_fft=512, hop_length=128, center=True, pad_mode="constant"))
    return _fb(cfg, htk=True, norm=None) @ s


REFERENCES = {
    "hifigan": ref_hifigan, "bigvgan-24k": ref_hifigan, "bigvgan-44k": ref_hifigan, "bigvgan-22k": ref_hifigan,
    "tacotron2": ref_tacotron2, "vocos": ref_vocos, "speechbrain": ref_speechbrain, "espnet": ref_espnet,
    "coqui": ref_coqui, "librosa": ref_librosa, "seed": ref_seed,
}
# Largest allowed difference, in the stored unit (ln / log10 / normalised dB, relative for linear).
ATOL = {"espnet": 2e-3, "coqui": 1e-2}


def test_every_preset_has_a_reference_and_a_source():
    assert set(REFERENCES) == set(PRESETS)
    for name, cfg in PRESETS.items():
        assert cfg.citation and cfg.name == name
        assert cfg.layout == ("frames-first" if name == "espnet" else "mels-first")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_matches_the_toolkit_formula(name, speech):
    cfg = PRESETS[name]
    y = _at(speech, cfg.sample_rate)
    ours = toolkit_mel(y, cfg)
    ref = np.asarray(REFERENCES[name](y, cfg), np.float64)
    assert ours.shape == ref.shape, (ours.shape, ref.shape)
    if cfg.compression == "none":
        np.testing.assert_allclose(ours, ref, rtol=2e-3, atol=2e-4 * ref.max())
    else:
        np.testing.assert_allclose(ours, ref, atol=ATOL.get(name, 3e-3))


@pytest.mark.parametrize("name, facts", [
    ("vocos", dict(sample_rate=24000, n_mels=100, mel_scale="htk", norm=None, power=1.0, floor=1e-7, fmax=12000)),
    ("bigvgan-24k", dict(sample_rate=24000, n_mels=100, fmax=12000, n_fft=1024, hop_length=256, center=False)),
    ("bigvgan-44k", dict(sample_rate=44100, n_mels=128, fmax=22050, n_fft=2048, hop_length=512, pad=768)),
    ("bigvgan-22k", dict(sample_rate=22050, n_mels=80, fmax=8000)),
    ("espnet", dict(fmin=80, fmax=7600, compression="log10", floor=1e-10, layout="frames-first")),
    ("coqui", dict(compression="db", db_ref=20, signal_norm="symmetric", min_level_db=-100, max_norm=4,
                   fmax=11025, pad_mode="reflect", center=True)),
    ("tacotron2", dict(center=True, pad_mode="reflect", fmax=8000, compression="log")),
    ("speechbrain", dict(center=True, pad_mode="reflect", fmax=8000, compression="log", norm="slaney")),
])
def test_preset_fields_are_the_documented_facts(name, facts):
    cfg = PRESETS[name]
    for field, value in facts.items():
        assert getattr(cfg, field) == value, (name, field)


def test_against_torchaudio_where_installed():
    """The toolkits' own packages (vocos, TTS, espnet, speechbrain, torchaudio) would pull models or
    torchaudio builds; the tests re-derive their formulas instead. Where one is installed, compare with it."""
    try:
        import torchaudio  # noqa: F401
    except ImportError:
        pytest.skip("torchaudio is not installed (the toolkits' feature code needs it)")
    import torch
    import torchaudio

    cfg = PRESETS["vocos"]
    y = np.random.default_rng(1).standard_normal(24000).astype(np.float32) * 0.1
    mel = torchaudio.transforms.MelSpectrogram(sample_rate=24000, n_fft=1024, hop_length=256, n_mels=100,
                                               center=True, power=1)(torch.from_numpy(y))
    np.testing.assert_allclose(toolkit_mel(y, cfg), torch.log(torch.clip(mel, min=1e-7)).numpy(), atol=3e-3)


# ------------------------------------------------------------------ Coqui normalisation and dB fields
@pytest.mark.parametrize("mode, lo", [("symmetric", -4.0), ("asymmetric", 0.0)])
def test_coqui_normalisation_round_trips(mode, lo):
    cfg = PRESETS["coqui"].replace(signal_norm=mode, db_ref=20.0)
    lin = np.geomspace(1e-3, 9.0, 50).astype(np.float32)[None, :].repeat(80, 0)  # -60 .. +19 dB: inside the range
    stored = np.asarray(melrecon.compress(lin, cfg))
    assert stored.min() >= lo and stored.max() <= 4.0
    np.testing.assert_allclose(np.asarray(melrecon.decompress(stored, cfg)), lin, rtol=1e-4)
    # Values below min_level_db (+ db_ref) clip to the bottom of the range and come back at that level.
    quiet = np.asarray(melrecon.compress(np.full((80, 3), 1e-6, np.float32), cfg))
    np.testing.assert_allclose(quiet, lo)
    np.testing.assert_allclose(np.asarray(melrecon.decompress(quiet, cfg)), 10 ** ((-100 + 20) / 20), rtol=1e-4)


def test_normalisation_fields_need_decibels():
    with pytest.raises(melrecon.ParameterError, match="compression='db'"):
        MelConfig(compression="log", signal_norm="symmetric")
    with pytest.raises(melrecon.ParameterError, match="min_level_db"):
        MelConfig(compression="db", min_level_db=10)
    with pytest.raises(melrecon.ParameterError, match="signal_norm"):
        MelConfig(compression="db", signal_norm="maxabs")
    # Switching a Coqui config to another compression drops the dB-only fields.
    assert PRESETS["coqui"].replace(compression="log").signal_norm is None
