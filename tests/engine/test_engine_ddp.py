"""Two CPU processes (gloo, launched by torchrun) train exactly as one process with the same
global batch, and a run resumed under torchrun continues exactly.

The model is the `mlp` without hidden layers: pooled frames into one linear classifier. Its
hidden layers carry BatchNorm, whose statistics DDP computes per rank, so they are left out on the
CPU; with `train.sync_bn` (torch's SyncBatchNorm, CUDA only) a BatchNorm model matches too, which
the GPU test checks on two devices. Augmentation is off (full-clip crop, no rotation): the
loader draws crops per rank by design, so only a deterministic transform makes the two runs
comparable. The lr is constant (SGD, step schedule without milestones), so a run of 1 epoch and
its continuation to 2 epochs see the same lr as a run of 2 epochs.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from skelab.cli.main import main
from skelab.engine.distributed import DistInfo, sync_batchnorm
from skelab.errors import SkelabError


def _data(path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 3, 12, 25, 2)).astype(np.float32)
    y = np.arange(24) % 4
    np.savez(path, x_train=x[:16], y_train=y[:16], x_test=x[16:], y_test=y[16:], num_classes=4)
    return path


def _args(data, run, epochs: int, *extra: str, changes: dict | None = None) -> list[str]:
    sets = {
        "data.path": str(data),
        "data.num_classes": 4,
        "data.window": 8,
        "data.p_interval": "[1.0, 1.0]",
        "data.test_p_interval": 1.0,
        "data.random_rot": "false",
        "train.epochs": epochs,
        "train.batch_size": 8,  # the global batch: 16 samples -> 2 steps per epoch
        "train.device": "cpu",
        "optim.name": "sgd",
        "optim.lr": 0.1,
        "sched.name": "step",
        "sched.milestones": "[]",
        "sched.warmup_epochs": 0,
        "model.options": "{segments: 2, hidden: []}",
        **(changes or {}),
    }
    out = ["train", "ntu60-xsub/mlp-joint", "--work-dir", str(run), "--no-progress", *extra]
    for key, value in sets.items():
        out += ["--set", f"{key}={value}"]
    return out


def _torchrun(args: list[str]) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    done = subprocess.run(
        [*cmd, "-m", "skelab.cli.main", *args], env=env, capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]


def _last(run) -> dict:
    return torch.load(run / "checkpoints" / "last.pt", map_location="cpu", weights_only=True)


def _assert_same_weights(a: dict, b: dict) -> None:
    assert a["model"].keys() == b["model"].keys()
    for key in a["model"]:
        diff = float((a["model"][key] - b["model"][key]).abs().max())
        assert diff <= 1e-5, f"{key}: max |difference| {diff:.3g}"


def test_two_gloo_processes_match_one_process_and_resume_exactly(tmp_path, monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    data = _data(tmp_path / "d.npz")
    assert main(_args(data, tmp_path / "one_1", 1)) == 0  # one process, 2 steps
    assert main(_args(data, tmp_path / "one_2", 2)) == 0  # one process, 4 steps, never stopped

    _torchrun(_args(data, tmp_path / "ddp", 1))  # two processes, 2 steps
    after_two_steps = _last(tmp_path / "ddp")
    _torchrun(_args(data, tmp_path / "ddp", 2, "--resume"))  # two processes resume, 2 more
    resumed = _last(tmp_path / "ddp")

    assert after_two_steps["step"] == 2 and resumed["step"] == 4
    _assert_same_weights(after_two_steps, _last(tmp_path / "one_1"))
    _assert_same_weights(resumed, _last(tmp_path / "one_2"))
    later = resumed["model"]
    moved = max(float((v - later[k]).abs().max()) for k, v in after_two_steps["model"].items())
    assert moved > 1e-4  # steps 3 and 4 changed the weights, so the comparison means something


def _bn_model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 2))


def test_sync_bn_converts_every_batchnorm_under_ddp_on_cuda():
    model = sync_batchnorm(_bn_model(), DistInfo(rank=0, world_size=2), torch.device("cuda", 0))

    kinds = [type(m) for m in model.modules()]
    assert nn.SyncBatchNorm in kinds and nn.BatchNorm1d not in kinds


def test_sync_bn_leaves_a_single_process_model_alone_and_refuses_the_cpu():
    model = _bn_model()

    assert sync_batchnorm(model, DistInfo(), torch.device("cpu")) is model
    with pytest.raises(SkelabError, match=r"(?s)train\.sync_bn needs CUDA.*fix:"):
        sync_batchnorm(model, DistInfo(rank=0, world_size=2), torch.device("cpu"))


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices (NCCL)")
def test_two_gpu_processes_with_sync_bn_match_one_process_on_a_batchnorm_model(
    tmp_path, monkeypatch
):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    data = _data(tmp_path / "d.npz")
    bn = {"model.options": "{segments: 2, hidden: [16]}", "train.device": "cuda"}
    assert main(_args(data, tmp_path / "one", 2, changes=bn)) == 0  # one process, batch 8

    _torchrun(_args(data, tmp_path / "ddp", 2, changes={**bn, "train.sync_bn": "true"}))

    one, ddp = _last(tmp_path / "one"), _last(tmp_path / "ddp")
    assert any("running_mean" in k for k in ddp["model"])  # BatchNorm, statistics included
    _assert_same_weights(ddp, one)
