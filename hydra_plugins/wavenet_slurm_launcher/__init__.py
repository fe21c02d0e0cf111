"""hydra/launcher=slurm: Hydra's submitit SLURM launcher, with jobs that survive preemption.

The launcher itself lives in `_launcher.py`, which imports hydra-submitit-launcher (the
[slurm] extra). Hydra's plugin scan skips modules whose names start with "_", and this
package imports it only in `register()`, which runs when a sweep has chosen the launcher:
a core install without the extra never imports it.
"""

from __future__ import annotations

from hydra.experimental.callback import Callback

from wavenet_harness.base.errors import exit_with_error
from wavenet_harness.sweeps.slurm_jobs import check_password_reachable

LAUNCHER_TARGET = "hydra_plugins.wavenet_slurm_launcher._launcher.RequeueingSlurmLauncher"


def register() -> None:
    """Make the launcher known to Hydra where its plugin scan cannot see this package
    (an editable install, or the scan's skipping of `_launcher`)."""
    from hydra.core.plugins import Plugins

    from hydra_plugins.wavenet_slurm_launcher._launcher import RequeueingSlurmLauncher

    Plugins.instance().register(RequeueingSlurmLauncher)


class RegisterWhenChosen(Callback):
    """Hydra callback (conf/train.yaml hydra.callbacks): registers the launcher when a multirun
    chose it, before Hydra instantiates the sweeper and its launcher. A study database the
    jobs could not log in to is refused here, before the sweep touches it."""

    def on_multirun_start(self, config, **kwargs) -> None:
        if config.hydra.launcher.get("_target_") != LAUNCHER_TARGET:
            return
        unreachable = check_password_reachable(config.hydra.sweeper.get("storage"))
        if unreachable:
            exit_with_error(unreachable)
        register()
