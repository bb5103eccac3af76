"""What a long folder run needs to survive kills and clashes: SIGTERM as a clean stop, per-file claims
so that two runs on one output folder never invert a file twice, and a manifest of finished files.

* :func:`terminate_as_interrupt` turns SIGTERM into :class:`Terminated` (a ``KeyboardInterrupt``), so a
  run stops between chunks exactly as on Ctrl-C (the best result so far is kept, writes in progress
  complete or leave nothing); the command then exits with :data:`EXIT_TERMINATED` (143 = 128 + 15).
* :class:`Claims`: before inverting a file, a run claims it with a small file under ``OUT/.claims``
  naming its owner (host, process id and start time). A claim whose owner process has died (SIGKILL,
  a crash) is taken over; a live owner's claim is left alone. Claim changes are serialised by an
  ``fcntl`` lock on ``OUT/.claims/.lock``, so two runs can never both take one file.
* :class:`Manifest`: ``OUT/manifest.jsonl``, one JSON line per file and attempt (``status`` ``"done"``
  or ``"failed"``, ``seconds``, ``mel_sc``, ...), appended with one ``write`` and flushed to disk. A
  line torn by a kill is ignored when read.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any, Iterator

__all__ = [
    "Terminated", "terminate_as_interrupt", "terminated", "hold_signals", "raise_held", "EXIT_TERMINATED", "Claims",
    "Manifest", "disk_full_message", "remove_partial_writes",
]

EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as shells report a process ended by SIGTERM
_STATE = {"terminated": False}


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM (inside :func:`terminate_as_interrupt`)."""


def terminated() -> bool:
    """Whether SIGTERM was received inside :func:`terminate_as_interrupt` (or held by :func:`hold_signals`)."""
    return _STATE["terminated"]


def _raise_terminated(signum, frame):
    _STATE["terminated"] = True
    raise Terminated("terminated by SIGTERM")


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block (main thread only), SIGTERM raises :class:`Terminated` like Ctrl-C raises
    ``KeyboardInterrupt``; the previous handler is restored afterwards."""
    _STATE["terminated"] = False
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def hold_signals() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM while a result is written; yields the list of signals received meanwhile.

    The write completes; the caller then stops (exit status 130 or 143)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def hold(signum, frame):
        received.append(signum)
        if signum == signal.SIGTERM:
            _STATE["terminated"] = True

    previous = {s: signal.signal(s, hold) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def raise_held(held: list[int]) -> None:
    """Stop now if :func:`hold_signals` held a signal: :class:`Terminated` for SIGTERM, else ``KeyboardInterrupt``."""
    if signal.SIGTERM in held:
        raise Terminated("terminated by SIGTERM")
    if held:
        raise KeyboardInterrupt


def disk_full_message(exc: OSError, path) -> str | None:
    """A clear message when ``exc`` says the disk (or quota, or file-size limit) is full, else None."""
    if getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return (f"no space left to write {path} ({os.strerror(exc.errno)}); nothing partial was left there. "
                f"Free some space (or raise the limit) and run the same command again to finish.")
    return None


def remove_partial_writes(dest: Path) -> None:
    """Remove the temporary files a killed write of ``dest`` left beside it (see io.atomic_path)."""
    for stale in dest.parent.glob(f".{dest.name}.*.part{dest.suffix}"):
        with contextlib.suppress(OSError):
            stale.unlink()


# ------------------------------------------------------------------------------------------ claims
def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def process_owner() -> str:
    """This process as a claim owner: ``host:pid:start`` (the start time tells a reused pid apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_start_time(os.getpid())}"


def _owner_alive(owner: str) -> bool:
    host, _, rest = owner.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname():
        return True  # cannot tell from here: a claim of another machine stands until it is released
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return _start_time(pid) == start


class Claims:
    """Per-file claims under ``out_dir/.claims`` (see the module docstring).

    Parameters
    ----------
    out_dir : path
    owner : str, optional
        Who claims (default: this process). Workers of a cluster claim in their driver's name, so a
        retried task finds its own claim.
    """

    def __init__(self, out_dir, owner: str | None = None):
        self.dir = Path(out_dir) / ".claims"
        self.owner = owner or process_owner()
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        digest = hashlib.sha1(key.encode()).hexdigest()[:20]
        return self.dir / f"{digest}.claim"

    @contextlib.contextmanager
    def _locked(self):
        """Hold the folder's lock. The folder may be removed by a run that finished (:meth:`remove_if_unused`)
        while this one waited: then the lock taken is of a removed file, and it is taken again on a new one."""
        import fcntl  # noqa: PLC0415 - POSIX only; every CLI command imports this module (apps.cli.common)

        lock = self.dir / ".lock"
        while True:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        try:
            yield
        finally:
            os.close(fd)  # closing releases the lock

    def remove_if_unused(self) -> bool:
        """Remove the claims folder when no run holds a claim in it (a completed run leaves no ``.claims``)."""
        with self._locked():
            if any(p.name != ".lock" for p in self.dir.iterdir()):
                return False
            (self.dir / ".lock").unlink()
            self.dir.rmdir()
        return True

    def take(self, key: str, done: Path | None = None) -> bool:
        """Claim ``key``; False when a live owner holds it, or when ``done`` (its output) exists already."""
        path = self._path(key)
        with self._locked():
            if path.exists():
                try:
                    holder = path.read_text().split("\n", 1)[0]
                except OSError:
                    holder = ""
                if holder != self.owner and holder and _owner_alive(holder):
                    return False
            if done is not None and done.exists():
                return False
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_text(f"{self.owner}\n{key}\n{time.time():.3f}\n")
            os.replace(tmp, path)
        return True

    def release(self, key: str) -> None:
        """Drop the claim on ``key`` if this owner holds it."""
        path = self._path(key)
        with self._locked():
            with contextlib.suppress(OSError):
                if path.read_text().split("\n", 1)[0] == self.owner:
                    path.unlink()

    def release_all(self) -> int:
        """Drop every claim this owner holds (at the end of a run, however it ended); -> how many."""
        count = 0
        with self._locked():
            for path in self.dir.glob("*.claim"):
                with contextlib.suppress(OSError):
                    if path.read_text().split("\n", 1)[0] == self.owner:
                        path.unlink()
                        count += 1
            for tmp in self.dir.glob(f".*.claim.{os.getpid()}"):  # a claim interrupted while being written
                with contextlib.suppress(OSError):
                    tmp.unlink()
        return count


# ------------------------------------------------------------------------------------------ manifest
class Manifest:
    """``out_dir/manifest.jsonl``: one JSON object per line and attempt; the last line of a file wins."""

    def __init__(self, out_dir):
        self.path = Path(out_dir) / "manifest.jsonl"

    def append(self, record: dict[str, Any]) -> None:
        line = (json.dumps(record, sort_keys=True) + "\n").encode()
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line)  # one write on an O_APPEND file: lines of concurrent writers do not interleave
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> dict[str, dict[str, Any]]:
        """Output path -> its last record (torn or foreign lines are skipped)."""
        records: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return records
        with open(self.path, "rb") as fh:
            for raw in fh:
                try:
                    rec = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(rec, dict) and isinstance(rec.get("output"), str):
                    records[rec["output"]] = rec
        return records
