"""``melrecon methods``, ``melrecon presets`` and ``melrecon config``: what the package holds, as text."""

from __future__ import annotations

from ...methods.resolve import describe_line, describe_methods
from .config_args import config_toml, presets_table

__all__ = ["cmd_methods", "cmd_conventions", "COMMON_PIPELINES", "methods_listing"]


#: Pipelines listed by ``melrecon methods`` besides the named methods (the README and the workbench use them).
COMMON_PIPELINES = ("gl+gd", "gl+lbfgs", "agla+gd", "gl+waveform")


def methods_listing() -> str:
    """``melrecon methods``: the named methods, then common pipelines (any methods joined with +)."""
    lines = [describe_methods(), "", "pipelines (any methods joined with +; each stage starts from the previous "
             "stage's STFT), e.g.:"]
    lines += [describe_line(name, " [the seed's process]" if name == "gl+gd" else "") for name in COMMON_PIPELINES]
    return "\n".join(lines)


def cmd_conventions(args) -> int:
    presets = args.command == "presets"
    print(presets_table() if presets else config_toml(args.preset), end="\n" if presets else "")
    return 0


def cmd_methods(args) -> int:
    """``melrecon methods``."""
    print(methods_listing())
    return 0
