"""`skelab zeroshot ...`: zero-shot recognition of unseen classes (features, text, run)."""

from __future__ import annotations

import argparse

from skelab.cli._common import add_set_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    import skelab.cli.zeroshot as pkg
    from skelab.cli._common import add_group

    add_group(
        sub,
        pkg,
        "zeroshot",
        help="zero-shot and generalised zero-shot recognition (MSF-GZSSAR, FS-VAE)",
        epilog="example:\n  skelab zeroshot run --method fsvae --split ntu60-55/5 "
        "--config ntu60-xsub/stgcn-lite-joint --set data.path=NTU60_CS.npz\n"
        "  skelab zeroshot run --method msf --split ntu60-55/5 --features sk_feats/ "
        "--text-encoder npy --text-dir text_feats/ViT-B/32",
    )


def add_set(p: argparse.ArgumentParser) -> None:
    """The `--set KEY=VALUE` option of a backbone config, as `skelab train` has it."""
    add_set_option(p, help="override a backbone config key, value parsed as YAML (repeatable)")
