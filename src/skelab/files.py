"""Files written so that an interrupted run loses nothing, and read so that nothing is unpickled.

Every file skelab writes for later (checkpoints, scores, stage outputs, metadata) goes through
`atomic_file` (or its one-call forms `atomic_write*`), and every folder through `atomic_dir`:
the bytes go to a temporary file in the target's folder, which is flushed,
fsynced and renamed over the target, then the folder is fsynced. A process killed half-way
leaves either the old file or the new one, never a torn one.

Every PyTorch file skelab reads goes through `load_torch`, which uses `weights_only=True` (tensors,
numbers, strings, lists and dicts; never arbitrary pickled objects) and turns the many exception
types torch raises for truncated or foreign files into one `CheckpointError` naming the file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from skelab.errors import CheckpointError


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[IO[bytes]]:
    """`with atomic_file(p) as fh:` writes to a temp file beside `p`, renamed over it on success.

    On an exception the temp file is removed and `p` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    # 0o666 less the umask, as open() would give the final file (mkstemp would make it 0o600)
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "w+b") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _temp_name(path: Path) -> Path:
    """A fresh hidden name beside `path`, unique across processes and threads."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")


def atomic_write(path: str | Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call `write(fh)` on a temp file beside `path`, then fsync and rename it over `path`."""
    with atomic_file(path) as fh:
        write(fh)
    return Path(path)


@contextlib.contextmanager
def atomic_dir(path: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """`with atomic_dir(d) as tmp:` fills a temp folder beside `d`, swapped in on success.

    An existing `d` is replaced only when `overwrite` is true, and only once the new folder is
    whole; on an exception the temp folder is removed and `d` is untouched.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(path)
    tmp.mkdir()  # the umask's mode, as a plain mkdir would give (mkdtemp would make it 0o700)
    try:
        yield tmp
        if path.exists():
            old = path.with_name(f"{tmp.name}.old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically."""
    return atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write UTF-8 `text` to `path` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save(obj: Any, path: str | Path) -> Path:
    """`torch.save(obj)` to `path` atomically."""
    import torch

    return atomic_write(path, lambda fh: torch.save(obj, fh))


def atomic_copy(src: str | Path, dst: str | Path) -> Path:
    """Copy a finished file to `dst` with the same temp-file-then-rename guarantee."""

    def copy(fh: IO[bytes]) -> None:
        with open(src, "rb") as inp:
            shutil.copyfileobj(inp, fh, length=1 << 22)

    return atomic_write(dst, copy)


def load_torch(
    path: str | Path,
    *,
    map_location: Any = "cpu",
    fix: str = "the file may be truncated or not a PyTorch file; re-save or re-download it",
) -> Any:
    """`torch.load(path, weights_only=True)`; a missing, truncated or foreign file names itself."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such file: {path}", fix="check the path")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises many types (pickle, zip, runtime) for bad files
        first = (str(exc).splitlines() or [""])[0][:300]
        raise CheckpointError(
            f"cannot read as a PyTorch checkpoint ({type(exc).__name__}: {first})",
            where=path,
            fix=fix,
        ) from exc
