"""Run ProtoGCN's (PYSKL) val pipeline on a few synthetic NTU sequences; save inputs and outputs.

Pipeline (configs/ntu60_xsub/*.py val_pipeline, clip_len shortened to 12 to keep the file small):
PreNormalize3D(align_spine=False), GenSkeFeat(feats=[m]), UniformSampleDecode(clip_len=12,
num_clips=1) in test mode (np.random.seed(255) per sample), FormatGCNInput(num_person=2).

Usage (the upstream snapshot unpacked outside the repo, e.g. with
`git --git-dir=<mirror> archive HEAD | tar x -C /tmp/upstream_protogcn`):
  PROTOGCN_ROOT=/tmp/upstream_protogcn python benchmarks/make_protogcn_feeder_fixture.py \
      tests/data/protogcn_feeder_w12.npz
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import protogcn_upstream_shims as L  # noqa: E402

pose, samp = L.load_pipeline()
rng = np.random.RandomState(7)
W = 12
lengths = [5, 12, 19, 30]
persons = [2, 1, 2, 1]
T = max(lengths)
padded = np.zeros((len(lengths), 3, T, 25, 2), np.float32)  # skelab layout (N, C, T, V, M)
raw = []
for i, (t, m) in enumerate(zip(lengths, persons, strict=True)):
    kp = (rng.randn(m, t, 25, 3) * 0.5 + np.array([0.3, -0.2, 3.0])).astype(np.float32)
    if m == 2:
        kp[1, :, 7] = 0.0  # a missing joint of the second person stays zero
    raw.append(kp)
    padded[i, :, :t, :, :m] = kp.transpose(3, 1, 2, 0)
out = {}
for feat in ["j", "b", "k", "jm", "bm", "km"]:
    pipe = [
        pose.PreNormalize3D(align_spine=False),
        pose.GenSkeFeat(feats=[feat]),
        samp.UniformSampleDecode(clip_len=W, num_clips=1),
        pose.FormatGCNInput(num_person=2),
    ]
    clips = []
    for kp, t in zip(raw, lengths, strict=True):
        res = {"keypoint": kp.copy(), "total_frames": t, "test_mode": True}
        for op in pipe:
            res = op(res)
        clips.append(res["keypoint"][0].transpose(3, 1, 2, 0))  # (M,T,V,C) -> (C,T,V,M)
    out[feat] = np.stack(clips).astype(np.float32)
np.savez_compressed(sys.argv[1], input=padded, lengths=np.array(lengths), window=np.array(W), **out)
print({k: v.shape for k, v in out.items()})
