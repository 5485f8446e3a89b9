"""One vocabulary across the subcommands (README "Command-line vocabulary"), read from the
argparse tree: a new command or option that speaks another dialect fails here.

Every exception below names its reason; a command missing from both a rule and its exceptions
fails, so each new command is placed consciously.
"""

from __future__ import annotations

import argparse

import pytest
from test_cli_hostile import leaf_parsers

from skelab.cli._common import DeprecatedAlias
from skelab.cli.main import build_parser, main

COMMANDS = dict(leaf_parsers(build_parser()))

# `--weights` names a checkpoint only: the weights a run starts from or an evaluated checkpoint.
WEIGHTS_IS_A_CHECKPOINT = {"train", "eval"}
# Old spellings that may exist only as declared deprecated aliases (meaning something else now).
OLD_SPELLINGS = ("--work-dir", "--amp", "--weights", "--seq-len", "--seq_len", "--repeats")

# Commands that write files or folders, and where the path comes from.
WRITES_TO_OUT = {
    "bench", "demo", "eval", "export", "models import", "pose", "train", "viz run", "viz sample",
    "zeroshot features", "zeroshot run", "zeroshot text", "data synth",
}  # fmt: skip
WRITES_TO_POSITIONAL = {  # the data commands' OUT_DIR / OUTPUT predates --out: same checks
    "data convert": "output",
    "data import-arrays": "out_dir",
    "data import-keypoints": "out",
    "data import-kinetics": "out_dir",
    "data import-nwucla": "out_dir",
    "data prepare": "out_dir",
    "data prepare-raw": "out_dir",
}
NO_OVERWRITE = {  # writers that never replace what is there, so --overwrite would mean nothing
    "train": "a run folder is continued (--resume) or refused, never replaced",
    "demo": "replaces only a folder it made itself (a marker file), refuses any other",
    "zeroshot features": "finished feature folders are reused, unfinished ones resumed",
    "zeroshot run": "a stage folder is reused; a stage whose inputs changed is redone",
}
WRITES_TO_OPTION = {"predict": "--plot"}  # a picture beside the printed predictions
WRITES_NOTHING = {
    "configs", "configs keys", "configs show", "data inspect", "doctor", "ensemble", "fit",
    "models", "models show", "smoke",
}  # fmt: skip

# Commands that report figures (accuracies, timings, sizes) must offer --json.
NO_FIGURES = {
    "configs show": "prints a config as YAML, already machine-readable",
    "models show": "prints one model card; `skelab models --json` has every card",
    "models import": "converts a file; nothing to measure",
    "data convert": "rewrites a file in another layout",
    "data prepare": "converts a file; `skelab data inspect --json` describes the result",
    "data synth": "writes a file; `skelab data inspect --json` describes it",
    "data import-arrays": "writes a folder; `skelab data inspect --json` describes it",
    "data import-keypoints": "writes a folder; `skelab data inspect --json` describes it",
    "data import-kinetics": "writes a folder; `skelab data inspect --json` describes it",
    "data import-nwucla": "writes a folder; `skelab data inspect --json` describes it",
    "demo": "a guided tour in words; the run it writes has metrics.jsonl",
    "pose": "writes keypoints; `skelab data import-keypoints` reads them",
    "viz sample": "writes an animation",
}

# Commands that run a model take --device (cpu|cuda|cuda:N|auto).
RUNS_A_MODEL = {
    "bench", "eval", "fit", "pose", "predict", "smoke", "train", "zeroshot features",
    "zeroshot run",
}  # fmt: skip
DEVICE_EXCEPTIONS = {
    "export": "exports and checks on the CPU (ONNX Runtime's CPU provider)",
    "demo": "the demo is the CPU tour by design",
    "viz run": "reads saved scores; no model runs",
    "zeroshot text": "encodes a few hundred class sentences, on the CPU",
}
# Commands whose arithmetic precision matters take --precision fp32|bf16|fp16.
HAS_PRECISION = {"bench", "eval", "fit", "train"}
# Long loops show progress and take --no-progress.
HAS_PROGRESS = {
    "bench", "demo", "eval", "fit", "pose", "predict", "smoke", "train", "zeroshot features",
    "zeroshot run", "data convert", "data prepare", "data prepare-raw",
}  # fmt: skip


def _options(command: str) -> dict[str, argparse.Action]:
    return COMMANDS[command]._option_string_actions


def test_every_command_is_placed_in_the_writer_rules():
    placed = WRITES_TO_OUT | set(WRITES_TO_POSITIONAL) | set(WRITES_TO_OPTION) | WRITES_NOTHING

    assert set(COMMANDS) <= placed, f"place {sorted(set(COMMANDS) - placed)} in a writer rule"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_old_spellings_exist_only_as_deprecated_aliases(command):
    for spelling in OLD_SPELLINGS:
        action = _options(command).get(spelling)
        if action is None or isinstance(action, DeprecatedAlias):
            continue
        assert spelling == "--weights" and command in WEIGHTS_IS_A_CHECKPOINT, (
            f"`skelab {command} {spelling}` means something new: declare it with "
            "skelab.cli._common.deprecated_alias, or use the vocabulary's name"
        )


WRITERS = sorted(WRITES_TO_OUT | set(WRITES_TO_POSITIONAL) | set(WRITES_TO_OPTION))


@pytest.mark.parametrize("command", WRITERS)
def test_every_writer_names_its_output_and_refuses_to_replace_it(command):
    options = _options(command)
    if command in WRITES_TO_OUT:
        assert "--out" in options and not isinstance(options["--out"], DeprecatedAlias)
    elif command in WRITES_TO_OPTION:
        assert WRITES_TO_OPTION[command] in options
    else:
        dests = [a.dest for a in COMMANDS[command]._actions if not a.option_strings]
        assert WRITES_TO_POSITIONAL[command] in dests
    assert ("--overwrite" in options) != (command in NO_OVERWRITE), NO_OVERWRITE.get(command)


@pytest.mark.parametrize("command", sorted(WRITES_NOTHING))
def test_commands_that_write_nothing_have_no_output_options(command):
    assert not {"--out", "--overwrite"} & set(_options(command)), command


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_that_reports_figures_has_json(command):
    assert ("--json" in _options(command)) != (command in NO_FIGURES), command


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_device_and_precision_where_a_model_runs(command):
    options = _options(command)
    assert ("--device" in options) == (command in RUNS_A_MODEL), command
    assert ("--precision" in options) == (command in HAS_PRECISION), command
    if "--device" in options:
        with pytest.raises(argparse.ArgumentTypeError):
            options["--device"].type("gpu0")
    assert set(DEVICE_EXCEPTIONS).isdisjoint(RUNS_A_MODEL)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_long_commands_take_no_progress(command):
    assert ("--no-progress" in _options(command)) == (command in HAS_PROGRESS), command


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["ensemble", "a", "b", "--weights", "1,1"],
            "--weights is deprecated; use --fusion-weights",
        ),
        (["train", "x.yaml", "--work-dir", "r"], "--work-dir is deprecated; use --out"),
        (["bench", "mlp", "--amp"], "--amp is deprecated; use --precision"),
        (["zeroshot", "text", "--weights", "c.pt"], "--weights is deprecated; use --clip-file"),
    ],
)
def test_old_spelling_warns_once_and_sets_the_new_option(argv, line, capsys):
    args = build_parser().parse_args(argv)

    assert capsys.readouterr().err.count(f"skelab: warning: {line}") == 1
    new = line.rsplit(" ", 1)[1].lstrip("-").replace("-", "_")
    assert getattr(args, new) not in (None, False)


def test_help_of_every_command_has_an_example(capsys):
    for command in COMMANDS:
        assert main([*command.split(), "--help"]) == 0
        assert "example" in capsys.readouterr().out, command
