"""wavenet-harness's Hydra Sweeper on Optuna's ask-and-tell API (hydra/sweeper=wavenet_optuna)."""


def register() -> None:
    """Make the sweeper known to Hydra even where its plugin scan cannot see this package.

    Hydra finds plugins by listing the hydra_plugins namespace package; an editable install
    (pip install -e .) maps packages through an import hook that listing does not see. This
    registers the config and the class through Hydra's public API; a second registration
    is harmless.
    """
    from hydra.core.plugins import Plugins

    from hydra_plugins.wavenet_optuna_sweeper import config  # noqa: F401  (stores hydra/sweeper=wavenet_optuna)
    from hydra_plugins.wavenet_optuna_sweeper.sweeper import WavenetOptunaSweeper

    Plugins.instance().register(WavenetOptunaSweeper)
