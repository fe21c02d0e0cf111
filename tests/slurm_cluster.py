"""A throwaway one-node SLURM cluster on this machine for the tests that submit real jobs.

`slurm_cluster()` writes a slurm.conf for one node (this host, 2 CPUs, no accounting)
into a temporary folder, starts munged (as the `munge` user, with its own key and
socket there), slurmctld and slurmd (as root, without systemd), waits until `sinfo`
shows the node idle, and yields a `SlurmCluster`. Clients find it through SLURM_CONF,
which the caller puts in the environment of what it starts (`cluster.env()`).
Afterwards every daemon it started is stopped and the folder removed.

Debian's packages (slurmctld slurmd slurm-client munge) are installed when missing and
the tests run as root; elsewhere the test is skipped with the reason. Running it by hand:
    python tests/slurm_cluster.py      # starts a cluster, prints SLURM_CONF, Ctrl-C stops it
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGES = ["slurmctld", "slurmd", "slurm-client", "munge"]
DAEMONS = {"slurmctld": "/usr/sbin/slurmctld", "slurmd": "/usr/sbin/slurmd", "munged": "/usr/sbin/munged"}
START_TIMEOUT_S = 60


class SlurmUnavailable(RuntimeError):
    """SLURM cannot run here; the message says why (the tests skip with it)."""


def _missing() -> list[str]:
    return [name for name, path in DAEMONS.items() if not Path(path).exists()] + [
        name for name in ("sbatch", "sinfo", "scontrol") if shutil.which(name) is None
    ]


def install_packages() -> None:
    """Debian's SLURM and munge packages, installed with apt-get when missing (root only)."""
    if not _missing():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SlurmUnavailable(
            f"SLURM is not installed ({', '.join(_missing())} missing) and cannot be installed "
            f"here (needs root and apt-get): apt-get install {' '.join(PACKAGES)}"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SlurmUnavailable(f"{' '.join(cmd[:2])} failed: {tail[0]}")
    if _missing():
        raise SlurmUnavailable(f"after apt-get install, still missing: {', '.join(_missing())}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SLURM_CONF = """\
# One node, this machine; written by tests/slurm_cluster.py
ClusterName=wavenet-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={home}/munge/munge.socket
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation={home}/state
SlurmdSpoolDir={home}/spool
SlurmctldPidFile={home}/slurmctld.pid
SlurmdPidFile={home}/slurmd.pid
SlurmctldLogFile={home}/log/slurmctld.log
SlurmdLogFile={home}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
# Quick turnaround for tests: a finished job's record stays 5 minutes, kills wait 5 s.
MinJobAge=300
KillWait=5
InactiveLimit=0
NodeName={host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class SlurmCluster:
    home: Path  # everything the cluster writes: state, spool, logs (tests search it for secrets)
    conf: Path
    partition: str = "debug"

    def env(self, base: dict[str, str] | None = None) -> dict[str, str]:
        return dict(os.environ if base is None else base, SLURM_CONF=str(self.conf))

    def run(self, *cmd: str, timeout: float = 30) -> str:
        """A SLURM client command (sbatch, scontrol, squeue ...) against this cluster; its stdout."""
        done = subprocess.run(list(cmd), env=self.env(), capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip() or done.stdout.strip()}")
        return done.stdout

    def jobs(self) -> dict[str, dict[str, str]]:
        """Jobs slurmctld still knows: id (array tasks as J_T) -> squeue fields."""
        out = self.run("squeue", "--noheader", "--all", "--states=all", "--format=%i|%T|%r|%R")
        jobs = {}
        for line in out.splitlines():
            job_id, state, reason, _ = (line.split("|") + ["", "", "", ""])[:4]
            jobs[job_id.strip()] = {"state": state.strip(), "reason": reason.strip()}
        return jobs

    def log_text(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted((self.home / "log").glob("*.log")))


def _wait_for(check, what: str, timeout: float, logs: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    tail = ""
    if logs is not None:
        tail = "".join(p.read_text(errors="replace")[-1500:] for p in sorted(logs.glob("*.log")))
    raise SlurmUnavailable(f"{what} within {timeout:.0f} s{': ' + tail if tail else ''}")


def _munged(home: Path) -> list[str]:
    """munged with its own key, socket, pid and log files, as the `munge` user (it refuses root)."""
    munge = pwd.getpwnam("munge")
    folder = home / "munge"
    folder.mkdir()
    folder.chmod(0o755)  # munged insists that every client may reach its socket
    key = folder / "munge.key"
    key.write_bytes(os.urandom(128))
    key.chmod(0o400)
    for path in (folder, key):
        os.chown(path, munge.pw_uid, munge.pw_gid)
    return [
        "runuser",
        "-u",
        "munge",
        "--",
        DAEMONS["munged"],
        f"--socket={folder}/munge.socket",
        f"--key-file={key}",
        f"--pid-file={folder}/munged.pid",
        f"--log-file={folder}/munged.log",
        f"--seed-file={folder}/munged.seed",
    ]


def _stop(pid_file: Path, timeout: float = 15) -> None:
    with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
        pid = int(pid_file.read_text().split()[0])
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            os.kill(pid, 0)  # ProcessLookupError once it is gone
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def slurm_cluster() -> Iterator[SlurmCluster]:
    """Start a one-node cluster (see the module docstring); stop it and remove its files after."""
    if os.geteuid() != 0:
        raise SlurmUnavailable("starting slurmctld and slurmd needs root (this test starts its own cluster)")
    install_packages()
    home = Path(tempfile.mkdtemp(prefix="wavenet-slurm-"))
    home.chmod(0o755)  # munged (the munge user) must reach its folder inside
    for sub in ("state", "spool", "log"):
        (home / sub).mkdir()
    host = socket.gethostname().split(".")[0]
    conf = home / "slurm.conf"
    conf.write_text(SLURM_CONF.format(host=host, home=home, ctld_port=_free_port(), slurmd_port=_free_port()))
    cluster = SlurmCluster(home=home, conf=conf)
    env = cluster.env()
    try:
        subprocess.run(_munged(home), check=True, capture_output=True, timeout=30)
        _wait_for(lambda: (home / "munge" / "munge.socket").exists(), "munged did not start", 20)
        # -i: ignore state left by an earlier run (there is none: a fresh folder); both fork into the background.
        subprocess.run(
            [DAEMONS["slurmctld"], "-i", "-f", str(conf)], check=True, env=env, capture_output=True, timeout=30
        )
        subprocess.run(
            [DAEMONS["slurmd"], "-f", str(conf), "-N", host], check=True, env=env, capture_output=True, timeout=30
        )

        def node_idle() -> bool:
            done = subprocess.run(["sinfo", "--noheader", "--format=%t"], env=env, capture_output=True, text=True)
            return done.returncode == 0 and done.stdout.strip() == "idle"

        _wait_for(node_idle, "the node did not become idle", START_TIMEOUT_S, home / "log")
        yield cluster
    except subprocess.CalledProcessError as err:
        raise SlurmUnavailable(
            f"{' '.join(map(str, err.cmd[:3]))} failed: {(err.stderr or b'').decode(errors='replace').strip()[-500:]}"
        ) from None
    finally:
        with contextlib.suppress(Exception):
            subprocess.run(["scancel", "--full", "--user=root"], env=env, capture_output=True, timeout=10)
        _stop(home / "slurmd.pid")
        _stop(home / "slurmctld.pid")
        _stop(home / "munge" / "munged.pid")
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    with slurm_cluster() as running:
        print(f"export SLURM_CONF={running.conf}   # Ctrl-C stops the cluster", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
