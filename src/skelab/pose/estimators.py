"""Pose estimators on local ONNX files: each maps one BGR frame to people (COCO-17 keypoints).

* `rtmlib`: OpenMMLab's RTMO (one-stage, several people; ONNX outputs `dets` (1, N, 5) and
  `keypoints` (1, N, 17, 3)) or RTMPose (top-down SimCC; outputs `simcc_x` (1, 17, Wx) and
  `simcc_y` (1, 17, Wy)), run by the rtmlib package (`rtmlib.RTMO`, `rtmlib.RTMPose`). Which
  one a file is comes from its outputs; the input size from its input shape. RTMPose sees the
  whole frame as one person's box (one person per frame; use RTMO for several).
* `ultralytics`: a YOLO-pose model exported to ONNX by Ultralytics (`yolo export
  model=yolo11n-pose.pt format=onnx`): input `images` (1, 3, H, W) RGB in [0, 1], letterboxed
  (grey 114 padding, centred); output (1, 56, N): box centre x, y, width, height, person score,
  then 17 x (x, y, visibility) in input pixels. skelab decodes it itself with onnxruntime
  (score threshold, non-maximum suppression at IoU 0.45, undo the letterbox), so the
  ultralytics package, which pins its own torch build, is not needed.

A person's score is its detection score (YOLO) or the mean of its keypoint scores (rtmlib,
which does not return box scores). Nothing here downloads: a missing file is an error that
says where to get one.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from skelab.errors import ConfigError, SkelabError

ESTIMATORS = ("rtmlib", "ultralytics")
# (keypoints (P, 17, 3) x, y, score in frame pixels; scores (P,))
People = tuple[np.ndarray, np.ndarray]
WHERE = {
    "rtmlib": "an RTMO or RTMPose .onnx, e.g. RTMO-s from rtmlib's list (https://github.com/"
    "Tau-J/rtmlib, 'rtmo-s_8xb32-600e_body7-640x640' zip from download.openmmlab.com)",
    "ultralytics": "a YOLO-pose model exported to ONNX, e.g. `yolo export "
    "model=yolo11n-pose.pt format=onnx` on a machine with the ultralytics package",
}


def _session(model: Path, device: str):
    try:
        import onnxruntime as ort
    except ImportError as err:
        raise SkelabError("pose estimation needs onnxruntime",
                          fix="pip install 'skelab[pose]'") from err  # fmt: skip
    providers = ["CUDAExecutionProvider"] if device.startswith("cuda") else []
    available = ort.get_available_providers()
    providers = [p for p in providers if p in available] + ["CPUExecutionProvider"]
    try:
        return ort.InferenceSession(str(model), providers=providers)
    except Exception as err:  # onnxruntime raises its own unexported exception types
        raise SkelabError(f"{model}: onnxruntime cannot load it ({str(err)[:200]})",
                          fix=f"pass {WHERE['rtmlib']}") from err  # fmt: skip


def open_estimator(name: str, model: str | Path, *, device: str = "cpu") -> Callable:
    """A function frame (H, W, 3) BGR uint8 -> People, for estimator `name` on file `model`."""
    if name not in ESTIMATORS:
        raise ConfigError("--estimator", f"unknown estimator {name!r}",
                          fix=f"use one of {', '.join(ESTIMATORS)}")  # fmt: skip
    model = Path(model)
    if not model.is_file():
        raise SkelabError(
            f"pose model {model} not found; skelab never downloads weights",
            fix=f"put {WHERE[name]} at {model}, or pass its path with --model",
        )
    if name == "rtmlib":
        return _rtmlib(model, device)
    return YoloPose(_session(model, device))


def _rtmlib(model: Path, device: str) -> Callable:
    session = _session(model, device)
    outputs = session.get_outputs()
    shape = session.get_inputs()[0].shape  # (1, 3, H, W)
    h, w = (int(s) if isinstance(s, int) else 640 for s in shape[2:4])
    try:
        import rtmlib
    except ImportError as err:
        raise SkelabError("--estimator rtmlib needs the rtmlib package",
                          fix="pip install 'skelab[pose]'") from err  # fmt: skip
    backend_device = "cuda" if device.startswith("cuda") else "cpu"
    with contextlib.redirect_stdout(sys.stderr):  # rtmlib prints which file it loaded
        if len(outputs) == 2 and len(outputs[1].shape) == 4:  # RTMO: dets, keypoints
            tool = rtmlib.RTMO(str(model), model_input_size=(h, w), backend="onnxruntime",
                               device=backend_device)  # fmt: skip
        elif len(outputs) == 2 and len(outputs[0].shape) == 3:  # RTMPose: simcc_x, simcc_y
            tool = rtmlib.RTMPose(str(model), model_input_size=(w, h), backend="onnxruntime",
                                  device=backend_device)  # fmt: skip
        else:
            raise SkelabError(
                f"{model}: outputs {[o.shape for o in outputs]} are neither RTMO's (dets, "
                "keypoints) nor RTMPose's (simcc_x, simcc_y)", fix=f"pass {WHERE['rtmlib']}",
            )  # fmt: skip

    def estimate(frame: np.ndarray) -> People:
        kp, score = tool(frame)
        kp = np.asarray(kp, dtype=np.float32).reshape(-1, 17, 2)
        score = np.asarray(score, dtype=np.float32).reshape(-1, 17)
        found = (score > 0).any(axis=1)  # RTMO answers one all-zero person when none is found
        people = np.concatenate([kp, score[..., None]], axis=2)[found]
        return people, people[..., 2].mean(axis=1) if len(people) else np.zeros(0, np.float32)

    return estimate


class YoloPose:
    """An Ultralytics YOLO-pose ONNX export run by onnxruntime (the module docstring)."""

    def __init__(self, session, *, score: float = 0.25, iou: float = 0.45) -> None:
        self.session, self.score, self.iou = session, score, iou
        shape = session.get_inputs()[0].shape
        self.h, self.w = (int(s) if isinstance(s, int) else 640 for s in shape[2:4])
        self.input = session.get_inputs()[0].name

    def __call__(self, frame: np.ndarray) -> People:
        fh, fw = frame.shape[:2]
        ratio = min(self.h / fh, self.w / fw)
        nh, nw = round(fh * ratio), round(fw * ratio)
        top, left = (self.h - nh) // 2, (self.w - nw) // 2
        canvas = np.full((self.h, self.w, 3), 114, dtype=np.uint8)
        canvas[top : top + nh, left : left + nw] = _resize(frame, nw, nh)
        x = canvas[..., ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0  # RGB
        out = self.session.run(None, {self.input: np.ascontiguousarray(x)})[0][0]  # (56, N)
        out = out.T[out[4] >= self.score]  # (n, 56)
        if not len(out):
            return np.zeros((0, 17, 3), np.float32), np.zeros(0, np.float32)
        boxes = np.concatenate([out[:, :2] - out[:, 2:4] / 2, out[:, :2] + out[:, 2:4] / 2], 1)
        keep = _nms(boxes, out[:, 4], self.iou)
        kp = out[keep, 5:].reshape(-1, 17, 3).copy()
        kp[..., 0] = (kp[..., 0] - left) / ratio
        kp[..., 1] = (kp[..., 1] - top) / ratio
        return kp.astype(np.float32), out[keep, 4].astype(np.float32)


def _resize(frame: np.ndarray, w: int, h: int) -> np.ndarray:
    if frame.shape[:2] == (h, w):
        return frame
    import cv2

    return cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression: indices kept, best score first."""
    order = list(np.argsort(-scores, kind="stable"))
    area = (boxes[:, 2] - boxes[:, 0]).clip(0) * (boxes[:, 3] - boxes[:, 1]).clip(0)
    keep = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        rest = np.asarray(order, dtype=np.int64)
        if not len(rest):
            break
        lo = np.maximum(boxes[i, :2], boxes[rest, :2])
        hi = np.minimum(boxes[i, 2:], boxes[rest, 2:])
        inter = (hi - lo).clip(0).prod(axis=1)
        overlap = inter / np.maximum(area[i] + area[rest] - inter, 1e-9)
        order = [int(j) for j, o in zip(rest, overlap, strict=True) if o <= iou]
    return keep
