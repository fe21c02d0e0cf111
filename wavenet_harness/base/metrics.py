"""The names of the metrics an evaluation reports: written once, read by the training loop
(which produces them), TensorBoard (its tags), metrics.json, pruning and the reports.

A listener receives an evaluation's metrics as one mapping, `on_metrics(step, {VAL_LOSS: ...})`,
so a new metric is its name here, one producer and at most one consumer.
"""

VAL_LOSS = "loss/val"  # the validation split's mean loss per character
