"""Pieces every subcommand shares: command groups and the `--set KEY=VALUE` option."""

from __future__ import annotations

import argparse
from types import ModuleType


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
