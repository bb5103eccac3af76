"""``melrecon batch IN_DIR OUT_DIR``: :func:`melrecon.apps.batch.invert_folder` with the command's flags."""

from __future__ import annotations

from ..batch import invert_folder
from .common import interrupted_status, method_kwargs
from .config_args import config_from_args
from .wording import cli_words

__all__ = ["cmd_batch"]


def cmd_batch(args) -> int:
    kw = method_kwargs(args)  # no --mel-source: each file's kind gives its source
    quiet = not kw.pop("progress")
    summary = invert_folder(args.input, args.output, config_from_args(args), batch_size=args.batch_size,
                            max_buckets=args.max_buckets, overwrite=args.overwrite, mel_key=args.mel_key,
                            progress=not quiet, layout=args.layout, stats=args.stats, engine=args.engine,
                            ray_address=args.ray_address, num_cpus=args.num_cpus, num_gpus=args.num_gpus,
                            force=args.force, **kw)
    print(cli_words(summary.report()))  # the failures' messages name the flags
    if summary.interrupted:
        return interrupted_status()
    return 1 if summary.failed or summary.no_progress or summary.error else 0
