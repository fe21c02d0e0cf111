"""The SLURM launcher class: Hydra's submitit SLURM launcher, with jobs that survive preemption.

submitit already requeues a SLURM job on its preemption signal (SIGUSR2, also sent
`signal_delay_s` before the time limit) and calls the submitted callable's `checkpoint()`
for what to run next. Hydra's launcher answers "the same job again", which would start
from step 0 in a folder that already holds the job's run. Here the job comes back with
`resume=true`: it continues from the checkpoint the training loop wrote when the signal
arrived (train.py stops after the current step, saves, then hands the signal on to
submitit), bit for bit.

Also, for a sweep on a real cluster:
  - the jobs are followed with squeue and their result files (wavenet_harness/sweeps/
    slurm_jobs.py), so a job that ended without a result (killed for memory, a lost node,
    cancelled before it started) is one failed job of the sweep, even where SLURM keeps no
    accounting, and a job that may never start is named while the sweep waits;
  - sbatch never sees PGPASSWORD: slurmctld would store it with each job;
  - a machine without SLURM, an sbatch that refuses the jobs, or Ctrl-C while waiting gets
    one line instead of submitit's traceback;
  - `launch` may be called from several threads at once (the Optuna sweeper launches each
    trial as soon as a slot frees, _slots.py): submissions take turns, since each takes
    PGPASSWORD out of the process's environment and redirects stderr while sbatch runs,
    and the jobs being waited for are remembered, so that Ctrl-C in the sweeper's main
    thread can name them all (`left_running`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hydra.core.singleton import Singleton
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher
from omegaconf import OmegaConf, open_dict

from wavenet_harness.base.errors import exit_with_error
from wavenet_harness.sweeps import slurm_jobs
from wavenet_harness.sweeps.launch import record_failure

log = logging.getLogger(__name__)


def resumed_overrides(overrides: list[str]) -> list[str]:
    """A job's overrides with resume=true (whatever resume it had before)."""
    kept = [o for o in overrides if o.lstrip("+~").split("=", 1)[0] != "resume"]
    return [*kept, "resume=true"]


# One submission at a time in this process (see the module's docstring).
SUBMITTING = threading.Lock()


class RequeueingSlurmLauncher(SlurmLauncher):
    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._waiting_for: dict[str, int] = {}  # SLURM job ids being waited for -> launches waiting

    def __getstate__(self) -> dict[str, Any]:
        """The launcher is pickled into each job; its bookkeeping of waits stays here."""
        return {k: v for k, v in self.__dict__.items() if k != "_waiting_for"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _waiting_for={})

    def __call__(self, sweep_overrides: list[str], *args: Any, **kwargs: Any) -> JobReturn:
        """Run one job; a job SLURM itself requeued (preemption with PreemptMode=REQUEUE,
        SLURM_RESTART_COUNT > 0) runs its original submission again: resume it too."""
        if os.environ.get("SLURM_RESTART_COUNT", "0") not in ("", "0"):
            sweep_overrides = resumed_overrides(list(sweep_overrides))
        return super().__call__(sweep_overrides, *args, **kwargs)

    def checkpoint(self, sweep_overrides: list[str], *args: Any, **kwargs: Any) -> Any:
        """What submitit requeues after preemption or a timeout: this job, resumed."""
        import submitit

        return submitit.helpers.DelayedSubmission(self, resumed_overrides(list(sweep_overrides)), *args, **kwargs)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        """Submit the jobs as one array, then wait for each to end (Hydra's launcher, with
        the waiting and the submission's environment of wavenet_harness/sweeps/slurm_jobs.py)."""
        if shutil.which("sbatch") is None:
            self._refuse(
                "hydra/launcher=slurm needs a SLURM cluster (no sbatch on this machine); "
                "use hydra/launcher=parallel here"
            )
        assert self.config is not None
        executor = self._executor()
        sweep_dir = Path(str(self.config.hydra.sweep.dir))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        if "mode" in self.config.hydra.sweep:  # as Hydra's launcher does
            os.chmod(sweep_dir, mode=int(str(self.config.hydra.sweep.mode), 8))
        job_params = []
        for idx, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info(f"\t#{idx} : {' '.join(filter_overrides(overrides))}")
            job_params.append((list(overrides), "hydra.sweep.dir", idx, f"job_id_for_{idx}", Singleton.get_state()))

        # sbatch passes its environment to slurmctld, which stores it: no password in it.
        # submitit prints sbatch's complaints itself before raising; they become one line here.
        complaints = io.StringIO()
        try:
            with SUBMITTING, slurm_jobs.password_kept_from_sbatch(), contextlib.redirect_stderr(complaints):
                jobs = executor.map_array(self, *zip(*job_params, strict=True))
        except Exception as err:
            said = " ".join((str(err) or complaints.getvalue()).split())
            self._refuse(f"sbatch refused the sweep's jobs: {said[:400]}")
        array = jobs[0].job_id.split("_")[0]
        print(
            f"SLURM job {array}: {len(jobs)} job(s) of the sweep submitted; logs in {jobs[0].paths.folder.parent}",
            flush=True,
        )
        self._waiting_for[array] = self._waiting_for.get(array, 0) + 1
        try:
            results = slurm_jobs.wait_for_jobs(jobs)
        except KeyboardInterrupt:  # the jobs are SLURM's now: say how to stop them, if that was meant
            exit_with_error(self.left_running(), code=130)
        finally:
            self._waiting_for[array] -= 1
            if not self._waiting_for[array]:
                del self._waiting_for[array]
        return [
            self._job_return(result, overrides, idx)
            for idx, (result, overrides) in enumerate(zip(results, job_overrides, strict=True), start=initial_job_idx)
        ]

    def left_running(self) -> str:
        """What Ctrl-C leaves behind while this launcher waits: the SLURM jobs, and how to stop them."""
        ids = " ".join(sorted(dict(self._waiting_for), key=lambda job_id: (len(job_id), job_id)))
        return (
            f"interrupted while waiting; the sweep's SLURM jobs keep running (scancel {ids} stops them, "
            "each saving its checkpoint)"
        )

    def _executor(self) -> Any:
        """submitit's SLURM executor with this launcher's settings (as Hydra's launcher builds it)."""
        import submitit

        init_keys = {"max_num_timeout", "submitit_folder"}
        executor = submitit.AutoExecutor(
            cluster="slurm", folder=self.params["submitit_folder"], slurm_max_num_timeout=self.params["max_num_timeout"]
        )
        base = set(OmegaConf.structured(BaseQueueConf).keys())
        executor.update_parameters(
            **{k if k in base else f"slurm_{k}": v for k, v in self.params.items() if k not in init_keys}
        )
        return executor

    def _job_return(self, result: Any, overrides: Sequence[str], idx: int) -> JobReturn:
        """A job's JobReturn. One that ended without a result, or raised outside the training
        task (which records its own failures), is written to its folder as failed and returns
        NaN, as a failed job of any launcher does: the sweep goes on and its summary tells."""
        error: BaseException | None = result if isinstance(result, BaseException) else None
        if error is None:
            try:
                return result.results()[0]
            except Exception as err:  # submitit's error holds the job's whole log: keep its last line
                lines = [line for line in str(err).splitlines() if line.strip()]
                error = RuntimeError(
                    f"SLURM job {result.job_id} raised: {lines[-1].strip() if lines else err!r}; "
                    f"its log: {result.paths.stderr}"
                )
        run_dir = self._run_dir(overrides, idx)
        if run_dir is not None:
            record_failure(run_dir, error, user_error=True)
        return JobReturn(overrides=list(overrides), status=JobStatus.COMPLETED, _return_value=math.nan)

    def _run_dir(self, overrides: Sequence[str], idx: int) -> Path | None:
        try:
            sweep_config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            with open_dict(sweep_config.hydra.job):
                sweep_config.hydra.job.num = idx
            return Path(str(sweep_config.hydra.sweep.dir)) / str(sweep_config.hydra.sweep.subdir)
        except Exception:  # where it would have run is unknowable: the summary line still tells
            return None

    @staticmethod
    def _refuse(message: str) -> None:
        exit_with_error(message)
