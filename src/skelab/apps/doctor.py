"""`skelab doctor`: what this machine offers skelab (versions, devices, memory, extras)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import sys
from typing import Any

import torch
import yaml

from skelab.models.layers import native

# Optional packages: the pip extra that installs each, and the skelab features it enables, each
# with the module that provides it. A feature is advertised only when its module imports,
# so the report never points at code this skelab does not have.
OPTIONAL: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "tensorboard": (
        "tensorboard",
        (("skelab.engine.metrics", "TensorBoard event files in each run folder"),),
    ),
    "matplotlib": (
        "viz",
        (
            ("skelab.viz", "skeleton animations and run plots (`skelab viz`)"),
            ("skelab.apps.early", "early-action curves (`skelab eval --observe`)"),
        ),
    ),
    "sentence_transformers": (
        "zeroshot",
        (("skelab.zeroshot", "MiniLM class-text embeddings for zero-shot recognition"),),
    ),
    "onnxruntime": (
        "export",
        (("skelab.apps.export", "ONNX export and its equivalence check (`skelab export`)"),),
    ),
    "gph": (  # giotto-ph
        "blockgcn",
        (("skelab.models.blockgcn", "BlockGCN's persistent-homology branch (giotto-ph ripser)"),),
    ),
}


def _module_imports(name: str) -> bool:
    """Whether skelab module `name` exists and imports (its optional package may be missing)."""
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def optional_features() -> dict[str, tuple[str, str]]:
    """{package: (pip extra, what it enables)} for the extras whose skelab modules exist."""
    out = {}
    for package, (extra, features) in OPTIONAL.items():
        present = [text for module, text in features if _module_imports(module)]
        if present:
            out[package] = (extra, "; ".join(present))
    return out


def _version(package: str) -> str | None:
    if importlib.util.find_spec(package) is None:
        return None
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "installed"


def environment_report() -> dict[str, Any]:
    """A JSON-friendly description of Python, torch, CUDA/cuDNN, devices, CPU and extras."""
    from skelab import __version__

    cuda = torch.cuda.is_available()
    devices = []
    if cuda:
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            major, minor = props.major, props.minor
            devices.append(
                {
                    "index": i,
                    "name": props.name,
                    "memory_gb": round(props.total_memory / 2**30, 1),
                    "compute_capability": f"{major}.{minor}",
                    "bf16": bool(torch.cuda.is_bf16_supported()) if i == 0 else major >= 8,
                    "fp16": major >= 6 or (major == 5 and minor >= 3),
                }
            )
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return {
        "skelab": __version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "torch": torch.__version__,
        "cuda_available": cuda,
        "cuda_version": torch.version.cuda,
        "cudnn_version": cudnn,
        "devices": devices,
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "extras": {name: _version(name) for name in optional_features()},
        "cpu_kernels": native.status(),
        "numpy": _version("numpy"),
        "yaml": getattr(yaml, "__version__", None),
        "tqdm": _version("tqdm"),
    }


def report_text(report: dict[str, Any]) -> str:
    """The report as aligned text lines, with a hint where something is missing."""
    lines = [
        f"skelab        {report['skelab']}",
        f"python        {report['python']} ({report['platform']})",
        f"torch         {report['torch']}",
        f"numpy         {report['numpy']}   pyyaml {report['yaml']}   tqdm {report['tqdm']}",
        f"CUDA          {report['cuda_version'] or 'none (CPU-only torch build)'}"
        f"{'' if report['cuda_available'] else '  [not available]'}",
        f"cuDNN         {report['cudnn_version'] or 'none'}",
        f"CPU cores     {report['cpu_cores']} ({report['cpu_cores_usable']} usable, torch uses "
        f"{report['torch_threads']} threads)",
    ]
    if report["devices"]:
        for d in report["devices"]:
            lines.append(
                f"GPU {d['index']}         {d['name']}, {d['memory_gb']} GB, compute "
                f"{d['compute_capability']}, bf16 {'yes' if d['bf16'] else 'no'}, fp16 "
                f"{'yes' if d['fp16'] else 'no'}"
            )
    else:
        lines.append("GPU           none: training runs on the CPU (train.precision is ignored)")
    kernels = report["cpu_kernels"]
    if not kernels["enabled"]:
        state = "switched off (SKELAB_NATIVE=0): the slower torch-operation forms run"
    elif kernels["compiler"] is None:
        state = "no C compiler found: install gcc (or set CC) for the faster CPU kernels"
    else:
        built = ", ".join(kernels["built"]) or "none yet"
        state = (
            f"{kernels['compiler']}, built on first use into {kernels['cache']} (built: {built})"
        )
    lines.append(f"CPU kernels   {state}")
    features = optional_features()
    for name, version in report["extras"].items():
        extra, enables = features.get(name, ("", ""))
        state = version or f"missing (pip install 'skelab[{extra}]')"
        lines.append(f"{name:<21} {state}  - {enables}")
    return "\n".join(lines)
