"""Video in, keypoints out: decode a video and run a local pose-estimator model on every frame.

    from skelab.pose import estimate_video
    estimate_video("clip.mp4", "clip.npz", estimator="rtmlib", model="rtmo-s.onnx")

The NPZ holds every person found in every frame (COCO-17 keypoints in pixels), which
`skelab data import-keypoints --format pose-npz` and `skelab predict --stride` read. The
estimators and the decoder are the `[pose]` extra; nothing here downloads a model.
"""

from __future__ import annotations

from skelab._lazy import lazy_exports

_LAZY = {
    "estimate_video": "skelab.pose.run",
    "read_frames": "skelab.pose.video",
    "VideoInfo": "skelab.pose.video",
    "open_estimator": "skelab.pose.estimators",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _LAZY)
