"""Model builders: shapes, parameter counts of the lecture's five rows, the tree rules."""

import pytest
import torch

from wavenet_harness.adapter.config import compose_config, load_run_config
from wavenet_harness.base.errors import ConfigError
from wavenet_harness.models import build_model, build_run_model, num_params
from wavenet_harness.models.tree import hier_group_sizes

LECTURE_PARAMS = {
    "lecture_mlp3": 12097,
    "lecture_mlp8": 22097,
    "lecture_hier_bug": 22397,
    "lecture_hier_fixed": 22397,
    "lecture_hier": 76579,
}


@pytest.mark.parametrize("experiment,params", LECTURE_PARAMS.items())
def test_experiment_presets_build_the_lecture_param_counts(experiment, params):
    model = build_run_model(load_run_config([f"experiment={experiment}"]), vocab_size=27)
    assert num_params(model) == params


def test_default_config_is_the_lecture_final_model():
    cfg = compose_config()
    assert [cfg[k] for k in ("block_size", "n_embd", "n_hidden", "depth")] == [8, 24, 128, 3]
    assert [cfg[k]["name"] for k in ("model", "optim", "schedule")] == ["hier", "sgd", "step"]
    assert [cfg[k] for k in ("batch_size", "max_steps", "lr", "seed")] == [32, 200000, 0.1, 42]


def test_model_group_mlp_sets_one_hidden_layer_unless_overridden():
    assert compose_config(["model=mlp"])["depth"] == 1
    assert compose_config(["model=mlp", "depth=2"])["depth"] == 2


def test_hier_tree_fuses_pairs_and_outputs_next_char_logits():
    torch.manual_seed(0)
    model = build_model("hier", vocab_size=5, block_size=8, n_embd=3, n_hidden=6, depth=3)
    logits, loss = model(torch.zeros(4, 8, dtype=torch.long))
    assert logits.shape == (4, 5) and loss is None  # no targets, no loss


@pytest.mark.parametrize(
    "block_size,depth,groups", [(8, 3, [2, 2, 2]), (16, 3, [4, 2, 2]), (3, 1, [3]), (8, 4, [1, 2, 2, 2])]
)
def test_group_sizes(block_size, depth, groups):
    assert hier_group_sizes(block_size, depth) == groups


def test_tree_that_cannot_divide_the_context_names_valid_sizes():
    with pytest.raises(ConfigError, match=r"block_size=6 .* multiple of 4 \(4, 8, 12, 16"):
        hier_group_sizes(6, 3)


def test_depth_one_hier_equals_flat_mlp():
    torch.manual_seed(1)
    hier = build_model("hier", 7, 4, 3, 5, depth=1)
    torch.manual_seed(1)
    mlp = build_model("mlp", 7, 4, 3, 5, depth=1)
    idx = torch.randint(0, 7, (6, 4))
    assert torch.equal(hier(idx)[0], mlp(idx)[0])


def test_last_layer_starts_less_confident():
    torch.manual_seed(0)
    model = build_model("hier", 27, 8, 24, 128, 3)
    torch.manual_seed(0)
    # the output layer's weight is a tenth of a plain randn/sqrt(fan_in) draw
    assert model.layers[-1].weight.std() < 0.02


def test_batchnorm_bug_keeps_per_position_running_stats_and_reloads():
    torch.manual_seed(0)
    model = build_model("hier", 5, 4, 2, 3, depth=2, batchnorm_bug=True)
    model(torch.randint(0, 5, (8, 4)))
    assert model.layers[3].running_mean.shape == (2, 3)  # (T, C) after the first level
    fresh = build_model("hier", 5, 4, 2, 3, depth=2, batchnorm_bug=True)
    fresh.load_state_dict(model.state_dict())
    assert torch.equal(fresh.layers[3].running_mean, model.layers[3].running_mean)


def test_tuned_preset_is_a_conv_wavenet_with_its_options():
    from wavenet_harness.adapter.config import validate

    cfg = compose_config(["experiment=tuned"])
    config = validate(cfg)
    model = build_run_model(config, vocab_size=27)
    assert cfg["model"]["name"] == "conv" and cfg["block_size"] == 16
    assert model.dropout == cfg["model"]["dropout"] > 0 and model.residual == cfg["model"]["residual"]
    assert sum(p.numel() for p in model.parameters()) == 205_614  # the size the README reports
