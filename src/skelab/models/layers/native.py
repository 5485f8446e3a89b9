"""skelab's compiled CPU kernels: small C files shipped in the package, built on first use.

Some CPU work has no fast form in torch operations: SkateFormer's windowed attention at head
widths 3 and 6 spends its time writing and re-reading N x N score matrices between six
separate kernels. `kernels/*.c` hold plain C (no Python or torch headers) for such places. On
first use a kernel is compiled with the system's C compiler (`$CC`, else `cc`, `gcc` or
`clang`; about a second) into skelab's cache folder and loaded with ctypes; later processes
load the built file. Where no compiler works, or `SKELAB_NATIVE=0` is set, `library` returns
None once, with one warning saying why, and the callers run their torch-operation forms (the
same maths, slower).

The built file's name carries a digest of the source, the shared headers (`kernels/*.h`), the
flags and the compiler, so an
upgrade never loads a stale build; it is written to a temporary name and renamed, so that
concurrent processes (DataLoader workers, DDP ranks) never load half a file.

    SKELAB_NATIVE=0          never build or load (the torch-operation forms run)
    SKELAB_CACHE=/some/dir   where built kernels go (default $XDG_CACHE_HOME/skelab or
                             ~/.cache/skelab), under native/
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from torch import Tensor

SOURCES = Path(__file__).with_name("kernels")
_LOCK = threading.Lock()
_LIBRARIES: dict[str, ctypes.CDLL | None] = {}

# C argument types for the signatures callers pass to `library`
POINTER, LONG, FLOAT = ctypes.c_void_p, ctypes.c_long, ctypes.c_float


def enabled() -> bool:
    """Whether compiled kernels may be built and loaded (`SKELAB_NATIVE`, default on)."""
    return os.environ.get("SKELAB_NATIVE", "1").strip().lower() not in ("0", "false", "no", "off")


def cache_dir() -> Path:
    """The folder built kernels go to: $SKELAB_CACHE/native, else the user's cache folder."""
    root = os.environ.get("SKELAB_CACHE")
    if root:
        return Path(root).expanduser() / "native"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "skelab" / "native"


def compiler() -> str | None:
    """The C compiler to build with: $CC, else the first of cc, gcc and clang on PATH."""
    cc = os.environ.get("CC")
    if cc:
        return cc
    for name in ("cc", "gcc", "clang"):
        found = shutil.which(name)
        if found:
            return found
    return None


def flags() -> list[str]:
    """Optimisation flags: AVX2 and FMA where torch found them on this CPU (the kernels use
    8-wide vectors, which the compiler splits into SSE halves otherwise)."""
    out = ["-O3", "-std=gnu11", "-fPIC", "-shared"]
    wide = torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512")
    if wide and platform.machine().lower() in ("x86_64", "amd64"):
        out += ["-mavx2", "-mfma"]
    return out


class NativeBuildError(RuntimeError):
    """A kernel could not be built or loaded (the message says why and how to proceed)."""


def target(name: str, cc: str) -> Path:
    """Where kernels/<name>.c built by `cc` with `flags()` goes: its name carries a digest of
    the source, the shared headers, the compiler, the flags and the machine."""
    text = (SOURCES / f"{name}.c").read_bytes()
    text += b"".join(h.read_bytes() for h in sorted(SOURCES.glob("*.h")))
    digest = hashlib.sha256(text + " ".join([cc, *flags(), platform.machine()]).encode())
    return cache_dir() / f"{name}-{digest.hexdigest()[:16]}.so"


def kernel_names() -> list[str]:
    """The kernels shipped with this skelab (kernels/*.c)."""
    return sorted(p.stem for p in SOURCES.glob("*.c"))


def status() -> dict[str, object]:
    """For `skelab doctor`: whether kernels may run, the compiler, the cache folder and which
    kernels are already built for this compiler and these sources (nothing is built here)."""
    cc = compiler()
    built = [n for n in kernel_names() if cc is not None and target(n, cc).exists()]
    return {
        "enabled": enabled(),
        "compiler": cc,
        "flags": " ".join(flags()),
        "cache": str(cache_dir()),
        "kernels": kernel_names(),
        "built": built,
    }


def build(name: str) -> Path:
    """Compile kernels/<name>.c into the cache folder (if not built already); the .so's path."""
    source = SOURCES / f"{name}.c"
    cc = compiler()
    if cc is None:
        raise NativeBuildError(
            "no C compiler found (looked for $CC, cc, gcc and clang); install one (for "
            "example `apt install gcc`) or set SKELAB_NATIVE=0 to silence this"
        )
    opts = flags()
    target_path = target(name, cc)
    folder = target_path.parent
    if target_path.exists():
        return target_path
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}-", suffix=".so", dir=folder)
        os.close(fd)
    except OSError as err:
        raise NativeBuildError(
            f"cannot write to {folder} ({err}); set SKELAB_CACHE to a writable folder"
        ) from err
    cmd = [cc, *opts, "-o", tmp, str(source), "-lm"]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            tail = (run.stderr or run.stdout).strip()[-600:]
            raise NativeBuildError(f"`{' '.join(cmd)}` failed (exit {run.returncode}): {tail}")
        os.replace(tmp, target_path)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise NativeBuildError(f"`{' '.join(cmd)}` did not run: {err}") from err
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target_path


def library(name: str, signatures: dict[str, list]) -> ctypes.CDLL | None:
    """The loaded kernel file kernels/<name>.c (built on first use), its exported functions
    typed by `signatures` ({function: [argument ctypes]}, each returning int: 0 = done), or
    None where kernels are switched off or cannot be built here (warned once per process)."""
    with _LOCK:
        if name in _LIBRARIES:
            return _LIBRARIES[name]
        lib = None
        if enabled():
            try:
                lib = ctypes.CDLL(str(build(name)))
                for fn, argtypes in signatures.items():
                    getattr(lib, fn).argtypes = argtypes
                    getattr(lib, fn).restype = ctypes.c_int
            except (NativeBuildError, OSError, AttributeError) as err:
                warnings.warn(
                    f"skelab's compiled {name} kernel is not available, so the slower "
                    f"torch-operation form runs instead: {err}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                lib = None
        _LIBRARIES[name] = lib
        return lib


def pointer(t: Tensor | None) -> int | None:
    """A tensor's data address for a kernel argument (None: a NULL pointer)."""
    return None if t is None else t.data_ptr()


def split(count: int, least: int = 8) -> list[tuple[int, int]]:
    """`count` items in ranges, one per intra-op thread torch is set to use (at least `least`
    items each). The kernels are single-threaded and ctypes releases the GIL, so `run` runs
    one range per Python thread in parallel."""
    parts = max(1, min(torch.get_num_threads(), count // least))
    cuts = [count * i // parts for i in range(parts + 1)]
    return list(zip(cuts[:-1], cuts[1:], strict=True))


def run(jobs: list) -> None:
    """Run each job, a kernel call returning its int status: `(function, arguments)` or a
    callable. Several jobs run in parallel; a nonzero status means the kernel refused its
    sizes, which callers check first."""

    def call(job):
        return job[0](*job[1]) if isinstance(job, tuple) else job()

    if len(jobs) == 1:
        results = [call(jobs[0])]
    else:
        with ThreadPoolExecutor(len(jobs)) as pool:
            results = list(pool.map(call, jobs))
    if any(results):
        raise NativeBuildError("a compiled kernel refused its arguments (sizes out of range)")


__all__ = [
    "FLOAT",
    "LONG",
    "POINTER",
    "NativeBuildError",
    "build",
    "cache_dir",
    "compiler",
    "enabled",
    "flags",
    "kernel_names",
    "library",
    "pointer",
    "run",
    "split",
    "status",
    "target",
]
