"""The raw joints of a blockgcn-style batch reach the model as `joint=`, whatever the stream."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_engine_support import PoolNet, tiny_config

import skelab.data as sd
from skelab.engine.trainer import Trainer


class JointSpy(PoolNet):
    """Records the `joint` of every call."""

    def __init__(self) -> None:
        super().__init__(num_classes=4)
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, x: torch.Tensor, joint: torch.Tensor | None = None) -> torch.Tensor:
        assert joint is not None
        self.seen.append((x.detach().clone(), joint.detach().clone()))
        return super().forward(x)


def _dataset(tmp_path, split):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 3, 12, 25, 2)).astype(np.float32)
    y = np.arange(16) % 4
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x, y_train=y, x_test=x[:8], y_test=y[:8], num_classes=np.int64(4))
    return sd.load(path, split=split)


@pytest.mark.parametrize("modality", ["bone", "motion", "bone_motion"])
def test_trainer_and_evaluation_pass_raw_joints_for_every_stream(tmp_path, modality):
    cfg = tiny_config(data={"style": "blockgcn", "modality": modality}, train={"epochs": 1})
    loaders = [
        sd.BatchLoader(
            _dataset(tmp_path, split),
            batch_size=8,
            train=split == "train",
            transform=sd.BatchTransform(
                style="blockgcn", window=8, modality=modality, train=split == "train"
            ),
        )
        for split in ("train", "test")
    ]
    model = JointSpy()
    trainer = Trainer(
        cfg,
        work_dir=None,
        model=model,
        train_loader=loaders[0],
        test_loader=loaders[1],
        progress=False,
    )

    trainer.fit()

    assert len(model.seen) == 3  # two training batches, one test batch
    for x, joint in model.seen:
        rebuilt = sd.BatchTransform(style="blockgcn", window=8, modality=modality)
        assert not torch.equal(x, joint)
        # the stream is the one derived from these raw joints
        expected = rebuilt._modality(joint.clone())
        assert torch.allclose(x, expected, atol=1e-6)
