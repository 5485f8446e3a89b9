"""Export trained weights to ONNX or TorchScript, and prove the file computes the same logits.

ONNX goes through `torch.onnx.export(dynamo=True)` (the torch.export-based exporter, which
needs the `onnxscript` package; the older TorchScript-based one cannot give the MLP's adaptive
pooling a free batch axis); TorchScript through `torch.jit.trace` (deprecated by PyTorch in
favour of torch.export, and kept for C++ libtorch deployments that still load it). Both are
traced on a batch of 2 with the batch axis left free (ONNX: a dynamic `batch` dimension;
TorchScript: shapes read at run time), and then checked on a batch of 3 against eager PyTorch:
ONNX under ONNX Runtime on the CPU, TorchScript through `torch.jit.load`. The check passes when
max |logits difference| <= 1e-4 * max(1, max |logits|): 1e-4 absolute for logits of a trained
model, and the same relative accuracy for an untrained one, whose BatchNorm statistics can
blow logits up to 1e4 and more.

Frames, joints and persons are fixed at export: a model is traced for `data.window` frames of
its joint layout, as it was trained. Inputs are named `x` (N, C, T, V, M) and, for models whose
card says `needs_index_t`, `index_t` (N, T) frame positions; the output is `logits` (N, classes).

Models that cannot be exported to a format are listed in `UNSUPPORTED` with the reason, and
`skelab export` says it before trying.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

from skelab.errors import ConfigError, SkelabError

if TYPE_CHECKING:
    from skelab.engine.config import Config

log = logging.getLogger(__name__)

FORMATS = ("onnx", "torchscript")
SUFFIX = {"onnx": ".onnx", "torchscript": ".ts.pt"}  # best.pt -> best.onnx, best.ts.pt
TOLERANCE = 1e-4
EXPORT_BATCH = 2  # traced with this batch ...
CHECK_BATCH = 3  # ... and checked with another, so a batch size baked into the graph shows

# model name -> format -> why it cannot be exported. With torch 2.13 and onnxruntime 1.32 every
# other registered model exports to both formats, which tests/engine/test_engine_export.py checks
# for each (model, format) pair not listed here. A model added later that cannot be exported
# goes here with the reason, and `skelab export` says it before trying.
_PERSISTENCE = (
    "its topology branch computes persistent homology with giotto-ph's ripser on NumPy arrays, "
    "which the exporter cannot trace (a traced graph would freeze one batch's persistence pairs)"
)
UNSUPPORTED: dict[str, dict[str, str]] = {
    "blockgcn": {"onnx": _PERSISTENCE, "torchscript": _PERSISTENCE},
}


@dataclass(frozen=True)
class ExportResult:
    """Where the export went and how closely it matches PyTorch."""

    path: Path
    format: str
    model: str
    inputs: dict[str, list[int | str]]  # input name -> shape, "N" for the free batch axis
    max_abs_diff: float
    max_abs_logit: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= self.tolerance * max(1.0, self.max_abs_logit)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path), "ok": self.ok}


def unsupported_reason(model_name: str, fmt: str) -> str | None:
    """Why `model_name` cannot be exported to `fmt`, or None when it can."""
    check_format(fmt)
    return UNSUPPORTED.get(model_name, {}).get(fmt)


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ConfigError("--format", f"unknown format {fmt!r}", fix="use onnx or torchscript")


def input_shape(model_name: str, options: dict[str, Any], window: int) -> tuple[int, ...]:
    """(C, T, V, M) of one sample as the model reads it, from its card and build options."""
    from skelab.models import get_card
    from skelab.skeletons import get_skeleton

    card = get_card(model_name)
    if options.get("num_joints"):
        joints = int(options["num_joints"])
    elif options.get("skeleton"):
        joints = get_skeleton(options["skeleton"]).num_joints
    else:
        joints = card.input_joints
    return (int(options.get("in_channels", 3)), window, joints, int(options.get("num_persons", 2)))


def example_inputs(
    shape: tuple[int, ...], *, batch: int, needs_index_t: bool, seed: int = 0
) -> tuple[Tensor, ...]:
    """Seeded random `x` of (batch, *shape) and, when needed, `index_t` in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((batch, *shape), generator=gen)
    if not needs_index_t:
        return (x,)
    window = shape[1]
    index_t = torch.linspace(-1.0, 1.0, window).expand(batch, window).contiguous()
    return (x, index_t)


@contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporters warn about tracer internals a user cannot act on, and the ONNX one prints
    its progress on stdout, where results go: keep errors only, and send prints to stderr."""
    names = ("torch.onnx", "torch.export", "onnxscript", "onnx_ir")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), redirect_stdout(sys.stderr):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _export_onnx(model: nn.Module, inputs: tuple[Tensor, ...], names: list[str], path: Path):
    try:
        import onnxscript  # noqa: F401  (the exporter needs it; fail here with the fix)
    except ImportError:
        raise SkelabError(
            "ONNX export needs the onnx and onnxscript packages",
            fix="pip install 'skelab[export]' (onnx, onnxscript, onnxruntime)",
        ) from None
    batch = torch.export.Dim("batch", min=1)
    torch.onnx.export(
        model,
        inputs,
        str(path),
        dynamo=True,
        verbose=False,
        input_names=names,
        output_names=["logits"],
        dynamic_shapes={name: {0: batch} for name in names},
        external_data=False,
    )


def _run_onnx(path: Path, inputs: dict[str, Tensor]) -> Tensor:
    try:
        import onnxruntime as ort
    except ImportError:
        raise SkelabError(
            "checking an ONNX export needs onnxruntime",
            fix="pip install 'skelab[export]', or pass --no-check",
        ) from None
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    out = session.run(["logits"], {k: v.numpy() for k, v in inputs.items()})[0]
    return torch.from_numpy(out)


def export_model(
    model: nn.Module,
    path: str | Path,
    *,
    fmt: str,
    model_name: str,
    shape: tuple[int, ...],
    needs_index_t: bool,
    check: bool = True,
) -> ExportResult:
    """Export `model` (put in eval mode) for inputs of one-sample `shape` (C, T, V, M) to
    `path`, then run the file on a new batch and compare with eager PyTorch."""
    check_format(fmt)
    reason = unsupported_reason(model_name, fmt)
    if reason:
        raise SkelabError(
            f"{model_name} cannot be exported to {fmt}: {reason}",
            fix="use the other format" if len(UNSUPPORTED[model_name]) < len(FORMATS) else None,
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    names = ["x", "index_t"] if needs_index_t else ["x"]
    traced_on = example_inputs(shape, batch=EXPORT_BATCH, needs_index_t=needs_index_t)
    if path.is_dir():
        raise ConfigError("--out", f"{path} is a folder; a file name is needed",
                          fix=f"--out {path / ('model' + SUFFIX[fmt])}")  # fmt: skip
    partial = path.with_name(f".{path.name}.partial")
    try:
        with torch.no_grad(), _quiet_exporter():
            if fmt == "onnx":
                _export_onnx(model, traced_on, names, partial)
            else:
                traced = torch.jit.trace(model, traced_on, check_trace=False)
                torch.jit.save(traced, str(partial))
        partial.replace(path)
    except SkelabError:
        raise
    except Exception as exc:  # the exporters raise many types; name the model and the cause
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SkelabError(
            f"exporting {model_name} to {fmt} failed: {first[:300]}",
            fix="try the other format; if it is a model skelab ships, please report it",
        ) from exc
    finally:
        partial.unlink(missing_ok=True)  # gone after the rename; left only by a failure
    inputs = {"x": ["N", *shape]} | ({"index_t": ["N", shape[1]]} if needs_index_t else {})
    if not check:
        return ExportResult(path, fmt, model_name, inputs, float("nan"), float("nan"), TOLERANCE)
    diff, scale = verify_export(path, model, fmt=fmt, shape=shape, needs_index_t=needs_index_t)
    result = ExportResult(path, fmt, model_name, inputs, diff, scale, TOLERANCE)
    if not result.ok:
        raise SkelabError(
            f"{path}: the exported {model_name} differs from PyTorch by up to {diff:.3g} "
            f"(logits up to {scale:.3g}; allowed {TOLERANCE:g} x max(1, that))",
            fix="do not use this file; please report the model and format",
        )
    return result


def verify_export(
    path: str | Path, model: nn.Module, *, fmt: str, shape: tuple[int, ...], needs_index_t: bool
) -> tuple[float, float]:
    """(max |exported - eager| logits, max |eager logits|) on a fresh batch of CHECK_BATCH."""
    inputs = example_inputs(shape, batch=CHECK_BATCH, needs_index_t=needs_index_t, seed=1)
    names = ["x", "index_t"] if needs_index_t else ["x"]
    model = model.eval()
    with torch.no_grad(), _quiet_exporter():
        ref = model(*inputs) if not needs_index_t else model(inputs[0], index_t=inputs[1])
        if fmt == "onnx":
            got = _run_onnx(Path(path), dict(zip(names, inputs, strict=True)))
        else:
            got = torch.jit.load(str(path), map_location="cpu")(*inputs)
    if got.shape != ref.shape:
        raise SkelabError(
            f"{path}: the exported model gives logits of shape {tuple(got.shape)} for a batch "
            f"of {CHECK_BATCH}, PyTorch gives {tuple(ref.shape)}",
            fix="please report the model and format",
        )
    return float((got.float() - ref.float()).abs().max()), float(ref.abs().max())


def export_weights(
    weights: str | Path,
    *,
    fmt: str,
    out: str | Path | None = None,
    check: bool = True,
    cfg: Config | None = None,
    overwrite: bool = False,
) -> ExportResult:
    """The library side of `skelab export`: rebuild the model of a checkpoint from `cfg` (by
    default the config stored in the checkpoint), load its weights strictly, export and check.
    `skelab.engine.rundir.resolve_trained` gives both from a run folder or a checkpoint. An
    existing output file is replaced only with `overwrite`."""
    from skelab.engine.build import build_model, load_weights
    from skelab.engine.rundir import resolve_trained
    from skelab.models import get_card

    check_format(fmt)
    weights = Path(weights)
    if cfg is None:
        cfg, weights = resolve_trained(weights)
    reason = unsupported_reason(cfg.model.name, fmt)
    if reason:
        raise SkelabError(f"{cfg.model.name} cannot be exported to {fmt}: {reason}")
    model = build_model(cfg)
    load_weights(model, weights)
    shape = input_shape(cfg.model.name, dict(cfg.model.options), cfg.data.window)
    target = Path(out) if out is not None else weights.with_name(weights.stem + SUFFIX[fmt])
    if target.resolve() == weights.resolve():
        raise ConfigError(
            "--out", f"{target} is the checkpoint itself", fix="choose another file name"
        )
    if target.exists() and not overwrite:
        raise ConfigError(
            "--out", f"{target} exists", fix="add --overwrite, or choose another --out"
        )
    needs = get_card(cfg.model.name).needs_index_t
    result = export_model(
        model, target, fmt=fmt, model_name=cfg.model.name, shape=shape, needs_index_t=needs,
        check=check,
    )  # fmt: skip
    log.info("exported %s (%s) to %s", weights, cfg.model.name, target)
    return result
