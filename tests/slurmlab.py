"""A real single-node Slurm for tests (Debian ``slurm-wlm`` + ``munge``), private to one test session.

Everything lives in one scratch directory: its own munged (own key and socket), state, logs, free TCP ports, fake
GPUs as character devices (Slurm drops file-less GPUs and rejects regular files; see ../shared/reference/slurm.md).
The config is also installed as /etc/slurm/slurm.conf (+ gres.conf) for the lab's lifetime, because the executor
plugin's in-job ``srun`` drops ``SLURM_CONF`` from its environment; an existing system config is never touched (the
lab then refuses to start), and one lab runs at a time (a lock file). No accounting database: ``sacct`` fails as on a
cluster without slurmdbd. Partitions ``cpu`` (default) and ``gpu`` on the one node. Daemons are stopped by their PID
files only.
"""
from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SYSTEM_CONF = Path("/etc/slurm")
MARKER = "# written by xstilts tests/slurmlab.py"
LOCK = Path(tempfile.gettempdir()) / "xstilts-slurmlab.lock"
DAEMONS = ("munged", "mungekey", "slurmctld", "slurmd", "slurmstepd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")


class SlurmUnavailable(RuntimeError):
    """Slurm cannot be started here; the message says why (tests skip with it)."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unavailable_reason() -> str | None:
    """Why a private Slurm cannot start on this machine, or None."""
    if os.geteuid() != 0:
        return "the Slurm daemons need root (slurmd runs jobs as their users)"
    missing = [d for d in DAEMONS if not (shutil.which(d) or Path("/usr/sbin", d).exists())]
    if missing:
        return ("Slurm/munge not installed (missing " + ", ".join(missing) + "); install as the README's Quick start "
                "does: sh .ci/system-packages.sh")
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed (python3 -m pip install -e '.[test]')"
    return None


def _exe(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


class SlurmLab:
    def __init__(self, cpus: int = 16, gpus: int = 4, mem_mb: int = 512000, min_job_age: int = 3600):
        self.cpus, self.gpus, self.mem_mb, self.min_job_age = cpus, gpus, mem_mb, min_job_age
        self.root: Path | None = None
        self.env: dict[str, str] = {}
        self._lock = None
        self._installed: list[Path] = []

    # ------------------------------------------------------------------ lifecycle
    def start(self, timeout_s: float = 60) -> SlurmLab:
        reason = unavailable_reason()
        if reason:
            raise SlurmUnavailable(reason)
        self._lock = open(LOCK, "w")  # noqa: SIM115 (held for the lab's life)
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self._lock.close()
                    raise SlurmUnavailable(f"another test Slurm held {LOCK} for 10 minutes") from None
                time.sleep(1)
        for name in ("slurm.conf", "gres.conf"):
            p = SYSTEM_CONF / name
            if p.exists() and MARKER not in p.read_text(errors="replace"):
                self._release()
                raise SlurmUnavailable(f"{p} exists (a real Slurm node?); the test Slurm leaves it alone")
        self.root = r = Path(tempfile.mkdtemp(prefix="xstilts-slurm-"))
        try:
            self._start(r, timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, r: Path, timeout_s: float) -> None:
        for d in ("munge", "ctld", "spool", "log", "dev"):
            (r / d).mkdir(mode=0o700)
        # ---- munge: own key, socket, pid file
        self._check(["mungekey", "--create", "--keyfile", str(r / "munge/munge.key")], "mungekey")
        self._check([_exe("munged"), "--force", f"--socket={r}/munge/munge.sock", f"--key-file={r}/munge/munge.key",
                     f"--log-file={r}/log/munged.log", f"--pid-file={r}/munge/munged.pid",
                     f"--seed-file={r}/munge/munged.seed"], "munged")
        # ---- fake GPUs: character devices aliasing /dev/null
        for i in range(self.gpus):
            try:
                os.mknod(r / f"dev/gpu{i}", 0o666 | 0o020000, os.makedev(1, 3))
            except OSError as e:
                raise SlurmUnavailable(f"cannot create the fake GPU devices (mknod: {e})") from e
        ctld_port, d_port = _free_port(), _free_port()
        conf = f"""\
ClusterName=xstilts
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={r}/munge/munge.sock
CredType=cred/munge
StateSaveLocation={r}/ctld
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
GresTypes=gpu
MinJobAge={self.min_job_age}
KillWait=5
DefMemPerCPU=1000
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
NodeName=localhost NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.mem_mb} Gres=gpu:a100:{self.gpus} State=UNKNOWN
PartitionName=cpu Nodes=localhost Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=localhost Default=NO MaxTime=INFINITE State=UP
"""
        gres = f"AutoDetect=off\nNodeName=localhost Name=gpu Type=a100 File={r}/dev/gpu[0-{self.gpus - 1}]\n"
        (r / "slurm.conf").write_text(f"{MARKER}\n{conf}")
        (r / "gres.conf").write_text(f"{MARKER}\n{gres}")
        SYSTEM_CONF.mkdir(parents=True, exist_ok=True)
        for name in ("slurm.conf", "gres.conf"):
            self._installed.append(SYSTEM_CONF / name)
            shutil.copyfile(r / name, SYSTEM_CONF / name)
        self.env = {**os.environ, "SLURM_CONF": str(r / "slurm.conf")}
        for k in [k for k in self.env if k.startswith(("SLURM_", "SBATCH_", "SRUN_")) and k != "SLURM_CONF"]:
            del self.env[k]
        self._check([_exe("slurmctld"), "-c", "-f", str(r / "slurm.conf")], "slurmctld")
        self._check([_exe("slurmd"), "-N", "localhost", "-f", str(r / "slurm.conf")], "slurmd")
        deadline = time.monotonic() + timeout_s
        state = ""
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], check=False, capture_output=True, text=True, env=self.env).stdout.strip()
            if state.split("\n")[0] == "idle":
                return
            time.sleep(0.3)
        raise SlurmUnavailable(f"the node did not become idle within {timeout_s:.0f} s (state {state!r}); "
                               f"slurmctld log:\n{self.log_tail('slurmctld')}\nslurmd log:\n{self.log_tail('slurmd')}")

    def _check(self, cmd: list[str], what: str) -> None:
        r = subprocess.run(cmd, check=False, capture_output=True, text=True, env=self.env or None, timeout=60)
        if r.returncode != 0:
            raise SlurmUnavailable(f"{what} failed to start (exit {r.returncode}): {r.stderr.strip()[-800:]}")

    def log_tail(self, name: str, n: int = 3000) -> str:
        p = self.root / "log" / f"{name}.log" if self.root else None
        return p.read_text(errors="replace")[-n:] if p and p.exists() else "(no log)"

    def stop(self) -> None:
        """Cancel every job, then stop slurmd, slurmctld and munged by their PID files."""
        r = self.root
        if r is not None:
            if self.env and (r / "slurmctld.pid").exists():
                subprocess.run(["scancel", "--full", "--user", "root"], check=False, capture_output=True, env=self.env, timeout=30)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and self.run("squeue", "-h", "-t", "PD,R,CG,S,CF", check=False).strip():
                    time.sleep(0.5)
            for pidfile in (r / "slurmd.pid", r / "slurmctld.pid", r / "munge/munged.pid"):
                _kill_pidfile(pidfile)
            shutil.rmtree(r, ignore_errors=True)
            self.root = None
        self._release()

    def _release(self) -> None:
        for p in self._installed:
            try:
                if MARKER in p.read_text(errors="replace"):
                    p.unlink()
            except OSError:
                pass
        self._installed = []
        if self._lock is not None:
            self._lock.close()  # releases the flock
            self._lock = None

    # ------------------------------------------------------------------ queries
    def run(self, *cmd: str, check: bool = True) -> str:
        r = subprocess.run(list(cmd), check=False, capture_output=True, text=True, env=self.env, timeout=60)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr}")
        return r.stdout

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still knows (MinJobAge is long here), from ``scontrol show job -d -o``."""
        out = self.run("scontrol", "show", "job", "-d", "-o", check=False)
        return [parse_scontrol_line(line) for line in out.splitlines() if line.startswith("JobId=")]


_KEY = re.compile(r"(?:^|\s)([A-Za-z][\w:/.]*)=")


def parse_scontrol_line(line: str) -> dict[str, str]:
    """``Key=value`` pairs of one ``scontrol -o`` line; values may contain spaces (Command=, Comment=, Reason=)."""
    marks = [(m.group(1), m.start(1), m.end()) for m in _KEY.finditer(line)]
    out = {}
    for i, (key, _, vstart) in enumerate(marks):
        vend = marks[i + 1][1] if i + 1 < len(marks) else len(line)
        out.setdefault(key, line[vstart:vend].strip())
    return out


def _kill_pidfile(pidfile: Path, timeout_s: float = 15) -> None:
    try:
        pid = int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if _is_zombie(pid):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True



# ---------------------------------------------------------------------------------------------- test helpers
REQUIRE = "XSTILTS_REQUIRE_SYSTEM_TESTS"  # set by .ci/run once the system packages are installed


def skip_or_fail(reason: str):
    import pytest

    if os.environ.get(REQUIRE):
        pytest.fail(f"{reason} (and ${REQUIRE} is set, so this must run)")
    pytest.skip(reason)


@contextmanager
def lab_or_skip(**kw):
    """A started lab for the duration of the block; skips (or fails, under $XSTILTS_REQUIRE_SYSTEM_TESTS) with the
    reason where Slurm cannot start. The daemons are stopped at the end, whatever happens."""
    lab = SlurmLab(**kw)
    try:
        lab.start()
    except SlurmUnavailable as e:
        skip_or_fail(f"no test Slurm: {e}")
    try:
        yield lab
    finally:
        lab.stop()


def write_site(project: Path, cap: int = 2, poll_s: int = 3, **extra) -> Path:
    """The documented site file: the account, the per-job CPU cap (this machine has 2 cores) and a short first
    status poll; extra keys are merged the same way."""
    site = {"default-resources": {"slurm_account": "xstilts-ci"}, "cores": cap,
            "slurm-init-seconds-before-status-checks": poll_s, **extra}
    p = project / "site.yaml"
    p.write_text(yaml.safe_dump(site))
    return p


def profile_env(project: Path, lab: SlurmLab) -> dict[str, str]:
    return {**lab.env, "XSTILTS_SLURM_SITE": str(project / "site.yaml")}


def run_profile(project: Path, lab: SlurmLab, *args: str, timeout: int = 2400) -> tuple[int, str]:
    """``snakemake --workflow-profile profiles/slurm [args]`` in the project directory, as a cluster user runs it."""
    cmd = ["snakemake", "--workflow-profile", "profiles/slurm", *args]
    r = subprocess.run(cmd, cwd=project, env=profile_env(project, lab), check=False, capture_output=True, text=True,
                       timeout=timeout)
    return r.returncode, r.stdout + r.stderr


RUN_ID = re.compile(r"SLURM run ID: (\S+)")


def run_ids(text: str) -> list[str]:
    return list(dict.fromkeys(RUN_ID.findall(text)))


def run_jobs(lab: SlurmLab, out: str, rules: list[str] | None = None) -> list[dict]:
    """The SLURM jobs of the runs whose output is ``out`` (by their job name, the run id), each annotated with its
    rule (or ``group``), start and end."""
    from datetime import datetime

    from scratch import job_counts

    names = set(run_ids(out))
    known = sorted(rules or job_counts(out), key=len, reverse=True)
    jobs = []
    for j in lab.jobs():
        if j.get("JobName") not in names:
            continue
        comment = j.get("Comment", "")
        j["group"] = comment.startswith("rule_per_language")
        j["rule"] = "per_language" if j["group"] else next(
            (r for r in known if comment == f"rule_{r}" or comment.startswith(f"rule_{r}_wildcards_")), comment)
        for k, key in (("start", "StartTime"), ("end", "EndTime")):
            v = j.get(key, "")
            j[k] = datetime.fromisoformat(v) if re.match(r"\d{4}-", v) else None
        jobs.append(j)
    return jobs


def rule_info(project: Path, configfile: str) -> dict[str, dict[str, int]]:
    """What each rule of the workflow declares, read by Snakemake's own API: {rule: {"gpu": n, "threads": n}}."""
    code = """
import json, sys
from pathlib import Path
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings
def value(r, key, default):
    v = r.resources[key].value if key in r.resources.keys() else default
    return v if isinstance(v, int) else default
with SnakemakeApi(OutputSettings(quiet={"all"})) as api:
    wf = api.workflow(resource_settings=ResourceSettings(), config_settings=ConfigSettings(configfiles=[Path(sys.argv[2])]),
                      snakefile=Path(sys.argv[1]), workdir=Path.cwd())
    print(json.dumps({r.name: {"gpu": value(r, "gpu", 0), "threads": value(r, "_cores", 1)} for r in wf._workflow.rules}))
"""
    import json
    import sys

    r = subprocess.run([sys.executable, "-c", code, str(project / "Snakefile"), str(project / configfile)], cwd=project,
                       check=True, capture_output=True, text=True, timeout=300)
    return json.loads(r.stdout.strip().splitlines()[-1])


DEVICE = re.compile(r"xstilts\.device: CUDA_VISIBLE_DEVICES=(\S+) \(([^)]*)\), threads=(\d+), pid=\d+, SLURM job (\d+)")


def device_lines(logs: Path) -> dict[str, tuple[str, str, int]]:
    """SLURM job id -> (CUDA_VISIBLE_DEVICES, where it came from, torch threads), from the rules' logs."""
    out = {}
    for p in logs.rglob("*.log"):
        if "slurm" in p.relative_to(logs).parts[:1]:
            continue
        for m in DEVICE.finditer(p.read_text(errors="replace")):
            out[m.group(4)] = (m.group(1), m.group(2), int(m.group(3)))
    return out


def shipped_profile() -> dict:
    """profiles/slurm as Snakemake reads it (YTE rendered, no site file)."""
    from snakemake.profiles import ProfileConfigFileParser

    env = os.environ.pop("XSTILTS_SLURM_SITE", None)
    try:
        with open(ROOT / "profiles/slurm/config.yaml") as f:
            return ProfileConfigFileParser().parse(f)
    finally:
        if env is not None:
            os.environ["XSTILTS_SLURM_SITE"] = env


def _pairs(items: list[str]) -> dict[str, str]:
    return dict(i.split("=", 1) for i in items)


def expected_cpus(rule: str, info: dict, cap: int) -> int:
    """CPUs a job of ``rule`` should get: its threads (the profile's set-threads, else what the rule declares),
    capped by the profile's ``cores``."""
    threads = _pairs(shipped_profile().get("set-threads", [])).get(rule)
    return min(cap, int(threads) if threads else info[rule]["threads"])


def profile_resource(rule: str, key: str) -> int:
    prof = shipped_profile()
    per_rule = _pairs(prof["set-resources"])
    default = _pairs(prof["default-resources"])
    return int(per_rule.get(f"{rule}:{key}", default[key]))


def minutes(limit: str) -> int:
    """A SLURM time limit ([days-]hours:minutes:seconds) in minutes."""
    days, _, hms = limit.rpartition("-")
    h, m, s = (int(x) for x in hms.split(":"))
    return int(days or 0) * 1440 + h * 60 + m + (s > 0)


if __name__ == "__main__":  # manual use: python3 tests/slurmlab.py up | down <root>
    import sys

    if sys.argv[1:2] == ["up"]:
        lab = SlurmLab().start()
        lab._installed, lab._lock = [], None  # leave the config in place; the lock ends with this process
        print(lab.root)
    elif sys.argv[1:2] == ["down"]:
        lab = SlurmLab()
        lab.root = Path(sys.argv[2])
        lab.env = {**os.environ, "SLURM_CONF": str(lab.root / "slurm.conf")}
        lab._installed = [SYSTEM_CONF / "slurm.conf", SYSTEM_CONF / "gres.conf"]
        lab.stop()
