"""The ``melrecon`` command: ``invert`` a file, ``batch`` a folder, run the ``demo``.

Exit status: 0 on success; 1 when the work failed for another reason (a file could not be written, the
reconstruction diverged or made no progress (output Mel SC above 0.9; the file is written all the same), some
files of a ``batch`` failed or made no progress: listed in its summary, or the disk is full); 2 on a usage or
input error (the message names the parameter and the fix); 130 when interrupted by Ctrl-C (SIGINT) and 143 when
ended by SIGTERM, in both cases after writing the best result so far (``invert``) or finishing the file being
written (``batch``). Every file is written through a temporary file and renamed into place; a signal during that
write is held until the file is complete, and a full disk leaves no partial file (a clear message).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from .cliconfig import add_config_args, config_from_args
from ..core.config import PRESETS, ParameterError, get_config

#: The commands and their one-line help (shared by the full parser and the light one of --help/--version).
COMMANDS = {
    "invert": "reconstruct audio from an audio file's Mel spectrogram or a mel file",
    "batch": "invert every audio / mel file of a folder (resumable, batched)",
    "methods": "list the named methods: their stages, families and iterations per effort level",
    "demo": "GL vs GL+GD on the bundled sample at the seed and hifigan presets",
    "presets": "list the presets (toolkit conventions) with their sources",
    "config": "print a TOML settings file to start from (use it with --config)",
    "stream": "invert raw float32 Mel frames from stdin to raw float32 PCM on stdout as they arrive",
    "listen": "listening tests: build a MUSHRA / ABX test and its shareable page, collect answers, report",
}

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # SIGTERM (128 + 15)


def _method_names():
    from ..methods.registry import METHODS

    return METHODS


_REPLACED = ("--gl-iters", "--gd-iters")


def _methods_taking(option: str, methods, value: object = "lbfgs") -> list[str]:
    """The single methods among ``methods`` a stage of which takes ``option`` given as ``value``."""
    from ..methods.options import stage_options

    return [m for m in methods if "+" not in m and stage_options(m, {option: value})]


def _add_method_args(p: argparse.ArgumentParser) -> None:
    from ..methods.options import iters_help
    from ..methods.registry import DEFAULT_EFFORT, EFFORTS, EXACT_METHOD
    from ..methods.resolve import DEFAULT_METHODS, SOURCES, describe

    p.add_argument("--method", default=None,
                   help="one of %s or a pipeline joining them with + (default: by --mel-source, %s for audio inputs, "
                        "%s for mel files); `melrecon methods` lists their stages"
                        % (", ".join(sorted(_method_names())), DEFAULT_METHODS["analysis"], DEFAULT_METHODS["predicted"]))
    p.add_argument("--mel-source", default=None, choices=SOURCES,
                   help="where the mel came from (default: analysis for an audio input, melrecon computed the mel; "
                        "predicted for a mel file, e.g. an acoustic model's): chooses the default --method")
    shown = [EXACT_METHOD, "gl+gd"] + [m for m in sorted(_method_names()) if m != "gl"]
    p.add_argument("--effort", default=None, choices=EFFORTS,
                   help="how much work the inversion gets when --iters is not given (default %s; `melrecon methods` "
                        "lists each method's counts per level)" % DEFAULT_EFFORT)
    p.add_argument("--iters", "--n-iter", dest="iters", default=None, metavar="N[,N...]",
                   help=iters_help(dict.fromkeys(shown)).replace("%", "%%"))
    for flag in _REPLACED:  # replaced by --iters; kept only to say so
        p.add_argument(flag, dest=flag[2:].replace("-", "_"), default=None, help=argparse.SUPPRESS)
    _add_stage_option_args(p, shown)
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="random seed of a random initial phase (default 0); taken by the methods that start from "
                        "a random phase: %s" % ", ".join(m for m in shown if describe(m).random_start))
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_cache_arg(p)


def _add_stage_option_args(p: argparse.ArgumentParser, shown) -> None:
    """Flags of the stages' own options (:data:`melrecon.methods.options.STAGE_OPTIONS`); each help lists the
    methods that take it (asked of the stages)."""
    from ..methods.options import STAGE_OPTIONS

    def parse(spec):
        def parse_value(text):
            try:
                return spec.parse(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None
        parse_value.__name__ = spec.parse.__name__
        return parse_value

    for spec in STAGE_OPTIONS:
        taken = ", ".join(_methods_taking(spec.name, shown, spec.probe)) or "none"
        p.add_argument(spec.flag, dest=spec.name, type=parse(spec), choices=spec.choices, default=None,
                       metavar=spec.metavar, help="%s; taken by %s" % (spec.help, taken))


def _add_cache_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", default=None, metavar="DIR|off",
                   help="compilation cache folder, or 'off' (default: $MELRECON_CACHE_DIR, else "
                        "~/.cache/melrecon/jax): a second run loads the compiled loops instead of compiling")


def _method_kwargs(args, path: Path | None = None) -> dict:
    """The keyword arguments of ``reconstruct`` for the method flags: the user's raw choices, checked against
    what :func:`melrecon.methods.resolve.resolve` makes of them (an option no stage takes, or a ``--seed`` that
    nothing uses, is an error). ``path`` is the input file, whose kind gives the mel's source unless
    ``--mel-source`` does."""
    from ..methods.options import STAGE_OPTIONS, check_stage_options, parse_iters
    from ..methods.resolve import resolve, source_of

    _refuse_replaced(args)
    source = args.mel_source or (source_of(path) if path is not None else None)
    choice = resolve(args.method, source=source, effort=args.effort)
    given = {spec.name: getattr(args, spec.name) for spec in STAGE_OPTIONS}
    check_stage_options(choice.method, given, {spec.name: spec.flag for spec in STAGE_OPTIONS})
    init = args.init_phase
    random_start = init == "random" or (init is None and choice.random_start)
    if args.seed is not None and not random_start:
        raise ParameterError(f"--seed has no effect: method {choice.method!r} starts from a deterministic initial "
                             f"phase ({init or 'its default'}); drop --seed, or add --init random to start from a "
                             f"seeded random phase.")
    kw = dict(method=args.method, source=source, effort=args.effort, n_iter=parse_iters(args.iters, choice.method),
              seed=args.seed or 0, progress=not args.quiet)
    kw.update({k: v for k, v in given.items() if v is not None})
    return kw


def _parser() -> argparse.ArgumentParser:
    from .batch.engines import ENGINES
    from .. import __version__

    parser = argparse.ArgumentParser(prog="melrecon", description="Recover audio from Mel spectrograms.")
    parser.add_argument("--version", action="version", version=f"melrecon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    inv = sub.add_parser("invert", help=COMMANDS["invert"])
    inv.add_argument("input", help="audio file (wav/flac/ogg; analysed with the settings) or a .npy/.npz/.pt/.h5 mel")
    inv.add_argument("output", help="output audio file (.wav, .flac or .ogg)")
    _add_method_args(inv)
    add_config_args(inv)
    inv.add_argument("--mel-key", default=None, metavar="KEY",
                     help="array name inside a .npz/.pt/.h5 file (default: 'mel' ('feats' in .h5) or its only array)")
    inv.add_argument("--force", action="store_true",
                     help="allow the output to replace the input file, and write the result of a mel that failed "
                          "the convention check although it would clip (scaled below full scale)")
    inv.add_argument("--no-bucket", action="store_true",
                     help="compile for the mel's exact frame count (default: pad it to one of a few sizes, so that "
                          "files of different lengths share a compilation; the output is trimmed exactly)")
    inv.add_argument("--stream", action="store_true",
                     help="invert frame by frame (melrecon.Streamer: RTISI-LA on the Mel constraint) into a .wav that "
                          "is valid and grows as frames are processed; --effort sets its iterations per frame")
    _add_stream_args(inv)
    _add_stream_command(sub)

    bat = sub.add_parser("batch", help=COMMANDS["batch"])
    bat.add_argument("input", help="input folder (searched recursively for wav/flac/ogg and .npy/.npz/.pt/.h5 mels)")
    bat.add_argument("output", help="output folder (IN/a/b.npy -> OUT/a/b.wav; existing outputs are skipped)")
    _add_method_args(bat)
    add_config_args(bat)
    bat.add_argument("--batch-size", type=int, default=None, metavar="N",
                     help="most files per padded batch (default 4 on a CPU, 32 on a GPU)")
    bat.add_argument("--max-buckets", type=int, default=4, metavar="N", help="most distinct padded lengths (default 4)")
    bat.add_argument("--mel-key", default=None, metavar="KEY",
                     help="array name inside .npz/.pt/.h5 files (default: 'mel' ('feats' in .h5) or its only array)")
    bat.add_argument("--overwrite", action="store_true", help="invert again files whose output exists")
    bat.add_argument("--force", action="store_true",
                     help="write the result of a mel that failed the convention check although it would clip "
                          "(scaled below full scale; default: that file fails, with the fix)")
    bat.add_argument("--engine", default="local", choices=tuple(ENGINES),
                     help="run the batches here (local, default) or on a Ray cluster (ray; needs melrecon[ray])")
    bat.add_argument("--ray-address", default=None, metavar="ADDRESS",
                     help="with --engine ray: the cluster to join (auto, or host:port of `ray start --head`); "
                          "default: start a local one")
    bat.add_argument("--num-cpus", type=float, default=None, metavar="N", help="with --engine ray: CPUs per worker (default 1)")
    bat.add_argument("--num-gpus", type=float, default=None, metavar="N", help="with --engine ray: GPUs per worker (default 0)")

    sub.add_parser("methods", help=COMMANDS["methods"],
                   description="List the named methods and common pipelines (such as gl+gd): each one's stages, "
                               "their families (projection / gradient) and iterations at each effort level. Any "
                               "methods joined with + form a pipeline (melrecon invert --method A+B).")
    _add_convention_commands(sub)
    from .listening.cli import add_listen_command
    add_listen_command(sub)
    demo = sub.add_parser("demo", help=COMMANDS["demo"])
    demo.add_argument("--input", default=None, help="audio file (default: the bundled sample, melrecon.apps.examples)")
    demo.add_argument("--out", default="results/demo", help="output folder (default results/demo)")
    demo.add_argument("--presets", default="seed,hifigan", help="comma-separated presets")
    demo.add_argument("--iters", "--n-iter", dest="iters", default="200,1000", metavar="GL,GD",
                      help="iterations per stage of the GL+GD row, as invert's --iters; the GL row runs the first "
                           "(default %(default)s)")
    for flag in _REPLACED:  # replaced by --iters; kept only to say so
        demo.add_argument(flag, dest=flag[2:].replace("-", "_"), default=None, help=argparse.SUPPRESS)
    demo.add_argument("--default-iters", default=None, metavar="N[,N...]",
                      help="iterations per stage of the default method's row, one count or one per stage "
                           "(default: its own defaults)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quiet", action="store_true")
    _add_cache_arg(demo)
    return parser


def _add_stream_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lookahead", type=int, default=4, metavar="N",
                   help="with streaming: frames iterated after the newest before the oldest is committed (latency: "
                        "N frames plus one window; default %(default)s)")


def _add_stream_command(sub) -> None:
    """``melrecon stream``: ``model | melrecon stream --preset hifigan | aplay -f FLOAT_LE -r 22050``."""
    from ..methods.registry import DEFAULT_EFFORT, EFFORTS, STREAMING

    st = sub.add_parser("stream", help=COMMANDS["stream"], description=COMMANDS["stream"] + " (n_mels values per "
                        "frame, little-endian, frame-major; mono PCM at the preset's rate)")
    add_config_args(st)
    _add_stream_args(st)
    levels = ", ".join(f"{e} {STREAMING.level(e).counts[0]}" + (" (default)" if e == DEFAULT_EFFORT else "")
                       for e in EFFORTS)
    st.add_argument("--effort", default=None, choices=EFFORTS, help=f"iterations per frame: {levels}")
    st.add_argument("--iters", type=int, default=None, metavar="N", help="iterations per frame (overrides --effort)")


def cmd_stream(args) -> int:
    from ..stream import stream_pcm

    cfg = config_from_args(args)
    try:
        stream_pcm(cfg, sys.stdin.buffer, sys.stdout.buffer, lookahead=args.lookahead, effort=args.effort,
                   iters=args.iters)
        sys.stdout.buffer.flush()
    except BrokenPipeError:  # the reader went away: stop quietly (no traceback, no second error at exit)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("melrecon: interrupted; the audio of the frames so far was written.", file=sys.stderr)
        return _interrupted_status()
    return 0


def _invert_streaming(mel, dst: Path, cfg, args) -> int:
    from ..stream import stream_to_wav

    if dst.suffix.lower() != ".wav":
        raise ParameterError(f"--stream writes a growing .wav; {str(dst)!r} is not one (use a .wav output).")
    if mel.ndim != 2:
        raise ParameterError(f"--stream inverts one (n_mels, frames) mel; this one has shape {mel.shape}.")
    try:
        n = stream_to_wav(mel, cfg, dst, lookahead=args.lookahead, effort=args.effort)
    except KeyboardInterrupt:
        print(f"melrecon: interrupted; {dst} holds the audio streamed so far (a valid wav).", file=sys.stderr)
        return _interrupted_status()
    print(f"{dst}: {n / cfg.sample_rate:.2f} s streamed (look-ahead {args.lookahead} frames)")
    return 0


def _add_convention_commands(sub) -> None:
    """``melrecon presets`` and ``melrecon config``."""
    sub.add_parser("presets", help=COMMANDS["presets"])
    conf = sub.add_parser("config", help=COMMANDS["config"])
    conf.add_argument("--preset", default="hifigan", choices=sorted(PRESETS), help="preset to print (default hifigan)")


def cmd_conventions(args) -> int:
    from .cliconfig import config_toml, presets_table

    print(presets_table() if args.command == "presets" else config_toml(args.preset), end="\n" if args.command == "presets" else "")
    return 0


def _error(msg: str, status: int = EXIT_USAGE) -> int:
    print(f"melrecon: error: {msg}", file=sys.stderr)
    return status


def _hold_sigint():
    """Hold Ctrl-C (SIGINT) and SIGTERM while a result is being written (:func:`melrecon.apps.batch.jobs.hold_signals`).

    The write completes; the caller then exits with status 130 (or 143 after SIGTERM).
    """
    from .batch.jobs import hold_signals

    return hold_signals()


def _interrupted_status() -> int:
    from .batch.jobs import terminated

    return EXIT_TERMINATED if terminated() else EXIT_INTERRUPTED


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def _show_warning(message, category, filename, lineno, file=None, line=None):
    print(f"melrecon: warning: {message}", file=sys.stderr)


def cmd_invert(args) -> int:
    from .. import io
    from .output_guard import convention_fix, convention_quiet, prepare_once
    from ..core.transforms import mel_spectrogram

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
    kwargs = _method_kwargs(args, src)
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
    with _hold_sigint() as held:
        io.save_audio(dst, audio_out, cfg.sample_rate)
    print(_summary(dst, result, cfg))
    return _exit_status(result, held, [dst])


def _guarded(audio, dst: Path, guard: dict):
    """The audio to write to ``dst`` (:func:`melrecon.apps.output_guard.guard_output`; its note said)."""
    from .output_guard import guard_output

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
    from ..methods.diagnostics import NoProgressWarning
    from ..reconstruct import reconstruct

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoProgressWarning)
        return reconstruct(mel, cfg, bucket_frames="auto" if bucket and mel.ndim == 2 else None, **kwargs)


def _summary(dst: Path, result, cfg) -> str:
    ran = " + ".join(f"{name} {stop - start}" for name, start, stop in result.stages)  # "meladmm 300 + melgl 200"
    settings = result.settings
    why = settings.get("reasons", {})  # melrecon.methods.resolve.Choice: what was chosen and why
    path = f"{settings.get('source')} mel, effort {settings.get('effort')}"
    path += f": {why['method']}" if "method" in why else ""
    if settings.get("init_phase_mel_sc"):
        path += f"; kept the {settings['init_phase']} start of {'/'.join(settings['init_phase_mel_sc'])}"
    read = settings.get("estimated")
    if read:
        path += (f"; read: noise level {read['noise_level']:.2f}, time sharpness {read['sharpness']:.2f}, band "
                 f"spread {read.get('band_spread', 0.0):.2f} -> smoothing {read['tolerance']:.2f}, sharpening "
                 f"{read['sharpen']:.2f}, deblur {read.get('deblur', 0.0):.2f}")
    return (f"wrote {dst} ({result.audio.shape[-1] / cfg.sample_rate:.2f} s, {result.method} [{path}], "
            f"{ran} iterations in {result.seconds:.1f} s, "
            f"Mel SC {float(np.mean(result.mel_sc)):.4f})")


def _item_paths(dst: Path, batch_shape: tuple) -> list[Path]:
    """``out.wav`` for a batch of shape (2, 3) -> out_0_0.wav ... out_1_2.wav (row-major)."""
    return [dst.with_name(f"{dst.stem}_{'_'.join(map(str, idx))}{dst.suffix}") for idx in np.ndindex(*batch_shape)]


def _invert_items(mel: np.ndarray, dst: Path, cfg, kwargs: dict, guard: dict) -> int:
    """A (..., n_mels, frames) mel: invert the batch at once, write one file per item."""
    from .. import io

    batch_shape = mel.shape[:-2]
    paths = _item_paths(dst, batch_shape)
    for path in paths:
        io.check_output_path(path, suffixes=io.AUDIO_SUFFIXES)
    print(f"melrecon: note: the mel has shape {mel.shape}: a batch of {len(paths)} mels (leading dimensions "
          f"{batch_shape}); writing one file per item, {paths[0].name} ... {paths[-1].name}.", file=sys.stderr)
    result = _reconstruct_quietly(mel, cfg, kwargs)
    audio = result.audio.reshape(len(paths), -1)
    audio = [_guarded(item, path, guard) for path, item in zip(paths, audio)]  # all checked before any write
    with _hold_sigint() as held:
        for path, item in zip(paths, audio):
            io.save_audio(path, item, cfg.sample_rate)
    for path, item, sc in zip(paths, audio, np.ravel(result.mel_sc)):
        print(_summary(path, dataclasses.replace(result, audio=item, mel_sc=sc), cfg))
    return _exit_status(result, held, paths)


def _exit_status(result, held, written: list[Path]) -> int:
    from ..methods.diagnostics import NO_PROGRESS_MEL_SC, no_progress_items

    if result.interrupted or held:
        print("melrecon: interrupted; the best result so far was written.", file=sys.stderr)
        return _interrupted_status()
    bad = no_progress_items(result)
    if bad:
        sc = np.ravel(result.mel_sc)
        names = ", ".join(f"{written[i].name} (Mel SC {sc[i]:.4f})" for i in bad)
        return _error(f"no progress: {names}; above {NO_PROGRESS_MEL_SC} the output is near-silence or noise, "
                      f"not a reconstruction of the mel (written all the same). Check that --preset matches how "
                      f"the mel was made, or try --method meladmm+melgl.", EXIT_FAILURE)
    return 0


def cmd_batch(args) -> int:
    from .batch import invert_folder

    kw = _method_kwargs(args)  # no --mel-source: each file's kind gives its source
    quiet = not kw.pop("progress")
    summary = invert_folder(args.input, args.output, config_from_args(args), batch_size=args.batch_size,
                            max_buckets=args.max_buckets, overwrite=args.overwrite, mel_key=args.mel_key,
                            progress=not quiet, layout=args.layout, stats=args.stats, engine=args.engine,
                            ray_address=args.ray_address, num_cpus=args.num_cpus, num_gpus=args.num_gpus, force=args.force, **kw)
    print(summary.report())
    if summary.interrupted:
        return _interrupted_status()
    return 1 if summary.failed or summary.no_progress or summary.error else 0


DEMO_COLUMNS = [
    ("preset", "preset", "s"), ("method", "method", "s"), ("iters", "iterations", "s"),
    ("mel_sc", "Mel SC", ".4f"), ("sc", "SC", ".4f"), ("lsd", "LSD (dB)", ".2f"), ("mel_db", "Mel dist (dB)", ".2f"),
    ("pesq", "PESQ-wb", ".2f"), ("stoi", "STOI", ".3f"), ("seconds", "seconds", ".1f"),
]


def _demo_runs(args) -> list[tuple[str, str | None, dict]]:
    """The demo's rows: (label, method, keywords of ``reconstruct``), counts parsed as invert parses --iters; the
    default row asks the resolver, as for any audio input (melrecon analyses it)."""
    from ..methods.options import parse_iters
    from ..methods.resolve import resolve

    _refuse_replaced(args)
    gl, gd = parse_iters(args.iters, "gl+gd")
    default = resolve(source="analysis")
    counts = args.default_iters
    if counts is not None and "," not in str(counts):  # one count for every stage
        counts = ",".join([str(counts).strip()] * len(default.counts))
    return [("GL", "fgla", dict(n_iter=gl)), ("GL+GD", "gl+gd", dict(n_iter=[gl, gd])),
            ("default", None, dict(source="analysis",
                                   n_iter=parse_iters(counts, default.method, flag="--default-iters")))]


def _refuse_replaced(args) -> None:
    for flag in _REPLACED:
        if getattr(args, flag[2:].replace("-", "_"), None) is not None:
            raise ParameterError(f"{flag} was replaced by --iters, one count per stage of --method "
                                 f"(e.g. --method gl+gd --iters 200,500); see melrecon {args.command} --help.")


def _demo_presets(text: str) -> list[str]:
    """The presets of ``--presets`` (unknown names fail now, not after the first preset's runs)."""
    presets = [p.strip() for p in text.split(",") if p.strip()]
    if not presets:
        raise ParameterError(f"--presets {text!r} names no preset; e.g. --presets seed,hifigan.")
    for name in presets:
        get_config(name)
    return presets


def cmd_demo(args) -> int:
    from .. import io
    from . import metrics
    from .plotting import comparison_figure, metrics_table
    from ..reconstruct import reconstruct
    from ..core.transforms import mel_spectrogram

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {str(out)!r} is a file; give a folder.")
    presets = _demo_presets(args.presets)
    if args.input is None:
        from .examples import example

        args.input = str(example("speech"))
    src = io.existing_file(args.input, "--input")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"--out {str(out)!r} could not be created ({exc.strerror}); choose another folder.") from None
    io.check_output_path(out / "metrics.md", probe=True)
    from ..methods.resolve import default_method

    runs = _demo_runs(args)
    rows = []
    written: list[str] = []
    interrupted = False
    try:
        for name in presets:
            cfg = get_config(name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # resampling notice: expected here
                audio, _ = io.load_audio(src, sample_rate=cfg.sample_rate)
            mel = np.asarray(mel_spectrogram(audio, cfg))
            results = {}
            for label, method, kw in runs:
                t0 = time.perf_counter()
                res = reconstruct(mel, cfg, method=method, seed=args.seed, progress=not args.quiet, **kw)
                wall = time.perf_counter() - t0
                results[label] = res
                with _hold_sigint() as held:
                    # 32-bit float: a reconstruction may peak slightly above the original; keep it unclipped
                    wav = io.save_audio(out / f"{name}_{label.lower().replace('+', '_')}.wav", res.audio,
                                        cfg.sample_rate, subtype="FLOAT")
                written.append(wav.name)
                m = metrics.evaluate(audio, res.audio, cfg)
                iters = "+".join(str(e - s) for _, s, e in res.stages)
                rows.append(dict(preset=name, method=label, iters=iters, seconds=wall, **m))
                if res.interrupted or held:
                    raise KeyboardInterrupt
            fig = comparison_figure(audio, results, cfg)
            fig.suptitle(f"{Path(args.input).name} — preset {name}")
            with _hold_sigint() as held, io.atomic_path(out / f"{name}.png") as tmp:
                fig.savefig(tmp, dpi=110, format="png")
            written.append(f"{name}.png")
            import matplotlib.pyplot as plt

            plt.close(fig)
            if held:
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        interrupted = True
        print("melrecon: interrupted; writing the results so far.", file=sys.stderr)
    table = metrics_table(rows, DEMO_COLUMNS)
    report = (f"# melrecon demo\n\nInput: `{Path(args.input).name}`; GL = fast Griffin-Lim (momentum 0.99), "
              f"GL+GD = the same GL then Adam on the STFT (consistency + Mel error), default = melrecon's "
              f"default method for audio it analysed (`{default_method('analysis')}`). Metrics against the input audio; Mel SC = Mel spectral "
              f"convergence.\n\n{table}\n")
    with _hold_sigint() as held:
        with io.atomic_path(out / "metrics.md") as tmp:
            tmp.write_text(report)
        with io.atomic_path(out / "metrics.json") as tmp:
            tmp.write_text(json.dumps(rows, indent=2))
    print(table)
    print(f"\nwrote {out}/ ({', '.join(written + ['metrics.md', 'metrics.json'])})")
    return _interrupted_status() if interrupted or held else 0


def _light_parser() -> argparse.ArgumentParser:
    """``melrecon``, ``melrecon --help``, ``melrecon --version``: the commands by name only, so that no
    method table is built and JAX is not imported."""
    from .. import __version__

    parser = argparse.ArgumentParser(prog="melrecon", description="Recover audio from Mel spectrograms.",
                                     epilog="`melrecon COMMAND --help` describes a command's options.")
    parser.add_argument("--version", action="version", version=f"melrecon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in COMMANDS.items():
        sub.add_parser(name, help=text)
    return parser


#: Pipelines listed by ``melrecon methods`` besides the named methods (the README and the workbench use them).
COMMON_PIPELINES = ("gl+gd", "gl+lbfgs", "agla+gd", "gl+waveform")


def _methods_listing() -> str:
    """``melrecon methods``: the named methods, then common pipelines (any methods joined with +)."""
    from ..methods.resolve import describe_line, describe_methods

    lines = [describe_methods(), "", "pipelines (any methods joined with +; each stage starts from the previous "
             "stage's STFT), e.g.:"]
    lines += [describe_line(name, " [the seed's process]" if name == "gl+gd" else "") for name in COMMON_PIPELINES]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0].startswith("-"):
        _light_parser().parse_args(argv)  # prints the help or the version and exits (or says what is missing)
    parser = _parser()
    args = parser.parse_args(argv)
    from ..core import cache as _cache

    cache_dir = getattr(args, "cache_dir", None)  # commands that compile nothing have no --cache-dir
    _cache.enable(cache_dir, force=cache_dir is not None)  # before the first compilation
    previous_showwarning = warnings.showwarning
    warnings.showwarning = _show_warning  # "melrecon: warning: ..." instead of file:line noise
    from .batch.jobs import disk_full_message, terminate_as_interrupt

    with terminate_as_interrupt():  # SIGTERM stops a run like Ctrl-C; the exit status is then 143
        try:
            if args.command == "invert":
                return cmd_invert(args)
            if args.command == "demo":
                return cmd_demo(args)
            if args.command == "batch":
                return cmd_batch(args)
            if args.command == "stream":
                return cmd_stream(args)
            if args.command == "listen":
                from .listening.cli import cmd_listen
                return cmd_listen(args)
            if args.command in ("presets", "config"):
                return cmd_conventions(args)
            if args.command == "methods":
                print(_methods_listing())
                return 0
        except ParameterError as exc:
            return _error(str(exc))
        except KeyboardInterrupt:
            print("melrecon: interrupted (nothing was written).", file=sys.stderr)
            return _interrupted_status()
        except OSError as exc:  # e.g. disk full while writing: the destination is left untouched
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            return _error(disk_full_message(exc, exc.filename or "the output") or f"{exc.strerror or exc}{where}",
                          EXIT_FAILURE)
        except FloatingPointError as exc:
            return _error(str(exc), EXIT_FAILURE)
        finally:
            warnings.showwarning = previous_showwarning
        return _error(f"unknown command {args.command!r}")  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
