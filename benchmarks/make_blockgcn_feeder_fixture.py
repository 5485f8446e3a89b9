"""Make tests/data/blockgcn_feeder_w16.npz by running BlockGCN's own test-split feeder.

Run it outside the repo's environment on a checkout of github.com/ZhouYuxuanYX/BlockGCN
(@7b45971), with its imports importable (numpy, torch; matplotlib is imported by tools.py):

    python benchmarks/make_blockgcn_feeder_fixture.py --upstream /tmp/upstream_blockgcn/repo \
        --input ../shared/golden/feeder_ctrgcn/feeder_input.npz

It keeps 4 samples (window 16, so the fixture stays small) and stores, per stream, what the
feeder returns: `joint` (the raw joints), and the data of the joint, bone, motion (`vel`) and
bone-motion streams. Upstream's test feeder is deterministic (p_interval [0.95], no rotation).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

SAMPLES = (0, 3, 4, 5)
WINDOW = 16
STREAMS = {"joint": (False, False), "bone": (True, False), "motion": (False, True)}
STREAMS["bone_motion"] = (True, True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", type=Path, required=True, help="BlockGCN checkout")
    ap.add_argument("--input", type=Path, required=True, help="Kaggle-format NPZ (x_test, y_test)")
    ap.add_argument("--out", type=Path, default=Path("tests/data/blockgcn_feeder_w16.npz"))
    args = ap.parse_args()
    sys.path.insert(0, str(args.upstream))
    from feeders.feeder_ntu import Feeder  # upstream code, run as it is

    out: dict[str, np.ndarray] = {"samples": np.array(SAMPLES)}
    for name, (bone, vel) in STREAMS.items():
        feeder = Feeder(
            str(args.input), split="test", window_size=WINDOW, p_interval=[0.95], bone=bone, vel=vel
        )
        items = [feeder[i] for i in SAMPLES]
        out[name] = np.stack([np.asarray(item[1], dtype=np.float32) for item in items])
        out["raw_joint"] = np.stack([np.asarray(item[0], dtype=np.float32) for item in items])
    np.savez_compressed(args.out, **out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
