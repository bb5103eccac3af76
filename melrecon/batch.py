"""Invert a whole folder: ``melrecon batch IN_DIR OUT_DIR`` (and :func:`invert_folder` from Python).

Inputs are audio files (wav, flac, ogg: analysed with the preset) and ``.npy`` / ``.npz`` / ``.pt`` /
``.h5`` Mel spectrograms (in the preset's layout, see :mod:`melrecon.conventions`), found recursively; ``IN_DIR/a/b.npy`` is written to ``OUT_DIR/a/b.wav``.

* Batched: the inputs are grouped into a few length buckets and inverted as padded batches
  (:func:`melrecon.reconstruct` with a list of mels: one compilation per bucket, padding never reaches
  an item's result); every batch is split over all local JAX devices.
* Resumable: an output that exists is skipped, and every write is atomic (a temporary file renamed into
  place), so a run killed at any point leaves only complete outputs; run the same command again to
  finish the rest. Temporary files of a killed run are removed.
* Robust: a file that cannot be read or inverted is reported in the summary (and in
  ``OUT_DIR/batch_summary.json``); the others go on.

Example
-------
>>> from melrecon.batch import invert_folder
>>> # summary = invert_folder("mels/", "wavs/", config="hifigan", method="gl+gd")
>>> # summary.written, summary.skipped, summary.failed
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import io
from .config import MelConfig, ParameterError, get_config

__all__ = ["invert_folder", "BatchSummary", "find_inputs"]

_PART_GLOB = ".*.part.*"  # temporary files of io.atomic_path


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
    seconds : float
        Wall-clock time of the run.
    compile_seconds : float
        Part of it spent compiling (one compilation per bucket and stage).
    buckets : list of dict
        Per padded batch: ``padded_frames``, ``size`` (items, with fill-ups), ``seconds``.
    interrupted : bool
        Stopped by Ctrl-C (the finished outputs are complete; run again to resume).
    notes : dict str -> str
        Input path -> what was done to it on reading (resampled, mixed down), as ``invert`` says it.
    """

    written: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    compile_seconds: float = 0.0
    audio_seconds: float = 0.0
    buckets: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    notes: dict[str, str] = field(default_factory=dict)

    def report(self) -> str:
        lines = [f"{len(self.written)} written, {len(self.skipped)} already done, {len(self.failed)} failed "
                 f"in {self.seconds:.1f} s ({self.compile_seconds:.1f} s compiling; "
                 f"{self.audio_seconds:.1f} s of audio)"]
        for path, msg in self.failed.items():
            lines.append(f"  FAILED {path}: {msg}")
        for msg in list(self.notes.values())[:5]:
            lines.append(f"  note: {msg}")
        if len(self.notes) > 5:
            lines.append(f"  note: ... and {len(self.notes) - 5} more such notes (batch_summary.json lists them)")
        if self.interrupted:
            lines.append("  interrupted: run the same command again to finish the rest.")
        return "\n".join(lines)


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
              notes: dict[str, str] | None = None) -> np.ndarray:
    from .conventions import prepare
    from .transforms import mel_spectrogram

    if path.suffix.lower() in io.MEL_SUFFIXES:
        mel = prepare(io.load_mel(path, key=mel_key), cfg, layout=layout, stats=stats, name=f"mel in {path.name}")
        if mel.ndim != 2:
            raise ParameterError(f"mel in {path.name} has shape {mel.shape}; expected (n_mels, frames).")
        return mel
    with warnings.catch_warnings(record=True) as caught:  # mixing down / resampling: noted in the summary
        warnings.simplefilter("always")
        audio, _ = io.load_audio(path, sample_rate=cfg.sample_rate)
    if notes is not None and caught:
        notes[str(path)] = " ".join(str(w.message) for w in caught)
    cfg.n_frames(audio.shape[-1])  # too short -> ParameterError naming the minimum
    return np.asarray(mel_spectrogram(audio, cfg))


def _load_stats(stats):
    """Statistics read once for the whole folder (a path), or as given."""
    from .conventions import load_stats

    return load_stats(stats) if isinstance(stats, (str, Path)) else stats


def invert_folder(
    in_dir,
    out_dir,
    config: MelConfig | str = "hifigan",
    *,
    method: Any = "gl+gd",
    batch_size: int | None = None,
    max_buckets: int = 4,
    overwrite: bool = False,
    mel_key: str | None = None,
    progress: bool = True,
    layout: str | None = None,
    stats: Any = None,
    **options: Any,
) -> BatchSummary:
    """Invert every audio / Mel file under ``in_dir`` into ``out_dir`` (see the module docstring).

    Parameters
    ----------
    in_dir, out_dir : path
        Input folder (searched recursively) and output folder (created; mirrors the sub-folders).
    config : MelConfig or preset name
    method : str
        As for :func:`melrecon.reconstruct`; other keyword options (``n_iter``, ``gl_iters``,
        ``gd_iters``, ``seed``, ``learning_rate``, ...) are passed on.
    batch_size : int, optional
        Most items per padded batch (default 4 on a CPU, 32 on accelerators).
    max_buckets : int
        Most distinct padded lengths (each costs one compilation per stage).
    overwrite : bool
        Invert again files whose output exists (default: skip them, which makes runs resumable).
    mel_key : str, optional
        Array name inside ``.npz`` / ``.pt`` / ``.h5`` files.
    layout, stats : optional
        How the mel files are stored (default: the config's layout) and mean/variance statistics
        (a file or :class:`melrecon.conventions.Stats`), as for :func:`melrecon.conventions.prepare`.
    progress : bool
        Show a progress bar over the files.

    Returns
    -------
    BatchSummary
    """
    from .reconstruct import _batch_sharding, default_batch_size, plan_buckets, reconstruct
    from .validation import check_iterations

    cfg, stats = get_config(config), _load_stats(stats)
    src_root, dst_root = Path(in_dir), Path(out_dir)
    if not src_root.is_dir():
        raise ParameterError(f"input folder {str(src_root)!r} does not exist or is not a folder.")
    batch_size = default_batch_size() if batch_size is None else check_iterations("batch_size", batch_size, minimum=1)
    max_buckets = check_iterations("max_buckets", max_buckets, minimum=1)
    dst_root.mkdir(parents=True, exist_ok=True)
    for stale in dst_root.rglob(_PART_GLOB):  # left by a killed run; never a finished output
        stale.unlink(missing_ok=True)

    t_start = time.perf_counter()
    summary = BatchSummary()
    inputs = find_inputs(src_root, dst_root)
    if not inputs:
        raise ParameterError(f"input folder {str(src_root)!r} holds no audio ({io.AUDIO_SUFFIXES}) or Mel "
                             f"({io.MEL_SUFFIXES}) files.")
    targets: dict[Path, Path] = {}
    owners: dict[Path, Path] = {}
    for p in inputs:
        dst = (dst_root / p.relative_to(src_root)).with_suffix(".wav")
        if dst in owners:
            summary.failed[str(p)] = f"same output {dst} as {owners[dst]}; rename one of them."
            continue
        owners[dst] = p
        if dst.exists() and not overwrite:
            summary.skipped.append(str(dst))
        else:
            targets[p] = dst

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(inputs), initial=len(inputs) - len(targets), desc="melrecon batch", unit="file")
    try:
        mels: dict[Path, np.ndarray] = {}
        for p in targets:
            try:
                mels[p] = _load_mel(p, cfg, mel_key, layout, stats, summary.notes)
            except (ParameterError, OSError, ValueError) as exc:
                summary.failed[str(p)] = str(exc)
                if bar is not None:
                    bar.update(1)
        paths = list(mels)
        _, n_devices = _batch_sharding()
        plan = plan_buckets([mels[p].shape[-1] for p in paths], batch_size=batch_size, max_buckets=max_buckets,
                            multiple=n_devices)
        for padded, members in plan:
            unique = list(dict.fromkeys(members))
            batch = [mels[paths[i]] for i in members]
            t0 = time.perf_counter()
            try:
                results = reconstruct(batch, cfg, method=method, progress=False, batch_size=len(batch),
                                      max_buckets=1, bucket_frames=padded, **options)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # noqa: BLE001 - one bad batch must not stop the others
                for i in unique:
                    summary.failed[str(paths[i])] = f"{type(exc).__name__}: {exc}"
                if bar is not None:
                    bar.update(len(unique))
                continue
            if any(r.interrupted for r in results):  # not finished: writing it would mark it done
                raise KeyboardInterrupt
            for row, i in enumerate(members):
                if i not in unique:
                    continue
                unique.remove(i)
                p, res = paths[i], results[row]
                try:
                    targets[p].parent.mkdir(parents=True, exist_ok=True)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # clipping notice
                        io.save_audio(targets[p], res.audio, cfg.sample_rate)
                except (ParameterError, OSError, ValueError) as exc:
                    summary.failed[str(p)] = str(exc)
                else:
                    summary.written.append(str(targets[p]))
                    summary.audio_seconds += res.audio.shape[-1] / cfg.sample_rate
                if bar is not None:
                    bar.update(1)
            summary.compile_seconds += results[0].compile_seconds
            summary.buckets.append({"padded_frames": int(padded), "size": len(members),
                                    "seconds": time.perf_counter() - t0,
                                    "compile_seconds": results[0].compile_seconds})
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        if bar is not None:
            bar.close()
        summary.seconds = time.perf_counter() - t_start
        with io.atomic_path(dst_root / "batch_summary.json") as tmp:
            tmp.write_text(json.dumps(dataclasses.asdict(summary), indent=2))
    return summary
