"""The Ray engine of :func:`melrecon.apps.batch.invert_folder` (``melrecon batch IN OUT --engine ray``).

The driver lists the files, reads their lengths from the headers and plans the same padded batches as
the local engine (:func:`melrecon.methods.planner.plan_items`); each batch is one row of a Ray Data dataset,
mapped by :class:`Inverter`, a callable class: one instance per worker process, which keeps the
compiled methods of every bucket shape it has seen (each is compiled once per worker). A worker
claims, inverts and writes its batch itself (atomically, with a manifest line per file), so the
output folder must be visible to every node (a shared file system) when the cluster has several.

Failures: Ray Data restarts a worker process that dies and runs its batch again (nothing is lost;
the claims are the run's own, so the retry takes them back); a node that leaves the cluster is handled
the same way. A driver that dies (SIGKILL) takes its local cluster with it; rerunning the command
resumes: finished outputs are skipped, the dead run's claims are taken over.

With no address a private local cluster is started (``ray.init(address="local")``: never a cluster that a
current-cluster marker names, stale or running; all CPUs unless ``num_cpus`` limits a worker; no
dashboard, no usage statistics, a small object store: the rows are only file names); with
``address`` (``"auto"`` or ``host:port`` of ``ray start --head``) the run joins that cluster. A start or
join that fails, or a Ray failure mid-run, stops the run with one line (:class:`EngineError`), which
``batch_summary.json`` records as its ``error``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from ....core.config import ParameterError
from ..groups import DiskFull, EngineError, invert_group

__all__ = ["OPTIONS", "batch_multiple", "run", "run_ray", "Inverter", "ray_init"]

#: Keyword arguments of its own (of :func:`melrecon.apps.batch.invert_folder`).
OPTIONS = ("ray_address", "num_cpus", "num_gpus")

#: Keeps a local Ray light: no usage statistics, and JAX does not grab a GPU's memory up front (several
#: workers may share one GPU).
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}
OBJECT_STORE_BYTES = 96 * 1024**2


def _import_ray():
    for key, value in RAY_ENV.items():
        os.environ.setdefault(key, value)
    try:
        import ray  # noqa: PLC0415 - optional extra (melrecon[ray]), and RAY_ENV must be set before it loads
        import ray.data  # noqa: F401, PLC0415 - as above
    except ImportError:
        raise ParameterError("engine='ray' needs Ray Data: pip install 'melrecon[ray]' (or 'ray[data]').") from None
    return ray


def ray_init(address: str | None = None, **kwargs: Any) -> bool:
    """Connect to Ray; True when this call started the cluster.

    With no ``address`` a private local cluster is started (``ray.init(address="local")``), whatever
    current-cluster marker an earlier or running Ray left behind; with one (``"auto"`` or ``host:port``)
    the run joins that cluster (no object store size then: the cluster has its own). A cluster this
    process is already connected to is used as it is. A start or join that fails raises
    :class:`~melrecon.apps.batch.groups.EngineError` with one line: the cause and what to do instead.
    """
    ray = _import_ray()
    if ray.is_initialized():
        return False
    options: dict[str, Any] = dict(include_dashboard=False, log_to_driver=False, configure_logging=True,
                                   logging_level="warning")
    if address is None:
        options["object_store_memory"] = OBJECT_STORE_BYTES
    for attempt in (1, 2):
        try:
            ray.init(address="local" if address is None else address, **options, **kwargs)
            return True
        except Exception as exc:  # noqa: BLE001 - Ray raises many kinds (ConnectionError, ValueError, ...)
            if ray.is_initialized():
                ray.shutdown()
            # a busy machine can miss Ray's fixed 30 s startup wait once: a local start is tried again
            if not (address is None and attempt == 1 and "timed out during startup" in str(exc)):
                raise EngineError(_failure_line(exc, address)) from None
    return True  # pragma: no cover


def _failure_line(exc: BaseException, address: str | None) -> str:
    """One line: what failed, Ray's own first line of why, and what to do."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    cause = f"{type(exc).__name__}: {lines[0] if lines else 'no message'}"
    if len(cause) > 300:
        cause = cause[:297] + "..."
    if address is None:
        return (f"the Ray engine could not start a local cluster ({cause}); run with --engine local, or start one "
                f"with `ray start --head` and pass --ray-address auto.")
    return (f"the Ray engine could not join the cluster at {address!r} ({cause}); check that it runs "
            f"(`ray status`), correct --ray-address, leave it out to start a local cluster, or run with "
            f"--engine local.")


class Inverter:
    """Ray Data's map function: a batch of rows (one planned padded batch each) -> one result per row.

    Built once per worker; the compiled methods stay in the worker's caches between batches.
    """

    def __init__(self, job):
        for key, value in RAY_ENV.items():
            os.environ.setdefault(key, value)
        self.job = job  # checked by the driver (invert_folder), with the local engine's checks

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = []
        for text in batch["group"]:
            group = json.loads(str(text))
            paths = {int(i): (Path(s), Path(d)) for i, (s, d) in group["paths"].items()}
            records, bucket = invert_group(self.job, group["padded"], group["members"], paths)
            out.append(json.dumps({"records": records, "bucket": bucket, "pid": os.getpid()}))
        return {"result": np.array(out, dtype=object)}


def _resource(name: str, value) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value) and value >= 0
    if not ok:
        raise ParameterError(f"{name}={value!r} must be a number >= 0 (resources per worker, e.g. 1 or 0.5).")
    return float(value)


def _workers(ray, n_groups: int, num_cpus: float, num_gpus: float) -> int:
    resources = ray.cluster_resources()
    count = int(resources.get("CPU", 1) // num_cpus) if num_cpus > 0 else n_groups
    if num_gpus > 0:
        count = min(count, int(resources.get("GPU", 0) // num_gpus))
        if count < 1:
            raise ParameterError(f"num_gpus={num_gpus}: the Ray cluster has {resources.get('GPU', 0)} GPU(s); "
                                 f"lower it or join a cluster with GPUs.")
    return max(1, min(count, n_groups))


def batch_multiple() -> int:
    """Batches are not split over devices by the driver: 1."""
    return 1


def run(job, plan, paths, summary, bar, *, ray_address=None, num_cpus=None, num_gpus=None) -> None:
    """Run the planned groups on Ray (see the module docstring); results are folded into ``summary``."""
    run_ray(job, plan, paths, summary, bar, address=ray_address, num_cpus=num_cpus, num_gpus=num_gpus)


def run_ray(job, plan, paths, summary, bar, *, address=None, num_cpus=None, num_gpus=None) -> None:
    """Run the planned groups on Ray (see the module docstring); results are folded into ``summary``;
    :class:`~melrecon.apps.batch.groups.DiskFull` is raised when a record says the output disk is full."""
    num_cpus = 1.0 if num_cpus is None else _resource("num_cpus", num_cpus)
    num_gpus = 0.0 if num_gpus is None else _resource("num_gpus", num_gpus)
    if not plan:
        return
    ray = _import_ray()
    started = ray_init(address)
    try:
        ctx = ray.data.DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False
        rows = [{"group": json.dumps({"padded": padded, "members": members,
                                      "paths": {str(i): [str(paths[i][0]), str(paths[i][1])] for i in set(members)}})}
                for padded, members in plan]
        workers = _workers(ray, len(rows), num_cpus, num_gpus)
        ds = ray.data.from_items(rows, override_num_blocks=len(rows))
        ds = ds.map_batches(Inverter, fn_constructor_kwargs={"job": job}, batch_size=1,
                            compute=ray.data.ActorPoolStrategy(size=workers),
                            num_cpus=num_cpus, num_gpus=num_gpus)
        try:
            for row in ds.iter_rows():
                result = json.loads(row["result"])
                summary.add(result["records"], result["bucket"])
                if bar is not None:
                    bar.update(len({r["output"] for r in result["records"]}))
                if summary.error:
                    raise DiskFull(summary.error)
        except (DiskFull, KeyboardInterrupt, ParameterError):
            raise
        except Exception as exc:  # noqa: BLE001 - a Ray failure mid-run: one line, in the summary
            lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
            raise EngineError(f"the Ray engine failed mid-run ({type(exc).__name__}: "
                              f"{(lines[0] if lines else 'no message')[:300]}); run the same command again to "
                              f"resume, or with --engine local.") from None
    finally:
        if started:
            ray.shutdown()
