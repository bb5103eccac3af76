"""The local engine: the planned groups one after another in this process (every batch split over the
local JAX devices)."""

from __future__ import annotations

from ....methods.batching import batch_sharding
from ..groups import DiskFull, invert_group

__all__ = ["OPTIONS", "batch_multiple", "run"]

#: Keyword arguments of its own: none.
OPTIONS: tuple[str, ...] = ()


def batch_multiple() -> int:
    """Batch sizes are rounded up to a multiple of the local device count."""
    return batch_sharding()[1]


def run(job, plan, paths, summary, bar) -> None:
    """Invert the groups of ``plan`` in order; their records go into ``summary``."""
    for padded, members in plan:
        records, bucket = invert_group(job, padded, members, paths)
        summary.add(records, bucket)
        if bar is not None:
            bar.update(len(set(members)))
        if summary.error:
            raise DiskFull(summary.error)
