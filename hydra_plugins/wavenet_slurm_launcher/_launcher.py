"""The SLURM launcher class: Hydra's submitit SLURM launcher, with jobs that survive preemption.

submitit already requeues a SLURM job on its preemption signal (SIGUSR2, also sent
`signal_delay_s` before the time limit) and calls the submitted callable's `checkpoint()`
for what to run next. Hydra's launcher answers "the same job again", which would start
from step 0 in a folder that already holds the job's run. Here the job comes back with
`resume=true`: it continues from the checkpoint the training loop wrote when the signal
arrived (train.py stops after the current step, saves, then hands the signal on to
submitit), bit for bit.

Also: a machine without SLURM gets one line instead of submitit's traceback.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Any, List, Sequence

from hydra.core.utils import JobReturn
from hydra_plugins.hydra_submitit_launcher.submitit_launcher import SlurmLauncher


def resumed_overrides(overrides: List[str]) -> List[str]:
    """A job's overrides with resume=true (whatever resume it had before)."""
    kept = [o for o in overrides if o.lstrip("+~").split("=", 1)[0] != "resume"]
    return [*kept, "resume=true"]


class RequeueingSlurmLauncher(SlurmLauncher):
    def __call__(self, sweep_overrides: List[str], *args: Any, **kwargs: Any) -> JobReturn:
        """Run one job; a job SLURM itself requeued (preemption with PreemptMode=REQUEUE,
        SLURM_RESTART_COUNT > 0) runs its original submission again: resume it too."""
        if os.environ.get("SLURM_RESTART_COUNT", "0") not in ("", "0"):
            sweep_overrides = resumed_overrides(list(sweep_overrides))
        return super().__call__(sweep_overrides, *args, **kwargs)

    def checkpoint(self, sweep_overrides: List[str], *args: Any, **kwargs: Any) -> Any:
        """What submitit requeues after preemption or a timeout: this job, resumed."""
        import submitit

        return submitit.helpers.DelayedSubmission(self, resumed_overrides(list(sweep_overrides)), *args, **kwargs)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        if shutil.which("sbatch") is None:
            print(
                "wavenet-train: error: hydra/launcher=slurm needs a SLURM cluster (no sbatch on this machine); "
                "use hydra/launcher=parallel here",
                file=sys.stderr,
            )
            sys.exit(2)
        return super().launch(job_overrides, initial_job_idx)

