"""``melrecon listen``: build a test from folders of wavs, write its shareable page, collect answers, report.

::

    melrecon listen new TEST_DIR --reference REF_DIR --condition NAME=DIR [--condition ...] [--kind abx]
    melrecon listen build TEST_DIR out.html
    melrecon listen collect DIR_OR_FILES... [--test TEST_DIR] [--into TEST_DIR]
    melrecon listen report DIR [--test TEST_DIR] [--scores scores.json] [--out DIR]

Errors are :class:`~melrecon.core.config.ParameterError`; ``melrecon`` prints them and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import soundfile as sf

from ... import io
from ...core.config import ParameterError
from .answers import collect
from .build import build_abx, build_mushra
from .page import build_page
from .report import analyse

__all__ = ["add_listen_command", "cmd_listen", "HELP"]

HELP = "listening tests: build a MUSHRA / ABX test and its shareable page, collect answers, report"


def add_listen_command(subparsers) -> argparse.ArgumentParser:
    """Add ``listen`` and its sub-commands (``new``, ``build``, ``collect``, ``report``) to ``subparsers``."""
    p = subparsers.add_parser("listen", help=HELP, description=HELP)
    sub = p.add_subparsers(dest="listen_command", required=True)
    new = sub.add_parser("new", help="build a test from folders of wavs (one folder per condition, same file names)")
    new.add_argument("test_dir", help="the test folder to write (test.json and audio/)")
    new.add_argument("--reference", required=True, metavar="DIR", help="folder of the original wavs (the clips)")
    new.add_argument("--condition", action="append", required=True, metavar="NAME=DIR",
                     help="a condition: its name and the folder of its wavs, named as the reference's (repeat)")
    new.add_argument("--kind", choices=("mushra", "abx"), default="mushra", help="the test (default mushra)")
    new.add_argument("--sample-rate", type=int, default=None, help="default: the first reference file's")
    new.add_argument("--seed", type=int, default=0, help="orders the trials and conditions (default 0)")
    new.add_argument("--trials-per-pair", type=int, default=10, help="ABX trials per pair (default 10)")
    new.add_argument("--overwrite", action="store_true", help="replace a test already in TEST_DIR")
    build = sub.add_parser("build", help="write the test's shareable page: one self-contained HTML file")
    build.add_argument("test_dir", help="the test folder (holding test.json)")
    build.add_argument("out", help="the .html file to write")
    build.add_argument("--title", default=None, help="the page's heading (default: the kind of test)")
    col = sub.add_parser("collect", help="read answer files (the page's downloads) back and list them")
    col.add_argument("paths", nargs="+", metavar="DIR_OR_FILE", help="answer files or folders of them")
    col.add_argument("--test", default=None, metavar="TEST_DIR", help="check every file answers this test")
    col.add_argument("--into", default=None, metavar="DIR", help="copy them there as <listener>.json")
    rep = sub.add_parser("report", help="means with 95 %% CIs after post-screening (MUSHRA), binomial p (ABX)")
    rep.add_argument("dir", help="the test folder with its answers, or a folder of answers (then --test)")
    rep.add_argument("--test", default=None, metavar="TEST_DIR", help="the test, when DIR holds only answers")
    rep.add_argument("--scores", default=None, metavar="JSON",
                     help='objective scores per condition label, {"PESQ-wb": {"label": 4.1, ...}, ...}')
    rep.add_argument("--out", default=None, metavar="DIR", help="where report.md/.png/.json go (default DIR)")
    rep.add_argument("--no-screen", action="store_true", help="keep every listener (no post-screening)")
    return p


def _folder_clips(folder: str) -> dict[str, Path]:
    path = Path(folder)
    if not path.is_dir():
        raise ParameterError(f"{folder!r} is not a folder; --reference and --condition take folders of audio files.")
    clips = {p.stem: p for p in sorted(path.iterdir()) if p.suffix.lower() in io.AUDIO_SUFFIXES}
    if not clips:
        raise ParameterError(f"{folder!r} holds no audio file ({', '.join(io.AUDIO_SUFFIXES)}).")
    return clips


def _cmd_new(args) -> int:
    reference = _folder_clips(args.reference)
    conditions = {}
    for spec in args.condition:
        name, sep, folder = spec.partition("=")
        if not sep or not name or not folder:
            raise ParameterError(f"--condition {spec!r} must be NAME=DIR, e.g. --condition 'fast GL'=out/fgla.")
        conditions[name] = _folder_clips(folder)
    rate = args.sample_rate or sf.info(str(next(iter(reference.values())))).samplerate
    if args.kind == "mushra":
        test = build_mushra(reference, conditions, args.test_dir, sample_rate=rate, seed=args.seed,
                            overwrite=args.overwrite)
    else:
        test = build_abx(conditions, args.test_dir, sample_rate=rate, reference=reference, seed=args.seed,
                         trials_per_pair=args.trials_per_pair, overwrite=args.overwrite)
    print(f"{test.folder}/test.json: {test.kind.upper()} test {test.name!r}, {len(test.trials)} trials, "
          f"{len(test.conditions)} conditions")
    return 0


def _cmd_collect(args) -> int:
    found = collect(args.paths, test=args.test)
    for res in found:
        state = "finished" if res.finished else "unfinished"
        print(f"{res.listener}: {len(res.answers)} answers ({state}, {res.kind}, from the {res.source}) "
              f"<- {res.path}")
    if args.into:
        into = Path(args.into)
        into.mkdir(parents=True, exist_ok=True)
        for res in found:
            with io.atomic_path(into / f"{res.listener}.json") as tmp:
                tmp.write_text(json.dumps(res.record, indent=1))
        print(f"copied {len(found)} answer file(s) into {into}/")
    if not found:
        print("no answer files found")
    return 0


def _cmd_report(args) -> int:
    scores = None
    if args.scores:
        try:
            scores = json.loads(Path(args.scores).read_text())
        except (OSError, ValueError) as exc:
            raise ParameterError(f"--scores {args.scores!r} could not be read as JSON ({exc}).") from None
    report = analyse(args.test or args.dir, args.dir, scores=scores, screen=not args.no_screen)
    print(report.markdown())
    written = report.save(args.out or args.dir)
    print("\nwrote " + ", ".join(str(p) for p in written))
    return 0


def cmd_listen(args) -> int:
    """Run ``melrecon listen <sub-command>``; returns the exit status (errors raise ParameterError)."""
    if args.listen_command == "build":
        out = build_page(args.test_dir, args.out, title=args.title)
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): open it in a browser; no server needed")
        return 0
    return {"new": _cmd_new, "collect": _cmd_collect, "report": _cmd_report}[args.listen_command](args)
