"""Synthetic NTU-like skeleton data: the built-in data set the demo and the tests run on.

Not a reproduction of anything upstream: NTU RGB+D itself cannot be shipped, so skelab makes a
stand-in with the same layout and the same kind of content. Facts taken from NTU RGB+D
(Shahroudy et al., CVPR 2016; Liu et al., TPAMI 2020) and from CTR-GCN's
`data/ntu/seq_transformation.py` (github.com/Uason-Chen/CTR-GCN), as summarised in
`reference/ntu-data.md` sections 1, 2 and 4.4-4.6:

* 25 Kinect v2 joints with NTU's topology (`skelab.skeletons.NTU_INWARD`), in metres, in a
  camera frame with y up and z the depth (2.5-4 m before centring); bone lengths are drawn
  around the medians of real recordings, scaled per subject.
* A1-A120 class names; the mutual classes (`NTU60_MUTUAL`, `NTU120_MUTUAL`) have two persons,
  the others a second person of exact zeros (the NTU60 NPZ convention).
* Cameras at relative yaws 0, +-45 and +-90 degrees (three cameras, performer facing the left or
  the right one), pitched down 5-20 degrees, 30 frames per second.
* The Kaggle / CTR-GCN NPZ layout: `x_*` (N, T, 150) float32 with column 75*m + 3*(j-1) + c,
  one translation per sequence so that actor 1's joint 2 is the origin in frame 0, zero padding
  after the valid frames, `y_*` one-hot.

Differences from the real NPZ: `y_*` is float32 (upstream writes float64); every frame in
0..length-1 holds both persons of a mutual sample (no dropped tracks); sample order is a balanced
shuffle of classes, not performer order.

How a sample is made. Each class is a short animation script (`_Person.to` moves some degrees
of freedom to new values over a span of normalised time, `_Person.osc` adds a periodic motion),
written from a small set of primitives: hand targets near body parts, trunk bend and twist, head
nod and turn, feet targets, pelvis height and walking. Related classes share primitives (hand to
mouth: drink, eat, brush teeth, hush; wear vs take off: the same moves in reverse), so some are
confusable. A script compiles to tables of steps and oscillators; a sample draws per-subject
bone lengths, speed, duration (30-300 frames), timing, amplitude, target offsets, idle sway, a
fidgeting free hand, left-handedness (12% of one-person samples), viewpoint and sensor noise
(temporally correlated jitter, worst at hand tips, and occasional joint glitches), then runs
vectorised two-bone inverse kinematics for arms and legs.

Determinism: sample i of a split depends only on (seed, split, i, num_classes, frames). Its
random numbers come from a counter-based hash (the splitmix64 finaliser) of (seed, split, i,
draw number), its sensor noise is a window of a bank drawn once per seed with numpy's Philox,
and all per-frame maths is element-wise (no BLAS, whose rounding can depend on shapes). So any
chunking or batch order gives byte-identical arrays, and the first k samples of a larger set
equal a set of k samples.

Modules: `poses` (degrees of freedom, target spots, limits), `scripts` (the 120 class scripts,
data written as code, and their compiled tables), `bodies` (bone lengths, noise and spread),
`draws` (hashed random numbers), `kinematics` (two-bone IK, forward kinematics), `render` (the
actors of a chunk and their joints) and `generate` (the public functions re-exported here).
"""

from __future__ import annotations

from skelab.synth.generate import make_ntu_like, synth_samples, synth_sequence, write_ntu_like
from skelab.synth.poses import DOFS, FOOT_SPOTS, FPS, MAX_CLASSES, MAX_LENGTH, MIN_FRAMES, SPOTS

__all__ = [
    "DOFS",
    "FOOT_SPOTS",
    "FPS",
    "MAX_CLASSES",
    "MAX_LENGTH",
    "MIN_FRAMES",
    "SPOTS",
    "make_ntu_like",
    "synth_samples",
    "synth_sequence",
    "write_ntu_like",
]
