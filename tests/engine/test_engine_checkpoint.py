"""Checkpoints: atomic writes survive a crash mid-write; RNG states round-trip safely."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from skelab.engine import checkpoint
from skelab.engine.checkpoint import (
    atomic_save,
    capture_rng_state,
    load_checkpoint,
    restore_rng_state,
)
from skelab.errors import CheckpointError


def test_write_that_fails_half_way_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    path = atomic_save({"epoch": 1, "w": torch.ones(3)}, tmp_path / "last.pt")
    real_save = torch.save

    def crash_mid_write(obj, fh):
        real_save(obj, fh)
        fh.seek(fh.tell() // 2)
        fh.truncate()
        raise OSError("disk full")

    monkeypatch.setattr(checkpoint.torch, "save", crash_mid_write)
    with pytest.raises(OSError, match="disk full"):
        atomic_save({"epoch": 2, "w": torch.zeros(3)}, path)

    assert load_checkpoint(path)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp file left behind


def test_process_killed_mid_write_leaves_the_previous_checkpoint(tmp_path):
    path = atomic_save({"epoch": 1}, tmp_path / "last.pt")
    script = textwrap.dedent(f"""
        import os, torch
        from skelab.engine import checkpoint
        real = torch.save
        def die(obj, fh):
            real(obj, fh); fh.flush(); fh.truncate(100); os._exit(9)
        checkpoint.torch.save = die
        checkpoint.atomic_save({{"epoch": 2, "w": torch.zeros(1000)}}, {str(path)!r})
    """)

    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)

    assert proc.returncode == 9
    assert load_checkpoint(path)["epoch"] == 1


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    path = atomic_save({"w": torch.randn(1000)}, tmp_path / "x.pt")
    path.write_bytes(path.read_bytes()[:200])

    with pytest.raises(CheckpointError, match=r"(?s)cannot read as a PyTorch checkpoint.*fix:"):
        load_checkpoint(path)


def test_rng_states_round_trip_through_a_weights_only_checkpoint(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    np.random.standard_normal()  # leaves a cached gaussian in numpy's state
    path = atomic_save({"rng": capture_rng_state()}, tmp_path / "rng.pt")
    expected = (random.random(), np.random.standard_normal(), torch.rand(1).item())
    random.seed(9), np.random.seed(9), torch.manual_seed(9)

    restore_rng_state(load_checkpoint(path)["rng"])

    assert (random.random(), np.random.standard_normal(), torch.rand(1).item()) == expected
