"""Atomic file output: write to a temporary sibling, then rename, so a crash never leaves a half-written file
that looks complete. Results get the permissions the umask allows (``tempfile`` alone would make them 0600/0700,
unreadable for the rest of a group on a shared filesystem). A job that writes an output claims it first
(``claim_output``), so two jobs never write one output at once (e.g. an orphaned SLURM job and its rerun)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.fchmod(fd, 0o666 & ~umask())
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory next to ``path``; it replaces ``path`` only if the block succeeds."""
    import shutil

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    tmp.chmod(0o777 & ~umask())
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def umask() -> int:
    """This process's umask (read without changing it where /proc allows)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class OutputBusy(RuntimeError):
    """Another live process (another job) is writing the same output."""


_CLAIMED: dict = {}  # path -> open lock file, held for the life of the process


def claim_output(path: str | os.PathLike) -> None:
    """Claim ``path`` for this process until it exits: an exclusive lock on ``.<name>-writer.lock`` beside it, which
    the kernel (or the NFS lock manager) releases when the process ends, however it ends. Raises ``OutputBusy``
    naming the holder when another live process holds it. Where the filesystem has no locks, warns and goes on."""
    import fcntl
    import socket
    import sys

    path = Path(path).absolute()
    if str(path) in _CLAIMED:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = path.parent / f".{path.name}-writer.lock"
    fh = open(lock, "a+")  # noqa: SIM115 (held until the process ends)
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "unknown"
        fh.close()
        raise OutputBusy(f"{path} is being written by another job ({holder}); if that is an orphan of a crashed run, "
                         f"cancel it first (README: 'Recover after a crash')") from None
    except OSError as e:  # no lock support (some parallel filesystems): no guard, but no failure either
        fh.close()
        print(f"warning: cannot lock {lock} ({e}); not guarded against a second writer", file=sys.stderr)
        return
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on {socket.gethostname()}, SLURM job {os.environ.get('SLURM_JOB_ID', '-')}\n")
    fh.flush()
    _CLAIMED[str(path)] = fh


def remove_stale_temps(path: str | os.PathLike) -> list[Path]:
    """Delete the temporaries (``.<name>.XXXX``) that ``atomic_path``/``atomic_dir`` left beside ``path`` when an
    earlier attempt of the job writing ``path`` was killed; call it when that job starts again. Claims ``path`` first
    (``claim_output``): a live writer's temporaries are never deleted, and a second writer stops here."""
    import shutil

    claim_output(path)
    path = Path(path)
    removed = []
    if path.parent.is_dir():
        for p in path.parent.glob(f".{path.name}.*"):
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def atomic_write_text(text: str, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(obj: Any, path: str | os.PathLike) -> None:
    atomic_write_text(json.dumps(obj, indent=2, sort_keys=True, default=_jsonable) + "\n", path)


def atomic_write_parquet(df, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def atomic_save_npz(path: str | os.PathLike, **arrays) -> None:
    import numpy as np

    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _jsonable(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o)}")


def load_embeddings(path: str | os.PathLike) -> tuple[dict, list[int], str]:
    """Arrays (float32) by side, the stored hidden_states indices, and the metadata string of an embeddings .npz
    (numpy only, so that the many small per-language jobs do not import torch)."""
    import numpy as np

    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k].astype(np.float32) for k in z.files if k not in ("layers", "meta")}
        return arrays, z["layers"].tolist(), str(z["meta"])
