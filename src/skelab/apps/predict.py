"""Prediction: a trained model's top-5 classes, with names and probabilities, per sample.

The model comes from a run folder (its config.yaml and checkpoints/best.pt) or a weights file
(a training checkpoint carries its config; an imported file needs one). The input is an NPZ or a
prepared folder (one split, `test` by default), or raw NTU `.skeleton` files, which go through
the upstream preprocessing first (`skelab.data.raw.read_skeleton`, then
`skelab.data.denoise.preprocess`: denoise, centre, pad to 300 frames). Every clip is then cut
and resampled exactly as the run's test transform does, so a prediction equals the run's
evaluation of the same clip.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from skelab.engine.config import Config
from skelab.errors import SkelabError

TOP_K = 5


@dataclass
class Prediction:
    """One sample's top classes, most probable first."""

    sample: str  # the file name for a .skeleton input, else the position in the split
    label: int | None  # the true class where the input says it (NPZ labels, NTU file names)
    top: list[tuple[int, str, float]]  # (class, name, probability)

    def to_dict(self) -> dict[str, object]:
        return {
            "sample": self.sample,
            "label": self.label,
            "top5": [{"class": c, "name": n, "probability": p} for c, n, p in self.top],
        }


def resolve_model(
    source: str | Path,
    *,
    config: str | None = None,
    overrides: Sequence[str] = (),
    checkpoint: str = "best",
) -> tuple[Config, Path]:
    """(config, weights file) from a run folder or a weights file: `skelab.engine.rundir`'s
    `resolve_trained`, kept under this name for the callers that know it."""
    from skelab.engine.rundir import resolve_trained

    return resolve_trained(source, config=config, checkpoint=checkpoint, overrides=overrides)


def _skeleton_dataset(files: Sequence[Path], num_classes: int, tmp: Path) -> tuple[object, list]:
    """Raw .skeleton files preprocessed into a one-split dataset (through a temporary NPZ)."""
    import skelab.data as sd
    from skelab.data.denoise import preprocess
    from skelab.data.raw import read_skeleton
    from skelab.skeletons import SampleName

    # Upstream's NTU120 script copies a lone actor into the second slot; the NTU60 one zeros it.
    second = "copy" if num_classes == 120 else "zeros"
    xs, labels = [], []
    for path in files:
        xs.append(preprocess(read_skeleton(path), second_person=second))
        name = SampleName.parse(path.name)
        labels.append(name.label if name is not None and name.label < num_classes else None)
    y = np.asarray([lab or 0 for lab in labels], np.int64)  # labels only feed the loss
    x = np.stack(xs)
    npz = sd.save_kaggle_npz(tmp / "input.npz", x, y, x, y, num_classes=num_classes)
    return sd.load(npz, split="test"), labels


def predict(
    cfg: Config,
    weights: str | Path,
    inputs: Sequence[str | Path],
    *,
    split: str = "test",
    progress: bool = False,
) -> list[Prediction]:
    """Top-5 predictions of `weights` for every sample of `inputs` (see the module docstring)."""
    import skelab.data as sd
    from skelab.engine.build import build_transform, check_pairing, model_from_weights
    from skelab.engine.evaluate import evaluate_config
    from skelab.engine.fromdata import class_names_of

    paths = [Path(p) for p in inputs]
    raw = [p for p in paths if p.suffix == ".skeleton"]
    if raw and len(raw) != len(paths):
        raise SkelabError(
            "mixes .skeleton files with other inputs",
            fix="predict on .skeleton files, or on one NPZ / prepared folder, per call",
        )
    if not raw and len(paths) != 1:
        raise SkelabError(
            f"{len(paths)} inputs: pass one NPZ or prepared folder, or .skeleton files",
            fix="run skelab predict once per NPZ or folder",
        )
    model, device = model_from_weights(cfg, weights)
    names = class_names_of(cfg)
    with tempfile.TemporaryDirectory(prefix="skelab-predict-") as tmp:
        if raw:
            ds, labels = _skeleton_dataset(raw, cfg.data.num_classes, Path(tmp))
            samples = [p.name for p in raw]
        else:
            ds = sd.load(paths[0], split=split)
            labels = [int(v) for v in ds.y]
            samples = [str(i) for i in range(len(ds))]
        check_pairing(cfg, int(ds.x.shape[3]), where=paths[0], layout=ds.skeleton.name)
        loader = sd.BatchLoader(
            ds,
            batch_size=cfg.train.test_batch_size,
            train=False,
            transform=build_transform(
                cfg, train=False, skeleton=ds.skeleton, channels=getattr(ds, "channels", "xyz")
            ),
            device=str(device),
            seed=cfg.train.seed,
        )
        result = evaluate_config(cfg, model, loader, device=device, progress=progress)
    probs = torch.softmax(torch.from_numpy(result.scores).double(), dim=1).numpy()
    out = []
    for row, i in zip(probs, result.index, strict=True):
        top = np.argsort(-row, kind="stable")[:TOP_K]
        out.append(
            Prediction(samples[i], labels[i], [(int(c), names[c], float(row[c])) for c in top])
        )
    return out
