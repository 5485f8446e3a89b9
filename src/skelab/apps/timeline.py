"""A timeline of actions over a long recording, and `Predictor` for frames that arrive live.

A trained model reads one window of `span` frames (default: the median length of its training
clips, read from the training folder, else `data.window`). Over a long
input the window slides by `stride` frames: windows start at frames 0, S, 2S, ... while they
fit, and one more window ends at the last frame when the stride does not land there. A
recording shorter than the span is one window (the test transform resamples it). Each window
goes through exactly what evaluation does to a clip: the 2-D normalisation the training data
had (`skelab.data.keypoints2d.normalise_2d`, its mode read from the training folder's
meta.json), then the run's test transform (crop and resample to `data.window`), then the
model; its answer is the softmax over classes.

Segments: consecutive windows whose top class is the same merge into one segment, from the
first window's first frame to the last window's last frame (inclusive; consecutive segments
overlap by span - stride frames when windows overlap). A segment's probabilities are the mean
over its windows, so its top class is the windows' shared top class. Frame numbers are the
input's own (a COCO file's image_id, an OpenPose file's number), so frames left out for having
no person do not shift them.

`Predictor` runs the same window function on a ring buffer: `push(frame)` takes one frame,
(V, C) or (M, V, C), and returns a `Window` after every `stride` frames once `span` frames are
in (else None). Its answers equal the timeline's windows on the same frames.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from skelab.engine.config import Config
from skelab.errors import ConfigError, DataFormatError
from skelab.skeletons import Skeleton, get_skeleton

log = logging.getLogger(__name__)
TOP_K = 5


@dataclass
class Window:
    """One answer: the frames it covers (inclusive) and its classes, most probable first."""

    start: int
    end: int
    probs: np.ndarray  # (K,) softmax over the classes
    top: list[tuple[int, str, float]]  # (class, name, probability)

    def to_dict(self) -> dict[str, object]:
        return {
            "start": self.start,
            "end": self.end,
            "top": [{"class": c, "name": n, "prob": p} for c, n, p in self.top],
        }


@dataclass(frozen=True)
class DataFacts:
    """What the model was trained on: layout, persons, 2-D normalisation, class names."""

    skeleton: Skeleton
    persons: int
    normalise: str | None  # None: 3-D data, not normalised here
    class_names: tuple[str, ...]
    clip_frames: int | None = None  # median valid length of the training clips, when known


def data_facts(cfg: Config, *, normalise: str | None = None) -> DataFacts:
    """The training data's facts: its prepared folder's meta.json when it is still there, else
    the config's model options (layout, persons) and `normalise` (2-D layouts: body)."""
    from skelab.data.prepared import open_prepared, read_meta
    from skelab.skeletons import class_names

    options = cfg.model.options
    names = tuple(class_names(cfg.data.num_classes))
    skeleton = get_skeleton(options.get("skeleton") or "ntu25")
    given = getattr(cfg.data, "class_names", None)
    if given and len(given) == cfg.data.num_classes:
        names = tuple(given)
    mode, clip_frames = None, None
    path = Path(cfg.data.path) if cfg.data.path else None
    if path is not None and (path / "meta.json").is_file():
        meta = read_meta(path)
        skeleton = Skeleton.from_dict(meta["skeleton"], where=path / "meta.json")
        if len(meta.get("class_names") or ()) == cfg.data.num_classes:
            names = tuple(meta["class_names"])
        if meta.get("channels") == "xy-score":
            mode = meta.get("normalise", "body")
        if "train" in meta.get("splits", {}):
            clip_frames = int(np.median(open_prepared(path, "train").lengths))
    elif skeleton.name in ("coco17", "openpose18"):
        mode = "body"
    if normalise is not None:
        mode = normalise
    persons = int(options.get("num_persons") or 2)
    return DataFacts(skeleton, persons, mode, names, clip_frames)


def default_span(cfg: Config, facts: DataFacts) -> int:
    """Frames per window: as long as a typical training clip (which the test transform
    resampled to `data.window`), else `data.window`."""
    return facts.clip_frames or cfg.data.window


class WindowModel:
    """A trained model as a function of windows: (B, M, span, V, C) keypoints -> (B, K) probs."""

    def __init__(self, cfg: Config, weights: str | Path, facts: DataFacts) -> None:
        from skelab.engine.build import build_transform, model_from_weights, needs_index_t

        self.cfg, self.facts = cfg, facts
        self.model, self.device = model_from_weights(cfg, weights)
        self.model.eval()
        channels = "xyz" if facts.normalise is None else "xy-score"  # 2-D: score kept apart
        self.transform = build_transform(
            cfg, train=False, skeleton=facts.skeleton, channels=channels
        )
        self.index_t = needs_index_t(cfg)

    @torch.no_grad()
    def __call__(self, windows: np.ndarray) -> np.ndarray:
        from skelab.data.keypoints2d import normalise_2d

        x = np.asarray(windows, dtype=np.float32)
        if self.facts.normalise is not None:
            x = np.stack([normalise_2d(w, self.facts.skeleton, self.facts.normalise) for w in x])
        valid = (x != 0).any(axis=(1, 3, 4))  # (B, span) frames with any value
        lengths = np.maximum(valid.sum(axis=1), 1)
        batch = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 4, 2, 3, 1)))  # N C T V M
        out = self.transform(batch.to(self.device), torch.from_numpy(lengths))
        extra = {} if out.joint is None else {"joint": out.joint}  # raw joints (blockgcn)
        if self.index_t:
            logits = self.model(out.x, out.index_t, **extra)
        else:
            logits = self.model(out.x, **extra)
        return torch.softmax(logits.double(), dim=1).cpu().numpy()

    def top(self, probs: np.ndarray) -> list[tuple[int, str, float]]:
        return top_classes(probs, self.facts.class_names)


def top_classes(
    probs: np.ndarray, names: Sequence[str], k: int = TOP_K
) -> list[tuple[int, str, float]]:
    """The `k` most probable (class, name, probability), best first."""
    order = np.argsort(-probs, kind="stable")[:k]
    return [(int(c), names[c], float(probs[c])) for c in order]


def window_starts(frames: int, span: int, stride: int) -> list[int]:
    """Starts of the sliding windows (module docstring): 0, S, 2S, ..., plus one ending last."""
    if frames <= span:
        return [0]
    starts = list(range(0, frames - span + 1, stride))
    if starts[-1] != frames - span:
        starts.append(frames - span)
    return starts


def merge(windows: Sequence[Window], names: Sequence[str]) -> list[Window]:
    """Consecutive windows with the same top class as one segment (mean probabilities)."""
    segments: list[list[Window]] = []
    for w in windows:
        if segments and segments[-1][-1].top[0][0] == w.top[0][0]:
            segments[-1].append(w)
        else:
            segments.append([w])
    out = []
    for group in segments:
        probs = np.mean([w.probs for w in group], axis=0)
        out.append(Window(group[0].start, group[-1].end, probs, top_classes(probs, names)))
    return out


def _fit_persons(x: np.ndarray, persons: int) -> np.ndarray:
    """(M, T, V, C) with M made `persons` (extra slots dropped, missing ones zero)."""
    if len(x) >= persons:
        return x[:persons]
    pad = np.zeros((persons - len(x), *x.shape[1:]), dtype=x.dtype)
    return np.concatenate([x, pad])


def sliding_windows(
    model: WindowModel, x: np.ndarray, frames: np.ndarray, *, span: int, stride: int,
    batch: int = 32,
) -> list[Window]:  # fmt: skip
    """Every window's answer over clip `x` (M, T, V, C) whose frames are numbered `frames`."""
    x = _fit_persons(x, model.facts.persons)
    starts = window_starts(x.shape[1], span, stride)
    out = []
    for k in range(0, len(starts), batch):
        part = starts[k : k + batch]
        stack = np.zeros((len(part), x.shape[0], span, *x.shape[2:]), dtype=np.float32)
        for i, s in enumerate(part):
            piece = x[:, s : s + span]
            stack[i, :, : piece.shape[1]] = piece
        for s, probs in zip(part, model(stack), strict=True):
            end = min(s + span, x.shape[1]) - 1
            out.append(Window(int(frames[s]), int(frames[end]), probs, model.top(probs)))
    return out


def timeline(
    cfg: Config,
    weights: str | Path,
    source: str | Path,
    *,
    stride: int,
    span: int | None = None,
    fmt: str | None = None,
    normalise: str | None = None,
    merged: bool = True,
) -> list[Window]:
    """Segments (or, `merged=False`, every window) of a long keypoint file: anything
    `import-keypoints` reads (one COCO JSON, an OpenPose folder, an array) or a `skelab pose`
    NPZ. People are tracked as the importer does; frames with no person are left out."""
    from skelab.data.keypoints import clip_array

    facts = data_facts(cfg, normalise=normalise)
    if facts.normalise is None:
        raise ConfigError(
            "--stride", f"reads 2-D keypoint files, but the run was trained on 3-D "
            f"{facts.skeleton.name} data", fix="predict on a prepared folder or NPZ without "
            "--stride, or train on keypoints made by `skelab data import-keypoints`",
        )  # fmt: skip
    span = span or default_span(cfg, facts)
    if stride < 1 or span < 1:
        raise ConfigError("--stride", f"stride {stride} and span {span} must be >= 1",
                          fix="e.g. --stride 8")  # fmt: skip
    tracked, _ = clip_array(source, fmt, layout=facts.skeleton, max_people=facts.persons)
    x = tracked.x
    if x.shape[-1] != 3:
        raise DataFormatError(source, f"{x.shape[-1]} channels per joint, the model reads 3")
    if tracked.skipped:
        log.info("%s: left out %d frames with no person", source, len(tracked.skipped))
    model = WindowModel(cfg, weights, facts)
    windows = sliding_windows(model, x, tracked.frames, span=span, stride=stride)
    return merge(windows, facts.class_names) if merged else windows


class Predictor:
    """Frames one at a time, an answer after every `stride` frames (module docstring).

    p = skelab.Predictor("runs/mine", stride=8)
    for frame in frames:            # (V, 3) or (M, V, 3): x, y, score in pixels
        answer = p.push(frame)
        if answer is not None:
            print(answer.start, answer.end, answer.top[0])
    """

    def __init__(
        self,
        run: str | Path,
        *,
        stride: int = 8,
        span: int | None = None,
        checkpoint: str = "best",
        config: str | None = None,
        overrides: Sequence[str] = (),
        normalise: str | None = None,
    ) -> None:
        from skelab.engine.rundir import resolve_trained

        cfg, weights = resolve_trained(run, config=config, checkpoint=checkpoint,
                                       overrides=overrides)  # fmt: skip
        facts = data_facts(cfg, normalise=normalise)
        self.model = WindowModel(cfg, weights, facts)
        self.span = span or default_span(cfg, facts)
        if stride < 1 or self.span < 1:
            raise ConfigError("stride", f"stride {stride} and span {self.span} must be >= 1",
                              fix="e.g. stride=8")  # fmt: skip
        self.stride = stride
        self.reset()

    def reset(self) -> None:
        """Forget every frame pushed so far."""
        self._frames: deque[np.ndarray] = deque(maxlen=self.span)
        self._count = 0

    def push(self, frame: np.ndarray) -> Window | None:
        """Add one frame; a `Window` when this frame completes a stride after a full span."""
        f = np.asarray(frame, dtype=np.float32)
        if f.ndim == 2:
            f = f[None]
        v = self.model.facts.skeleton.num_joints
        if f.ndim != 3 or f.shape[1] != v:
            raise DataFormatError(
                "frame", f"shape {np.shape(frame)}, expected (V={v}, C) or (M, V={v}, C)",
                fix=f"push one frame of the {self.model.facts.skeleton.name} layout at a time",
            )  # fmt: skip
        self._frames.append(_fit_persons(f[:, None], self.model.facts.persons)[:, 0])
        self._count += 1
        if self._count < self.span or (self._count - self.span) % self.stride:
            return None
        window = np.stack(self._frames, axis=1)[None]  # (1, M, span, V, C)
        probs = self.model(window)[0]
        return Window(self._count - self.span, self._count - 1, probs, self.model.top(probs))
