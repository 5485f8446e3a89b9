"""Names the batch transforms understand, kept free of torch so configs can check them cheaply.

`skelab.data.transforms` implements them; `engine/config.py` checks config keys against
them. This is their one definition.
"""

from __future__ import annotations

# upstream feeder whose steps a transform copies
STYLES = ("ctrgcn", "skateformer", "hypergcn", "blockgcn", "pyskl")
# k_bone (and its motion) is PYSKL's "k" stream, InfoGCN's K-bone; only the pyskl style has it
MODALITIES = ("joint", "bone", "motion", "bone_motion", "k_bone", "k_bone_motion")
# SkateFormer's intra-instance augmentations (upstream `aug_method` codes), in the order upstream
# applies them: a person swap, 1 shear, 2 rotate, 3 scale, 4 left/right flip, 8 zero one axis,
# 9 zero random joints in random frames. Upstream's 5, 6, 7 and b exist but are not enabled.
SKATEFORMER_AUGMENTS = "a123489"
SKATEFORMER_INTER_P = 0.2  # upstream's share of training clips given skeleton-AdaIN
