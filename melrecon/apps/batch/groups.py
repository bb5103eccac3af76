"""Folder inversion below its engines: the job (what a run shares: the runs checked and resolved once per mel
source), claiming, loading (each mel checked once, as it is read), inverting one group of the planner's
(:func:`melrecon.methods.planner.plan_items`) through the execute layer, and writing it, its records and the
summary. An engine (:mod:`melrecon.apps.batch.engines`) only decides where :func:`invert_group` runs."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ... import io
from ...core.config import MelConfig, ParameterError
from ...core.transforms import mel_spectrogram
from ...core.validation import check_mel
from ...io import conventions as io_conventions
from ...methods.diagnostics import NO_PROGRESS_MEL_SC
from ...methods.execute import best_start, execute_items, execute_single
from ...methods.planner import fitted_length, plan_single
from ...methods.resolve import source_of
from ...methods.single import Run
from ..output_guard import convention_fix, convention_quiet, guard_output, prepare_once
from .jobs import Claims, Manifest, disk_full_message, hold_signals, raise_held, remove_partial_writes

__all__ = ["BatchSummary", "DiskFull", "EngineError", "Job", "find_inputs", "frames_of", "invert_group", "targets"]

class DiskFull(OSError):
    """The output disk is full: the run stops (every other file would fail the same way)."""


class EngineError(RuntimeError):
    """The engine could not run the batches (e.g. a Ray cluster that does not start): one line, which the
    run records as its summary's ``error``."""


@dataclass
class BatchSummary:
    """What :func:`invert_folder` did.

    Attributes
    ----------
    written : list of str
        Outputs written by this run.
    skipped : list of str
        Outputs that already existed (finished by an earlier run).
    failed : dict str -> str
        Input path -> error message.
    no_progress : dict str -> float
        Input path -> final Mel SC, for outputs written (and kept) although the method made no progress
        (Mel SC above :data:`melrecon.methods.diagnostics.NO_PROGRESS_MEL_SC`: near-silence or noise).
    claimed_elsewhere : list of str
        Outputs left to another run that holds their claim (running at the same time).
    seconds : float
        Wall-clock time of the run.
    compile_seconds : float
        Part of it spent compiling (one compilation per bucket and stage, per worker).
    buckets : list of dict
        Per padded batch: ``padded_frames``, ``size`` (items, with fill-ups), ``seconds``.
    interrupted : bool
        Stopped by Ctrl-C or SIGTERM (the finished outputs are complete; run again to resume).
    notes : dict str -> str
        Input path -> what was done to it on reading (resampled, mixed down), as ``invert`` says it.
    engine : str
    error : str or None
        Why the run stopped early (e.g. a full disk).
    """

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    no_progress: dict[str, float] = field(default_factory=dict)
    claimed_elsewhere: list[str] = field(default_factory=list)
    seconds: float = 0.0
    compile_seconds: float = 0.0
    audio_seconds: float = 0.0
    buckets: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    notes: dict[str, str] = field(default_factory=dict)
    engine: str = "local"
    error: str | None = None

    def report(self) -> str:
        lines = [f"{len(self.written)} written, {len(self.skipped)} already done, {len(self.failed)} failed "
                 f"in {self.seconds:.1f} s ({self.compile_seconds:.1f} s compiling; "
                 f"{self.audio_seconds:.1f} s of audio; engine {self.engine})"]
        if self.claimed_elsewhere:
            lines.append(f"  {len(self.claimed_elsewhere)} left to another run working on the same folder")
        for path, msg in self.failed.items():
            lines.append(f"  FAILED {path}: {msg}")
        for path, sc in self.no_progress.items():
            lines.append(f"  NO PROGRESS {path}: Mel SC {sc:.4f}, the output is near-silence or noise (written all "
                         f"the same); check that the preset matches how the mel was made")
        for msg in list(self.notes.values())[:5]:
            lines.append(f"  note: {msg}")
        if len(self.notes) > 5:
            lines.append(f"  note: ... and {len(self.notes) - 5} more such notes (batch_summary.json lists them)")
        if self.error:
            lines.append(f"  STOPPED: {self.error}")
        if self.interrupted:
            lines.append("  interrupted: run the same command again to finish the rest.")
        return "\n".join(lines)

    def add_finished(self, manifest: dict[str, dict[str, Any]], dst_root: Path, owner: str, since: float) -> None:
        """Add the outputs this run (``owner``, started at ``since``) wrote whole, or failed, that its records did
        not reach (a stop between a group's write and its records' return): the manifest line is written with the
        file."""
        written = set(self.written)
        for output, rec in manifest.items():
            if rec.get("owner") != owner or rec.get("time", 0.0) < since:
                continue
            path = str(Path(dst_root) / output)
            if (rec.get("status") == "done" and path not in written) or \
                    (rec.get("status") == "failed" and rec.get("input") not in self.failed):
                self.add([dict(rec, output_path=path)], None)

    def add(self, records: list[dict[str, Any]], bucket: dict[str, Any] | None) -> None:
        """Fold the records of one group (see :func:`invert_group`) into the summary."""
        for rec in records:
            status = rec["status"]
            if rec.get("note"):
                self.notes[rec["input"]] = rec["note"]
            if status == "done":
                self.written.append(rec["output_path"])
                self.audio_seconds += rec.get("audio_seconds", 0.0)
                if rec.get("mel_sc", 0.0) > NO_PROGRESS_MEL_SC:
                    self.no_progress[rec["input"]] = rec["mel_sc"]
            elif status == "failed":
                self.failed[rec["input"]] = rec["error"]
            elif status == "skipped":
                self.skipped.append(rec["output_path"])
            elif status == "claimed":
                self.claimed_elsewhere.append(rec["output_path"])
            elif status == "disk-full" and self.error is None:
                self.error = rec["error"]
        if bucket is not None:
            self.compile_seconds += bucket["compile_seconds"]
            self.buckets.append(bucket)


def find_inputs(in_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Audio and Mel files under ``in_dir`` (recursive, sorted; ``out_dir`` excluded when inside)."""
    suffixes = set(io.AUDIO_SUFFIXES) | set(io.MEL_SUFFIXES)
    out_res = out_dir.resolve() if out_dir is not None else None
    found = []
    for p in sorted(in_dir.rglob("*")):
        if not p.is_file() or p.suffix.lower() not in suffixes or p.name.startswith("."):
            continue
        if out_res is not None and out_res in p.resolve().parents:
            continue
        found.append(p)
    return found


def _load_mel(path: Path, cfg: MelConfig, mel_key: str | None, layout: str | None = None, stats=None,
              notes: dict[str, str] | None = None, conventions: dict[str, tuple[str, str]] | None = None) -> np.ndarray:
    """The file's mel; a failed convention check goes to ``conventions`` (input -> (message, name)), not
    to a warning (the record says it once)."""
    if path.suffix.lower() in io.MEL_SUFFIXES:
        name = f"mel in {path.name}"
        mel, message = prepare_once(io.load_mel(path, key=mel_key), cfg, layout=layout, stats=stats, name=name)
        if message and conventions is not None:
            conventions[str(path)] = (message, name)
        if mel.ndim != 2:
            raise ParameterError(f"mel in {path.name} has shape {mel.shape}; expected (n_mels, frames).")
        with convention_quiet((message, name)):  # said once, by the record
            return check_mel(mel, cfg, name=name)
    with warnings.catch_warnings(record=True) as caught:  # mixing down / resampling: noted in the summary
        warnings.simplefilter("always")
        audio, _ = io.load_audio(path, sample_rate=cfg.sample_rate)
    if notes is not None and caught:
        notes[str(path)] = " ".join(str(w.message) for w in caught)
    cfg.n_frames(audio.shape[-1])  # too short -> ParameterError naming the minimum
    return np.asarray(mel_spectrogram(audio, cfg))


def load_stats(stats):
    """Statistics read once for the whole folder (a path), or as given."""
    return io_conventions.load_stats(stats) if isinstance(stats, (str, Path)) else stats


def frames_of(path: Path, cfg: MelConfig, mel_key: str | None, layout: str | None = None, stats=None) -> int:
    """Frames of a file's mel (audio: from its header, without decoding): what the plan groups by."""
    if path.suffix.lower() in io.MEL_SUFFIXES:  # the frame axis depends on the layout: read it as inverted
        return int(_load_mel(path, cfg, mel_key, layout, stats).shape[-1])
    n, sr = io.audio_length(path)
    return cfg.n_frames(n if sr == cfg.sample_rate else round(n * cfg.sample_rate / sr))


@dataclass
class Job:
    """What every group of a run shares (picklable: Ray workers get a copy): ``runs`` holds the run of each mel
    source (:func:`melrecon.reconstruct.check_call`: checked and resolved once, before any file is read)."""

    src_root: str
    dst_root: str
    config: MelConfig
    runs: dict[str, Run]
    mel_key: str | None
    overwrite: bool
    owner: str
    engine: str = "local"
    layout: str | None = None
    stats: Any = None
    force: bool = False  # write the result of a mel that failed the convention check although it would clip
    segment_seconds: Any = "auto"
    pieces: Any = "auto"


def _record(job: Job, src: Path, dst: Path, status: str, **extra) -> dict[str, Any]:
    return dict(input=str(src), output=dst.relative_to(job.dst_root).as_posix(), output_path=str(dst),
                status=status, engine=job.engine, owner=job.owner, time=time.time(), **extra)


def _write(job: Job, src: Path, dst: Path, res, seconds: float, convention: str | None = None) -> dict[str, Any]:
    """Write one result (never clipped: see :func:`melrecon.apps.output_guard.guard_output`)."""
    note = None
    try:
        audio, note = guard_output(res.audio, convention=convention, force=job.force, where=dst.name,
                                   fix=convention_fix(job.config.name))
        dst.parent.mkdir(parents=True, exist_ok=True)
        io.save_audio(dst, audio, job.config.sample_rate)
    except OSError as exc:
        full = disk_full_message(exc, dst)
        if full:
            return _record(job, src, dst, "disk-full", error=full)
        return _record(job, src, dst, "failed", error=f"{type(exc).__name__}: {exc}")
    except (ParameterError, ValueError) as exc:
        return _record(job, src, dst, "failed", error=str(exc))
    rec = _record(job, src, dst, "done", seconds=seconds, mel_sc=float(np.mean(res.mel_sc)),
                  audio_seconds=res.audio.shape[-1] / job.config.sample_rate, method=res.method,
                  ran=ran_settings(res.settings))
    notes = [n for n in (convention, note) if n]
    if notes:
        rec["note"] = " ".join(notes)
    return rec


def ran_settings(settings: dict) -> dict:
    """What a result ran, as the manifest records it: the resolved method, source, effort, counts per stage and
    the starting phases tried (and the one kept)."""
    ran = {k: settings[k] for k in ("method", "source", "effort", "init_phases") if k in settings}
    ran["counts"] = [stage["n_iter"] for stage in settings.get("stages", [])]
    if "init_phase_mel_sc" in settings:
        ran["init_phase"] = settings["init_phase"]
    if settings.get("race") is not None:
        ran["race"] = settings["race"]
    return ran


def _claim_and_load(job, claims, members, paths, notes, conventions):
    """Claim and load the group's files; -> (records of the files left out, {index: mel})."""
    records, mels = [], {}
    for i in dict.fromkeys(members):
        src, dst = paths[i]
        if not claims.take(str(dst), done=None if job.overwrite else dst):
            records.append(_record(job, src, dst, "skipped" if dst.exists() else "claimed"))
            continue
        remove_partial_writes(dst)  # left by a killed run on this file
        try:
            mels[i] = _load_mel(src, job.config, job.mel_key, job.layout, job.stats, notes, conventions)
        except (ParameterError, OSError, ValueError) as exc:
            claims.release(str(dst))
            records.append(_record(job, src, dst, "failed", error=str(exc)))
    return records, mels


def invert_group(job: Job, padded: int | None, members: list[int], paths: dict[int, tuple[Path, Path]]):
    """Claim, load, invert and write one planned batch; -> (records, bucket info or None).

    ``members`` index ``paths`` (input, output); repeats fill the batch up to its planned size. Raises
    KeyboardInterrupt when interrupted: before the writes, nothing of the group is written; during them, after
    the file being written and its manifest line (the run's summary then reads the files finished from the
    manifest: :meth:`BatchSummary.add_finished`).
    """
    claims, manifest = Claims(job.dst_root, owner=job.owner), Manifest(job.dst_root)
    notes: dict[str, str] = {}
    conventions: dict[str, tuple[str, str]] = {}
    records, mels = _claim_and_load(job, claims, members, paths, notes, conventions)
    batch_ids = [i for i in members if i in mels]
    bucket = None
    try:
        if batch_ids:
            t0 = time.perf_counter()
            try:
                results = _invert(job, padded, [mels[i] for i in batch_ids], source_of(paths[batch_ids[0]][0]))
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad batch must not stop the others
                results = [exc] * len(batch_ids)
            if any(getattr(r, "interrupted", False) for r in results):
                raise KeyboardInterrupt  # not finished: writing it would mark it done
            seconds = time.perf_counter() - t0
            if padded is not None:
                padded = fitted_length(padded, [mels[i].shape[-1] for i in batch_ids])
            per_item = seconds / len(set(batch_ids))
            for i, res in dict(zip(batch_ids, results)).items():
                src, dst = paths[i]
                with hold_signals() as held:  # a file on disk always has its manifest line
                    rec = (_record(job, src, dst, "failed", error=f"{type(res).__name__}: {res}")
                           if isinstance(res, Exception) else
                           _write(job, src, dst, res, per_item, conventions.get(str(src), (None,))[0]))
                    if str(src) in notes:
                        rec["note"] = " ".join(n for n in (notes[str(src)], rec.get("note")) if n)
                    if rec["status"] in ("done", "failed"):
                        manifest.append({k: v for k, v in rec.items() if k != "output_path"})
                    records.append(rec)
                raise_held(held)
            if not isinstance(results[0], Exception):
                bucket = {"padded_frames": int(padded or mels[batch_ids[0]].shape[-1]), "size": len(batch_ids),
                          "seconds": seconds, "compile_seconds": results[0].compile_seconds}
    finally:
        for i in mels:
            claims.release(str(paths[i][1]))
    return records, bucket


def _invert(job: Job, padded: int | None, mels: list, source: str) -> list:
    """One planned group through the execute layer with the run of the files' ``source``: a padded batch
    (``padded`` frames, raised where a mel is longer than its header said), or one long file alone in the
    planner's segments."""
    run = job.runs[source]
    if padded is None:
        plan = plan_single(mels[0].shape[-1], run.cfg, segment_seconds=job.segment_seconds, pieces=job.pieces)
        return [best_start(run, lambda r: execute_single(mels[0], r, plan))]
    group = [(fitted_length(padded, [m.shape[-1] for m in mels]), list(range(len(mels))))]
    return best_start(run, lambda r: execute_items(mels, r, group))


def targets(src_root: Path, dst_root: Path, cfg, mel_key, overwrite, summary, layout=None,
             stats=None) -> dict[int, tuple[Path, Path, int]]:
    inputs = find_inputs(src_root, dst_root)
    if not inputs:
        raise ParameterError(f"input folder {str(src_root)!r} holds no audio ({io.AUDIO_SUFFIXES}) or Mel "
                             f"({io.MEL_SUFFIXES}) files.")
    owners: dict[Path, Path] = {}
    targets: dict[int, tuple[Path, Path, int]] = {}
    for p in inputs:
        dst = (dst_root / p.relative_to(src_root)).with_suffix(".wav")
        if dst in owners:
            summary.failed[str(p)] = f"same output {dst} as {owners[dst]}; rename one of them."
            continue
        owners[dst] = p
        if dst.exists() and not overwrite:
            summary.skipped.append(str(dst))
            continue
        try:
            targets[len(targets)] = (p, dst, frames_of(p, cfg, mel_key, layout, stats))
        except (ParameterError, OSError, ValueError) as exc:
            summary.failed[str(p)] = str(exc)
    return targets
