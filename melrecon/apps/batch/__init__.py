"""Invert a whole folder: ``melrecon batch IN_DIR OUT_DIR`` (and :func:`invert_folder` from Python).

Inputs are audio files (wav, flac, ogg: analysed with the preset) and ``.npy`` / ``.npz`` / ``.pt`` /
``.h5`` Mel spectrograms (in the preset's layout, see :mod:`melrecon.io.conventions`), found recursively;
``IN_DIR/a/b.npy`` is written to ``OUT_DIR/a/b.wav``.

* Batched: the planner (:func:`melrecon.methods.planner.plan_items`) groups the inputs by length (read from
  the file headers) and by mel source into a few buckets, inverted as padded batches through the execute
  layer (one compilation per bucket, padding never reaches an item's result); every batch is split over all
  local JAX devices. Files longer than the segmentation threshold are inverted alone, in segments (bounded
  memory). What runs is resolved once per mel source (:func:`melrecon.methods.resolve.resolve`): audio files
  are analysed by melrecon, mel files are handed in, unless ``source=`` says otherwise for all.
* Two engines: ``engine="local"`` (default) runs the batches in this process; ``engine="ray"`` runs
  them on a Ray cluster through Ray Data (:mod:`melrecon.apps.batch.engines.ray`; a local one unless
  ``ray_address`` names one). Both plan the same batches and give the same audio.
* Resumable: an output that exists is skipped, and every write is atomic (a temporary file renamed into
  place), so a run killed at any point leaves only complete outputs; run the same command again to
  finish the rest. ``OUT_DIR/manifest.jsonl`` gets one line per file (status, seconds, Mel SC).
* Safe to run twice at once: each file is claimed before it is inverted (:class:`melrecon.apps.batch.jobs.Claims`),
  so two runs on one output folder share the work and never invert a file twice.
* Robust: a file that cannot be read or inverted is reported in the summary (and in
  ``OUT_DIR/batch_summary.json``); the others go on. A full disk stops the run with a clear message.

Example
-------
>>> from melrecon.apps.batch import invert_folder
>>> # summary = invert_folder("mels/", "wavs/", config="hifigan")  # the default method
>>> # summary.written, summary.skipped, summary.failed
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from ... import io
from ...core.config import DEFAULT_PRESET, MelConfig, ParameterError, get_config
from ...methods.planner import check_batching, plan_items
from ...methods.resolve import SOURCES, source_of
from ...reconstruct import RUN_OPTIONS, check_call
from .engines import ENGINES, engine_module, engine_options
from .groups import BatchSummary, DiskFull, EngineError, Job, find_inputs, frames_of, invert_group, load_stats, targets
from .jobs import Claims, Manifest, disk_full_message, process_owner

__all__ = ["invert_folder", "BatchSummary", "find_inputs", "ENGINES", "Job", "invert_group", "frames_of"]


def invert_folder(
    in_dir,
    out_dir,
    config: MelConfig | str = DEFAULT_PRESET,
    *,
    method: Any = None,
    batch_size: int | None = None,
    max_buckets: int = 4,
    overwrite: bool = False,
    mel_key: str | None = None,
    progress: bool = True,
    layout: str | None = None,
    stats: Any = None,
    engine: str = "local",
    ray_address: str | None = None,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
    force: bool = False,
    **options: Any,
) -> BatchSummary:
    """Invert every audio / Mel file under ``in_dir`` into ``out_dir`` (see the module docstring).

    Parameters
    ----------
    in_dir, out_dir : path
        Input folder (searched recursively) and output folder (created; mirrors the sub-folders).
    config : MelConfig or preset name
    method : str, optional
        As for :func:`melrecon.reconstruct`; default: by each file's mel source (audio files, which melrecon
        analyses: the exact ``"meladmm+melgl"``; mel files, handed in: the noise-aware
        ``"tolmeladmm+tolmelgl"``; :func:`melrecon.methods.resolve.resolve`), or ``source=`` for all. Other
        keyword options (``effort``, ``n_iter``, ``gl_iters``, ``gd_iters``, ``seed``, ``learning_rate``,
        ``segment_seconds``, ...) are passed on.
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
        (a file or :class:`melrecon.io.conventions.Stats`), as for :func:`melrecon.io.conventions.prepare`.
    progress : bool
        Show a progress bar over the files.
    engine : {"local", "ray"}
        Run the batches in this process, or on a Ray cluster (needs the ``ray`` extra); the engines of
        :data:`melrecon.apps.batch.engines.ENGINES`.
    ray_address : str, optional
        With ``engine="ray"``: the cluster to join (e.g. ``"auto"`` or ``"10.0.0.1:6379"``); None starts a
        local one (or uses the one this process already started).
    num_cpus, num_gpus : float, optional
        With ``engine="ray"``: resources per worker (default 1 CPU, no GPU).
    force : bool
        Write the result of a mel that failed the convention check even when it would clip (default: such a
        file fails, with the convention message and the fix). Any other result that would clip is scaled to
        just below full scale (noted in the summary).

    Returns
    -------
    BatchSummary
    """
    cfg, runs, stats, src_root, dst_root = _check_folder(config, stats, in_dir, out_dir, method=method,
                                                          options=options)
    run_engine = engine_module(engine)
    engine_kw = engine_options(engine, dict(ray_address=ray_address, num_cpus=num_cpus, num_gpus=num_gpus))
    batch_size, max_buckets = check_batching(batch_size, max_buckets)
    dst_root.mkdir(parents=True, exist_ok=True)

    t_start, started_at = time.perf_counter(), time.time()
    summary = BatchSummary(engine=engine)
    found = targets(src_root, dst_root, cfg, mel_key, overwrite, summary, layout, stats)
    paths = {i: (src, dst) for i, (src, dst, _) in found.items()}
    frames = [found[i][2] for i in range(len(found))]
    multiple = run_engine.batch_multiple()
    plan = plan_items(frames, cfg, batch_size=batch_size, max_buckets=max_buckets, multiple=multiple,
                      segment_seconds=options.get("segment_seconds", "auto"),
                      kinds=[source_of(found[i][0]) for i in range(len(found))])
    job = Job(str(src_root), str(dst_root), cfg, runs, mel_key, overwrite, process_owner(), engine, layout, stats,
              force, options.get("segment_seconds", "auto"), options.get("pieces", "auto"))
    n_inputs = len(found) + len(summary.skipped) + len(summary.failed)
    bar = None
    if progress:
        bar = tqdm(total=n_inputs, initial=n_inputs - len(found), desc="melrecon batch", unit="file")
    try:
        run_engine.run(job, plan, paths, summary, bar, **engine_kw)
    except KeyboardInterrupt:
        summary.interrupted = True
    except DiskFull:
        pass  # summary.error says why
    except EngineError as exc:
        summary.error = str(exc)
    finally:
        if bar is not None:
            bar.close()
        try:
            if summary.interrupted or summary.error:  # files written whole whose records never came back
                summary.add_finished(Manifest(dst_root).read(), dst_root, job.owner, started_at)
            claims = Claims(dst_root, owner=job.owner)
            claims.release_all()  # whatever stopped the run, its claims go
            if not (summary.interrupted or summary.error):
                claims.remove_if_unused()  # and a completed run leaves no .claims folder (unless another runs)
        except OSError:
            pass  # a full disk cannot stop this; a dead owner's claims are taken over anyway
        summary.seconds = time.perf_counter() - t_start
        try:
            with io.atomic_path(dst_root / "batch_summary.json") as tmp:
                tmp.write_text(json.dumps(dataclasses.asdict(summary), indent=2))
        except OSError as exc:  # e.g. the disk is full: the summary is still returned and printed
            summary.error = summary.error or disk_full_message(exc, dst_root / "batch_summary.json") or str(exc)
    return summary


def _check_folder(config, stats, in_dir, out_dir, *, method, options):
    """The checked settings of a folder run: the run of each mel source (checked and resolved once, as
    :func:`melrecon.reconstruct` does, whichever engine runs it; a file's kind gives its source unless
    ``source=`` is given)."""
    cfg = get_config(config)
    run_kw = {k: v for k, v in options.items() if k in RUN_OPTIONS}
    for name in ("length", "init", "callback", "batch_size", "max_buckets", "bucket_frames", "progress"):
        if name in run_kw:
            raise ParameterError(f"{name} is set by folder inversion itself (per file or per batch); leave it out.")
    stage_options = {k: v for k, v in options.items() if k not in RUN_OPTIONS}
    given = run_kw.pop("source", None)
    runs = {kind: check_call(cfg, method=method, source=given or kind, progress=False, **run_kw,
                             options=stage_options)[0] for kind in SOURCES}
    src_root, dst_root = Path(in_dir), Path(out_dir)
    if not src_root.is_dir():
        raise ParameterError(f"input folder {str(src_root)!r} does not exist or is not a folder.")
    return cfg, runs, load_stats(stats), src_root, dst_root
