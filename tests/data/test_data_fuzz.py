"""Fuzzing `skelab.data.load`: hostile and damaged NPZ files (both layouts, stored and deflated)
and prepared folders. Every case ends in a `SkelabError` that names the file, or loads exactly
the data that was written; nothing else may escape.

Cases are drawn from a seed: byte flips and truncations of valid files, and hostile files built
on purpose (object arrays, wrong dtypes and shapes, NaN/inf, bad labels, huge declared shapes,
damaged meta.json). 100 run by default, 2,000 more in the slow set.

Not covered on purpose: flipped bytes inside a prepared folder's x data. Opening a folder does
not hash its gigabytes of x (that is `verify_prepared`), so such a flip loads the changed values;
`test_flipped_x_byte_in_a_prepared_folder_is_found_by_verify` checks that it is detected there.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import skelab.data as sd
from skelab.data.npzwrite import convert_npz, one_hot, save_kaggle_npz
from skelab.errors import SkelabError

N = {"train": 6, "test": 3}
T = 8


@dataclass
class Case:
    root: Path  # the NPZ or the prepared folder handed to `load`
    expect: dict | None  # split -> (x (N, 3, T, 25, 2) float32, y (N,) int64); None: must fail
    what: str


def _arrays(seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Integer-valued coordinates (exact in every float and int dtype), zero padding, 1-2 people."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in N.items():
        x = rng.integers(-5, 6, size=(n, T, 150)).astype(np.float32)
        x[x == 0] = 1
        lengths = rng.integers(1, T + 1, n)
        x[np.arange(T)[None, :] >= lengths[:, None]] = 0
        x[::2, :, 75:] = 0
        out[split] = (x, rng.integers(0, 60, n))
    return out


def _nctvm(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), T, 2, 25, 3).transpose(0, 4, 1, 3, 2).astype(np.float32)


BASE = _arrays()
EXPECT = {s: (_nctvm(x), y.astype(np.int64)) for s, (x, y) in BASE.items()}


def _deflate(src: Path, dst: Path) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
    return dst


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("fuzz_valid")
    (xtr, ytr), (xte, yte) = BASE["train"], BASE["test"]
    kaggle = save_kaggle_npz(tmp / "kaggle.npz", xtr, ytr, xte, yte, num_classes=60)
    five = convert_npz(kaggle, tmp / "5d.npz", to="5d")
    return {
        "kaggle": kaggle,
        "5d": five,
        "kaggle_deflated": _deflate(kaggle, tmp / "kaggle_z.npz"),
        "5d_deflated": _deflate(five, tmp / "5d_z.npz"),
        "prepared": sd.prepare(kaggle, tmp / "prepared"),
    }


# --------------------------------------------------------------------------------------------
# Damaged copies of valid files


def _copy(valid: dict[str, Path], name: str, tmp: Path) -> Path:
    src = valid[name]
    dst = tmp / src.name
    if src.is_dir():
        shutil.copytree(src, dst)
    else:
        shutil.copyfile(src, dst)
    return dst


def _flip(path: Path, rng: np.random.Generator, lo: int = 0, hi: int | None = None) -> str:
    data = bytearray(path.read_bytes())
    hi = len(data) if hi is None else min(hi, len(data))
    spots = rng.integers(lo, hi, int(rng.integers(1, 5)))
    for i in spots:
        data[i] ^= int(rng.integers(1, 256))
    path.write_bytes(bytes(data))
    return f"flipped bytes {sorted(spots.tolist())} of {path.name}"


def _truncate(path: Path, rng: np.random.Generator) -> str:
    data = path.read_bytes()
    keep = int(rng.integers(0, len(data)))
    path.write_bytes(data[:keep])
    return f"{path.name} cut to {keep} of {len(data)} bytes"


def _damaged_npz(valid, tmp, rng) -> Case:
    path = _copy(valid, str(rng.choice(["kaggle", "5d", "kaggle_deflated", "5d_deflated"])), tmp)
    what = _flip(path, rng) if rng.random() < 0.7 else _truncate(path, rng)
    return Case(path, EXPECT, what)


def _damaged_prepared(valid, tmp, rng) -> Case:
    folder = _copy(valid, "prepared", tmp)
    names = ["meta.json", "train_x.npy", "test_x.npy"]
    names += [f"{s}_{k}.npy" for s in N for k in ("y", "lengths", "persons")]
    path = folder / str(rng.choice(names))
    if rng.random() < 0.25:
        what = _truncate(path, rng)
    elif path.name.endswith("_x.npy"):  # the header only: x data is not hashed on open
        what = _flip(path, rng, 0, 128)
    else:
        what = _flip(path, rng)
    return Case(folder, EXPECT, what)


# --------------------------------------------------------------------------------------------
# Hostile files built on purpose


def _npy_bytes(arr: np.ndarray, shape: tuple[int, ...] | None = None, fortran=False) -> bytes:
    """An .npy file of `arr`, optionally with another shape or Fortran order in its header."""
    buf = io.BytesIO()
    header = {
        "descr": np.lib.format.dtype_to_descr(arr.dtype),
        "fortran_order": fortran,
        "shape": arr.shape if shape is None else shape,
    }
    np.lib.format.write_array_header_1_0(buf, header)
    if arr.dtype.hasobject:
        import pickle

        buf.write(pickle.dumps(arr.ravel().tolist()))
    else:
        buf.write(np.asfortranarray(arr).tobytes("A") if fortran else arr.tobytes())
    return buf.getvalue()


def _zip(path: Path, members: dict[str, bytes], deflate: bool) -> Path:
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", method) as zf:
        for key, data in members.items():
            zf.writestr(f"{key}.npy", data)
    return path


def _members(layout: str, y_kind: str = "onehot") -> dict[str, np.ndarray]:
    out = {}
    for split, (x, y) in BASE.items():
        out[f"x_{split}"] = x if layout == "kaggle" else _nctvm(x)
        out[f"y_{split}"] = one_hot(y, 60) if y_kind == "onehot" else y.astype(np.int64)
    if y_kind == "int":
        out["num_classes"] = np.asarray(60, np.int64)
    return out


def _hostile_npz(tmp: Path, rng: np.random.Generator) -> Case:
    layout = str(rng.choice(["kaggle", "5d"]))
    m = _members(layout, str(rng.choice(["onehot", "int"])))
    split = str(rng.choice(["train", "test"]))
    xk, yk = f"x_{split}", f"y_{split}"
    x, n = m[xk], N[split]
    raw: dict[str, bytes] = {}
    expect = None
    kind = int(rng.integers(0, 22))
    if kind == 0:
        m[xk] = np.array([None] * n, dtype=object)
        what = "object x"
    elif kind == 1:
        m[yk] = np.array(["a"] * n, dtype=object)
        what = "object y"
    elif kind == 2:
        dtype = str(rng.choice(["int16", "int8", "float16", "float64", ">f4", "<i4"]))
        m[xk] = x.astype(dtype)
        what, expect = f"x as {dtype} (loads, converted to float32)", EXPECT
    elif kind == 3:
        dtype = str(rng.choice(["complex64", "bool", "<U2", "datetime64[s]"]))
        m[xk] = x.astype(dtype)
        what = f"x as {dtype}"
    elif kind == 4:
        shape = [(n, T, 149), (n, T, 150, 1), (n, 3, T, 25, 3), (n,), (n, 3, T, 24, 2)][
            int(rng.integers(0, 5))
        ]
        m[xk] = np.ones(shape, np.float32)
        what = f"x of shape {shape}"
    elif kind == 5:
        bad = np.float32(rng.choice([np.nan, np.inf, -np.inf]))
        x = x.copy()
        x.reshape(-1)[int(rng.integers(0, x.size))] = bad
        m[xk] = x
        what = f"{bad} in x (it may land in padding, where it still counts as a value)"
    elif kind == 6:
        x = x.copy()
        x[int(rng.integers(0, n))] = 0
        m[xk] = x
        what = "an all-zero sample"
    elif kind == 7:
        y = BASE[split][1].copy()
        y[0] = -int(rng.integers(1, 100))
        m[yk] = y
        m.setdefault("num_classes", np.asarray(60, np.int64))
        what = "a negative label"
    elif kind == 8:
        y = one_hot(BASE[split][1], 60)
        y[0, (BASE[split][1][0] + 1) % 60] = 1
        m[yk] = y
        what = "a one-hot row with two ones"
    elif kind == 9:
        m[yk] = np.full(n, 2.5)
        what = "fractional labels"
    elif kind == 10:
        m[yk] = np.full(n, np.nan)
        what = "NaN labels"
    elif kind == 11:
        m[yk] = BASE[split][1][: n - 1]
        what = "one label fewer than samples"
    elif kind == 12:
        m[yk] = np.ones((n, 2, 3), np.float32)
        what = "3-D labels"
    elif kind == 13:
        y = BASE[split][1].astype(np.int64)
        y[0] = 10**9
        m[yk] = y
        m.pop("num_classes", None)
        what = "label 10**9"
    elif kind == 14:
        value = [np.arange(2), np.asarray(-1), np.asarray(0), np.asarray(60.0), np.asarray(10**7)]
        m["num_classes"] = value[int(rng.integers(0, 5))]
        m[f"y_{split}"] = BASE[split][1].astype(np.int64)
        what = f"num_classes = {m['num_classes']!r}"
    elif kind == 15:
        huge = (2**40, *x.shape[1:])
        raw[xk] = _npy_bytes(x, shape=huge)
        what = f"x header declares {huge}"
    elif kind == 16:
        raw[yk] = _npy_bytes(m[yk], shape=(2**50,) + m[yk].shape[1:])
        what = "y header declares 2**50 rows"
    elif kind == 17:
        raw[xk] = _npy_bytes(x, fortran=True)
        what = "x in Fortran order"
    elif kind == 18:
        del m[str(rng.choice([xk, yk]))]
        what = "a missing key"
    elif kind == 19:
        m[xk], m[yk] = x[:0], m[yk][:0]
        expect = {**EXPECT, split: (EXPECT[split][0][:0], EXPECT[split][1][:0])}
        what = "an empty split (loads, no samples)"
    elif kind == 20:
        m["x_test"] = _nctvm(BASE["test"][0]) if layout == "kaggle" else BASE["test"][0]
        what, expect = "splits in different layouts (each split loads on its own)", EXPECT
    else:
        blob = [b"", b"not a zip at all\n", bytes(rng.integers(0, 256, 300, dtype=np.uint8))]
        path = tmp / "hostile.npz"
        path.write_bytes(blob[int(rng.integers(0, 3))])
        return Case(path, None, "not a zip file")
    members = {k: _npy_bytes(v) if v.dtype.hasobject else _npy_as_saved(v) for k, v in m.items()}
    members.update(raw)
    deflate = bool(rng.random() < 0.3)
    path = _zip(tmp / "hostile.npz", members, deflate)
    return Case(path, expect, f"{layout} NPZ ({'deflated' if deflate else 'stored'}): {what}")


def _npy_as_saved(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


def _hostile_prepared(valid, tmp: Path, rng: np.random.Generator) -> Case:
    folder = _copy(valid, "prepared", tmp)
    meta_path = folder / "meta.json"
    meta = json.loads(meta_path.read_text())
    kind = int(rng.integers(0, 11))

    def rewrite(name: str, arr: np.ndarray) -> None:  # a consistent forgery: checksum updated
        data = _npy_as_saved(arr) if not arr.dtype.hasobject else _npy_bytes(arr)
        (folder / name).write_bytes(data)
        meta["checksums"][name] = "sha256:" + hashlib.sha256(data).hexdigest()

    if kind == 0:
        meta = [1, 2]
        what = "meta.json is a list"
    elif kind == 1:
        meta["splits"] = 5
        what = "splits is a number"
    elif kind == 2:
        meta["splits"]["train"]["x"]["file"] = "../../etc/passwd"
        what = "x file outside the folder"
    elif kind == 3:
        meta["num_classes"] = rng.choice(["60", True, 0, -3, 10**9])
        meta["num_classes"] = (
            meta["num_classes"].item()
            if hasattr(meta["num_classes"], "item")
            else meta["num_classes"]
        )
        what = f"num_classes {meta['num_classes']!r}"
    elif kind == 4:
        meta["splits"]["test"]["x"]["shape"] = [3, T, 3, 25]
        what = "x shape with 4 axes"
    elif kind == 5:
        rewrite("train_lengths.npy", np.full(N["train"], T + 5, np.int64))
        what = "lengths beyond T (checksum forged)"
    elif kind == 6:
        rewrite("test_y.npy", np.full(N["test"], 0.5))
        what = "float labels (checksum forged)"
    elif kind == 7:
        x = np.load(folder / "train_x.npy")
        (folder / "train_x.npy").write_bytes(
            _npy_bytes(x, fortran=True) if rng.random() < 0.5 else _npy_as_saved(x.astype(">f4"))
        )
        what = "x rewritten in Fortran order or big-endian"
    elif kind == 8:
        rewrite("train_persons.npy", np.array([None] * N["train"], dtype=object))
        what = "object persons array (checksum forged)"
    elif kind == 9:
        del meta["splits"]["train"]["lengths"]
        what = "lengths entry missing"
    else:
        field, value = [("center", "x"), ("root", "x"), ("inward", [[0, 99]]), ("joints", 5),
                        ("joints", ["hip"])][int(rng.integers(0, 5))]  # fmt: skip
        meta["skeleton"][field] = value
        what = f"skeleton {field} = {value!r}"
    meta_path.write_text(json.dumps(meta))
    return Case(folder, None, f"prepared folder: {what}")


def make_case(seed: int, valid: dict[str, Path], tmp: Path) -> Case:
    rng = np.random.default_rng([2026, seed])
    pick = rng.random()
    if pick < 0.35:
        return _damaged_npz(valid, tmp, rng)
    if pick < 0.55:
        return _damaged_prepared(valid, tmp, rng)
    if pick < 0.85:
        return _hostile_npz(tmp, rng)
    return _hostile_prepared(valid, tmp, rng)


# --------------------------------------------------------------------------------------------
# The check


def check_case(case: Case) -> str:
    """'error' or 'loaded'; fails the test when anything else happens."""
    loaded = {}
    try:
        for split in ("train", "test"):
            loaded[split] = sd.load(case.root, split)
    except SkelabError as err:
        assert err.where and err.where.startswith(str(case.root)), (case.what, str(err))
        assert err.fix, (case.what, str(err))
        return "error"
    except Exception as err:  # noqa: BLE001 - anything else escaping is the failure we look for
        pytest.fail(f"{case.what}: {type(err).__name__} escaped: {err}")
    assert case.expect is not None, f"{case.what}: loaded, but it must fail"
    for split, ds in loaded.items():
        x, y = case.expect[split]
        assert np.array_equal(ds.y, y), case.what
        assert np.array_equal(ds.x, x), case.what
        k = len(ds) * ds.num_frames
        frames = ds.read_frames(np.repeat(np.arange(len(ds)), ds.num_frames),
                                np.tile(np.arange(ds.num_frames), len(ds)))  # fmt: skip
        assert np.array_equal(frames, x.transpose(0, 2, 1, 3, 4).reshape(k, 3, 25, 2)), case.what
    return "loaded"


@pytest.mark.parametrize("seed", range(100))
def test_fuzzed_file_loads_correct_data_or_names_the_file(seed, valid, tmp_path):
    check_case(make_case(seed, valid, tmp_path))


@pytest.mark.slow
def test_2000_more_fuzzed_files_load_correct_data_or_name_the_file(valid, tmp_path):
    outcomes = {"error": 0, "loaded": 0}
    for seed in range(100, 2100):
        case_dir = tmp_path / str(seed)
        case_dir.mkdir()
        outcomes[check_case(make_case(seed, valid, case_dir))] += 1
        shutil.rmtree(case_dir)
    assert outcomes["error"] > 1000 and outcomes["loaded"] > 50, outcomes  # both paths taken


def test_zip_errors_that_python_raises_unnamed_now_name_the_file(valid, tmp_path):
    """The three messages of issue 8: a bad local header magic, a local name that differs from
    the directory's, and an unsupported zip version; each becomes a DataFormatError."""
    src = valid["kaggle"].read_bytes()
    local = src.index(b"PK\x03\x04", 1)  # the second member's local header
    central = src.index(b"PK\x01\x02")  # the first member's directory entry
    damages = {
        "magic": (local, b"PK\x03\x05"),
        "name": (local + 30, b"z"),
        "version": (central + 6, bytes([103, 0])),  # "needs zip version 10.3"
    }
    for what, (at, patch) in damages.items():
        path = tmp_path / f"{what}.npz"
        path.write_bytes(src[:at] + patch + src[at + len(patch) :])
        with pytest.raises(SkelabError) as info:
            for split in ("train", "test"):
                sd.load(path, split)
        assert info.value.where == str(path), what
        assert "damaged" in info.value.problem, what
        assert isinstance(info.value.__cause__, zipfile.BadZipFile | NotImplementedError), what


def test_flipped_x_byte_in_a_prepared_folder_is_found_by_verify(valid, tmp_path):
    folder = _copy(valid, "prepared", tmp_path)
    data = bytearray((folder / "train_x.npy").read_bytes())
    data[200] ^= 0x40
    (folder / "train_x.npy").write_bytes(bytes(data))

    assert sd.verify_prepared(folder) == ["train_x.npy"]
