"""BatchLoader: order, drop_last, determinism, DDP shards, equivalence with the transform."""

from __future__ import annotations

import ast
import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import skelab.data as sd
from skelab.data.loader import _seed
from skelab.data.npzwrite import save_kaggle_npz


@pytest.fixture
def prepared(tmp_path):
    rng = np.random.default_rng(0)
    n, t = 50, 40
    x = rng.normal(size=(n, t, 150)).astype(np.float32)
    lengths = rng.integers(1, t + 1, n)
    x[np.arange(t)[None, :] >= lengths[:, None]] = 0
    y = rng.integers(0, 5, n)
    save_kaggle_npz(tmp_path / "s.npz", x, y, x[:10], y[:10])
    return sd.prepare(tmp_path / "s.npz", tmp_path / "p")


def test_train_loader_shuffles_and_drops_last(prepared):
    ds = sd.load(prepared, "train")
    loader = sd.BatchLoader(ds, batch_size=16, train=True, transform=sd.BatchTransform(train=True))

    batches = list(loader)

    assert len(loader) == len(batches) == 3
    seen = torch.cat([b.index for b in batches])
    assert len(set(seen.tolist())) == 48 and seen.tolist() != sorted(seen.tolist())
    assert batches[0].x.shape == (16, 3, 64, 25, 2)
    assert torch.equal(batches[0].y, torch.from_numpy(ds.y[batches[0].index.numpy()]))


def test_eval_loader_keeps_order_and_last_partial_batch(prepared):
    ds = sd.load(prepared, "train")

    batches = list(sd.BatchLoader(ds, batch_size=16, train=False, transform=sd.BatchTransform()))

    assert torch.cat([b.index for b in batches]).tolist() == list(range(50))
    assert len(batches[-1].index) == 2


def test_same_seed_and_epoch_give_same_batches_and_epochs_differ(prepared):
    ds = sd.load(prepared, "train")
    t = sd.BatchTransform(style="skateformer", train=True)

    def run(epoch, prefetch):
        loader = sd.BatchLoader(
            ds, batch_size=25, train=True, transform=t, seed=4, prefetch=prefetch
        )
        loader.set_epoch(epoch)
        return list(loader)

    a, b, c = run(2, 2), run(2, 0), run(3, 2)

    assert all(
        torch.equal(p.x, q.x) and torch.equal(p.index, q.index) for p, q in zip(a, b, strict=True)
    )
    assert not torch.equal(a[0].index, c[0].index)


def test_two_workers_and_no_prefetch_give_the_same_ctrgcn_batches(prepared):
    ds = sd.load(prepared, "train")
    t = sd.BatchTransform(style="ctrgcn", train=True)

    def run(**kw):
        return list(sd.BatchLoader(ds, batch_size=8, train=True, transform=t, seed=3, **kw))

    a, b = run(workers=2), run(prefetch=0)

    assert len(a) == len(b) == 6
    assert all(torch.equal(p.x, q.x) and torch.equal(p.y, q.y) for p, q in zip(a, b, strict=True))


def test_zero_workers_is_a_config_error_naming_the_argument(prepared):
    from skelab.errors import ConfigError

    with pytest.raises(
        ConfigError, match=r"(?s)workers: must be >= 1.*fix: BatchLoader\(.*workers=1"
    ):
        sd.BatchLoader(sd.load(prepared, "train"), batch_size=8, train=True, workers=0)


@pytest.mark.parametrize(("train", "key"), [(True, "train.batch_size"),
                                            (False, "train.test_batch_size")])  # fmt: skip
def test_zero_batch_size_fix_names_a_config_key_that_exists(prepared, train, key):
    from skelab.engine.config import Config
    from skelab.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        sd.BatchLoader(sd.load(prepared, "train"), batch_size=0, train=train)

    assert info.value.fix.startswith(f"--set {key}=64")
    section, name = key.split(".")
    assert name in {f.name for f in dataclasses.fields(getattr(Config(), section))}


def _fix_texts(source: str) -> list[str]:
    """The literal text of every `fix=` argument in a module (f-string parts joined)."""
    texts = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "fix":
            texts.append(
                "".join(
                    n.value
                    for n in ast.walk(node.value)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str)
                )
            )
    return texts


def test_every_config_key_named_in_a_data_fix_exists():
    from skelab.engine.config import Config

    sections = ("data", "train", "model", "optim", "sched", "loss")
    keys = {
        f"{section}.{f.name}"
        for section in sections
        for f in dataclasses.fields(getattr(Config(), section))
    }
    pattern = re.compile(rf"\b(?:{'|'.join(sections)})\.[a-z_]+")
    named = set()
    for path in Path(sd.__file__).parent.glob("*.py"):
        for text in _fix_texts(path.read_text()):
            named |= set(pattern.findall(text))

    assert {"train.batch_size", "train.test_batch_size"} <= named  # the loader's fix lines
    assert named <= keys, sorted(named - keys)


def test_ddp_train_shards_are_disjoint_and_equal_sized(prepared):
    ds = sd.load(prepared, "train")
    shards = [
        sd.BatchLoader(ds, batch_size=4, train=True, rank=r, world_size=3).batches()
        for r in range(3)
    ]

    flat = [np.concatenate(s) for s in shards]

    assert {len(s) for s in shards} == {4}
    assert len(set(np.concatenate(flat).tolist())) == sum(len(f) for f in flat)


def test_ddp_eval_shards_cover_every_sample_once(prepared):
    ds = sd.load(prepared, "train")

    idx = [
        np.concatenate(
            sd.BatchLoader(ds, batch_size=4, train=False, rank=r, world_size=3).batches()
        )
        for r in range(3)
    ]

    assert sorted(np.concatenate(idx).tolist()) == list(range(50))


@pytest.mark.parametrize("style", ["ctrgcn", "skateformer", "hypergcn"])
def test_loader_batch_equals_transform_on_whole_sequences(prepared, style):
    ds = sd.load(prepared, "train")
    t = sd.BatchTransform(style=style, train=True, modality="bone_motion")
    loader = sd.BatchLoader(ds, batch_size=10, train=True, transform=t, seed=1)

    batch = next(iter(loader))

    idx = batch.index.numpy()
    g = torch.Generator().manual_seed(_seed(1, 0, 0, 0))
    ref = t(torch.from_numpy(np.ascontiguousarray(ds.x[idx])), ds.lengths[idx], g, ds.y[idx])
    assert torch.allclose(batch.x, ref.x, atol=1e-5)


def test_loader_without_transform_returns_whole_sequences(prepared):
    ds = sd.load(prepared, "test")

    (batch,) = list(sd.BatchLoader(ds, batch_size=10, train=False))

    assert np.array_equal(batch.x.numpy(), ds.x[:10])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("style", ["ctrgcn", "skateformer"])
def test_cuda_loader_gives_the_cpu_batches(prepared, style):
    ds = sd.load(prepared, "train")
    t = sd.BatchTransform(style=style, train=True, modality="bone")

    cpu = next(iter(sd.BatchLoader(ds, batch_size=10, train=True, transform=t, seed=2)))
    gpu = next(
        iter(sd.BatchLoader(ds, batch_size=10, train=True, transform=t, seed=2, device="cuda"))
    )

    assert gpu.x.is_cuda and gpu.y.is_cuda
    assert torch.allclose(gpu.x.cpu(), cpu.x, atol=1e-5)
