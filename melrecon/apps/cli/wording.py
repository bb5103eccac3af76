"""What the user of the ``melrecon`` command reads, in the command's words.

* Usage errors (:class:`Parser`): a one-line usage, the error, the flag meant by a mistyped one ("did you mean
  --iters?") and where the full help is, instead of argparse's whole usage block.
* The package's messages (:class:`~melrecon.core.config.ParameterError`, warnings) name the API's keywords
  (``compression='db'``, ``n_mels=80``); :class:`FlagWords` shows each as the command's flag (``--compression
  db``, ``--n-mels 80``), reading the flags off the command's parser, so that a new flag needs no entry here.
  A message may name the command-line form itself where the keyword is not a flag's: ``overwrite=True (CLI:
  --force)`` reads ``--force``. :func:`cli_words` turns a message into the running command's words (:func:`run`
  sets the command with :func:`speaking_for`).

Imports nothing heavy: the light parser of ``melrecon --help`` is a :class:`Parser` too.
"""

from __future__ import annotations

import argparse
import contextlib
import contextvars
import difflib
import re

__all__ = ["Parser", "FlagWords", "speaking_for", "cli_words", "ALIASES"]


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are short: ``usage: melrecon invert [options] input output``,
    the error (with ``did you mean --iters?`` for a mistyped option), and ``see `melrecon invert --help```.
    Its sub-commands' parsers are of this class too (argparse makes them of the parent's class)."""

    #: The sub-commands' action once added (its ``choices``: name -> parser), else None.
    commands = None

    def add_subparsers(self, **kwargs):
        self.commands = super().add_subparsers(**kwargs)
        return self.commands

    def innermost(self, args: argparse.Namespace) -> Parser:
        """The parser of the (sub-)command that ``args`` runs: ``melrecon listen new`` -> its ``new`` parser."""
        parser = self
        while parser.commands is not None and getattr(args, parser.commands.dest, None) in parser.commands.choices:
            parser = parser.commands.choices[getattr(args, parser.commands.dest)]
        return parser

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but arguments nobody takes are reported by the (sub-)command they were given to."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = self.innermost(parsed)
            command.error(f"unrecognized arguments: {' '.join(extras)}{command.suggestion(extras)}")
        return parsed

    def suggestion(self, extras: list[str]) -> str:
        """``; did you mean --iters?`` for the options among ``extras`` close to one of this parser's flags."""
        flags = [option for action in self._actions for option in action.option_strings if option.startswith("--")]
        guesses = {}
        for extra in extras:
            given = extra.split("=", 1)[0]
            close = difflib.get_close_matches(given, flags, n=1) if given.startswith("-") else []
            if close:
                guesses[given] = close[0]
        if len(guesses) == 1:
            return f"; did you mean {next(iter(guesses.values()))}?"
        return "".join(f"; {given}: did you mean {flag}?" for given, flag in guesses.items())

    def short_usage(self) -> str:
        """``usage: melrecon invert [options] input output``: the positional arguments only."""
        return " ".join([f"usage: {self.prog} [options]"] + [_positional(a) for a in self._actions
                                                            if not a.option_strings])

    def error(self, message: str):
        self.exit(2, f"{self.short_usage()}\n{self.prog}: error: {message}\nsee `{self.prog} --help`\n")


def _positional(action: argparse.Action) -> str:
    if action.nargs == argparse.PARSER:  # the sub-commands
        return "{%s} ..." % ",".join(action.choices)
    name = action.metavar or action.dest
    return {argparse.ONE_OR_MORE: f"{name} [{name} ...]", argparse.ZERO_OR_MORE: f"[{name} ...]",
            argparse.OPTIONAL: f"[{name}]"}.get(action.nargs, name)


#: API keywords that are another flag's: the API's ``config`` is a preset's name
#: (``reconstruct(mel, config='hifigan')``), which the command takes as ``--preset`` (its ``--config`` is a file).
ALIASES = {"config": "preset"}

_QUOTED = r"'[^']*'|\"[^\"]*\""
#: A keyword's value: quoted strings (alternatives too: ``'log', 'log10' or 'db'``), None/True/False, a number.
_VALUE = rf"(?:{_QUOTED})(?:(?:,| or|, or) (?:{_QUOTED}))*|None|True|False|-?\d+(?:\.\d+)?(?:e[-+]?\d+)?"
_KEYWORD = re.compile(rf"(?<![\w.])([a-z][a-z0-9_]*)=({_VALUE})")
#: ``keyword=value (CLI: --flag ...)``: the message's own command-line form.
_CLI_FORM = re.compile(r"(?<![\w.])[a-z][a-z0-9_]*=\S+? \(CLI: ([^)]*)\)")
#: "use a config with compression='db'" -> "use --compression db"
_CONFIG_WITH = re.compile(r"\ba config with (?=--)")


class FlagWords:
    """A message in the words of one command: each ``keyword=value`` of a flag of ``parser`` as that flag.

    The keywords of a flag are its destination (``cfg_`` dropped: the analysis settings) and its option
    strings (``--n-iter`` -> ``n_iter``); a switch shows the option that sets the value (``center=False`` ->
    ``--no-center``, ``mel_scale='htk'`` -> ``--htk``); ``None`` reads ``none``.
    """

    def __init__(self, parser: argparse.ArgumentParser):
        self.actions: dict[str, list[argparse.Action]] = {}
        for action in parser._actions:
            keys = {option.lstrip("-").replace("-", "_") for option in action.option_strings}
            for key in keys | ({action.dest.removeprefix("cfg_")} if keys else set()):
                self.actions.setdefault(key, []).append(action)
        self.actions.update({api: self.actions[key] for api, key in ALIASES.items() if key in self.actions})

    def __call__(self, text: str) -> str:
        text = _CLI_FORM.sub(r"\1", text)
        return _CONFIG_WITH.sub("", _KEYWORD.sub(self._flag, text))

    def _flag(self, match: re.Match) -> str:
        key, value = match.groups()
        for action in self.actions.get(key, ()):
            if isinstance(action, argparse.BooleanOptionalAction) and value in ("True", "False"):
                return action.option_strings[value == "False"]
            if action.nargs == 0:  # store_const / store_true: the switch whose constant this is
                if repr(action.const) == value:
                    return action.option_strings[0]
                continue
            values = re.sub(_QUOTED, lambda quoted: quoted.group(0)[1:-1], value)
            return f"{action.option_strings[0]} {'none' if values == 'None' else values}"
        return match.group(0)


_SPEAKING: contextvars.ContextVar[FlagWords | None] = contextvars.ContextVar("cli_words", default=None)


@contextlib.contextmanager
def speaking_for(parser: argparse.ArgumentParser):
    """Within this block, :func:`cli_words` names the flags of ``parser`` (the running command's)."""
    token = _SPEAKING.set(FlagWords(parser))
    try:
        yield
    finally:
        _SPEAKING.reset(token)


def cli_words(text: str) -> str:
    """``text`` (an error, a warning, a report) with the API's keywords as the running command's flags."""
    words = _SPEAKING.get()
    return text if words is None else words(text)
