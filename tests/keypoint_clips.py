"""Synthetic COCO-17 people for the keypoint importer, timeline and pose tests: two clearly
different motions (a wave of the right arm and a squat) drawn in image pixels (y down)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# A standing person in a unit-height box: x from the body's middle, y from the top of the head.
STAND = np.array([
    (0.0, 0.08), (0.03, 0.06), (-0.03, 0.06), (0.06, 0.07), (-0.06, 0.07),  # face
    (0.12, 0.2), (-0.12, 0.2), (0.15, 0.35), (-0.15, 0.35), (0.16, 0.48), (-0.16, 0.48),  # arms
    (0.08, 0.52), (-0.08, 0.52), (0.09, 0.75), (-0.09, 0.75), (0.09, 0.97), (-0.09, 0.97),  # legs
])  # fmt: skip
ACTIONS = ("wave", "squat")


def pose(action: str, t: float, *, cx: float, cy: float, h: float, period: float = 12.0):
    """(17, 3) x, y, score of one person at frame `t` (centre cx, cy; height h pixels)."""
    p = STAND.copy()
    phase = 2 * np.pi * t / period
    if action == "wave":  # right arm up, the hand swinging side to side above the head
        p[8] = (-0.22, 0.12)
        p[10] = (-0.22 + 0.12 * np.sin(phase), -0.05)
    elif action == "squat":  # everything above the knees goes down and up
        s = 0.5 * (1 - np.cos(phase))
        p[:13, 1] += 0.18 * s
        p[13:15, 0] *= 1 + 1.5 * s
    elif action != "stand":
        raise ValueError(action)
    xy = p * h + np.array([cx, cy - h / 2])
    return np.concatenate([xy, np.full((17, 1), 0.9)], axis=1)


def clip(action: str, frames: int, *, cx: float = 320, cy: float = 240, h: float = 200,
         rng: np.random.Generator | None = None, start: int = 0,
         vary_scores: bool = False) -> np.ndarray:  # fmt: skip
    """(T, 17, 3) of one person doing `action`; small pixel noise from `rng`, and with
    `vary_scores` scores drawn in [0.5, 1] (else all 0.9: a channel without variance, which
    BatchNorm's running statistics learn only slowly)."""
    rng = rng or np.random.default_rng(0)
    out = np.stack([pose(action, start + t, cx=cx, cy=cy, h=h) for t in range(frames)])
    out[..., :2] += rng.normal(0, 1.0, out[..., :2].shape)
    if vary_scores:
        out[..., 2] = rng.uniform(0.5, 1.0, out.shape[:2])
    return out


def coco_detections(people: list[np.ndarray], *, track_ids: bool = False,
                    first_frame: int = 0) -> list[dict]:  # fmt: skip
    """A COCO-format result list: one detection per person per frame (rows with score 0 out)."""
    out = []
    for t in range(max(len(p) for p in people)):
        for k, person in enumerate(people):
            if t >= len(person) or not (person[t, :, 2] > 0).any():
                continue
            flat = [float(v) for v in person[t].reshape(-1)]
            det = {"image_id": first_frame + t, "category_id": 1, "keypoints": flat, "score": 0.95}
            if track_ids:
                det["track_id"] = k
            out.append(det)
    return out


def write_coco(path: Path, people: list[np.ndarray], **kwargs) -> Path:
    path.write_text(json.dumps(coco_detections(people, **kwargs)))
    return path


def learnable_set(folder: Path, *, per_class: int = 12, test_per_class: int = 4,
                  frames: int = 40, seed: int = 0,
                  vary_scores: bool = False) -> Path:  # fmt: skip
    """COCO JSON clips of the two actions (random place, size, speed) and labels.csv."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["file,label,split"]
    for split, n in (("train", per_class), ("test", test_per_class)):
        for action in ACTIONS:
            for i in range(n):
                people = [
                    clip(
                        action,
                        frames,
                        cx=rng.uniform(150, 500),
                        cy=rng.uniform(200, 300),
                        h=rng.uniform(150, 250),
                        rng=rng,
                        start=int(rng.integers(12)),
                        vary_scores=vary_scores,
                    )
                ]
                name = f"{split}_{action}_{i}.json"
                write_coco(folder / name, people)
                rows.append(f"{name},{action},{split}")
    (folder / "labels.csv").write_text("\n".join(rows) + "\n")
    return folder / "labels.csv"
