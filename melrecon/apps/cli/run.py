"""Run one ``melrecon`` command: the full parser, the compile cache, signals, warnings and errors as exit statuses
(:mod:`melrecon.apps.cli`), and the command's own module."""

from __future__ import annotations

import importlib
import sys
import warnings

from ...core import cache
from ...core.config import ParameterError
from ..batch.jobs import disk_full_message, terminate_as_interrupt
from . import EXIT_FAILURE
from .common import error, interrupted_status, show_warning
from .parser import build_parser
from .wording import speaking_for

__all__ = ["run", "HANDLERS"]

#: Command -> (module, function). The module is imported when its command runs (the CLI's other import inside a
#: function): ``invert`` loads no plotting, ``demo`` loads matplotlib, ``batch --engine ray`` loads Ray.
HANDLERS = {
    "invert": (".invert", "cmd_invert"),
    "stream": (".invert", "cmd_stream"),
    "batch": (".batch", "cmd_batch"),
    "demo": (".demo", "cmd_demo"),
    "methods": (".info", "cmd_methods"),
    "presets": (".info", "cmd_conventions"),
    "config": (".info", "cmd_conventions"),
    "listen": ("melrecon.apps.listening.cli", "cmd_listen"),
}


def run(argv: list[str]) -> int:
    """Parse ``argv`` with the full parser and run its command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    cache_dir = getattr(args, "cache_dir", None)  # commands that compile nothing have no --cache-dir
    cache.enable(cache_dir, force=cache_dir is not None)  # before the first compilation
    previous_showwarning = warnings.showwarning
    warnings.showwarning = show_warning  # "melrecon: warning: ..." instead of file:line noise
    module, function = HANDLERS[args.command]
    # SIGTERM stops a run like Ctrl-C (the exit status is then 143); messages name the command's flags
    with terminate_as_interrupt(), speaking_for(parser.innermost(args)):
        try:
            return getattr(importlib.import_module(module, __package__), function)(args)
        except ParameterError as exc:
            return error(str(exc))
        except KeyboardInterrupt:
            print("melrecon: interrupted (nothing was written).", file=sys.stderr)
            return interrupted_status()
        except OSError as exc:  # e.g. disk full while writing: the destination is left untouched
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            return error(disk_full_message(exc, exc.filename or "the output") or f"{exc.strerror or exc}{where}",
                         EXIT_FAILURE)
        except FloatingPointError as exc:
            return error(str(exc), EXIT_FAILURE)
        finally:
            warnings.showwarning = previous_showwarning
