"""Layer 6, the Hydra adapter: what turns a composed config into a run.

schema.py (the typed config), config.py (validate() asks each option's owner; composing a
config outside the CLI), job.py (one job: config -> data -> model -> train -> run
directory, wiring the layers below), callbacks.py (Hydra callbacks: the run-directory
guard, the `${wavenet_unique:}` resolver). The Hydra plugins in hydra_plugins/ are glue at
this level too. Only the Python API (layer 7, api/) and the CLI (layer 8) sit above.
"""
