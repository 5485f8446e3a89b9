"""A 2-process DistributedDataParallel run on the CPU (gloo), launched as torchrun would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import numpy as np
import pytest

from skelab.engine.distributed import DistInfo, dist_from_env
from skelab.engine.metrics import load_scores


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_single_process_environment_is_rank_0_of_1(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)

    assert dist_from_env() == DistInfo(rank=0, world_size=1, local_rank=0)


@pytest.mark.slow
def test_two_gloo_processes_train_and_only_rank_0_writes(tmp_path):
    rng = np.random.default_rng(0)
    y = np.arange(48) % 4
    x = rng.standard_normal((48, 3, 12, 25, 2)).astype(np.float32)
    data = tmp_path / "d.npz"
    np.savez(
        data, x_train=x[:32], y_train=y[:32], x_test=x[32:], y_test=y[32:], num_classes=np.int64(4)
    )
    run = tmp_path / "run"
    args = [
        "train",
        "ntu60-xsub/mlp-joint",
        "--work-dir",
        str(run),
        "--no-progress",
        "--set",
        f"data.path={data}",
        "--set",
        "data.num_classes=4",
        "--set",
        "data.window=8",
        "--set",
        "train.epochs=2",
        "--set",
        "train.batch_size=8",
        "--set",
        "train.device=cpu",
        "--set",
        "model.options={segments: 2, hidden: [16]}",
    ]
    code = f"import sys; from skelab.cli.main import main; sys.exit(main({args!r}))"
    env = {
        **os.environ,
        "WORLD_SIZE": "2",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(_free_port()),
        "OMP_NUM_THREADS": "1",
    }

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for r in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]

    assert [p.returncode for p in procs] == [0, 0], outs[0][1].decode()[-2000:]
    assert "2 processes" in outs[0][1].decode()  # rank 0 logs; rank 1 stays quiet
    assert outs[1][0] == b""
    scores = load_scores(run / "scores/epoch_2_test.npz")
    assert list(scores["index"]) == list(range(16))  # both ranks' shards gathered
    assert (run / "checkpoints/best.pt").is_file()
