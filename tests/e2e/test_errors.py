"""Bad configs and bad words files through the CLI: exit code 2 and one clear line.

Most cases run through the `cli` fixture's batch, which calls the `wavenet-train` entry point
once per command line inside a single process (one torch import for all of them); one
case also runs as a real separate process to show a shell sees the same.
"""

from __future__ import annotations

import os
import shutil

import pytest
import torch

from helpers import TINY_OVERRIDES, TINY_WORDS, assert_one_error_line, read_metrics, write_tiny_words

# (case id, overrides, text the one error line must contain)
CONFIG_CASES = [
    ("unknown key", ["nhidden=64"], "nhidden is not a config key"),
    ("unknown key added with +", ["+foo=1"], "foo is not a config key"),
    ("unknown group option", ["model=lstm"], "model=lstm is not allowed: choose one of "),
    ("unknown model option", ["+model.dropout=0.1"], "model.dropout is not a key of model=hier"),
    ("zero size", ["n_hidden=0"], "n_hidden=0 is not allowed: n_hidden must be a positive whole number"),
    ("negative size", ["batch_size=-4"], "batch_size=-4 is not allowed: batch_size must be a positive whole number"),
    ("size not a number", ["n_hidden=abc"], "n_hidden=abc is not allowed: n_hidden must be a whole number"),
    ("size not whole", ["block_size=2.5"], "block_size=2.5 is not allowed: block_size must be a whole number"),
    ("lr negative", ["lr=-1"], "lr=-1.0 is not allowed: lr must be a positive finite number"),
    ("lr nan", ["lr=nan"], "lr=nan is not allowed: lr must be a positive finite number"),
    ("lr inf", ["lr=inf"], "lr=inf is not allowed: lr must be a positive finite number"),
    ("lr not a number", ["lr=fast"], "lr=fast is not allowed: lr must be a number"),
    ("tree cannot divide block_size", ["block_size=6"], "use a multiple of 4 (4, 8, 12, 16, ...)"),
    (
        "warmup longer than the run",
        ["schedule=cosine", "schedule.warmup_steps=100"],
        "schedule.warmup_steps=100 is not allowed: more warmup steps than max_steps=60",
    ),
    (
        "model option of the wrong type",
        ["model.batchnorm_bug=maybe"],
        "model.batchnorm_bug=maybe is not allowed: model.batchnorm_bug must be true or false",
    ),
    (
        "true or false given a number",
        ["model.batchnorm_bug=3"],
        "model.batchnorm_bug=3 is not allowed: model.batchnorm_bug must be true or false",
    ),
    (
        "misspelt schedule key",
        ["schedule=cosine", "+schedule.warmup=5"],
        "schedule.warmup is not a key of schedule=cosine; did you mean warmup_steps?",
    ),
    (
        "schedule key the option lacks",
        ["+schedule.warmup_steps=5"],
        "schedule.warmup_steps is not a key of schedule=step (it is a key of schedule=constant, cosine, wsd",
    ),
    (
        "adamw key with sgd",
        ["+optim.beta1=0.5"],
        "optim.beta1 is not a key of optim=sgd; optim=sgd takes: momentum, weight_decay",
    ),
    (
        "another optimizer key",
        ["optim.betas=[0.9,0.99]"],
        "optim.betas is not a key of optim=sgd (it is a key of optim=adamw: choose that option)",
    ),
    (
        "another model key",
        ["model.n_head=4"],
        "model.n_head is not a key of model=hier (it is a key of model=transformer: choose that option)",
    ),
    ("misspelt log key", ["+log.sampels=3"], "log.sampels is not a key of log; did you mean samples?"),
    ("misspelt data key", ["+data.paht=x"], "data.paht is not a key of data; did you mean path?"),
    (
        "wrong type in optim",
        ["optim=adamw", "optim.eps=tiny"],
        "optim.eps=tiny is not allowed: optim.eps must be a number",
    ),
    (
        "wrong type in schedule",
        ["schedule=cosine", "schedule.warmup_steps=1.5"],
        "schedule.warmup_steps=1.5 is not allowed: schedule.warmup_steps must be a whole number",
    ),
    (
        "search without --multirun",
        ["hparams_search=hier_optuna"],
        "hparams_search=hier_optuna is a search: run it with --multirun",
    ),
    ("negative split seed", ["data.split_seed=-1"], "data.split_seed=-1 is not allowed"),
    (
        "dropout out of range",
        ["model=conv", "model.dropout=1.0"],
        "model.dropout=1.0 is not allowed: it must be at least 0 and below 1",
    ),
    (
        "dropout not a number",
        ["model=conv", "model.dropout=lots"],
        "model.dropout=lots is not allowed: model.dropout must be a number",
    ),
    (
        "wavenet norm unknown",
        ["model=wavenet", "model.norm=batch"],
        "model.norm='batch' is not allowed: choose one of none, layer",
    ),
    (
        "wavenet cycles do not fit",
        ["model=wavenet", "depth=8"],
        "depth=8 is not allowed: model=wavenet's dilation cycles need one kernel-2 layer each within block_size=8",
    ),
    (
        "transformer heads do not split n_embd",
        ["model=transformer", "model.n_head=3"],
        "model.n_head=3 is not allowed with n_embd=4: the heads split n_embd evenly",
    ),
    (
        "gru has no heads",
        ["model=gru", "+model.n_head=2"],
        "model.n_head is not a key of model=gru (it is a key of model=transformer: choose that option); "
        "model=gru takes: dropout",
    ),
    (
        "optimizer option out of range",
        ["optim=adamw", "optim.betas=[2,0.9]"],
        "optim.betas=[2.0, 0.9] is not allowed: two numbers in [0, 1)",
    ),
    ("unknown device", ["device=tpu"], "device='tpu' is not allowed: choose one of auto, cpu, cuda, mps"),
    ("unparsable override", ["n_hidden=["], "cannot parse the override 'n_hidden=['"),
    ("resume from nowhere", ["resume=/nonexistent/run"], "cannot resume: /nonexistent/run does not exist"),
    (
        "integer past 64 bits",
        ["seed=1180591620717411303424"],
        "seed=1180591620717411303424 is not allowed: seed must be below 2**63",
    ),
    ("steps past 64 bits", ["max_steps=18446744073709551616"], "max_steps must be below 2**63"),
    ("model too big for memory", ["n_hidden=100000000000"], "cannot build the model with these sizes"),
    ("context too big for memory", ["block_size=4611686018427387904"], "cannot build the dataset with these sizes"),
    ("null model group", ["model=null"], "model=null is not allowed: a config group needs one of its options"),
    ("null optimizer group", ["optim=null"], "optim=null is not allowed"),
    ("batch of one", ["batch_size=1"], "batch_size=1 is not allowed: batchnorm needs at least 2 examples per batch"),
    ("diverge_factor of 1", ["diverge_factor=1"], "diverge_factor=1.0 is not allowed: it must be above 1"),
    ("batch too big for memory", ["batch_size=1000000000000"], "cannot build the batches with these sizes"),
]
if not torch.cuda.is_available():
    CONFIG_CASES.append(
        ("device not present", ["device=cuda"], "device=cuda is not allowed: no CUDA device is present")
    )

# (case id, file bytes or None for "no such file", text the one error line must contain)
DATA_CASES = [
    ("form feed inside a word", b"emma\nab\x0ccd\nava\n", "line 2: 'ab\\x0ccd' contains the control character U+000C"),
    ("line separator inside a word", "emma\nab\u2028cd\n".encode(), "contains the control character U+2028"),
    ("missing file", None, "file not found"),
    ("not UTF-8", b"emma\n\xff\xfeava\n", "is not UTF-8 text (bad byte at offset 5)"),
    ("empty file", b"", "holds no words"),
    ("only blank lines", b"\n   \n\t\r\n\n", "holds no words"),
    ("word longer than the limit", b"emma\n" + b"a" * 201 + b"\n", "line 2 is 201 characters long (at most 200)"),
    ("end token inside a word", b"emma\nanne.marie\n", "line 2: 'anne.marie' contains '.'"),
    ("a single word", b"emma\n", "1 word leave the train split empty"),
    ("five words", b"emma\nava\nmia\nluna\naria\n", "5 words leave the val split empty"),
]


# (case id, arguments with {root} and {fifo}, text the one error line must contain)
SPECIAL_CASES = [
    ("words file not a regular file", ["data.path={fifo}", "hydra.run.dir={root}/runs/fifo"], "is not a regular file"),
    ("run dir cannot be created", ["hydra.run.dir={root}/a_file/run"], "cannot create or write"),
    ("a sweep's config printed", ["--multirun", "--cfg=job"], "--cfg, --info and --multirun cannot be combined"),
    ("a sweep's info printed", ["--multirun", "--info=all"], "--cfg, --info and --multirun cannot be combined"),
    (
        "sweep on slurm without slurm",
        ["--multirun", "hydra/launcher=slurm", "hydra.sweep.dir={root}/runs/slurm"],
        "hydra/launcher=slurm needs a SLURM cluster",
    ),
]
if shutil.which("sbatch") is not None:
    SPECIAL_CASES.pop()


@pytest.fixture(scope="module")
def batch(tmp_path_factory, cli):
    """Every case of this module in one process: {case id: result}."""
    root = tmp_path_factory.mktemp("errors")
    words = write_tiny_words(root)
    base = [*TINY_OVERRIDES, f"data.path={words}"]

    cases = {}
    for name, overrides, _ in CONFIG_CASES:
        cases[name] = [*base, *overrides, f"hydra.run.dir={root / 'runs' / name.replace(' ', '_')}"]
    for name, content, _ in DATA_CASES:
        path = root / (name.replace(" ", "_") + ".txt")
        if content is not None:
            path.write_bytes(content)
        cases[name] = [*base, f"data.path={path}", f"hydra.run.dir={root / 'runs' / name.replace(' ', '_')}"]
    # Two files that must give the same words: plain LF, and CRLF + byte-order mark +
    # surrounding whitespace + blank lines.
    messy = root / "messy.txt"
    messy.write_bytes(
        b"\xef\xbb\xbf"
        + b"".join(f"  {w}\t \r\n".encode() + (b"\r\n" if i % 5 == 0 else b"") for i, w in enumerate(TINY_WORDS))
    )
    fifo = root / "words.fifo"
    os.mkfifo(fifo)  # reading it would wait for a writer forever
    (root / "a_file").write_text("not a folder")
    for name, args, _ in SPECIAL_CASES:
        args = [a.format(root=root, fifo=fifo) for a in args]
        flags = [a for a in args if a.startswith("--")]  # --multirun goes before the overrides
        cases[name] = [*flags, *base, *(a for a in args if a not in flags)]
    cases["markup in the run dir"] = [*base, f"hydra.run.dir='{root / 'markup' / '[bold]x[/bold]'}'"]
    cases["clean words"] = [*base, f"hydra.run.dir={root / 'clean'}"]
    cases["messy words"] = [*base, f"data.path={messy}", f"hydra.run.dir={root / 'messy'}"]

    results = cli.batch(list(cases.values()), root)
    by_name = dict(zip(cases, results, strict=True))
    by_name["root"] = root
    return by_name


@pytest.mark.parametrize("name,expected", [(c[0], c[2]) for c in CONFIG_CASES], ids=[c[0] for c in CONFIG_CASES])
def test_config_mistake_is_one_line_and_exit_code_2(batch, name, expected):
    assert_one_error_line(batch[name]["rc"], batch[name]["stderr"], expected)


@pytest.mark.parametrize("name,expected", [(c[0], c[2]) for c in DATA_CASES], ids=[c[0] for c in DATA_CASES])
def test_data_mistake_is_one_line_and_exit_code_2(batch, name, expected):
    assert_one_error_line(batch[name]["rc"], batch[name]["stderr"], expected)


@pytest.mark.parametrize("name,expected", [(c[0], c[2]) for c in SPECIAL_CASES], ids=[c[0] for c in SPECIAL_CASES])
def test_file_and_machine_mistakes_are_one_line_and_exit_code_2(batch, name, expected):
    assert_one_error_line(batch[name]["rc"], batch[name]["stderr"], expected)


def test_a_run_directory_with_rich_markup_is_shown_as_typed(batch):
    result = batch["markup in the run dir"]
    assert result["rc"] == 0, result["stderr"][-3000:]
    assert "[bold]x[/bold]" in result["stderr"].replace("\n", "").replace("│", "").replace(" ", "")


def test_refused_runs_write_nothing(batch):
    """Every refused case above was given its own run (or sweep) directory: none exists."""
    runs = batch["root"] / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []
    assert (batch["root"] / "a_file").read_text() == "not a folder"


def test_windows_line_endings_whitespace_and_bom_give_the_same_vocabulary_and_numbers(batch):
    root = batch["root"]
    assert batch["clean words"]["rc"] == 0, batch["clean words"]["stderr"]
    assert batch["messy words"]["rc"] == 0, batch["messy words"]["stderr"]
    clean, messy = read_metrics(root / "clean"), read_metrics(root / "messy")
    assert clean["status"] == messy["status"] == "ok"
    assert (clean["train_loss"], clean["val_loss"]) == (messy["train_loss"], messy["val_loss"])
    vocab = [torch.load(root / run / "checkpoint.pt", weights_only=True)["vocab"] for run in ("clean", "messy")]
    assert vocab[0] == vocab[1] == sorted(set("".join(TINY_WORDS)))


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root reads files whatever their permissions, so chmod 000 cannot make one unreadable",
)
def test_unreadable_file(tmp_path, cli):
    path = tmp_path / "words.txt"
    path.write_text("emma\nava\n")
    path.chmod(0)
    result = cli([*TINY_OVERRIDES, f"data.path={path}", f"hydra.run.dir={tmp_path / 'r'}"], cwd=tmp_path)
    assert_one_error_line(result.returncode, result.stderr, "permission denied")


def test_a_real_process_sees_one_line_and_exit_code_2(tmp_path, tiny_words_file, cli):
    # (test_cli.py runs a value mistake, block_size=6, as a real process too.)
    args = [*TINY_OVERRIDES, f"data.path={tiny_words_file}", "nhidden=64", f"hydra.run.dir={tmp_path / 'r'}"]
    result = cli(args, cwd=tmp_path)
    assert_one_error_line(result.returncode, result.stderr, "nhidden is not a config key")
