"""``melrecon invert`` (a file: audio analysed, or a mel handed in; a batch of mels in one array: one file per
item; ``--stream``: a growing wav) and ``melrecon stream`` (raw frames from stdin to PCM on stdout)."""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from ... import io
from ...core import cache
from ...core.config import ParameterError
from ...core.transforms import mel_spectrogram
from ...methods.diagnostics import NO_PROGRESS_MEL_SC, NoProgressWarning, no_progress_items
from ...reconstruct import reconstruct
from ...stream import stream_pcm, stream_to_wav
from ..output_guard import convention_fix, convention_quiet, guard_output, prepare_once
from . import EXIT_FAILURE
from .common import error, hold_signals, interrupted_status, method_kwargs
from .config_args import config_from_args

__all__ = ["cmd_invert", "cmd_stream"]

#: Compilation (or loading compiled programs) shorter than this is not worth a mention in the summary line.
COMPILE_NOTE_SECONDS = 0.5


def cmd_invert(args) -> int:
    cfg = config_from_args(args)
    src, dst = Path(args.input), Path(args.output)
    # Everything that can be checked is checked before the (long) reconstruction.
    io.check_output_path(dst, suffixes=io.AUDIO_SUFFIXES, probe=True)
    if _same_file(src, dst) and not args.force:
        raise ParameterError(f"output {str(dst)!r} is the input file; choose another output or pass --force.")
    if src.suffix.lower() not in io.MEL_SUFFIXES + io.AUDIO_SUFFIXES and src.exists():
        raise ParameterError(
            f"input {str(src)!r}: unsupported suffix {src.suffix!r}; give an audio file {io.AUDIO_SUFFIXES} "
            f"or a Mel array {io.MEL_SUFFIXES}."
        )
    kwargs = method_kwargs(args, src)
    convention = None  # the convention check's message, said once (not again by reconstruct)
    if src.suffix.lower() in io.MEL_SUFFIXES:
        name = f"mel in {src.name}"
        mel, message = prepare_once(io.load_mel(src, key=args.mel_key), cfg, layout=args.layout, stats=args.stats,
                                    name=name)
        if message:
            warnings.warn(message, UserWarning, stacklevel=1)
            convention = (message, name)
    else:
        audio, _ = io.load_audio(src, sample_rate=cfg.sample_rate)
        mel = np.asarray(mel_spectrogram(audio, cfg))
    if args.stream:
        return _invert_streaming(mel, dst, cfg, args)
    guard = dict(convention=convention[0] if convention else None, force=args.force, fix=convention_fix(cfg.name),
                 said=True)
    with convention_quiet(convention or (None, "")):
        if mel.ndim > 2:  # leading dimensions are a batch of mels: one output file per item
            return _invert_items(mel, dst, cfg, kwargs, guard)
        result = _reconstruct_quietly(mel, cfg, kwargs, bucket=not args.no_bucket)
    audio_out = _guarded(result.audio, dst, guard)
    with hold_signals() as held:
        io.save_audio(dst, audio_out, cfg.sample_rate)
    print(_summary(dst, result, cfg))
    return _exit_status(result, held, [dst])


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _guarded(audio, dst: Path, guard: dict):
    """The audio to write to ``dst`` (:func:`melrecon.apps.output_guard.guard_output`; its note said)."""
    out, note = guard_output(audio, where=str(dst), **guard)
    if note:
        print(f"melrecon: note: {note}", file=sys.stderr)
    return out


def _reconstruct_quietly(mel, cfg, kwargs, bucket: bool = False):
    """``reconstruct`` without its no-progress warning: :func:`_exit_status` reports that as an error.

    With ``bucket``, the planner pads a ``(n_mels, T)`` mel to one of a few frame counts (a batch of one), so
    that files of different lengths share a (cached) compilation; the output is trimmed exactly (the
    planner segments a long input all the same).
    """

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoProgressWarning)
        return reconstruct(mel, cfg, bucket_frames="auto" if bucket and mel.ndim == 2 else None, **kwargs)


def _summary(dst: Path, result, cfg) -> str:
    ran = " + ".join(f"{name} {stop - start}" for name, start, stop in result.stage_spans)  # "meladmm 300 + melgl 200"
    settings = result.settings
    why = settings.get("reasons", {})  # melrecon.methods.resolve.Choice: what was chosen and why
    path = f"{settings.get('source')} mel, effort {settings.get('effort')}"
    path += f": {why['method']}" if "method" in why else ""
    if settings.get("init_phase_mel_sc"):
        path += f"; kept the {settings['init_phase']} start of {'/'.join(settings['init_phase_mel_sc'])}"
        path += f" (a start race of {settings['race']} steps)" if settings.get("race") is not None else ""
    read = settings.get("estimated")
    if read:  # a reading is NaN where its choice was given (e.g. --deblur 0 reads no band spread): left out
        seen = ", ".join(f"{label} {read[key]:.2f}" for key, label in (
            ("noise_level", "noise level"), ("sharpness", "time sharpness"), ("band_spread", "band spread"))
            if np.isfinite(read.get(key, np.nan)))
        path += (f"; read: {seen or 'nothing (every choice given)'} -> smoothing {read['tolerance']:.2f}, "
                 f"sharpening {read['sharpen']:.2f}, deblur {read.get('deblur', 0.0):.2f}")
        if read.get("unbox"):
            path += f"; undid a {read['unbox']:.0f} x {max(read.get('unbox_bands', 0.0), 1.0):.0f} box blur"
    compiled = ""  # a time shown says whether it includes compilation: the iterations' time never does
    if result.compile_seconds >= COMPILE_NOTE_SECONDS:
        compiled = f", compiled in {result.compile_seconds:.1f} s " + \
            ("(cached for next time)" if cache.enable() is not None else "(compile cache off)")
    return (f"wrote {dst} ({result.audio.shape[-1] / cfg.sample_rate:.2f} s, {result.method} [{path}], "
            f"{ran} iterations in {result.seconds:.1f} s{compiled}, "
            f"Mel SC {float(np.mean(result.mel_sc)):.4f})")


def _item_paths(dst: Path, batch_shape: tuple) -> list[Path]:
    """``out.wav`` for a batch of shape (2, 3) -> out_0_0.wav ... out_1_2.wav (row-major)."""
    return [dst.with_name(f"{dst.stem}_{'_'.join(map(str, idx))}{dst.suffix}") for idx in np.ndindex(*batch_shape)]


def _invert_items(mel: np.ndarray, dst: Path, cfg, kwargs: dict, guard: dict) -> int:
    """A (..., n_mels, frames) mel: invert the batch at once, write one file per item."""
    batch_shape = mel.shape[:-2]
    paths = _item_paths(dst, batch_shape)
    for path in paths:
        io.check_output_path(path, suffixes=io.AUDIO_SUFFIXES)
    print(f"melrecon: note: the mel has shape {mel.shape}: a batch of {len(paths)} mels (leading dimensions "
          f"{batch_shape}); writing one file per item, {paths[0].name} ... {paths[-1].name}.", file=sys.stderr)
    result = _reconstruct_quietly(mel, cfg, kwargs)
    audio = result.audio.reshape(len(paths), -1)
    audio = [_guarded(item, path, guard) for path, item in zip(paths, audio)]  # all checked before any write
    with hold_signals() as held:
        for path, item in zip(paths, audio):
            io.save_audio(path, item, cfg.sample_rate)
    for path, item, sc in zip(paths, audio, np.ravel(result.mel_sc)):
        print(_summary(path, dataclasses.replace(result, audio=item, mel_sc=sc), cfg))
    return _exit_status(result, held, paths)


def _exit_status(result, held, written: list[Path]) -> int:
    if result.interrupted or held:
        print("melrecon: interrupted; the best result so far was written.", file=sys.stderr)
        return interrupted_status()
    bad = no_progress_items(result)
    if bad:
        sc = np.ravel(result.mel_sc)
        names = ", ".join(f"{written[i].name} (Mel SC {sc[i]:.4f})" for i in bad)
        return error(f"no progress: {names}; above {NO_PROGRESS_MEL_SC} the output is near-silence or noise, "
                      f"not a reconstruction of the mel (written all the same). Check that --preset matches how "
                      f"the mel was made, or try --method meladmm+melgl.", EXIT_FAILURE)
    return 0


def cmd_stream(args) -> int:
    cfg = config_from_args(args)
    try:
        stream_pcm(cfg, sys.stdin.buffer, sys.stdout.buffer, lookahead=args.lookahead, effort=args.effort,
                   iters=args.iters, name="stdin")
        sys.stdout.buffer.flush()
    except BrokenPipeError:  # the reader went away: stop quietly (no traceback, no second error at exit)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("melrecon: interrupted; the audio of the frames so far was written.", file=sys.stderr)
        return interrupted_status()
    return 0


def _invert_streaming(mel, dst: Path, cfg, args) -> int:
    if dst.suffix.lower() != ".wav":
        raise ParameterError(f"--stream writes a growing .wav; {str(dst)!r} is not one (use a .wav output).")
    if mel.ndim != 2:
        raise ParameterError(f"--stream inverts one (n_mels, frames) mel; this one has shape {mel.shape}.")
    try:
        n = stream_to_wav(mel, cfg, dst, lookahead=args.lookahead, effort=args.effort)
    except KeyboardInterrupt:
        print(f"melrecon: interrupted; {dst} holds the audio streamed so far (a valid wav).", file=sys.stderr)
        return interrupted_status()
    print(f"{dst}: {n / cfg.sample_rate:.2f} s streamed (look-ahead {args.lookahead} frames)")
    return 0
