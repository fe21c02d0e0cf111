"""Sweeps that finish: threads per job, failures as results, the end-of-sweep summary
(launch.py), the Optuna study shared by the sweeper and its trials (study.py), and SLURM
jobs followed to their end (slurm_jobs.py)."""
