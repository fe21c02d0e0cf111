"""Layer 1, the base: what every other layer builds on. It imports nothing above it.

errors.py (the one user-error contract and the value rules), files.py (atomic writes, JSON
without NaN, reads that never block), records.py (a run's record: metrics.json, its one
writer and its readers), data.py (words -> vocabulary -> splits -> batches), passwords.py,
interrupts.py (the stop flag), extras.py (optional installs).
"""
