"""`skelab`: the command line. A thin layer: each subcommand is a module of `skelab.cli` with
`add_parser(sub)` (declares arguments, sets `run`) and `run(args) -> int` (calls the library).

Errors from the library (`SkelabError`) become one `skelab: error: ...` message with its fix and
the error's exit code (1 failure, 2 usage/config); nothing else prints a traceback unless
`SKELAB_DEBUG=1`. A closed output pipe (`skelab data inspect x.npz | head`) ends quietly.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

from skelab import __version__
from skelab.errors import SkelabError


def discover(package: ModuleType) -> list[ModuleType]:
    """Subcommand modules of a CLI package: every public module with an `add_parser`."""
    mods = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "main":
            continue
        mod = importlib.import_module(f"{package.__name__}.{info.name}")
        if hasattr(mod, "add_parser"):
            mods.append(mod)
    return mods


def build_parser() -> argparse.ArgumentParser:
    import skelab.cli as cli_pkg

    parser = argparse.ArgumentParser(
        prog="skelab",
        description="Skeleton Action Lab: skeleton-based action recognition, from data to scores.",
        epilog="example:\n  skelab demo\n  skelab data synth --out ntu_like.npz\n"
        "  skelab train ntu60-xsub/stgcn-lite-joint --set data.path=ntu_like.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"skelab {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for mod in discover(cli_pkg):
        mod.add_parser(sub)
    _refuse_empty_paths(parser)
    return parser


def _refuse_empty_paths(parser: argparse.ArgumentParser) -> None:
    """Every `type=Path` argument of the tree refuses an empty string (Path("") is "." and
    would quietly name the current folder)."""
    from skelab.cli._common import path

    for action in parser._actions:
        if action.type is Path:
            action.type = path
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _refuse_empty_paths(child)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI in-process; returns the exit code (tests call this)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or an argument error, already printed (2)
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    if not hasattr(args, "run"):
        (getattr(args, "_parser", None) or parser).print_help(sys.stderr)
        return 2
    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except SkelabError as err:
        if os.environ.get("SKELAB_DEBUG"):
            raise
        print(f"skelab: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("skelab: interrupted", file=sys.stderr)
        return 130
    except (MemoryError, RuntimeError) as err:
        if isinstance(err, RuntimeError) and not _out_of_memory(err):
            raise
        if os.environ.get("SKELAB_DEBUG"):
            raise
        first = (str(err).splitlines() or ["MemoryError"])[0][:200]
        print(f"skelab: error: out of memory ({first})\n  fix: ask for less: a smaller batch, "
              "window, sample count or model", file=sys.stderr)  # fmt: skip
        return 1
    except BrokenPipeError:
        # The reader went away (`skelab ... | head`): normal use, not an error. Point stdout at
        # /dev/null so the interpreter's final flush does not raise again on the closed pipe.
        _silence_stdout()
        return 0


def _out_of_memory(err: RuntimeError) -> bool:
    """torch's allocation failures (CPU and CUDA) are RuntimeErrors; nothing else is caught."""
    text = str(err)
    return "out of memory" in text or "can't allocate memory" in text or "alloc_cpu" in text


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout has no file descriptor (e.g. captured in tests)
        pass


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
