"""NPZ archives at the zip level: member headers, where stored data starts, damage and truncation.

Only headers are parsed here: `npz_members` lists every `.npy` member with its shape, dtype and,
for an uncompressed member, the absolute offset of its data (so it can be memory-mapped in
place). Whatever Python's zip, zlib and npy readers raise on a damaged file is turned into a
`DataFormatError` that names the file (`reading`).
"""

from __future__ import annotations

import math
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelab.errors import DataFormatError

# What Python's zip, zlib and npy readers raise on a damaged file: a bad local header, a name
# that differs from the directory's, an unknown zip version or compression, a bad CRC, a bad
# deflate stream, an encrypted member, a header that does not parse, or an early end.
READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    EOFError,
    OSError,
    ValueError,
    struct.error,
    OverflowError,
    UnicodeDecodeError,
    KeyError,
    SyntaxError,  # numpy parses a damaged .npy header as Python literals
    tokenize.TokenError,
)


@contextmanager
def reading(path: str | Path, key: str | None = None) -> Iterator[None]:
    """Turn any error of the zip / npy readers inside the block into a `DataFormatError` that
    names the file (and the key when known)."""
    try:
        yield
    except DataFormatError:
        raise
    except READ_ERRORS as err:
        raise DataFormatError(
            path,
            f"cannot be read: the file is damaged ({type(err).__name__}: {err})",
            key=key,
            fix="copy or download the file again",
        ) from err


@dataclass(frozen=True)
class Member:
    """One `.npy` member of an NPZ: its header, and where its data starts in the file."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    compressed: bool
    data_offset: int | None  # absolute byte offset of the data in the NPZ (stored members only)

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize  # Python ints: no overflow


def read_npy_header(fp, path: Path, key: str) -> tuple[tuple[int, ...], np.dtype, bool]:
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    except READ_ERRORS as err:
        raise DataFormatError(
            path,
            f"not a readable .npy array ({err})",
            key=key,
            fix="re-create the file with numpy.savez / `skelab data convert`",
        ) from err
    if dtype.hasobject:
        raise DataFormatError(
            path,
            "holds Python objects, not numbers",
            key=key,
            fix="save plain numeric arrays (numpy.savez of float32 / int64 arrays)",
        )
    return tuple(int(s) for s in shape), dtype, bool(fortran)


def _local_header_size(fh, offset: int) -> int:
    fh.seek(offset)
    head = fh.read(30)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        return -1
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    return 30 + name_len + extra_len


def npz_members(path: str | Path) -> dict[str, Member]:
    """Headers of every `.npy` member of an NPZ, keyed without the `.npy` suffix."""
    path = Path(path)
    if not path.exists():
        raise DataFormatError(path, "no such file", fix="check the path")
    try:
        zf = zipfile.ZipFile(path)
    except READ_ERRORS as err:
        raise _open_error(path, err) from err
    with reading(path), zf, open(path, "rb") as raw:
        return _members(path, zf, raw)


def _open_error(path: Path, err: Exception) -> DataFormatError:
    """Why `zipfile.ZipFile(path)` failed: unreadable, truncated, damaged, or not a zip."""
    why = f"{type(err).__name__}: {err}"
    try:
        with open(path, "rb") as fh:
            is_zip = fh.read(4) == b"PK\x03\x04"
        truncated = _truncation_error(path)
    except OSError as os_err:
        return DataFormatError(
            path, f"cannot be opened ({os_err})", fix="check that the file is readable"
        )
    if truncated is not None:
        return truncated
    if is_zip:
        return DataFormatError(
            path,
            f"is a zip file whose directory is damaged ({why})",
            fix="copy or download the file again",
        )
    return DataFormatError(
        path,
        f"not an NPZ (zip) file ({why})",
        fix="pass a .npz written by numpy.savez, or a folder made by `skelab data prepare`",
    )


def _members(path: Path, zf: zipfile.ZipFile, raw) -> dict[str, Member]:
    members: dict[str, Member] = {}
    size = path.stat().st_size
    for info in zf.infolist():
        if not info.filename.endswith(".npy"):
            continue
        key = info.filename[: -len(".npy")]
        with reading(path, key):
            with zf.open(info) as fp:
                shape, dtype, fortran = read_npy_header(fp, path, key)
                header_len = fp.tell()
            offset = None
            if info.compress_type == zipfile.ZIP_STORED:
                local = _local_header_size(raw, info.header_offset)
                if local > 0:
                    offset = info.header_offset + local + header_len
            member = Member(key, shape, dtype, fortran, info.compress_type != 0, offset)
            if info.file_size < header_len + member.nbytes:
                raise DataFormatError(
                    path,
                    f"holds {info.file_size - header_len:,} data bytes but its header "
                    f"{shape} {dtype} needs {member.nbytes:,}: the file is truncated or corrupt",
                    key=key,
                    fix="copy or download the file again",
                )
            if offset is not None and offset + member.nbytes > size:
                raise DataFormatError(
                    path,
                    f"ends {offset + member.nbytes - size:,} bytes early: the file is truncated",
                    key=key,
                    fix="copy or download the file again",
                )
            members[key] = member
    return members


def _truncation_error(path: Path) -> DataFormatError | None:
    """Walk the zip's local headers to name the member a truncated NPZ stops in."""
    size = path.stat().st_size
    last_key = None
    with open(path, "rb") as fh:
        offset = 0
        while offset + 30 <= size:
            fh.seek(offset)
            head = fh.read(30)
            if head[:4] == b"PK\x01\x02":  # the directory is there: damaged, not truncated
                return None
            if head[:4] != b"PK\x03\x04":
                break
            flags = struct.unpack("<H", head[6:8])[0]
            comp_size = struct.unpack("<I", head[18:22])[0]
            name_len, extra_len = struct.unpack("<HH", head[26:30])
            name = fh.read(name_len).decode("utf-8", "replace")
            extra = fh.read(extra_len)
            if comp_size == 0xFFFFFFFF:  # zip64: the real size is in the extra field
                pos = 0
                while pos + 4 <= len(extra):
                    tag, length = struct.unpack("<HH", extra[pos : pos + 4])
                    if tag == 1 and length >= 16:
                        comp_size = struct.unpack("<Q", extra[pos + 12 : pos + 20])[0]
                        break
                    pos += 4 + length
            last_key = name[:-4] if name.endswith(".npy") else name
            if flags & 0x08 and comp_size == 0:  # size only known after the data; cannot walk on
                break
            end = offset + 30 + name_len + extra_len + comp_size
            if end > size:
                return DataFormatError(
                    path,
                    f"the file ends {end - size:,} bytes before the end of this member: "
                    "it is truncated (an interrupted download or copy?)",
                    key=last_key,
                    fix="copy or download the file again",
                )
            offset = end + (16 if flags & 0x08 else 0)
    if last_key is not None:
        return DataFormatError(
            path,
            "the zip directory at the end of the file is missing: the file is truncated "
            "after the last member",
            key=last_key,
            fix="copy or download the file again",
        )
    return None


def read_member(path: str | Path, key: str) -> np.ndarray:
    """One member of an NPZ read whole into memory (decompressed if needed); never unpickles.

    Any damage met while reading raises a `DataFormatError` naming the file and the key.
    """
    with reading(path, key), zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as fp:
        return np.lib.format.read_array(fp, allow_pickle=False)
