"""The harness takes the notebook's exact steps: same init, same batches, same updates.

The reference is the lecture's own code (notebook_reference.py); equality is bit for bit.
"""

import pytest
import torch

from wavenet_harness.base.data import build_dataset, read_words
from wavenet_harness.models import build_model
from wavenet_harness.models.reference import notebook_hier, notebook_mlp, notebook_split_loss, notebook_train
from wavenet_harness.training.loop import TrainSettings, train
from wavenet_harness.training.optim import build_optimizer
from wavenet_harness.training.schedules import build_schedule


class LossRecorder:
    def __init__(self):
        self.losses = []

    def on_train_loss(self, step, loss, lr):
        self.losses.append(loss)

    def on_metrics(self, step, metrics):
        pass


@pytest.fixture(scope="module")
def names8(names_path):
    return build_dataset(read_words(names_path), block_size=8)


def _harness_run(model, data, steps):
    recorder = LossRecorder()
    optimizer = build_optimizer("sgd", model, 0.1)
    schedule = build_schedule("step", 0.1, steps, decay_at=0.75, factor=0.1)
    result = train(
        model,
        optimizer,
        schedule,
        (data.train.X, data.train.Y),
        (data.val.X, data.val.Y),
        TrainSettings(max_steps=steps, batch_size=32),
        [recorder],
    )
    return recorder.losses, result


@pytest.mark.parametrize("bug", [False, True], ids=["fixed", "batchnorm_bug"])
def test_hier_matches_notebook_bit_for_bit_across_the_lr_decay(names8, bug):
    steps = 200  # the decay lands at step 150, as 150k of 200k in the lecture
    n_embd, n_hidden = (24, 128) if not bug else (10, 68)
    reference = notebook_hier(27, n_embd, n_hidden, bug=bug)
    ref_losses = notebook_train(reference, names8.train.X, names8.train.Y, steps)

    torch.manual_seed(42)
    model = build_model("hier", 27, 8, n_embd, n_hidden, 3, batchnorm_bug=bug)
    losses, result = _harness_run(model, names8, steps)

    assert losses == ref_losses
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(ours, theirs)
    ref_val = notebook_split_loss(reference, names8.val.X, names8.val.Y)
    assert result.val_loss == pytest.approx(ref_val, abs=1e-6)


def test_flat_mlp_matches_notebook_bit_for_bit(names_path):
    data = build_dataset(read_words(names_path), block_size=3)
    reference = notebook_mlp(27, 3)
    ref_losses = notebook_train(reference, data.train.X, data.train.Y, 100)
    torch.manual_seed(42)
    model = build_model("mlp", 27, 3, 10, 200, 1)
    losses, _ = _harness_run(model, data, 100)
    assert losses == ref_losses
    for ours, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(ours, theirs)
