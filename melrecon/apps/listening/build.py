"""Build a listening test as a folder: ``TEST_DIR/test.json`` and its stimuli in ``TEST_DIR/audio/``.

A MUSHRA test (ITU-R BS.1534-3) has one trial per clip: the open reference, and in a seeded random order the
conditions under test, a hidden copy of the reference and low-pass anchors made from the reference (3.5 kHz,
the mandatory low anchor, and 7 kHz, the mid anchor), all loudness matched by the rule of
:mod:`melrecon.apps.listening.audio` (RMS). An ABX test has, per compared pair of conditions, ``trials_per_pair``
trials cycling through the clips, X balanced between A and B (half each, in a seeded random order).

Conditions appear in ``test.json`` under opaque ids (``c`` + 4 hex digits, seeded) with their labels and roles;
pages and widgets show the ids only, so a listener is blind to what is what. Each MUSHRA trial records the order
it presents its conditions in (``order``) and the test its ``seed``. Every file is written in 16 bits with its
own one-LSB TPDF dither, so that no stimulus is a byte copy of another (the hidden reference of the open one,
ABX's X of A or B): the page's source does not give them away.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ... import io
from ...core.config import ParameterError
from .audio import DEFAULT_LEVEL_DBFS, clip_table, lowpass, match_loudness

__all__ = ["ListeningTest", "build_mushra", "build_abx", "load_test", "FORMAT", "ANCHORS_HZ", "KINDS"]

#: The ``format`` field of a test.json.
FORMAT = "melrecon-listening-test"
#: The low-pass anchors of a MUSHRA test (Hz): BS.1534-3's low (mandatory) and mid anchors.
ANCHORS_HZ = (3500.0, 7000.0)
KINDS = ("mushra", "abx")


@dataclass(frozen=True)
class ListeningTest:
    """A built test: its folder and the content of its ``test.json``.

    Attributes
    ----------
    folder : Path
        The test's folder (``test.json``, ``audio/``; answers are written beside them by default).
    spec : dict
        The parsed ``test.json``.
    """

    folder: Path
    spec: dict = field(repr=False)

    kind = property(lambda self: self.spec["kind"], doc="``'mushra'`` or ``'abx'``.")
    name = property(lambda self: self.spec["name"], doc="The test's name (its folder's name by default).")
    id = property(lambda self: self.spec["id"], doc="A digest of the trials: answers carry it to match their test.")
    trials = property(lambda self: self.spec["trials"], doc="The trials, in presentation order.")

    @property
    def conditions(self) -> dict[str, dict]:
        """Condition id -> ``{"label", "role"[, "cutoff_hz"]}``; roles: ``system``, ``reference``, ``anchor``."""
        return {c["id"]: c for c in self.spec["conditions"]}

    def label(self, cid: str) -> str:
        """The label of condition ``cid`` (what it really is)."""
        return self.conditions[cid]["label"]

    def ids_with_role(self, role: str) -> list[str]:
        """The ids of the conditions with ``role`` (``system``, ``reference`` or ``anchor``)."""
        return [c["id"] for c in self.spec["conditions"] if c["role"] == role]

    def audio_path(self, rel: str) -> Path:
        """The path of a stimulus file named in ``test.json``."""
        return self.folder / rel

    def public(self) -> dict:
        """What a listener's page or widget may know: the kind, the condition count, per trial the stimuli's
        opaque ids and files; never labels, roles, nor which of A / B an ABX trial's X is."""
        trials = []
        for t in self.trials:
            if self.kind == "mushra":
                trials.append({"id": t["id"], "reference": t["reference"],
                               "stimuli": [{"id": s["id"], "file": s["file"]} for s in t["stimuli"]]})
            else:
                trials.append({"id": t["id"], "files": dict(t["files"])})
        return {"format": FORMAT, "id": self.id, "name": self.name, "kind": self.kind,
                "n_conditions": len(self.spec["conditions"]), "seed": self.spec["seed"], "trials": trials}


def load_test(folder: str | Path | ListeningTest) -> ListeningTest:
    """Read ``folder/test.json`` (a :class:`ListeningTest` passes through)."""
    if isinstance(folder, ListeningTest):
        return folder
    folder = Path(folder)
    path = folder / "test.json" if folder.is_dir() or folder.suffix != ".json" else folder
    if not path.is_file():
        raise ParameterError(f"test={str(folder)!r} holds no test.json; build one with build_mushra / build_abx "
                             f"(or pass the folder they wrote).")
    try:
        spec = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ParameterError(f"{path} could not be read as JSON ({exc}); rebuild the test.") from None
    if not isinstance(spec, dict) or spec.get("format") != FORMAT or spec.get("kind") not in KINDS:
        raise ParameterError(f"{path} is not a melrecon listening test (format {FORMAT!r}); rebuild the test.")
    return ListeningTest(path.parent, spec)


def _condition_ids(rng: np.random.Generator, n: int) -> list[str]:
    ids: list[str] = []
    while len(ids) < n:
        cid = "c%04x" % int(rng.integers(0, 0x10000))
        if cid not in ids:
            ids.append(cid)
    return ids


def _prepare_folder(folder: str | Path, overwrite: bool) -> Path:
    folder = Path(folder)
    if (folder / "test.json").exists():
        if not overwrite:
            raise ParameterError(f"folder={str(folder)!r} already holds a test; pass overwrite=True to replace it "
                                 f"(answers to a test that changed are moved aside), or choose another folder.")
        shutil.rmtree(folder / "audio", ignore_errors=True)
    (folder / "audio").mkdir(parents=True, exist_ok=True)
    return folder


def _move_stale_answers(folder: Path, test_id: str) -> None:
    """Answer files in ``folder`` for another test (one this folder held before) go to ``superseded-<id>/``."""
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        old = record.get("test_id") if isinstance(record, dict) and "listener" in record else None
        if old and old != test_id:
            (folder / f"superseded-{old}").mkdir(exist_ok=True)
            path.replace(folder / f"superseded-{old}" / path.name)


def _write_wav(folder: Path, rel: str, audio: np.ndarray, sample_rate: int, rng: np.random.Generator | None = None):
    """Write a 16-bit stimulus; with ``rng``, TPDF dither of one LSB (so no two files are byte-identical)."""
    x = np.asarray(audio, np.float64)
    if rng is not None:
        x = x + (rng.random(x.size) - rng.random(x.size)) / 32768.0
    io.save_audio(folder / rel, np.clip(x, -1.0, 1.0).astype(np.float32), sample_rate, subtype="PCM_16")
    return rel


def _digest(trials: list[dict]) -> str:
    text = json.dumps(trials, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _finish(folder: Path, spec: dict) -> ListeningTest:
    spec["id"] = _digest(spec["trials"])
    _move_stale_answers(folder, spec["id"])
    with io.atomic_path(folder / "test.json") as tmp:
        tmp.write_text(json.dumps(spec, indent=1))
    return ListeningTest(folder, spec)


def _header(kind: str, folder: Path, name: str | None, sample_rate: int, seed: int, level_dbfs: float) -> dict:
    return {"format": FORMAT, "version": 1, "kind": kind, "name": name or folder.resolve().name,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "sample_rate": int(sample_rate), "seed": int(seed),
            "loudness": {"rule": "rms", "level_dbfs": float(level_dbfs), "peak": 0.99,
                         "note": "every stimulus of a clip at one RMS; one common gain lowers a clip whose "
                                 "loudest stimulus would peak above 0.99"}}


def _check_common(sample_rate: int, seed: int) -> None:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate < 8000:
        raise ParameterError(f"sample_rate={sample_rate!r} must be a whole number of Hz, at least 8000.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ParameterError(f"seed={seed!r} must be a non-negative integer (it orders the conditions).")


def build_mushra(reference: Any, conditions: Mapping[str, Any] | Sequence[Any], folder: str | Path, *,
                 sample_rate: int, name: str | None = None, seed: int = 0, anchors: Sequence[float] = ANCHORS_HZ,
                 level_dbfs: float = DEFAULT_LEVEL_DBFS, overwrite: bool = False) -> ListeningTest:
    """Build a MUSHRA test (ITU-R BS.1534-3) in ``folder``.

    Parameters
    ----------
    reference : mapping clip -> audio, sequence of audio, or one audio
        The original of each clip. Audio is an array, a path to an audio file (read at ``sample_rate``) or a
        reconstruction result (its ``.audio``).
    conditions : mapping name -> (mapping clip -> audio | sequence | audio), or a sequence of those
        The conditions under test (e.g. ``"meladmm+melgl default"``), each with the reference's clips.
    folder : str or Path
        Where ``test.json`` and ``audio/`` go.
    sample_rate : int
        The sample rate of the arrays (files are resampled to it).
    name : str, optional
        The test's name (default: the folder's name).
    seed : int
        Seeds the condition ids and every trial's order (recorded in ``test.json``).
    anchors : sequence of float
        Low-pass cutoffs of the anchors made from the reference, in Hz (3.5 and 7 kHz); cutoffs at or above the
        Nyquist frequency are refused.
    level_dbfs : float
        The common RMS level of the stimuli (module :mod:`~melrecon.apps.listening.audio` states the rule).
    overwrite : bool
        Replace a test already in ``folder``. Answers to it stay when the rebuilt trials are the same (same
        inputs and seed); answers to a test whose trials changed move to ``folder/superseded-<old id>/``.

    Returns
    -------
    ListeningTest
    """
    _check_common(sample_rate, seed)
    ref, table = clip_table(reference, conditions, sample_rate)
    folder = _prepare_folder(folder, overwrite)
    rng, dither = np.random.default_rng(seed), np.random.default_rng([seed, 1])
    labels = [(n, "system", None) for n in table] + [("hidden reference", "reference", None)]
    labels += [(f"anchor {a / 1000:g} kHz", "anchor", float(a)) for a in anchors]
    ids = _condition_ids(rng, len(labels))
    spec = _header("mushra", folder, name, sample_rate, seed, level_dbfs)
    spec["conditions"] = [dict(id=i, label=lab, role=role, **({"cutoff_hz": c} if c else {}))
                          for i, (lab, role, c) in zip(ids, labels)]
    spec["trials"] = []
    for t, clip in enumerate(rng.permutation(list(ref)), start=1):
        audio = {"open": ref[clip]}
        for cid, (lab, role, cutoff) in zip(ids, labels):
            audio[cid] = table[lab][clip] if role == "system" else (
                ref[clip] if role == "reference" else lowpass(ref[clip], sample_rate, cutoff))
        scaled, gains = match_loudness(audio, level_dbfs=level_dbfs)
        tid = f"t{t:02d}"
        order = [ids[i] for i in rng.permutation(len(ids))]
        spec["trials"].append({
            "id": tid, "clip": str(clip), "seconds": round(ref[clip].size / sample_rate, 3),
            "reference": _write_wav(folder, f"audio/{tid}_ref.wav", scaled["open"], sample_rate, dither),
            "stimuli": [{"id": cid, "file": _write_wav(folder, f"audio/{tid}_{cid}.wav", scaled[cid], sample_rate,
                                                       dither)} for cid in order],
            "order": order, "gains_db": {k: round(g, 2) for k, g in gains.items()}})
    return _finish(folder, spec)


def _abx_schedule(pairs: list[tuple[str, str]], clips: list[str], trials_per_pair: int,
                  rng: np.random.Generator) -> list[tuple[tuple[str, str], str, str]]:
    """(pair, clip, "A"|"B") per trial: X balanced within each pair (the odd one out drawn), then shuffled."""
    rows = []
    for pair in pairs:
        xs = ["A", "B"] * (trials_per_pair // 2) + ([str(rng.choice(["A", "B"]))] if trials_per_pair % 2 else [])
        rng.shuffle(xs)
        rows += [(pair, clips[i % len(clips)], x) for i, x in enumerate(xs)]
    return [rows[i] for i in rng.permutation(len(rows))]


def build_abx(conditions: Mapping[str, Any] | Sequence[Any], folder: str | Path, *, sample_rate: int,
              reference: Any = None, pairs: Sequence[tuple[str, str]] | None = None, trials_per_pair: int = 10,
              name: str | None = None, seed: int = 0, level_dbfs: float = DEFAULT_LEVEL_DBFS,
              overwrite: bool = False) -> ListeningTest:
    """Build an ABX test in ``folder``: can a listener tell A from B? X is one of them, at random.

    Parameters
    ----------
    conditions : mapping name -> clips, or a sequence
        As for :func:`build_mushra`; with ``reference`` given, the reference joins them as ``"reference"``.
    folder : str or Path
        Where ``test.json`` and ``audio/`` go.
    sample_rate : int
        The sample rate of the arrays.
    reference : clips, optional
        The originals; when given they are a condition named ``"reference"`` (e.g. to compare a method with it).
    pairs : sequence of (name, name), optional
        The comparisons (default: every pair of conditions, in the given order).
    trials_per_pair : int
        Trials per comparison, cycling through the clips; X is A in half of them and B in the other half (an odd
        count draws the last one).
    name, seed, level_dbfs, overwrite
        As for :func:`build_mushra` (X is never a byte copy of A or B: each file has its own dither).
    """
    _check_common(sample_rate, seed)
    if isinstance(trials_per_pair, bool) or not isinstance(trials_per_pair, (int, np.integer)) or trials_per_pair < 2:
        raise ParameterError(f"trials_per_pair={trials_per_pair!r} must be an integer >= 2 (10 or more gives a "
                             f"binomial test some power).")
    if not isinstance(conditions, Mapping):
        conditions = {f"condition {i + 1}": c for i, c in enumerate(conditions)}
    conditions = dict(conditions)
    if reference is not None:
        conditions = {"reference": reference, **conditions}
    ref, table = clip_table(next(iter(conditions.values())), conditions, sample_rate)
    names = list(table)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]] if pairs is None else [tuple(p) for p in pairs]
    for pair in pairs:
        if len(pair) != 2 or pair[0] == pair[1] or not set(pair) <= set(names):
            raise ParameterError(f"pairs holds {pair!r}; each pair names two different conditions of {names}.")
    if not pairs:
        raise ParameterError("ABX needs two conditions or more (or reference= and one condition).")
    folder = _prepare_folder(folder, overwrite)
    rng = np.random.default_rng(seed)
    ids = dict(zip(names, _condition_ids(rng, len(names))))
    spec = _header("abx", folder, name, sample_rate, seed, level_dbfs)
    spec["conditions"] = [{"id": ids[n], "label": n, "role": "reference" if n == "reference" and reference is not None
                           else "system"} for n in names]
    spec["trials_per_pair"] = int(trials_per_pair)
    spec["trials"] = []
    for t, ((a, b), clip, x) in enumerate(_abx_schedule(pairs, list(ref), trials_per_pair, rng), start=1):
        scaled, _ = match_loudness({"A": table[a][clip], "B": table[b][clip]}, level_dbfs=level_dbfs)
        tid = f"t{t:02d}"
        files = {k: _write_wav(folder, f"audio/{tid}_{k.lower()}.wav", scaled[k if k != "X" else x], sample_rate, rng)
                 for k in ("A", "B", "X")}
        spec["trials"].append({"id": tid, "clip": clip, "pair": [ids[a], ids[b]], "x": x, "files": files})
    return _finish(folder, spec)
