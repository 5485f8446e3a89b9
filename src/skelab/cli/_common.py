"""Pieces every subcommand shares: command groups, `--set KEY=VALUE`, the options of the
command-line vocabulary (`--device`, `--precision`, `--out`/`--overwrite`, `--json`,
`--no-progress`), deprecated spellings, and cheap argument checks that run before torch loads."""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any


def add_group(
    sub: argparse._SubParsersAction, package: ModuleType, name: str, *, help: str, epilog: str
) -> None:
    """`skelab NAME ACTION ...`: one parser whose actions are the modules of `package`."""
    from skelab.cli.main import discover

    p = sub.add_parser(
        name, help=help, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.set_defaults(_parser=p)
    actions = p.add_subparsers(dest=f"{name}_command", metavar="ACTION")
    for mod in discover(package):
        mod.add_parser(actions)


def add_set_option(
    p: argparse.ArgumentParser,
    *,
    dest: str = "overrides",
    help: str = "override a config key, value parsed as YAML, e.g. optim.lr=0.05 (repeatable)",
) -> None:
    """`--set KEY=VALUE`, repeatable, collected in `args.<dest>` in order."""
    p.add_argument("--set", dest=dest, action="append", default=[], metavar="KEY=VALUE", help=help)


# --- the shared vocabulary (README "Command-line vocabulary") -------------------------------

DEVICE_RE = r"auto|cpu|cuda(:\d+)?"


class DeprecatedAlias(argparse.Action):
    """An old spelling that still works for one release: warns once, then acts as `new`.

    `convert` maps the old option's value to the new option's value (e.g. `--amp` alone ->
    `fp16`); the new option's own action then stores it, so both spellings end in one place.
    """

    def __init__(self, option_strings, dest, *, new, target, convert=None, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.new = new
        self.target = target
        self.convert = convert
        self._warned = False

    def __call__(self, parser, namespace, values, option_string=None):
        if not self._warned:
            warn_deprecated(str(option_string), self.new)
            self._warned = True
        if self.convert is not None:
            values = self.convert(values)
        self.target(parser, namespace, values, self.new)


def deprecated_alias(
    p: argparse.ArgumentParser,
    old: str,
    new: str,
    *,
    convert: Callable[[Any], Any] | None = None,
    **kwargs: Any,
) -> None:
    """Declare `old` as a deprecated spelling of the already declared option `new`.

    By default `old` takes the same values as `new`; pass `nargs`, `choices`, `const`, `type` and
    `convert` when the old option's values differ (e.g. `--amp [fp16|bf16|none]`).
    """
    target = p._option_string_actions[new]
    spec = dict(nargs=target.nargs, const=target.const, type=target.type, choices=target.choices,
                metavar=target.metavar)  # fmt: skip
    spec.update(kwargs)
    if spec["nargs"] == 0:
        spec.pop("metavar")
        spec.pop("type")
        spec.pop("choices")
    p.add_argument(
        old, dest=target.dest, action=DeprecatedAlias, new=new, target=target, convert=convert,
        default=argparse.SUPPRESS, help=f"deprecated spelling of {new}", **spec,
    )  # fmt: skip


def device(text: str) -> str:
    """argparse type of `--device`: auto, cpu, cuda or cuda:N (checked before torch loads)."""
    if not re.fullmatch(DEVICE_RE, text):
        raise argparse.ArgumentTypeError(f"{text!r} is not auto, cpu, cuda or cuda:N")
    return text


def add_device_option(p: argparse.ArgumentParser, *, default: str | None = "auto",
                      help: str | None = None) -> None:  # fmt: skip
    """`--device cpu|cuda|cuda:N|auto`; default None means "the config's train.device"."""
    said = "the config's train.device" if default is None else default
    p.add_argument(
        "--device", type=device, default=default, metavar="DEVICE",
        help=help or f"cpu, cuda, cuda:N or auto (default: {said})",
    )  # fmt: skip


PRECISIONS = ("fp32", "bf16", "fp16")


def add_precision_option(p: argparse.ArgumentParser, *, default: str | None = None,
                         amp_alias: bool = True) -> None:  # fmt: skip
    """`--precision fp32|bf16|fp16` (sets train.precision); `--amp [fp16|bf16|none]` is the
    deprecated spelling (`--amp` alone meant fp16, none meant fp32)."""
    said = "the config's train.precision" if default is None else default
    p.add_argument(
        "--precision", choices=PRECISIONS, default=default,
        help=f"arithmetic precision on CUDA: fp32, bf16 or fp16 (default: {said})",
    )  # fmt: skip
    if amp_alias:
        deprecated_alias(
            p, "--amp", "--precision", nargs="?", const="fp16", choices=("none", "bf16", "fp16"),
            convert=lambda v: "fp32" if v == "none" else v, metavar="{none,bf16,fp16}",
        )  # fmt: skip


def add_out_option(
    p: argparse.ArgumentParser,
    *,
    help: str,
    required: bool = False,
    default: Path | None = None,
    overwrite: bool = True,
) -> None:
    """`--out PATH` for what the command writes, and `--overwrite` to replace what is there."""
    p.add_argument("--out", type=Path, required=required, default=default, metavar="PATH",
                   help=help)  # fmt: skip
    if overwrite:
        add_overwrite_option(p)


def add_overwrite_option(p: argparse.ArgumentParser, what: str = "--out") -> None:
    """`--overwrite`: replace an existing output instead of refusing."""
    p.add_argument("--overwrite", action="store_true",
                   help=f"replace {what} if it exists (default: refuse)")  # fmt: skip


def add_json_option(p: argparse.ArgumentParser, help: str = "print the result as JSON") -> None:
    """`--json`: figures as JSON on stdout instead of the table."""
    p.add_argument("--json", action="store_true", help=help)


def add_progress_option(p: argparse.ArgumentParser) -> None:
    """`--no-progress`: no bars (off a terminal they are plain log lines anyway)."""
    p.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress output (off a terminal, bars are periodic log lines)",
    )


def check_output(
    path: Path,
    *,
    overwrite: bool,
    option: str = "--out",
    kind: str = "file",
    fix: str = "add --overwrite, or choose a new path",
) -> None:
    """Refuse an output that cannot be written, before any work starts (and before torch loads).

    `kind` is "file" or "folder". An existing file (or a folder that is not empty) needs
    `overwrite`, else the error says `fix`; a file where a folder
    must go (or the reverse), or a parent that is a file or cannot be created, is an error.
    """
    from skelab.errors import ConfigError

    path = Path(path)
    if str(path) == "":
        raise ConfigError(option, "is empty", fix=f"{option} PATH")
    if kind == "file" and (path.is_dir() or str(path).endswith(os.sep)):
        raise ConfigError(option, f"{path} is a folder; a file name is needed",
                          fix=f"{option} {path / 'NAME'}")  # fmt: skip
    if kind == "folder" and path.exists() and not path.is_dir():
        raise ConfigError(option, f"{path} is a file; a folder is needed",
                          fix=f"{option} a new folder name")  # fmt: skip
    if path.exists() and not overwrite and (kind == "file" or any(path.iterdir())):
        what = "exists" if kind == "file" else "exists and is not empty"
        raise ConfigError(option, f"{path} {what}", fix=fix)
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK) or _is_pseudo(parent):
        raise ConfigError(option, f"cannot write {path}: {parent} is not a writable folder",
                          fix=f"choose a {kind} in a folder you can write to")  # fmt: skip


def _is_pseudo(folder: Path) -> bool:
    """/proc and /sys accept no new files even for root, though access() says they would."""
    parts = folder.resolve().parts
    return len(parts) > 1 and parts[1] in ("proc", "sys")


def path(text: str) -> Path:
    """argparse type of every path argument: not empty (`Path("")` would be the current folder).

    `skelab.cli.main.build_parser` gives it to every argument declared with `type=Path`."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path names no file or folder")
    return Path(text)


def int_range(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """argparse type: an integer in [lo, hi] (no upper end when hi is None)."""

    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < lo or (hi is not None and value > hi):
            span = f">= {lo}" if hi is None else f"between {lo} and {hi:,}"
            raise argparse.ArgumentTypeError(f"must be {span}, got {value:,}")
        return value

    check.__name__ = "integer"  # argparse names the type in "invalid integer value: ..."
    return check


positive = int_range(1)
non_negative = int_range(0)


def share(text: str) -> float:
    """argparse type: a number strictly between 0 and 1."""
    value = fraction(text)
    if value == 0.0:
        raise argparse.ArgumentTypeError(f"must be > 0 and < 1, got {text}")
    return value


def fraction(text: str) -> float:
    """argparse type: a number in [0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be >= 0 and < 1, got {text}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


# --- a trained model: RUN (a run folder or a checkpoint), one way for every command -----------


def warn_deprecated(old: str, new: str) -> None:
    """The one line a deprecated spelling prints (`DeprecatedAlias` and positional forms)."""
    print(f"skelab: warning: {old} is deprecated; use {new}", file=sys.stderr)


def check_trained(path: Path) -> None:
    """RUN must exist; said before torch loads (`resolve_trained` checks the rest)."""
    from skelab.errors import SkelabError

    if not Path(path).exists():
        raise SkelabError(
            f"{path} does not exist",
            fix="pass a run folder written by `skelab train` or a checkpoint file (.pt)",
        )


def add_run_argument(
    p: argparse.ArgumentParser,
    *,
    nargs: str | None = None,
    config: bool = True,
    help: str = "a run folder written by `skelab train`, or a checkpoint file (.pt)",
) -> None:
    """Positional RUN, `--checkpoint best|last` and (with `config`) `--config PRESET_OR_YAML`;
    commands turn them into (config, checkpoint) with `skelab.engine.rundir.resolve_trained`."""
    # dest "trained": `args.run` is the subcommand's entry point
    p.add_argument("trained", type=Path, nargs=nargs, metavar="RUN", help=help)
    p.add_argument(
        "--checkpoint",
        choices=("best", "last"),
        default="best",
        help="inside a run folder: best (the epoch train.select chose) or last [best]",
    )
    if config:
        p.add_argument(
            "--config",
            default=None,
            metavar="PRESET_OR_YAML",
            help="config for weights that carry none (e.g. `skelab models import` files)",
        )
