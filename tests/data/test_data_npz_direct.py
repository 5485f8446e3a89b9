"""Training straight from an NPZ gives exactly the batches of a prepared folder of the same data.

Covers both layouts and compressed archives: the fast gather for unaligned in-zip memmaps must
not change a single bit of what the loader yields.
"""

from __future__ import annotations

import hashlib
import zipfile

import numpy as np
import pytest
import torch

import skelab.data as sd
from skelab.data.npzwrite import convert_npz, save_kaggle_npz


def _compress(src, dst):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    return dst


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("npz_direct")
    rng = np.random.default_rng(3)
    n, t = 30, 36
    x = rng.normal(size=(n, t, 150)).astype(np.float32)
    lengths = rng.integers(1, t + 1, n)
    x[np.arange(t)[None, :] >= lengths[:, None]] = 0
    x[: n // 2, :, 75:] = 0  # half single-person
    y = rng.integers(0, 7, n)
    kaggle = save_kaggle_npz(tmp / "k.npz", x, y, x[:8], y[:8], num_classes=60)
    five = convert_npz(kaggle, tmp / "5d.npz", to="5d")
    return {
        "prepared": sd.prepare(kaggle, tmp / "prepared"),
        "kaggle": kaggle,
        "5d": five,
        "kaggle_deflated": _compress(kaggle, tmp / "kz.npz"),
        "5d_deflated": _compress(five, tmp / "5dz.npz"),
    }


def _batches(path, style, train):
    ds = sd.load(path, "train")
    t = sd.BatchTransform(style=style, window=16, train=train)
    return list(sd.BatchLoader(ds, batch_size=12, train=train, transform=t, seed=5))


CASES = [
    *[(source, "ctrgcn", train) for source in ("kaggle", "5d", "kaggle_deflated", "5d_deflated")
      for train in (True, False)],
    ("kaggle", "skateformer", True),  # SkateFormer also reads AdaIN reference frames
    ("5d_deflated", "skateformer", True),
]  # fmt: skip


@pytest.mark.parametrize(("source", "style", "train"), CASES)
def test_npz_batches_equal_prepared_batches_bit_for_bit(sources, source, style, train):
    want = _batches(sources["prepared"], style, train)

    got = _batches(sources[source], style, train)

    assert len(got) == len(want)
    for a, b in zip(got, want, strict=True):
        assert torch.equal(a.index, b.index) and torch.equal(a.y, b.y)
        assert torch.equal(a.x, b.x)
        assert (a.index_t is None) == (b.index_t is None)
        if a.index_t is not None:
            assert torch.equal(a.index_t, b.index_t)


@pytest.mark.parametrize("source", ["kaggle", "5d", "kaggle_deflated"])
def test_read_frames_from_npz_equals_prepared(sources, source):
    ref = sd.load(sources["prepared"], "train")
    ds = sd.load(sources[source], "train")
    rng = np.random.default_rng(0)
    samples = rng.integers(0, len(ds), 300)
    frames = rng.integers(0, ds.num_frames, 300)

    got = ds.read_frames(samples, frames)

    assert got.dtype == np.float32 and got.flags.c_contiguous and got.shape == (300, 3, 25, 2)
    np.testing.assert_array_equal(got, ref.read_frames(samples, frames))


# sha256 of `read_frames` output, recorded with the np.take implementation that the byte gather
# replaced (commit 4584d8d); the same frames in every storage layout give the same bytes.
READ_FRAMES_SHA256 = "2199a91807fec7c88993d38134f5562435c0a0868eefc91536a0423617756608"


@pytest.mark.parametrize("aligned", [True, False])
@pytest.mark.parametrize("layout", ["NTMVC", "NTCVM", "NCTVM"])
def test_read_frames_gives_the_bytes_of_the_previous_implementation(layout, aligned):
    from skelab.data.dataset import SkeletonDataset

    rng = np.random.default_rng(8)
    n, t = 7, 11
    ntmvc = rng.normal(size=(n, t, 150)).astype(np.float32).reshape(n, t, 2, 25, 3)
    samples, frames = rng.integers(0, n, 500), rng.integers(0, t, 500)
    order = {"NTMVC": (0, 1, 2, 3, 4), "NTCVM": (0, 1, 4, 3, 2), "NCTVM": (0, 4, 1, 3, 2)}
    storage = np.ascontiguousarray(ntmvc.transpose(order[layout]))
    if not aligned:  # as a memmap inside an NPZ: the data starts at an odd byte
        raw = np.zeros(storage.nbytes + 1, np.uint8)
        raw[1:] = storage.reshape(-1).view(np.uint8)
        storage = np.frombuffer(raw.data, np.float32, offset=1).reshape(storage.shape)
        assert not storage.flags.aligned
    ds = SkeletonDataset(
        storage=storage,
        layout=layout,
        y=np.zeros(n, np.int64),
        lengths=np.full(n, t),
        persons=np.full(n, 2),
        num_classes=60,
        path="mem",
        split="train",
        source_format="test",
    )

    got = ds.read_frames(samples, frames)

    assert got.flags.c_contiguous and got.dtype == np.float32
    assert hashlib.sha256(got.tobytes()).hexdigest() == READ_FRAMES_SHA256


def test_compressed_member_too_large_for_memory_points_to_prepare(sources, monkeypatch):
    import skelab.data.reader as reader
    from skelab.errors import DataFormatError

    def no_memory(path, key):
        raise MemoryError(f"cannot allocate {key}")

    monkeypatch.setattr(reader, "read_member", no_memory)

    with pytest.raises(DataFormatError, match=r"(?s)x_train.*fix: skelab data prepare ") as info:
        sd.load(sources["kaggle_deflated"], "train")
    assert info.value.where == str(sources["kaggle_deflated"])


def test_opening_a_compressed_npz_says_it_decompresses_into_memory(sources, caplog):
    with caplog.at_level("INFO", logger="skelab.data.reader"):
        sd.load(sources["5d_deflated"], "test")

    assert "cannot be memory-mapped" in caplog.text and "skelab data prepare" in caplog.text
