"""Sweeps that finish: threads per job, failures as results, the end-of-sweep summary
(launch.py), and the Optuna study shared by the sweeper and its trials (study.py)."""
