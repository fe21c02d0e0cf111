"""The names of the metrics a run reports and of its TensorBoard tags: written once, read by
the training loop (which produces the evaluations), TensorBoard (its tags), metrics.json,
pruning, the reports and the scripts.

A listener receives an evaluation's metrics as one mapping, `on_metrics(step, {VAL_LOSS: ...})`,
so a new metric is its name here, one producer and at most one consumer.

TensorBoard's Time Series sorts tags by name and groups them by the part before the first
'/', expanding the first two groups: the `loss` group (val, its best so far, the whole
training split) sorts first and `minibatch` second, ahead of `network` (diagnostics) and
`opt`, so the first card is the val loss.
"""

import json

VAL_LOSS = "loss/val"  # the validation split's mean loss per character
VAL_BEST = "loss/val_best"  # the lowest val loss so far
TRAIN_SPLIT_LOSS = "loss/whole_train"  # the whole training split's loss (eval mode), at the end
MINIBATCH_LOSS = "minibatch/loss"  # the training minibatch's loss every log.loss_every steps
MINIBATCH_SMOOTH = "minibatch/loss_smooth"  # the lecture's windowed mean of the minibatch loss
LEARNING_RATE = "opt/lr"  # not `lr`: that is the hyperparameter's name in HParams
SAMPLES = "samples"  # text: names sampled at each evaluation

# Old name -> new name of the tags renamed so that val sorts first (docs/dashboards.md).
RENAMED_TAGS = {
    "loss/train": MINIBATCH_LOSS,
    "loss/train_smooth": MINIBATCH_SMOOTH,
    "loss/train_split": TRAIN_SPLIT_LOSS,
}

# The card pinned at the top of Time Series by `pinned_url`: one, so that the address fits
# a line of a sweep's 100-column closing screen.
PINNED_TAGS = (VAL_LOSS,)
DEFAULT_ADDRESS = "http://localhost:6006"  # where `tensorboard --logdir ...` serves by default


def pinned_url(address: str = DEFAULT_ADDRESS) -> str:
    """TensorBoard with the val loss card pinned at the top of Time Series: TensorBoard 2.x
    reads pinned cards from the address's query string (`pinnedCards`, a JSON list) and opens
    on Time Series (measured with 2.21; it also keeps pins in the browser). Only the quotes
    are encoded, the shortest form it reads."""
    cards = json.dumps([{"plugin": "scalars", "tag": tag} for tag in PINNED_TAGS], separators=(",", ":"))
    return f"{address}/?pinnedCards={cards.replace(chr(34), '%22')}"
