"""Mels of different lengths as padded batches: per-item layouts, device sharding.

:func:`invert_batches` inverts checked mels in the padded batches planned by
:func:`melrecon.methods.planner.plan_buckets` (what :func:`melrecon.reconstruct` does with a list): each
batch is padded to its bucket's length with a :class:`~melrecon.core.transforms.Layout` that keeps every
item as it would be alone, split over the local devices, and run by :func:`melrecon.methods.runner.run_stages`.
"""

from __future__ import annotations

from typing import Sequence

import jax
import numpy as np

from ..algorithms import Problem
from ..core.config import MelConfig
from ..core.transforms import batch_layout, istft_compiled, linear_problem
from ..core.validation import warn_user
from .result import Reconstruction
from .single import Run

__all__ = ["default_batch_size", "batch_sharding", "invert_batches"]


def default_batch_size() -> int:
    """Items per padded batch by default: 4 on a CPU (measured: larger batches run slower there, the
    per-item work already fills the cores and caches), 32 on accelerators."""
    return 4 if jax.default_backend() == "cpu" else 32


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
    # the padding frames get no energy
    mel_lin, magnitude = linear_problem(jax.device_put(mel), cfg, layout.frame_mask, method=init_magnitude)
    return Problem(mel=mel_lin, magnitude=magnitude, layout=layout)


def invert_batches(mels: Sequence[np.ndarray], run: Run, plan: Sequence[tuple[int, list[int]]]) -> list[Reconstruction]:
    """Invert checked mels of different lengths in the padded batches ``plan`` (``(padded_frames, [item
    indices])``, fill-ups included; the indices cover every item), the batches split over the devices."""
    frames = [m.shape[-1] for m in mels]
    sharding, n_devices = batch_sharding()
    cfg = run.cfg
    results: list[Reconstruction | None] = [None] * len(mels)
    for padded, members in plan:
        problem = batch_problem([mels[i] for i in members], cfg, padded, run.init_magnitude)
        if sharding is not None:
            problem = jax.device_put(problem, sharding)
        out = run.run(problem, batched=True)
        audio = np.asarray(jax.device_get(istft_compiled(out.best_spec, cfg, layout=problem.layout)), np.float32)
        batch_info = {"size": len(members), "padded_frames": int(padded), "devices": n_devices}
        for row, i in enumerate(members):
            if results[i] is None:  # else a repeat that filled up the batch
                results[i] = Reconstruction.from_run(
                    out, audio[row, : cfg.n_samples(frames[i])], config=cfg, method=run.name,
                    settings=dict(run.settings, batch=batch_info), row=row, frames=frames[i])
        if out.stop_reason in ("interrupted", "callback"):
            break
    done = [r for r in results if r is not None]
    if len(done) < len(results):  # stopped early: the unfinished items are not returned
        warn_user(f"stopped after {len(done)} of {len(results)} items; returning those.", RuntimeWarning)
        return done
    return results
