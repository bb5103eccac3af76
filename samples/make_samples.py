#!/usr/bin/env python3
"""Render the melrecon audio clips: the bundled sample and the development set.

Every clip is mono, 22050 Hz, peak-normalised to 0.89 (about -1 dBFS), with
leading/trailing silence trimmed to about 0.1 s, and written as 16-bit PCM WAV.

Sources:
  * speech -- flite and espeak-ng text-to-speech (sentences written for this project)
  * varied -- speech less like one clean synthesiser: espeak-ng voices with pitch and rate
              variants, and speech in a synthetic room (reverberation), band-limited to a
              16 kHz source, or breathy with background noise
  * music  -- MIDI files written by this script, rendered with fluidsynth and the
              FluidR3_GM General MIDI soundfont
  * noise  -- synthesised with numpy from a fixed seed (wind, rain, a tone sweep)

Usage:
  python samples/make_samples.py                  # full dev set -> samples/devset/
  python samples/make_samples.py --only bundled   # melrecon/data/speech.wav
  python samples/make_samples.py --only bundled --only speech --out /tmp/check
  python samples/make_samples.py --only speech --only noise --out /tmp/clips

Needs numpy, soundfile and soxr, plus the command-line tools
flite, espeak-ng and fluidsynth (Debian/Ubuntu packages: flite, espeak-ng,
fluidsynth, fluid-soundfont-gm). Only the tools for the selected groups are
required; the noise group needs none.
"""

from __future__ import annotations

import argparse
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
import soxr

SR = 22050
PEAK = 0.89  # about -1 dBFS
EDGE_SILENCE_S = 0.1
TRIM_THRESHOLD_DB = -45.0  # frame RMS relative to the loudest frame
DEFAULT_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")

HERE = Path(__file__).resolve().parent
DEFAULT_DEVSET_DIR = HERE / "devset"
DEFAULT_STARTER_DIR = HERE / "starter"  # committed (the others are rendered on demand)
BUNDLED_PATH = HERE.parent / "melrecon" / "data" / "speech.wav"  # shipped as package data

# tool -> Debian package that provides it
TOOL_PACKAGES = {
    "flite": "flite",
    "espeak-ng": "espeak-ng",
    "fluidsynth": "fluidsynth",
}


class ToolMissing(RuntimeError):
    pass


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pkg = TOOL_PACKAGES[name]
        raise ToolMissing(
            f"'{name}' was not found on PATH. Install it with: sudo apt-get install {pkg}"
        )
    return path


def run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}"
        )


# --------------------------------------------------------------------------
# Post-processing shared by every clip
# --------------------------------------------------------------------------


def load_mono(path: Path) -> tuple[np.ndarray, int]:
    x, sr = sf.read(str(path), dtype="float64", always_2d=True)
    return x.mean(axis=1), sr


def to_sr(x: np.ndarray, sr: int) -> np.ndarray:
    if sr == SR:
        return x
    return soxr.resample(x, sr, SR, quality="VHQ")


def trim_silence(x: np.ndarray, sr: int = SR) -> np.ndarray:
    """Cut leading/trailing silence, keeping (or padding to) EDGE_SILENCE_S each side."""
    frame = int(0.010 * sr)
    n_frames = len(x) // frame
    if n_frames == 0:
        raise ValueError("clip is too short")
    rms = np.sqrt(np.mean(x[: n_frames * frame].reshape(n_frames, frame) ** 2, axis=1))
    ref = rms.max()
    if ref <= 0:
        raise ValueError("clip is silent")
    active = np.flatnonzero(rms > ref * 10 ** (TRIM_THRESHOLD_DB / 20))
    start = active[0] * frame
    stop = min(len(x), (active[-1] + 1) * frame)
    pad = int(round(EDGE_SILENCE_S * sr))
    lo = max(0, start - pad)
    hi = min(len(x), stop + pad)
    y = x[lo:hi].copy()
    # short fades so the cut points never click
    fade = int(0.005 * sr)
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))
    y[:fade] *= ramp
    y[-fade:] *= ramp[::-1]
    # pad with digital silence where the source had less than EDGE_SILENCE_S
    return np.concatenate([np.zeros(pad - (start - lo)), y, np.zeros(pad - (hi - stop))])


def finish(x: np.ndarray, sr: int) -> np.ndarray:
    x = to_sr(np.asarray(x, dtype=np.float64), sr)
    x = trim_silence(x)
    return x * (PEAK / np.max(np.abs(x)))


def write_clip(path: Path, x: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # explicit rounding, so the 16-bit file does not depend on libsndfile's conversion
    pcm = np.clip(np.round(x * 32767.0), -32768, 32767).astype(np.int16)
    sf.write(str(path), pcm, SR, subtype="PCM_16", format="WAV")


# --------------------------------------------------------------------------
# Speech
# --------------------------------------------------------------------------


def tts_flite(voice: str, text: str, tmp: Path) -> tuple[np.ndarray, int]:
    exe = require_tool("flite")
    out = tmp / f"flite_{voice}.wav"
    run([exe, "-voice", voice, "-t", text, "-o", str(out)])
    return load_mono(out)


def tts_espeak(voice: str, text: str, tmp: Path, speed: int = 150, pitch: int = 50) -> tuple[np.ndarray, int]:
    exe = require_tool("espeak-ng")
    out = tmp / "espeak.wav"
    run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", str(out), text])
    return load_mono(out)


# --------------------------------------------------------------------------
# Speech made less synthetic: room reverberation, a 16 kHz source, breath and noise
# --------------------------------------------------------------------------

def reverberate(x: np.ndarray, sr: int, rt60: float, wet: float, seed: int) -> np.ndarray:
    """Convolve with a synthetic room impulse response: a direct path, then exponentially decaying
    Gaussian noise (-60 dB after ``rt60`` seconds) low-passed a little, mixed ``wet`` : 1."""
    rng = np.random.default_rng(seed)
    n = int(rt60 * sr)
    t = np.arange(n) / sr
    tail = rng.standard_normal(n) * np.exp(-6.9078 * t / rt60)
    tail = np.convolve(tail, np.ones(4) / 4, mode="same")  # walls absorb the highest frequencies
    tail[: int(0.003 * sr)] = 0.0  # the first reflection arrives ~3 ms after the direct sound
    rir = np.zeros(n)
    rir[0] = 1.0
    rir += wet * tail / np.sqrt(np.sum(tail ** 2))
    y = np.convolve(x, rir)[: len(x) + int(0.3 * rt60 * sr)]
    return y


def band_limit_16k(x: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    """As if recorded at 16 kHz: nothing above 8 kHz (the output is resampled to 22050 Hz later)."""
    return soxr.resample(x, sr, 16000, quality="VHQ"), 16000


def breathy(x: np.ndarray, sr: int, breath_db: float, noise_snr_db: float, seed: int) -> np.ndarray:
    """Aspiration noise that follows the speech envelope (high-passed, ``breath_db`` below the speech)
    plus a steady pink-ish background at ``noise_snr_db``."""
    rng = np.random.default_rng(seed)
    assert sr == SR, "breathy() works at the output rate"
    env = np.sqrt(np.convolve(x ** 2, np.ones(int(0.02 * sr)) / int(0.02 * sr), mode="same"))
    aspiration = _shaped_noise(rng, len(x), lambda f: _band(f, 1500.0, 7000.0)) * env
    background = _shaped_noise(rng, len(x), lambda f: 1.0 / np.sqrt(np.maximum(f, 50.0)))

    def at(sig, db):
        return sig * (np.sqrt(np.mean(x ** 2)) / max(np.sqrt(np.mean(sig ** 2)), 1e-12)) * 10 ** (db / 20)

    return x + at(aspiration, -breath_db) + at(background, -noise_snr_db)


# --------------------------------------------------------------------------
# Music: a minimal Standard MIDI File writer + fluidsynth
# --------------------------------------------------------------------------

PPQ = 480  # ticks per quarter note


def _vlq(n: int) -> bytes:
    """MIDI variable-length quantity."""
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(reversed(out))


def _chunk(tag: bytes, data: bytes) -> bytes:
    return tag + struct.pack(">I", len(data)) + data


@dataclass
class Note:
    start: float  # beats
    dur: float  # beats
    pitch: int  # MIDI note number
    vel: int = 80


@dataclass
class Part:
    channel: int
    program: int  # General MIDI program number, 0-based
    notes: list[Note]
    volume: int = 100


def _track(events: list[tuple[int, int, bytes]], end_tick: int) -> bytes:
    # sort by time; at equal times note-offs (order 0) come before other events
    events = sorted(events, key=lambda e: (e[0], e[1]))
    data = bytearray()
    now = 0
    for tick, _, msg in events:
        data += _vlq(tick - now) + msg
        now = tick
    data += _vlq(max(0, end_tick - now)) + b"\xff\x2f\x00"  # end of track
    return _chunk(b"MTrk", bytes(data))


def write_midi(path: Path, parts: list[Part], bpm: float, end_beats: float) -> None:
    """Write a format-1 SMF: a tempo track plus one track per part."""
    end_tick = int(round(end_beats * PPQ))
    tempo = int(round(60_000_000 / bpm))
    tracks = [
        _track(
            [
                (0, 1, b"\xff\x51\x03" + tempo.to_bytes(3, "big")),
                (0, 1, b"\xff\x58\x04\x04\x02\x18\x08"),  # 4/4
            ],
            end_tick,
        )
    ]
    for p in parts:
        ch = p.channel
        ev = [
            (0, 1, bytes([0xC0 | ch, p.program])),
            (0, 1, bytes([0xB0 | ch, 7, p.volume])),  # channel volume
        ]
        for n in p.notes:
            on = int(round(n.start * PPQ))
            off = int(round((n.start + n.dur) * PPQ))
            ev.append((on, 2, bytes([0x90 | ch, n.pitch, n.vel])))
            ev.append((off, 0, bytes([0x80 | ch, n.pitch, 0])))
        tracks.append(_track(ev, end_tick))
    header = _chunk(b"MThd", struct.pack(">HHH", 1, len(tracks), PPQ))
    path.write_bytes(header + b"".join(tracks))


def render_midi(parts: list[Part], bpm: float, end_beats: float, tmp: Path,
                soundfont: Path, length_s: float, fade_s: float = 0.4) -> tuple[np.ndarray, int]:
    """Render with fluidsynth, then cut at length_s with a fade-out over the last fade_s."""
    exe = require_tool("fluidsynth")
    mid = tmp / "clip.mid"
    wav = tmp / "clip.wav"
    write_midi(mid, parts, bpm, end_beats)
    run([
        exe, "-q", "-n", "-i",
        "-a", "file",  # never open a sound card
        "-F", str(wav), "-T", "wav", "-O", "float",
        "-r", str(SR), "-g", "0.5",
        "-o", "synth.cpu-cores=1",
        str(soundfont), str(mid),
    ])
    x, sr = load_mono(wav)
    n = min(len(x), int(round(length_s * sr)))
    x = x[:n].copy()
    m = int(round(fade_s * sr))
    x[n - m:] *= 0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, m))
    return x, sr


# Each part function returns (parts, bpm, MIDI length in beats, clip length in seconds).

def piano_parts() -> tuple[list[Part], float, float, float]:
    """Acoustic grand piano (GM 1): C - Am - F - G - C chords under a short melody."""
    C3, D3, E3, G3, A3, B3 = 48, 50, 52, 55, 57, 59
    A2, F2, G2 = 45, 41, 43
    C5, D5, E5, F5, G5, A5, B5, C6 = 72, 74, 76, 77, 79, 81, 83, 84
    chords = [
        (0.0, 1.5, (C3, E3, G3)),
        (1.5, 1.5, (A2, E3, A3)),
        (3.0, 1.0, (F2, C3, A3)),
        (4.0, 1.0, (G2, D3, B3)),
        (5.0, 1.5, (C3, E3, G3)),
    ]
    left = [Note(s, d, p, 62) for s, d, ps in chords for p in ps]
    melody = [
        (0.0, 1.0, E5, 84), (1.0, 0.5, G5, 78), (1.5, 1.0, C6, 90),
        (2.5, 0.5, B5, 74), (3.0, 0.5, A5, 80), (3.5, 0.5, F5, 72),
        (4.0, 0.5, D5, 76), (4.5, 0.5, B5 - 12, 70), (5.0, 1.5, C5, 82),
    ]
    right = [Note(s, d, p, v) for s, d, p, v in melody]
    return [Part(0, 0, left + right)], 140.0, 6.5, 2.8


def guitar_parts() -> tuple[list[Part], float, float, float]:
    """Nylon-string guitar (GM 25): a plucked arpeggiated melody in A minor, in 8th notes."""
    line = [57, 64, 69, 72, 71, 69, 64, 60,   # Am
            62, 65, 69, 74, 72, 69, 65, 62]   # Dm
    vels = [88, 66, 72, 84, 70, 74, 64, 68]
    notes = [Note(i * 0.5, 0.9, p, vels[i % 8]) for i, p in enumerate(line[:12])]
    notes.append(Note(6.0, 1.0, 69, 90))  # final note (A4) over a bass A2
    notes.append(Note(6.0, 1.0, 45, 80))
    return [Part(0, 24, notes)], 150.0, 7.0, 2.8


def strings_parts() -> tuple[list[Part], float, float, float]:
    """Violin (GM 41) melody with vibrato over a string-ensemble (GM 49) pad."""
    pad = [Note(0.0, 2.0, p, 58) for p in (50, 57, 62)] + \
          [Note(2.0, 2.0, p, 58) for p in (48, 55, 64)]
    mel = [(0.0, 1.0, 74, 86), (1.0, 0.5, 76, 80), (1.5, 0.5, 77, 82),
           (2.0, 1.0, 79, 90), (3.0, 1.0, 76, 84)]
    violin = [Note(s, d, p, v) for s, d, p, v in mel]
    return [Part(0, 48, pad, volume=85), Part(1, 40, violin, volume=110)], 100.0, 4.5, 2.8


# --------------------------------------------------------------------------
# Noise-like textures (numpy, fixed seeds)
# --------------------------------------------------------------------------


def _shaped_noise(rng: np.random.Generator, n: int, gain: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """White Gaussian noise shaped in the frequency domain by gain(f_hz)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / SR)
    g = np.zeros_like(f)
    g[1:] = gain(f[1:])
    y = np.fft.irfft(spec * g, n)
    return y / np.max(np.abs(y))


def _smooth_random(rng: np.random.Generator, n: int, n_points: int) -> np.ndarray:
    """Slowly varying random curve in [0, 1] (cosine-interpolated control points)."""
    pts = rng.uniform(0.0, 1.0, n_points)
    t = np.linspace(0, n_points - 1, n)
    i = np.minimum(t.astype(int), n_points - 2)
    frac = t - i
    w = 0.5 - 0.5 * np.cos(np.pi * frac)
    return pts[i] * (1 - w) + pts[i + 1] * w


def _band(f: np.ndarray, lo: float, hi: float, order: int = 2) -> np.ndarray:
    """Smooth (Butterworth-shaped) band-pass magnitude response."""
    return 1.0 / np.sqrt((1 + (lo / f) ** (2 * order)) * (1 + (f / hi) ** (2 * order)))


def noise_wind() -> tuple[np.ndarray, int]:
    """Wind/breath: pink-ish noise in gusts; stronger gusts are louder and brighter,
    with a soft whistle resonance that rises and falls with them.

    Synthesised frame by frame in the STFT domain (random phase, time-varying
    spectral envelope) and overlap-added.
    """
    rng = np.random.default_rng(20240601)
    dur = 2.8
    n = int(dur * SR)
    n_fft, hop = 1024, 256
    n_frames = (n - n_fft) // hop + 2
    tf = (np.arange(n_frames) * hop + n_fft / 2) / SR  # frame centre times
    # gusts: overlapping raised-cosine swells over a light breeze, with a slow wobble
    gust = np.full(n_frames, 0.12)
    for centre, width, amp in ((0.6, 1.2, 0.75), (1.45, 1.1, 1.0), (2.2, 1.1, 0.6)):
        u = np.clip((tf - centre) / width * 2, -1, 1)
        gust += amp * (0.5 + 0.5 * np.cos(np.pi * u))
    gust *= 0.75 + 0.25 * _smooth_random(rng, n_frames, 12)
    gust /= gust.max()

    f = np.fft.rfftfreq(n_fft, 1.0 / SR)
    f[0] = f[1]
    win = np.hanning(n_fft + 1)[:-1]
    x = np.zeros((n_frames - 1) * hop + n_fft)
    norm = np.zeros_like(x)
    for i, g in enumerate(gust):
        cutoff = 350.0 + 3500.0 * g ** 1.5  # brighter when stronger
        whistle_f = 450.0 + 650.0 * g
        mag = (g / np.sqrt(f) * _band(f, 40.0, cutoff)
               * (1.0 + 2.5 * g * np.exp(-0.5 * (np.log(f / whistle_f) / 0.08) ** 2)))
        spec = mag * (rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f)))
        frame = np.fft.irfft(spec, n_fft) * win
        x[i * hop:i * hop + n_fft] += frame
        norm[i * hop:i * hop + n_fft] += win ** 2
    x = x[:n] / np.maximum(norm[:n], 1e-3)
    # fade in from and out to silence
    t = np.arange(n) / SR
    env = np.clip(np.minimum(t / 0.3, (dur - t) / 0.3), 0, 1)
    return x * env, SR


def noise_rain() -> tuple[np.ndarray, int]:
    """Rain/crackle texture: random droplet impulses over a soft noise bed."""
    rng = np.random.default_rng(20240602)
    dur = 2.8
    n = int(dur * SR)
    t = np.arange(n) / SR
    x = np.zeros(n)
    n_drops = rng.poisson(160 * dur)
    times = rng.uniform(0.02, dur - 0.05, n_drops)
    for t0 in times:
        length = int(rng.uniform(0.002, 0.025) * SR)
        k = np.arange(length)
        decay = np.exp(-k / (length / rng.uniform(3.0, 6.0)))
        # each drop: a short burst of noise plus a quickly falling "plink" tone
        burst = rng.standard_normal(length) * decay
        f0 = rng.uniform(1500, 6000)
        plink = np.sin(2 * np.pi * np.cumsum(f0 * np.exp(-k / (0.6 * length))) / SR) * decay
        amp = rng.lognormal(0.0, 0.7)  # many quiet drops, some loud ones
        i0 = int(t0 * SR)
        x[i0:i0 + length] += amp * (0.6 * burst + 0.4 * plink)
    # emphasise highs a little (drops on a hard surface)
    x = np.convolve(x, [1.0, -0.6], mode="same")
    bed = _shaped_noise(rng, n, lambda f: f ** -0.5 * _band(f, 200.0, 8000.0))
    x = x / np.max(np.abs(x)) + 0.06 * bed
    env = np.clip(np.minimum(t / 0.15, (dur - t) / 0.25), 0, 1)
    return x * env, SR


def tone_chirp() -> tuple[np.ndarray, int]:
    """Exponential sine sweep 110 Hz -> 7040 Hz with 2nd/3rd harmonics (band-limited)."""
    dur = 2.2
    n = int(dur * SR)
    t = np.arange(n) / SR
    f_lo, f_hi = 110.0, 7040.0
    k = np.log(f_hi / f_lo) / dur
    f = f_lo * np.exp(k * t)
    phase = 2 * np.pi * f_lo * (np.exp(k * t) - 1) / k
    x = np.zeros(n)
    for h, amp in ((1, 1.0), (2, 0.35), (3, 0.2)):
        # fade each harmonic out smoothly as it nears 10 kHz (no aliasing)
        keep = np.clip((10000.0 - h * f) / 1000.0, 0, 1)
        x += amp * keep * np.sin(h * phase)
    env = np.clip(np.minimum(t / 0.03, (dur - t) / 0.05), 0, 1)
    return x * env, SR


# --------------------------------------------------------------------------
# The clip list
# --------------------------------------------------------------------------

BUNDLED_TEXT = "The small boat drifted past the old stone bridge at noon."

SPEECH = [
    # (file name, engine, voice, text)
    ("speech_flite_slt.wav", "flite", "slt",
     "A warm breeze carried the smell of fresh bread across the square."),
    ("speech_flite_awb.wav", "flite", "awb",
     "She folded the blue letter and hid it under the lamp."),
    ("speech_flite_rms.wav", "flite", "rms",
     "Thick fog rolled over the hills before the sun came up."),
    ("speech_flite_kal16.wav", "flite", "kal16",
     "The clock on the wall ticked louder than the rain outside."),
    ("speech_espeak_en-gb_f3.wav", "espeak", "en-gb+f3",
     "Bring the silver kettle in from the garden shed, please."),
    ("speech_espeak_en-us_m3.wav", "espeak", "en-us+m3",
     "Four green apples sat in a bowl beside the open window."),
]

#: Speech less like one clean synthesiser: espeak-ng voices with pitch and rate variants, and flite or
#: espeak-ng speech reverberated, band-limited to a 16 kHz source, or made breathy and noisy.
#: (file name, engine, voice, text, espeak speed, espeak pitch, effect)
VARIED = [
    ("speech_espeak_en-us_f2_high.wav", "espeak", "en-us+f2",
     "Seven paper lanterns glowed along the narrow canal.", 130, 75, None),
    ("speech_espeak_en-gb_m1_low_fast.wav", "espeak", "en-gb+m1",
     "He packed the tent before the storm reached the valley.", 185, 30, None),
    ("speech_espeak_en_klatt3.wav", "espeak", "en+klatt3",
     "Every morning the baker sang while the ovens warmed.", 160, 55, None),
    ("speech_reverb_flite_slt.wav", "flite", "slt",
     "The children laughed as the kite climbed above the trees.", 0, 0, "reverb"),
    ("speech_reverb_espeak_m3.wav", "espeak", "en-us+m3",
     "Please close the heavy door quietly behind you.", 150, 45, "reverb"),
    ("speech_16k_flite_rms.wav", "flite", "rms",
     "Old maps were spread across the captain's wooden table.", 0, 0, "band16k"),
    ("speech_16k_espeak_f4.wav", "espeak", "en-us+f4",
     "A quiet train crossed the plain long after midnight.", 145, 60, "band16k"),
    ("speech_breathy_espeak_f3.wav", "espeak", "en-gb+f3",
     "Her voice was soft, almost a whisper, in the cold hall.", 140, 65, "breathy"),
    ("speech_breathy_flite_awb.wav", "flite", "awb",
     "Gravel crunched under the wheels of the slow cart.", 0, 0, "breathy"),
]


def varied_job(engine, voice, text, speed, pitch, effect, index):
    def job(tmp):
        x, sr = tts_flite(voice, text, tmp) if engine == "flite" else tts_espeak(voice, text, tmp, speed, pitch)
        x, sr = to_sr(x, sr), SR
        if effect == "reverb":
            x = reverberate(x, sr, rt60=0.45, wet=0.6, seed=100 + index)
        elif effect == "band16k":
            x, sr = band_limit_16k(x, sr)
        elif effect == "breathy":
            x = breathy(x, sr, breath_db=14.0, noise_snr_db=30.0, seed=200 + index)
        return x, sr
    return job


MUSIC = [
    ("music_piano.wav", piano_parts),
    ("music_guitar.wav", guitar_parts),
    ("music_strings.wav", strings_parts),
]

NOISE = [
    ("noise_wind.wav", noise_wind),
    ("noise_rain.wav", noise_rain),
    ("tone_chirp.wav", tone_chirp),
]

GROUPS = ("bundled", "speech", "varied", "music", "noise", "starter")
#: The starter set, committed in samples/starter/ so that a fresh clone has files to invert at once (speech, music,
#: noise and a tone sweep, ~0.5 MB); the full dev set is rendered on demand.
STARTER = ("speech_flite_awb.wav", "music_piano.wav", "noise_rain.wav", "tone_chirp.wav")


def describe(path: Path) -> str:
    y, sr = sf.read(str(path), dtype="float64")
    peak = np.max(np.abs(y))
    rms = np.sqrt(np.mean(y ** 2))
    return (f"{path}  {len(y) / sr:5.2f} s  peak {peak:.3f} ({20 * np.log10(peak):+.1f} dBFS)  "
            f"rms {20 * np.log10(rms):+.1f} dBFS  {path.stat().st_size / 1024:.0f} KiB")


def build(groups: list[str], out_dir: Path, bundled_path: Path, soundfont: Path, starter_dir: Path) -> list[Path]:
    """Render the clips of ``groups``; ``starter`` renders :data:`STARTER` into ``starter_dir``."""
    jobs = _jobs([g for g in groups if g != "starter"], out_dir, bundled_path, soundfont)
    if "starter" in groups:
        jobs += [(starter_dir / path.name, job) for path, job in
                 _jobs(["speech", "music", "noise"], out_dir, bundled_path, soundfont) if path.name in STARTER]
    written = []
    with tempfile.TemporaryDirectory(prefix="melrecon-samples-") as tmpdir:
        for path, job in jobs:
            x, sr = job(Path(tmpdir))
            write_clip(path, finish(x, sr))
            written.append(path)
            print("wrote", describe(path), flush=True)
    if "starter" in groups:
        written.append(write_starter_mel(starter_dir / STARTER[0], starter_dir / STARTER_MEL))
    return written


#: A mel handed in, as a HiFi-GAN-style toolkit stores it (hifigan preset: 80 bands, natural log), of the starter
#: speech clip: what `melrecon invert` takes as a mel file.
STARTER_MEL = "speech_flite_awb_hifigan_mel.npy"


def write_starter_mel(wav: Path, out: Path) -> Path:
    """The hifigan-preset log-mel of ``wav`` (melrecon computes it) saved as ``(80, frames)`` float32."""
    import melrecon  # noqa: PLC0415 - only the starter set needs the package (the script runs without it)

    x, sr = sf.read(str(wav), dtype="float32")
    cfg = melrecon.MelConfig.preset("hifigan")
    mel = np.asarray(melrecon.mel_spectrogram(x, cfg, sample_rate=sr))
    np.save(out, mel.astype(np.float32))
    print(f"wrote {out}  mel {mel.shape}", flush=True)
    return out


def _jobs(groups: list[str], out_dir: Path, bundled_path: Path, soundfont: Path) -> list:
    # fail early, before rendering anything, if a needed tool is missing
    if "bundled" in groups or "speech" in groups:
        require_tool("flite")
    if "speech" in groups or "varied" in groups:
        require_tool("flite")
        require_tool("espeak-ng")
    if "music" in groups:
        require_tool("fluidsynth")
        if not soundfont.is_file():
            raise ToolMissing(
                f"soundfont {soundfont} not found. Install it with: "
                "sudo apt-get install fluid-soundfont-gm (or pass --soundfont PATH)"
            )

    jobs: list[tuple[Path, Callable[[Path], tuple[np.ndarray, int]]]] = []
    if "bundled" in groups:
        jobs.append((bundled_path, lambda tmp: tts_flite("slt", BUNDLED_TEXT, tmp)))
    if "speech" in groups:
        for name, engine, voice, text in SPEECH:
            fn = tts_flite if engine == "flite" else tts_espeak
            jobs.append((out_dir / name, lambda tmp, fn=fn, v=voice, s=text: fn(v, s, tmp)))
    if "varied" in groups:
        for i, (name, engine, voice, text, speed, pitch, effect) in enumerate(VARIED):
            jobs.append((out_dir / name, varied_job(engine, voice, text, speed, pitch, effect, i)))
    if "music" in groups:
        for name, make_parts in MUSIC:
            def job(tmp, make_parts=make_parts):
                parts, bpm, end, length_s = make_parts()
                return render_midi(parts, bpm, end, tmp, soundfont, length_s)
            jobs.append((out_dir / name, job))
    if "noise" in groups:
        for name, synth in NOISE:
            jobs.append((out_dir / name, lambda tmp, synth=synth: synth()))
    return jobs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=None,
                    help="output folder (default: samples/devset for the dev set; "
                         "the bundled clip goes to melrecon/data/speech.wav unless --out is given)")
    ap.add_argument("--only", action="append", choices=GROUPS, default=None,
                    help="render only this group (repeatable). 'bundled' writes melrecon/data/speech.wav, 'starter' "
                         "the committed samples/starter/. "
                         "Default: speech, varied, music and noise (the dev set)")
    ap.add_argument("--soundfont", type=Path, default=DEFAULT_SOUNDFONT,
                    help=f"General MIDI soundfont for fluidsynth (default: {DEFAULT_SOUNDFONT})")
    args = ap.parse_args(argv)
    groups = args.only or ["speech", "varied", "music", "noise"]
    try:
        out_dir = args.out if args.out is not None else DEFAULT_DEVSET_DIR
        bundled = args.out / BUNDLED_PATH.name if args.out is not None else BUNDLED_PATH
        starter = args.out if args.out is not None else DEFAULT_STARTER_DIR
        written = build(groups, out_dir, bundled, args.soundfont, starter)
    except ToolMissing as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    total = sum(p.stat().st_size for p in written)
    print(f"{len(written)} file(s), {total / 1024:.0f} KiB in total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
