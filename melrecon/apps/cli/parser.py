"""The full parser of the ``melrecon`` command: every command's flags, their help generated from what the methods
say of themselves (:mod:`melrecon.methods.options`, the method records, the resolver's defaults)."""

from __future__ import annotations

import argparse

from ... import __version__
from ...core.config import PRESETS
from ...methods.options import STAGE_OPTIONS, iters_help, stage_options
from ...methods.registry import DEFAULT_EFFORT, EFFORTS, EXACT_METHOD, METHODS, STREAMING
from ...methods.resolve import DEFAULT_METHODS, SOURCES, describe
from ..batch.engines import ENGINES
from ..listening.cli import add_listen_command
from . import COMMANDS
from .common import REPLACED
from .config_args import add_config_args
from .wording import Parser

__all__ = ["build_parser", "add_cache_arg"]

def _methods_taking(option: str, methods, value: object = "lbfgs") -> list[str]:
    """The single methods among ``methods`` a stage of which takes ``option`` given as ``value``."""
    return [m for m in methods if "+" not in m and stage_options(m, {option: value})]


def _add_method_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--method", default=None,
                   help="one of %s or a pipeline joining them with + (default: by --mel-source, %s for audio inputs, "
                        "%s for mel files); `melrecon methods` lists their stages"
                        % (", ".join(sorted(METHODS)), DEFAULT_METHODS["analysis"], DEFAULT_METHODS["predicted"]))
    p.add_argument("--mel-source", default=None, choices=SOURCES,
                   help="where the mel came from (default: analysis for an audio input, melrecon computed the mel; "
                        "predicted for a mel file, e.g. an acoustic model's): chooses the default --method")
    shown = [EXACT_METHOD, "gl+gd"] + [m for m in sorted(METHODS) if m != "gl"]
    p.add_argument("--effort", default=None, choices=EFFORTS,
                   help="how much work the inversion gets when --iters is not given (default %s; `melrecon methods` "
                        "lists each method's counts per level)" % DEFAULT_EFFORT)
    p.add_argument("--iters", "--n-iter", dest="iters", default=None, metavar="N[,N...]",
                   help=iters_help(dict.fromkeys(shown)).replace("%", "%%"))
    for flag in REPLACED:  # replaced by --iters; kept only to say so
        p.add_argument(flag, dest=flag[2:].replace("-", "_"), default=None, help=argparse.SUPPRESS)
    _add_stage_option_args(p, shown)
    p.add_argument("--seed", type=int, default=None, metavar="N",
                   help="random seed of a random initial phase (default 0); taken by the methods that start from "
                        "a random phase: %s" % ", ".join(m for m in shown if describe(m).random_start))
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_cache_arg(p)


def _add_stage_option_args(p: argparse.ArgumentParser, shown) -> None:
    """Flags of the stages' own options (:data:`melrecon.methods.options.STAGE_OPTIONS`); each help lists the
    methods that take it (asked of the stages)."""
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


def add_cache_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cache-dir", default=None, metavar="DIR|off",
                   help="compilation cache folder, or 'off' (default: $MELRECON_CACHE_DIR, else "
                        "~/.cache/melrecon/jax): a second run loads the compiled loops instead of compiling")


def build_parser() -> Parser:
    parser = Parser(prog="melrecon", description="Recover audio from Mel spectrograms.")
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
    bat.add_argument("--num-cpus", type=float, default=None, metavar="N",
                     help="with --engine ray: CPUs per worker (default 1)")
    bat.add_argument("--num-gpus", type=float, default=None, metavar="N",
                     help="with --engine ray: GPUs per worker (default 0)")

    sub.add_parser("methods", help=COMMANDS["methods"],
                   description="List the named methods and common pipelines (such as gl+gd): each one's stages, "
                               "their families (projection / gradient) and iterations at each effort level. Any "
                               "methods joined with + form a pipeline (melrecon invert --method A+B).")
    _add_convention_commands(sub)
    add_listen_command(sub)
    demo = sub.add_parser("demo", help=COMMANDS["demo"])
    demo.add_argument("--input", default=None, help="audio file (default: the bundled sample, melrecon.apps.examples)")
    demo.add_argument("--out", default="results/demo", help="output folder (default results/demo)")
    demo.add_argument("--presets", default="seed,hifigan", help="comma-separated presets")
    demo.add_argument("--iters", "--n-iter", dest="iters", default="200,1000", metavar="GL,GD",
                      help="iterations per stage of the GL+GD row, as invert's --iters; the GL row runs the first "
                           "(default %(default)s)")
    for flag in REPLACED:  # replaced by --iters; kept only to say so
        demo.add_argument(flag, dest=flag[2:].replace("-", "_"), default=None, help=argparse.SUPPRESS)
    demo.add_argument("--default-iters", default=None, metavar="N[,N...]",
                      help="iterations per stage of the default method's row, one count or one per stage "
                           "(default: its own defaults)")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quiet", action="store_true")
    add_cache_arg(demo)
    return parser


def _add_stream_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lookahead", type=int, default=4, metavar="N",
                   help="with streaming: frames iterated after the newest before the oldest is committed (latency: "
                        "N frames plus one window; default %(default)s)")


def _add_stream_command(sub) -> None:
    """``melrecon stream``: ``model | melrecon stream --preset hifigan | aplay -f FLOAT_LE -r 22050``."""
    st = sub.add_parser("stream", help=COMMANDS["stream"], description=COMMANDS["stream"] + " (n_mels values per "
                        "frame, little-endian, frame-major; mono PCM at the preset's rate)")
    add_config_args(st)
    _add_stream_args(st)
    levels = ", ".join(f"{e} {STREAMING.level(e).counts[0]}" + (" (default)" if e == DEFAULT_EFFORT else "")
                       for e in EFFORTS)
    st.add_argument("--effort", default=None, choices=EFFORTS, help=f"iterations per frame: {levels}")
    st.add_argument("--iters", type=int, default=None, metavar="N", help="iterations per frame (overrides --effort)")


def _add_convention_commands(sub) -> None:
    """``melrecon presets`` and ``melrecon config``."""
    sub.add_parser("presets", help=COMMANDS["presets"])
    conf = sub.add_parser("config", help=COMMANDS["config"])
    conf.add_argument("--preset", default="hifigan", choices=sorted(PRESETS), help="preset to print (default hifigan)")
