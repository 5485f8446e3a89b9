"""No tracebacks, by construction: every subcommand, every option and argument, hostile values.

The cases are generated from the argparse tree (`build_parser()`): for each leaf command a base
command line that works (or fails for its own reasons) is taken from `BASE`, and one option or
argument at a time is replaced by a hostile value chosen by its kind:

- an input path: missing, a folder where a file goes (or a file where a folder goes), empty;
- an output path: an existing target (no --overwrite), the wrong kind, a place under a regular
  file, /proc (root can write almost anywhere else), empty;
- a number: 0, negative, NaN, huge, empty; a free string: empty, NaN, negative.

A case fails on a traceback (an exception out of `main`, or "Traceback" on stderr), on exit code
0, on any file left behind in its folder or the shared fixtures, or on running past `LIMIT_S`
(bad input must be refused while the arguments are checked, before any real work). Values that
are legitimately valid for an option are listed in `VALID` with the reason, and not run.

A new subcommand fails `test_every_command_has_a_base` until it gets a base command line here.
"""

from __future__ import annotations

import argparse
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from skelab.cli.main import build_parser, main

LIMIT_S = 10

# Options whose value is a path the command writes, and whether it is a file or a folder.
OUTPUTS = {
    "bench --out": "folder",
    "bench --json": "file",
    "data convert output": "file",
    "data import-arrays out_dir": "folder",
    "data import-keypoints out_dir": "folder",
    "data import-kinetics out_dir": "folder",
    "data import-nwucla out_dir": "folder",
    "data prepare out_dir": "folder",
    "data prepare-raw out_dir": "folder",
    "data prepare-raw --kaggle-npz": "file",
    "data synth --out": "file",
    "demo --out": "folder",
    "eval --out": "folder",
    "eval --work-dir": "folder",
    "export --out": "file",
    "models import --out": "file",
    "pose --out": "file",
    "predict --plot": "file",
    "train --out": "folder",
    "train --work-dir": "folder",
    "viz run --out": "folder",
    "viz sample --out": "file",
    "zeroshot features --out": "folder",
    "zeroshot run --out": "folder",
    "zeroshot run --work-dir": "folder",
    "zeroshot text --out": "folder",
}

# Base command lines. {npz} tiny data, {yaml} tiny config, {run} a trained run folder, {ckpt}
# its best.pt, {arrays}/{csv} import-arrays inputs, {empty} an empty folder, {case} this case's
# own folder (outputs go there).
BASE: dict[str, list[str]] = {
    "bench": ["mlp", "--steps", "1", "--warmup", "0", "--device", "cpu", "--no-estimate",
              "--batch", "2", "--window", "8", "--json"],
    "configs": ["--filter", "mlp"],
    "configs keys": ["--filter", "data.window"],
    "configs show": ["ntu60-xsub/mlp-joint"],
    "data convert": ["{npz}", "{case}/out.npz", "--to", "kaggle"],
    "data import-arrays": ["{arrays}", "{csv}", "{case}/imported", "--layout", "coco17"],
    "data import-keypoints": ["{arrays}", "{case}/kp", "--format", "npy", "--labels", "{csv}"],
    "data import-kinetics": ["{empty}", "{case}/kin"],
    "data import-nwucla": ["{empty}", "{case}/nw"],
    "data inspect": ["{npz}", "--json"],
    "data prepare": ["{npz}", "{case}/prep"],
    "data prepare-raw": ["{empty}", "{case}/raw", "--dataset", "ntu60", "--split", "xsub",
                         "--workers", "1"],
    "data synth": ["--out", "{case}/s.npz", "--classes", "3", "--train", "6", "--test", "3",
                   "--frames", "30"],
    "demo": ["--out", "{case}/demo", "--quick", "--no-progress"],
    "doctor": ["--json"],
    "ensemble": ["{run}", "{run}", "--json"],
    "eval": ["{run}", "--out", "{case}/ev", "--no-progress", "--json"],
    "export": ["{run}", "--format", "torchscript", "--out", "{case}/m.ts.pt", "--no-check"],
    "fit": ["--memory", "1GiB", "--model", "mlp", "--json"],
    "models": ["--json"],
    "models import": ["mlp", "{ckpt}", "--out", "{case}/w.pt"],
    "models show": ["mlp"],
    "pose": ["{npz}", "--out", "{case}/k.npz", "--estimator", "rtmlib", "--model",
             "{empty}/rtmo-s.onnx"],
    "predict": ["{run}", "{npz}", "--limit", "2", "--json", "--no-progress"],
    "smoke": ["--model", "mlp", "--no-presets", "--json"],
    "train": ["{yaml}", "--out", "{case}/run", "--no-progress"],
    "viz run": ["{run}", "--out", "{case}/viz", "--clips", "1"],
    "viz sample": ["{npz}", "--index", "0", "--out", "{case}/c.gif", "--max-frames", "4"],
    "zeroshot features": ["{yaml}", "--out", "{case}/feats", "--no-progress"],
    "zeroshot run": ["--features", "{empty}", "--text-encoder", "npy", "--text-dir", "{empty}",
                     "--out", "{case}/zs", "--no-progress"],
    "zeroshot text": ["--encoder", "npy", "--text-dir", "{empty}"],
}  # fmt: skip

# (command, option, value kind): why the value is fine there. These are not hostile; not run.
VALID = {
    ("bench", "--warmup", "zero"): "no warm-up step is a valid choice",
    ("bench", "--json", "empty"): "--json takes an optional PATH; the base passes it bare",
    ("configs", "--filter", "empty"): "an empty filter lists every preset",
    ("configs", "--filter", "nan"): "a filter that matches nothing lists nothing",
    ("configs", "--filter", "negative"): "a filter that matches nothing lists nothing",
    ("configs keys", "--filter", "empty"): "an empty filter lists every key",
    ("configs keys", "--filter", "nan"): "a filter that matches nothing lists nothing",
    ("configs keys", "--filter", "negative"): "a filter that matches nothing lists nothing",
    ("data synth", "--seed", "zero"): "seed 0 is the default",
    ("data synth", "--seed", "negative"): "any integer seeds",
    ("data synth", "--seed", "huge"): "any integer seeds",
    ("eval", "--out", "exists"): "scores/ goes into an existing folder (the run's own); an "
    "earlier eval_<checkpoint>_test.npz is not replaced without --overwrite",
    ("fit", "--margin", "zero"): "no safety margin is a valid choice",
    ("fit", "--memory", "huge"): "a budget above any GPU's is a fair question: everything fits",
    ("predict", "--limit", "huge"): "a limit above the sample count prints every sample",
    ("zeroshot features", "--out", "exists"): "finished feature folders in it are reused",
    ("zeroshot run", "--out", "exists"): "a stage folder is reused: unchanged stages are skipped",
    ("predict", "--limit", "zero"): "0 prints every sample",
    ("viz sample", "--max-frames", "zero"): "0 keeps every frame",
    ("viz sample", "--index", "zero"): "the first sample",
    ("viz run", "--clips", "zero"): "a report without a clip player",
    ("zeroshot run", "--seed", "zero"): "any integer seeds",
    ("zeroshot run", "--seed", "negative"): "any integer seeds",
    ("zeroshot run", "--seed", "huge"): "any integer seeds",
}

NUMBER_VALUES = {"zero": "0", "negative": "-3", "nan": "nan", "huge": "1000000000000", "empty": ""}
STRING_VALUES = {"empty": "", "nan": "nan", "negative": "-1"}
INPUT_VALUES = ("missing", "wrong_kind", "empty")
OUTPUT_VALUES = ("exists", "wrong_kind", "under_file", "proc", "empty")


@dataclass(frozen=True)
class Case:
    command: str
    option: str  # option string, or the positional's dest
    kind: str  # value kind, a key of the tables above

    @property
    def id(self) -> str:
        return f"{self.command}|{self.option}|{self.kind}"


def leaf_parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(command, parser) for every parser of the tree that runs something."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if path and parser.get_default("run") is not None:
        yield " ".join(path), parser
    for s in subs:
        for name, child in s.choices.items():
            yield from leaf_parsers(child, (*path, name))


def _name(action: argparse.Action) -> str:
    return action.option_strings[0] if action.option_strings else action.dest


def _category(command: str, action: argparse.Action) -> str | None:
    """What kind of value an option takes: output, input, number, string; None to skip."""
    if action.nargs == 0 or action.choices is not None:
        return None  # flags, and choices argparse checks itself
    if getattr(action, "new", None):
        return None  # a deprecated spelling: the same values as the option it stands for
    if f"{command} {_name(action)}" in OUTPUTS:
        return "output"
    sample = next((v for t in ("1", "64", "0.5") if (v := _typed(action, t)) is not None), None)
    if isinstance(sample, Path):
        return "input"
    if isinstance(sample, int | float):
        return "number"
    if not action.option_strings and action.dest in ("config", "name", "model", "path", "data"):
        return "input"
    return "string"


def _typed(action: argparse.Action, text: str) -> object:
    """What the option's type makes of `text` (None when it refuses it)."""
    try:
        return action.type(text) if action.type is not None else text
    except (argparse.ArgumentTypeError, ValueError, TypeError):
        return None


KINDS = {
    "output": OUTPUT_VALUES,
    "input": INPUT_VALUES,
    "number": tuple(NUMBER_VALUES),
    "string": tuple(STRING_VALUES),
}


def _value_kinds(command: str, action: argparse.Action) -> tuple[str, ...]:
    category = _category(command, action)
    return KINDS[category] if category else ()


def all_cases() -> list[Case]:
    cases = []
    for command, parser in leaf_parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                continue
            for kind in _value_kinds(command, action):
                if (command, _name(action), kind) not in VALID:
                    cases.append(Case(command, _name(action), kind))
    return cases


CASES = all_cases()
PARSERS = dict(leaf_parsers(build_parser()))  # to read the options; `main` builds its own


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> dict[str, Path]:
    """Tiny data, a tiny config and a trained run, shared by every case (read-only)."""
    root = tmp_path_factory.mktemp("hostile_fixtures")
    rng = np.random.default_rng(0)

    def split(n):
        y = np.arange(n) % 3
        x = 0.2 * rng.standard_normal((n, 3, 12, 25, 2)).astype(np.float32)
        return x, y.astype(np.int64)

    (xtr, ytr), (xte, yte) = split(12), split(6)
    npz = root / "tiny.npz"
    np.savez(npz, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, num_classes=np.int64(3))
    yaml = root / "tiny.yaml"
    yaml.write_text(
        "extends: ntu60-xsub/mlp-joint\n"
        "model:\n  options: {segments: 2, hidden: [8]}\n"
        f"data:\n  path: {npz}\n  num_classes: 3\n  window: 8\n"
        "train:\n  epochs: 1\n  batch_size: 4\n  test_batch_size: 4\n  device: cpu\n"
    )
    run = root / "run"
    assert main(["train", str(yaml), "--out", str(run), "--no-progress"]) == 0
    arrays = root / "arrays"
    arrays.mkdir()
    for i in range(4):
        np.save(arrays / f"c{i}.npy", rng.random((10, 17, 3)).astype(np.float32))
    csv = root / "labels.csv"
    csv.write_text("file,label,split\nc0.npy,0,train\nc1.npy,1,train\nc2.npy,0,test\n"
                   "c3.npy,1,test\n")  # fmt: skip
    empty = root / "empty"
    empty.mkdir()
    return {"npz": npz, "yaml": yaml, "run": run, "ckpt": run / "checkpoints" / "best.pt",
            "arrays": arrays, "csv": csv, "empty": empty, "root": root}  # fmt: skip


def _snapshot(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _hostile_value(case: Case, case_dir: Path, action: argparse.Action) -> str:
    category = _category(case.command, action)
    if category == "number":
        return NUMBER_VALUES[case.kind]
    if category == "string":
        return STRING_VALUES[case.kind]
    plain = case_dir / "plain.txt"
    plain.write_text("not what you want\n")
    folder = case_dir / "a_folder"
    folder.mkdir()
    (folder / "inside.txt").write_text("x\n")
    wants_folder = OUTPUTS.get(f"{case.command} {case.option}") == "folder" or (
        category == "input" and case.option.endswith(("dir", "root", "runs", "features"))
    )
    return {
        "missing": str(case_dir / "missing.npz"),
        "wrong_kind": str(plain if wants_folder else folder),
        "exists": str(folder if wants_folder else plain),
        "under_file": str(plain / "sub" / "x.out"),
        "proc": "/proc/skelab-hostile/x.out",
        "empty": "",
    }[case.kind]


def _takes_value(action: argparse.Action, following: list[str]) -> int:
    """How many tokens after an option string belong to it in a base command line."""
    if action.nargs == 0:
        return 0
    if action.nargs == "?" and (not following or following[0].startswith("--")):
        return 0
    return 1


def _argv(case: Case, parser: argparse.ArgumentParser, fx: dict[str, Path], case_dir: Path):
    base = [a.format(case=case_dir, **fx) for a in BASE[case.command]]
    action = next(a for a in parser._actions if _name(a) == case.option)
    value = _hostile_value(case, case_dir, action)
    positionals = [
        a for a in parser._actions
        if not a.option_strings and not isinstance(a, argparse._SubParsersAction)
    ]  # fmt: skip
    pos_values, options, i = [], [], 0
    while i < len(base):  # split the base into positional values (in order) and options
        token = base[i]
        if token.startswith("--"):
            opt = parser._option_string_actions[token]
            n = _takes_value(opt, base[i + 1 :])
            if opt is not action:
                options += base[i : i + 1 + n]
            i += 1 + n
        else:
            pos_values.append(token)
            i += 1
    if action.option_strings:
        return [*case.command.split(), *pos_values, *options, case.option, value]
    groups, j = [], 0
    for p in positionals:
        n = len(pos_values) - (len(positionals) - 1) if p.nargs in ("+", "*") else 1
        groups.append(pos_values[j : j + n])
        j += n
    groups[positionals.index(action)] = [value]
    return [*case.command.split(), *(v for g in groups for v in g), *options]


class _TooLong(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` swallows it."""


def _alarm(signum, frame):
    raise _TooLong


def run_case(case: Case, fx: dict[str, Path], case_dir: Path, capsys) -> list[str]:
    """Run one case in-process; the list of what went wrong (empty when it behaved)."""
    argv = _argv(case, PARSERS[case.command], fx, case_dir)
    before, fixtures_before = _snapshot(case_dir), _snapshot(fx["root"])
    problems = []
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(LIMIT_S)
    code: int | None = None
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    except _TooLong:
        problems.append(f"ran past {LIMIT_S} s: bad input must be refused before the work")
    except Exception as exc:  # noqa: BLE001 - a traceback is exactly what this test looks for
        problems.append(f"traceback: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    err = capsys.readouterr().err
    if "Traceback" in err:
        problems.append("traceback on stderr")
    if code == 0:
        problems.append("exit code 0 on bad input")
    left = _snapshot(case_dir) - before
    left |= {f"(fixtures) {p}" for p in _snapshot(fx["root"]) - fixtures_before}
    if left:
        problems.append(f"left behind: {sorted(left)[:5]}")
    if problems:
        problems.insert(0, f"skelab {' '.join(map(repr, argv))}")
    return problems


def test_every_command_has_a_base():
    commands = {c for c, _ in leaf_parsers(build_parser())}

    assert not commands - set(BASE), f"add a base command line for {sorted(commands - set(BASE))}"


def test_base_command_lines_parse(fixtures, tmp_path):
    parsers = dict(leaf_parsers(build_parser()))
    for command in parsers:
        argv = [a.format(case=tmp_path, **fixtures) for a in BASE[command]]
        build_parser().parse_args(command.split() + argv)  # SystemExit on a stale base


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_value_gives_a_clear_error(case, fixtures, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # defaults such as work_dir/ land in the case folder
    monkeypatch.delenv("SKELAB_DEBUG", raising=False)

    problems = run_case(case, fixtures, tmp_path, capsys)

    assert not problems, "\n".join(problems)
