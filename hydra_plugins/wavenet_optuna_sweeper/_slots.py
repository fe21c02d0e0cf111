"""Trials side by side: up to k launcher calls at once, each handed back the moment it ends.

A search with `n_jobs: k` keeps k trials running: whenever one ends (finished, pruned,
failed) the sweeper asks the study for the next and launches it at once. Handing the
launcher a batch of k jobs and waiting for all of them would leave a slot idle beside the
longest trial of each batch, which under pruning is most of the time.

Each launch is one job, made in a thread of its own that only waits (on a joblib worker
process, a submitit job, a SLURM job); the study is asked and told in the main thread
only. The threads are daemons, so they never hold the process at exit: after Ctrl-C the
sweeper can leave while a SLURM job it was waiting for runs on, as before.

Which launchers may be called from threads at once (`parallel_slots`): those that run the
job in another process (joblib's loky workers, submitit's local and SLURM executors). Hydra's
basic launcher runs the job in this very process, where training installs its signal
handlers (only the main thread may) and Hydra sets process-wide state (the job's config,
logging): with it, and with any launcher not known here, one trial runs at a time, called
in the main thread. So does joblib when it would run one job at a time itself (it would
then run the job in the calling thread).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

# Launchers that run each job in a process of their own, by their class's module.
OUT_OF_PROCESS = ("hydra_plugins.hydra_submitit_launcher", "hydra_plugins.wavenet_slurm_launcher")
JOBLIB = "hydra_plugins.hydra_joblib_launcher"


def parallel_slots(launcher: Any, n_jobs: int) -> int:
    """How many single-job launches may run at once: n_jobs, or 1 where the launcher cannot
    take calls from threads; never more than joblib's own n_jobs (more would only queue)."""
    module = type(launcher).__module__
    if module.startswith(JOBLIB):
        from joblib import effective_n_jobs

        return max(1, min(n_jobs, effective_n_jobs((launcher.joblib or {}).get("n_jobs", -1))))
    if module.startswith(OUT_OF_PROCESS):
        return n_jobs
    return 1


class Slots:
    """Up to `size` calls running at once; `next_done` hands back whichever ends first.

    With size 1 the call is made right away in the calling thread (see the module's docstring).
    A call that raises (KeyboardInterrupt and SystemExit too) is handed back as its error.
    """

    def __init__(self, size: int):
        self.size = size
        self.running: dict[int, Any] = {}  # key -> what the caller tagged the call with
        self._ended: queue.Queue = queue.Queue()

    def free(self) -> bool:
        return len(self.running) < self.size

    def start(self, key: int, tag: Any, call: Callable[..., Any], *args: Any) -> None:
        self.running[key] = tag
        if self.size == 1:
            self._ended.put(self._outcome(key, call, args))
            return
        thread = threading.Thread(
            target=lambda: self._ended.put(self._outcome(key, call, args)), name=f"launch-{key}", daemon=True
        )
        thread.start()

    @staticmethod
    def _outcome(key: int, call: Callable[..., Any], args: tuple) -> tuple[int, Any, BaseException | None]:
        try:
            return key, call(*args), None
        except BaseException as err:  # handed to the main thread, which decides
            return key, None, err

    def next_done(self) -> tuple[Any, Any, BaseException | None]:
        """(tag, result, error) of the next call to end; waits for it. Ctrl-C interrupts the wait."""
        while True:
            try:
                key, result, error = self._ended.get(timeout=1.0)
            except queue.Empty:
                continue
            return self.running.pop(key), result, error
