"""A listener's answers: one JSON file per listener, rewritten atomically after every answer, and read back.

``Session(test, listener)`` keeps ``<folder>/<listener>.json`` (the test's folder by default, e.g.
``results/listening/<test>/alice.json``). Each answer replaces the file in one rename (a temporary file beside
it, flushed, then :func:`os.replace`), so a kernel killed mid-test leaves the answers given so far and never a
half-written file; a new session for the same listener resumes at the first unanswered trial.

The file is the same whether the notebook widget or the shareable page wrote it::

    {"format": "melrecon-listening-results", "version": 1, "test": NAME, "test_id": ID, "kind": "mushra",
     "listener": "alice", "seed": 0, "source": "notebook" | "page", "started": ISO, "updated": ISO,
     "finished": ISO | null,
     "answers": [{"trial": "t01", "order": [...], "ratings": {"c1a2b": 87, ...}, "seconds": 31.2, "time": ISO}]}

An ABX answer is ``{"trial": "t01", "choice": "A" | "B", "seconds": ..., "time": ...}``.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from ... import io
from ...core.config import ParameterError
from .build import ListeningTest, load_test

__all__ = ["Session", "Results", "collect", "check_listener", "RESULTS_FORMAT"]

#: The ``format`` field of a listener's answer file.
RESULTS_FORMAT = "melrecon-listening-results"
_LISTENER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def check_listener(listener: str) -> str:
    """A listener's name, checked: it names the answer file (``<listener>.json``)."""
    if not isinstance(listener, str) or not _LISTENER.match(listener) or listener.lower() == "test":
        raise ParameterError(f"listener={listener!r} must be 1-64 letters, digits, '.', '_' or '-' (starting with a "
                             f"letter or digit) and not 'test'; it names the answer file. Try e.g. 'alice'.")
    return listener


@dataclass
class Results:
    """One listener's answers to one test (a parsed answer file).

    Attributes
    ----------
    listener, test_id, kind, source : str
        Who answered, which test (its digest), ``mushra``/``abx``, ``notebook``/``page``.
    answers : dict
        Trial id -> answer (see the module docstring).
    record : dict
        The whole file's content.
    path : Path or None
        Where it was read from.
    """

    listener: str
    test_id: str
    kind: str
    source: str
    answers: dict = field(default_factory=dict)
    record: dict = field(default_factory=dict, repr=False)
    path: Path | None = None

    @classmethod
    def from_record(cls, record: dict, path: Path | None = None) -> "Results":
        where = str(path) if path else "the answers"
        if not isinstance(record, dict) or record.get("format") != RESULTS_FORMAT:
            raise ParameterError(f"{where} is not a melrecon listening-test answer file (format {RESULTS_FORMAT!r}); "
                                 f"pass the JSON files the page or the notebook wrote.")
        try:
            answers = {a["trial"]: a for a in record["answers"]}
            return cls(check_listener(record["listener"]), str(record["test_id"]), record["kind"],
                       record.get("source", "?"), answers, record, path)
        except (KeyError, TypeError) as exc:
            raise ParameterError(f"{where} lacks {exc} or is malformed; it was not written by melrecon.") from None

    @property
    def finished(self) -> bool:
        """Whether the listener answered the last trial (``finished`` set)."""
        return bool(self.record.get("finished"))


class Session:
    """One listener taking one test: the answers so far, the current trial, atomic saving and resuming.

    Parameters
    ----------
    test : ListeningTest or path
        The test (or its folder).
    listener : str
        The listener's name; the answers go to ``<folder>/<listener>.json``.
    folder : path, optional
        Where the answer file goes (default: the test's folder).
    source : str
        Recorded in the file: ``"notebook"`` (the widget) or ``"page"``.
    """

    def __init__(self, test: ListeningTest | str | Path, listener: str, *, folder: str | Path | None = None,
                 source: str = "notebook"):
        self.test = load_test(test)
        self.listener = check_listener(listener)
        self.path = Path(folder or self.test.folder) / f"{listener}.json"
        self.results = self._read() if self.path.exists() else Results(
            listener, self.test.id, self.test.kind, source, {}, {
                "format": RESULTS_FORMAT, "version": 1, "test": self.test.name, "test_id": self.test.id,
                "kind": self.test.kind, "listener": listener, "seed": self.test.spec["seed"], "source": source,
                "started": _now(), "updated": None, "finished": None, "answers": []})
        self._shown = time.monotonic()

    def _read(self) -> Results:
        try:
            record = json.loads(self.path.read_text())
        except ValueError as exc:
            raise ParameterError(f"{self.path} is not valid JSON ({exc}); move it aside to start this listener "
                                 f"afresh (answer files are written atomically: something else changed it)."
                                 ) from None
        res = Results.from_record(record, self.path)
        if res.test_id != self.test.id:
            raise ParameterError(f"{self.path} answers test {res.test_id}, not {self.test.id} ({self.test.name}); "
                                 f"choose another listener name or folder for this test.")
        return res

    # ------------------------------------------------------------------ state
    @property
    def trials(self) -> list[dict]:
        """The test's trials in presentation order."""
        return self.test.trials

    @property
    def index(self) -> int | None:
        """The position of the first unanswered trial (where a restarted test resumes), None when done."""
        return next((i for i, t in enumerate(self.trials) if t["id"] not in self.results.answers), None)

    @property
    def current(self) -> dict | None:
        """The first unanswered trial, or None when every trial is answered."""
        i = self.index
        return None if i is None else self.trials[i]

    @property
    def done(self) -> bool:
        return self.index is None

    @property
    def progress(self) -> tuple[int, int]:
        """(answered, total) trials."""
        return len(self.results.answers), len(self.trials)

    def started_trial(self) -> None:
        """Note the time a trial is shown (its answer records the seconds spent on it)."""
        self._shown = time.monotonic()

    # ------------------------------------------------------------------ answering
    def _trial(self, trial_id: str) -> dict:
        for t in self.trials:
            if t["id"] == trial_id:
                return t
        raise ParameterError(f"trial={trial_id!r} is not a trial of test {self.test.name!r}; "
                             f"choose one of {[t['id'] for t in self.trials]}.")

    def rate(self, trial_id: str, ratings: Mapping[str, float]) -> dict:
        """Record a MUSHRA answer: a rating 0-100 for every stimulus id of the trial; saved at once."""
        trial = self._trial(trial_id)
        if self.test.kind != "mushra":
            raise ParameterError(f"rate() answers MUSHRA trials; test {self.test.name!r} is ABX: use choose().")
        order = [s["id"] for s in trial["stimuli"]]
        if set(ratings) != set(order):
            raise ParameterError(f"ratings for trial {trial_id} name {sorted(ratings)}; rate exactly {sorted(order)}.")
        clean = {}
        for cid, value in ratings.items():
            v = float(value)
            if not (math.isfinite(v) and 0 <= v <= 100):
                raise ParameterError(f"ratings[{cid!r}]={value!r} must lie in 0..100.")
            clean[cid] = round(v, 2)
        return self._save({"trial": trial_id, "order": order, "ratings": {c: clean[c] for c in order}})

    def choose(self, trial_id: str, choice: str) -> dict:
        """Record an ABX answer: ``"A"`` or ``"B"`` (what X sounded like); saved at once."""
        self._trial(trial_id)
        if self.test.kind != "abx":
            raise ParameterError(f"choose() answers ABX trials; test {self.test.name!r} is MUSHRA: use rate().")
        if choice not in ("A", "B"):
            raise ParameterError(f"choice={choice!r} must be 'A' or 'B' (the one X sounds like).")
        return self._save({"trial": trial_id, "choice": choice})

    def _save(self, answer: dict) -> dict:
        answer.update(seconds=round(time.monotonic() - self._shown, 2), time=_now())
        self.results.answers[answer["trial"]] = answer
        record = self.results.record
        record["answers"] = [self.results.answers[t["id"]] for t in self.trials if t["id"] in self.results.answers]
        record["updated"] = answer["time"]
        record["finished"] = answer["time"] if self.done else None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with io.atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(record, indent=1))
        self.started_trial()
        return answer


def _files(paths: Iterable[str | Path]) -> list[tuple[Path, bool]]:
    """(file, named explicitly) for each answer file: files as given, the ``*.json`` of folders."""
    out = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            out += [(q, False) for q in sorted(p.glob("*.json")) if not q.name.startswith(".")]
        elif p.is_file():
            out.append((p, True))
        else:
            raise ParameterError(f"{str(p)!r} does not exist; pass answer files or folders holding them.")
    return out


def collect(paths: str | Path | Iterable[str | Path], *, test: ListeningTest | str | Path | None = None
            ) -> list[Results]:
    """Read answer files (the page's downloads, the notebook's ``<listener>.json``) back, sorted by listener.

    Parameters
    ----------
    paths : path or iterable of paths
        Answer files, or folders: their ``*.json`` answer files (other JSON files there, such as ``test.json``
        and ``report.json``, are passed over).
    test : ListeningTest or path, optional
        When given, every file must answer this test (matching ``test_id``).

    Raises
    ------
    ParameterError
        A file that is not an answer file, answers another test, or a listener found twice.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    test = load_test(test) if test is not None else None
    found: dict[str, Results] = {}
    for path, explicit in _files(paths):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ParameterError(f"{path} could not be read as JSON ({exc}); pass answer files only.") from None
        if not explicit and (not isinstance(record, dict) or record.get("format") != RESULTS_FORMAT):
            continue  # test.json, report.json and other files beside the answers
        res = Results.from_record(record, path)
        if test is not None and res.test_id != test.id:
            raise ParameterError(f"{path} answers test {res.test_id}, not {test.id} ({test.name}); leave it out or "
                                 f"pass its own test.")
        if res.listener in found:
            raise ParameterError(f"listener {res.listener!r} answered in both {found[res.listener].path} and {path}; "
                                 f"keep one of the files.")
        found[res.listener] = res
    return [found[k] for k in sorted(found)]
