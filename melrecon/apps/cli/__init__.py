"""The ``melrecon`` command: ``invert`` a file, ``batch`` a folder, ``stream`` frames, run the ``demo``.

Exit status: 0 on success; 1 when the work failed for another reason (a file could not be written, the
reconstruction diverged or made no progress (output Mel SC above 0.9; the file is written all the same), some
files of a ``batch`` failed or made no progress: listed in its summary, or the disk is full); 2 on a usage or
input error (the message names the parameter and the fix); 130 when interrupted by Ctrl-C (SIGINT) and 143 when
ended by SIGTERM, in both cases after writing the best result so far (``invert``) or finishing the file being
written (``batch``). Every file is written through a temporary file and renamed into place; a signal during that
write is held until the file is complete, and a full disk leaves no partial file (a clear message).

The package: this module (the commands by name, the exit statuses, :func:`main`) imports nothing heavy, so that
``melrecon``, ``--help`` and ``--version`` never load JAX; :mod:`~melrecon.apps.cli.run` builds the full parser
(:mod:`~melrecon.apps.cli.parser`) and runs one command's module (``invert``, ``batch``, ``demo``, ``info``,
and :mod:`melrecon.apps.listening.cli`).
"""

from __future__ import annotations

import sys

from ... import __version__
from .wording import Parser

__all__ = ["main", "COMMANDS", "EXIT_FAILURE", "EXIT_USAGE", "EXIT_INTERRUPTED", "EXIT_TERMINATED"]

#: The commands and their one-line help (shared by the full parser and the light one of --help/--version).
COMMANDS = {
    "invert": "reconstruct audio from an audio file's Mel spectrogram or a mel file",
    "batch": "invert every audio / mel file of a folder (resumable, batched)",
    "methods": "list the named methods: their stages, families and iterations per effort level",
    "demo": "GL vs GL+GD on the bundled sample at the seed and hifigan presets",
    "presets": "list the presets (toolkit conventions) with their citations",
    "config": "print a TOML settings file to start from (use it with --config)",
    "stream": "invert raw float32 Mel frames from stdin to raw float32 PCM on stdout as they arrive",
    "listen": "listening tests: build a MUSHRA / ABX test and its shareable page, collect answers, report",
}


EXIT_FAILURE = 1


EXIT_USAGE = 2


EXIT_INTERRUPTED = 130


EXIT_TERMINATED = 143  # SIGTERM (128 + 15)


def _light_parser() -> Parser:
    """``melrecon``, ``melrecon --help``, ``melrecon --version``: the commands by name only, so that no
    method table is built and JAX is not imported."""
    parser = Parser(prog="melrecon", description="Recover audio from Mel spectrograms.",
                    epilog="`melrecon COMMAND --help` describes a command's options.")
    parser.add_argument("--version", action="version", version=f"melrecon {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in COMMANDS.items():
        sub.add_parser(name, help=text)
    return parser


def main(argv=None) -> int:
    """Run the ``melrecon`` command with ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0].startswith("-"):
        _light_parser().parse_args(argv)  # prints the help or the version and exits (or says what is missing)
    # One of the CLI's two imports inside a function (the other: a command's module, in run.py): everything
    # from here on loads JAX, which `melrecon`, `--help` and `--version` above never do.
    from .run import run  # noqa: PLC0415 - keeps `melrecon`, --help and --version free of JAX (see above)

    return run(argv)
