"""What the ``melrecon`` commands share: the error line, the interrupted exit status, holding signals while a file
is written, and the method flags turned into ``reconstruct``'s keyword arguments (the user's raw choices, checked
against the resolver's reading of them)."""

from __future__ import annotations

import sys
from pathlib import Path

from ...core.config import ParameterError
from ...methods.options import STAGE_OPTIONS, check_stage_options, parse_iters
from ...methods.resolve import resolve, source_of
from ..batch import jobs
from . import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE
from .wording import cli_words

__all__ = ["REPLACED", "error", "hold_signals", "interrupted_status", "refuse_replaced", "method_kwargs",
           "show_warning"]

REPLACED = ("--gl-iters", "--gd-iters")

def error(msg: str, status: int = EXIT_USAGE) -> int:
    """Print ``melrecon: error: MSG`` (its API keywords as the command's flags); returns ``status``."""
    print(f"melrecon: error: {cli_words(msg)}", file=sys.stderr)
    return status

def hold_signals():
    """Hold Ctrl-C (SIGINT) and SIGTERM while a result is being written (:func:`melrecon.apps.batch.jobs.hold_signals`).

    The write completes; the caller then exits with status 130 (or 143 after SIGTERM).
    """
    return jobs.hold_signals()

def interrupted_status() -> int:
    """130 after Ctrl-C, 143 after SIGTERM."""
    return EXIT_TERMINATED if jobs.terminated() else EXIT_INTERRUPTED

def refuse_replaced(args) -> None:
    """Flags replaced by ``--iters`` say so."""
    for flag in REPLACED:
        if getattr(args, flag[2:].replace("-", "_"), None) is not None:
            raise ParameterError(f"{flag} was replaced by --iters, one count per stage of --method "
                                 f"(e.g. --method gl+gd --iters 200,500); see melrecon {args.command} --help.")

def method_kwargs(args, path: Path | None = None) -> dict:
    """The keyword arguments of ``reconstruct`` for the method flags: the user's raw choices, checked against
    what :func:`melrecon.methods.resolve.resolve` makes of them (an option no stage takes, or a ``--seed`` that
    nothing uses, is an error). ``path`` is the input file, whose kind gives the mel's source unless
    ``--mel-source`` does."""
    refuse_replaced(args)
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

def show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as ``melrecon: warning: ...`` lines, without file:line (API keywords as the command's flags)."""
    print(f"melrecon: warning: {cli_words(str(message))}", file=sys.stderr)
