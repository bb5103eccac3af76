"""Mels of different lengths as padded batches: length buckets, per-item layouts, device sharding.

:func:`reconstruct_list` inverts a checked list of mels (what :func:`melrecon.reconstruct` does with a
list): the mels are grouped into a few length buckets (:func:`plan_buckets`), each batch is padded to its
bucket's length with a :class:`~melrecon.transforms.Layout` that keeps every item as it would be alone,
split over the local devices, and run by :func:`melrecon.runner.run_stages`.
"""

from __future__ import annotations

from typing import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from .algorithms import Problem
from .config import MelConfig
from .result import Reconstruction
from .transforms import batch_layout, istft_compiled, linear_problem
from .validation import warn_user

__all__ = ["default_batch_size", "plan_buckets", "batch_sharding", "reconstruct_list"]


def default_batch_size() -> int:
    """Items per padded batch by default: 4 on a CPU (measured: larger batches run slower there, the
    per-item work already fills the cores and caches), 32 on accelerators."""
    return 4 if jax.default_backend() == "cpu" else 32


def plan_buckets(n_frames: Sequence[int], *, batch_size: int = 32, max_buckets: int = 4, multiple: int = 1,
                 bucket_frames: int | None = None) -> list[tuple[int, list[int]]]:
    """Group items by length: ``[(padded_frames, [item indices]), ...]``, one entry per padded batch.

    Items are sorted by length and cut into at most ``max_buckets`` groups of about equal count; a
    group's padded length is its longest item rounded up to a multiple of 8 frames. A group larger than
    ``batch_size`` is split into equal-size batches (so every batch of a bucket has the same shape and
    reuses one compilation; the last batch is filled up with repeats of its items, dropped afterwards).
    Batch sizes are rounded up to a multiple of ``multiple`` (the device count). With ``bucket_frames``
    every batch is padded to that length (one bucket).
    """
    if len(n_frames) == 0:
        return []
    order = sorted(range(len(n_frames)), key=lambda i: n_frames[i])
    n_groups = 1 if bucket_frames is not None else min(max_buckets, len(order))
    bounds = [round(k * len(order) / n_groups) for k in range(n_groups + 1)]
    plan = []
    for g in range(n_groups):
        members = order[bounds[g]:bounds[g + 1]]
        if not members:
            continue
        padded = bucket_frames or -(-max(n_frames[i] for i in members) // 8) * 8
        n_batches = -(-len(members) // batch_size)
        per_batch = -(-len(members) // n_batches)
        size = -(-per_batch // multiple) * multiple
        for k in range(n_batches):
            plan.append((padded, members[k * per_batch:(k + 1) * per_batch], size))
    return [(padded, idx) if len(idx) == size else (padded, idx + [idx[j % len(idx)] for j in range(size - len(idx))])
            for padded, idx, size in plan]


def batch_sharding():
    """Split the leading (batch) axis over all local devices: ``(sharding, device count)``; None with one."""
    devices = jax.local_devices()
    if len(devices) < 2:
        return None, 1
    mesh = jax.sharding.Mesh(np.array(devices), ("batch",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("batch")), len(devices)


def batch_problem(mels: Sequence[np.ndarray], cfg: MelConfig, padded: int, init_magnitude: str) -> Problem:
    """The problem of a padded batch: linear mels padded with zeros (no energy in padding frames), their
    magnitude estimates and the layout."""
    mel = np.zeros((len(mels), cfg.n_mels, padded), np.float32)
    for row, m in enumerate(mels):
        mel[row, :, :m.shape[-1]] = m
    layout = batch_layout(cfg, [m.shape[-1] for m in mels], padded)
    mask = jnp.swapaxes(layout.frame_mask, -1, -2)  # (batch, 1, padded): the padding frames get no energy
    mel_lin, magnitude = linear_problem(jnp.asarray(mel), cfg, mask, method=init_magnitude)
    return Problem(mel=mel_lin, magnitude=magnitude, layout=layout)


def reconstruct_list(mels: Sequence[np.ndarray], run: Callable, cfg: MelConfig, *, method: str, settings: dict,
                     batch_size: int, max_buckets: int, bucket_frames: int | None = None) -> list[Reconstruction]:
    """Invert checked mels of different lengths as padded batches; ``run(problem)`` runs the stages."""
    frames = [m.shape[-1] for m in mels]
    sharding, n_devices = batch_sharding()
    plan = plan_buckets(frames, batch_size=batch_size, max_buckets=max_buckets, multiple=n_devices,
                        bucket_frames=bucket_frames)
    results: list[Reconstruction | None] = [None] * len(mels)
    for padded, members in plan:
        problem = batch_problem([mels[i] for i in members], cfg, padded, settings["init_magnitude"])
        if sharding is not None:
            problem = jax.device_put(problem, sharding)
        out = run(problem)
        audio = np.asarray(jax.device_get(istft_compiled(out.best_spec, cfg, layout=problem.layout)), np.float32)
        batch_info = {"size": len(members), "padded_frames": int(padded), "devices": n_devices}
        for row, i in enumerate(members):
            if results[i] is None:  # else a repeat that filled up the batch
                results[i] = Reconstruction.from_run(
                    out, audio[row, : cfg.n_samples(frames[i])], config=cfg, method=method,
                    settings=dict(settings, batch=batch_info), row=row, frames=frames[i])
        if out.stop_reason in ("interrupted", "callback"):
            break
    done = [r for r in results if r is not None]
    if len(done) < len(results):  # stopped early: the unfinished items are not returned
        warn_user(f"stopped after {len(done)} of {len(results)} items; returning those.", RuntimeWarning)
        return done
    return results
