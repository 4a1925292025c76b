"""Device selection for GPU jobs.

Locally Snakemake does not set ``CUDA_VISIBLE_DEVICES``: with ``--resources gpu=4`` four GPU jobs run at once and
would all land on GPU 0.  Each job therefore claims a free device itself with an exclusive lock file per device and
sets ``CUDA_VISIBLE_DEVICES`` before CUDA is initialised.  The lock is an ``flock`` held by the job's process, so
the kernel releases it when the job ends, however it ends (also SIGKILL).  Under SLURM (or whenever the variable is
already set) the allocation is respected as it is.  Every job logs which device it got and from where
(``setup_job``), so a run's logs show that concurrent jobs used distinct devices.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_HELD: list = []  # keep lock files open for the life of the process


def count_gpus() -> int:
    """Number of NVIDIA GPUs on this node (``nvidia-smi -L``), without initialising CUDA in this process."""
    try:
        out = subprocess.run(["nvidia-smi", "-L"], check=False, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU "))


def default_lock_dir() -> Path:
    """``$XSTILTS_GPU_LOCK_DIR``, else a per-user directory in the temporary directory (node-local)."""
    return Path(os.environ.get("XSTILTS_GPU_LOCK_DIR") or Path(tempfile.gettempdir(), f"xstilts-gpu-{os.getuid()}"))


def claim_gpu(lock_dir: str | os.PathLike | None = None, timeout_s: float = 24 * 3600, poll_s: float = 5.0,
              n_gpus: int | None = None) -> str | None:
    """Claim one GPU for this process and return its id (as set in CUDA_VISIBLE_DEVICES), or None on a CPU node."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", "").strip():
        return os.environ["CUDA_VISIBLE_DEVICES"]
    n = count_gpus() if n_gpus is None else n_gpus
    if n == 0:
        return None
    lock_dir = Path(lock_dir) if lock_dir else default_lock_dir()
    lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    deadline = time.monotonic() + timeout_s
    while True:
        for i in range(n):
            fh = open(lock_dir / f"xstilts-gpu-{i}.lock", "a+")  # noqa: SIM115 (held for the life of the process)
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            _HELD.append(fh)
            os.environ["CUDA_VISIBLE_DEVICES"] = str(i)
            return str(i)
        if time.monotonic() > deadline:
            raise TimeoutError(f"no free GPU among {n} after {timeout_s:.0f} s (locks in {lock_dir})")
        time.sleep(poll_s)


def torch_device():
    import torch

    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def describe(source: str, threads: int) -> str:
    """One log line: the device this job uses, where that came from, its CPU threads and its SLURM job."""
    cvd = os.environ.get("CUDA_VISIBLE_DEVICES", "").strip() or "unset"
    slurm = os.environ.get("SLURM_JOB_ID")
    where = f", SLURM job {slurm}" if slurm else ""
    return f"xstilts.device: CUDA_VISIBLE_DEVICES={cvd} ({source}), threads={threads}, pid={os.getpid()}{where}"


def setup_job(threads: int = 1, seed: int | None = None, gpu: bool = True):
    """Claim a GPU (when asked and present), pin CPU threads, seed everything; return the torch device."""
    source = "none"
    if gpu:
        preset = bool(os.environ.get("CUDA_VISIBLE_DEVICES", "").strip())
        got = claim_gpu()
        source = "allocation" if preset else ("claimed lock" if got is not None else "no GPU on this node")
    threads = max(1, int(threads))
    print(describe(source, threads), file=sys.stderr, flush=True)
    import torch

    torch.set_num_threads(threads)
    if seed is not None:
        from transformers import set_seed

        set_seed(int(seed))
    return torch_device()
