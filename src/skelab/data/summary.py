"""`summarize(path)`: what `skelab data inspect` prints, for an NPZ or a prepared folder.

For an NPZ the arrays are streamed once (valid lengths, persons, NaN/inf, all-zero samples);
value problems are reported, not raised, so a bad file can still be looked at. Structural
problems (missing keys, wrong shapes, labels that are not one-hot) raise `DataFormatError`.
A prepared folder is summarised from its (N,) arrays alone; its values were checked when it
was prepared.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skelab.data import formats
from skelab.data.scan import scan_split

PERCENTILES = (0, 5, 25, 50, 75, 95, 100)


def _split_summary(
    labels: np.ndarray, lengths: np.ndarray, persons: np.ndarray, num_classes: int
) -> dict:
    n = len(labels)
    hist = np.bincount(labels, minlength=num_classes).tolist() if n else [0] * num_classes
    valid = lengths[lengths > 0]
    pct = np.percentile(valid, PERCENTILES).round(1).tolist() if valid.size else []
    return {
        "num_samples": n,
        "label_histogram": hist,
        "classes_present": int(np.count_nonzero(hist)),
        "valid_length_percentiles": dict(zip([f"p{p}" for p in PERCENTILES], pct, strict=False)),
        "single_person_share": float(np.mean(persons <= 1)) if n else 0.0,
    }


def summarize(path: str | Path, progress: formats.Progress | None = None) -> dict:
    """A JSON-able description of an NPZ or prepared folder; `ok` is False on value problems."""
    path = Path(path)
    if path.is_dir():
        return _summarize_prepared(path)
    info = formats.inspect_npz(path)
    out: dict = {
        "path": str(path),
        "kind": "npz",
        "layout": info.layout,
        "keys": {
            k: {"shape": list(m.shape), "dtype": str(m.dtype), "compressed": m.compressed}
            for k, m in info.members.items()
        },
        "splits": {},
        "ok": True,
    }
    labels = {s: formats.read_labels(src) for s, src in info.splits.items()}
    k = formats.infer_num_classes(list(labels.values()), info.num_classes)
    out["num_classes"] = k
    for split, src in info.splits.items():
        stats = scan_split(src, check=False, progress=progress)
        s = _split_summary(labels[split], stats.lengths, stats.persons, k)
        s["num_frames"] = src.num_frames
        s["nonfinite_samples"] = np.flatnonzero(stats.nonfinite)[:10].tolist()
        s["nonfinite_count"] = int(stats.nonfinite.sum())
        s["empty_samples"] = np.flatnonzero(stats.empty)[:10].tolist()
        s["empty_count"] = int(stats.empty.sum())
        out["ok"] &= s["nonfinite_count"] == 0 and s["empty_count"] == 0
        out["splits"][split] = s
    return out


def _summarize_prepared(path: Path) -> dict:
    from skelab.data.prepared import open_prepared, read_meta

    meta = read_meta(path)
    out: dict = {
        "path": str(path),
        "kind": "prepared",
        "layout": meta["layout"],
        "source": meta["source"],
        "num_classes": meta["num_classes"],
        "class_names": list(meta.get("class_names") or []),
        "skeleton": (meta.get("skeleton") or {}).get("name", "ntu25"),
        "channels": meta.get("channels", "xyz"),
        "normalise": meta.get("normalise", "none"),
        "keys": {},
        "splits": {},
        "ok": True,
    }
    for split in meta["splits"]:
        ds = open_prepared(path, split)
        out["keys"][f"{split}_x"] = {"shape": list(ds.storage.shape), "dtype": "float32"}
        s = _split_summary(ds.y, ds.lengths, ds.persons, ds.num_classes)
        s["num_frames"] = ds.num_frames
        s["nonfinite_count"] = 0  # prepare refuses NaN/inf
        s["empty_count"] = int((ds.lengths == 0).sum())
        out["splits"][split] = s
    return out


def format_summary(s: dict) -> str:
    """Human-readable text of `summarize`'s result."""
    lines = [f"{s['path']}: {s['kind']}, layout {s['layout']}, {s['num_classes']} classes"]
    if "skeleton" in s:  # a prepared folder: its joints, coordinates and class names
        coords = (
            f"2-D keypoints (x, y, score), normalise {s['normalise']}"
            if s["channels"] == "xy-score"
            else "3-D joints (x, y, z)"
        )
        lines.append(f"  joints: {s['skeleton']}; {coords}")
        names = s["class_names"]
        if names:
            lines.append("  classes: " + ", ".join(names[:8]) + (", ..." if len(names) > 8 else ""))
    for key, m in s["keys"].items():
        extra = " (compressed)" if m.get("compressed") else ""
        lines.append(f"  {key:<12} {str(tuple(m['shape'])):<24} {m['dtype']}{extra}")
    for split, d in s["splits"].items():
        pct = ", ".join(f"{k} {v:g}" for k, v in d["valid_length_percentiles"].items())
        hist = d["label_histogram"]
        lines += [
            f"{split}: {d['num_samples']:,} samples x {d['num_frames']} frames, "
            f"{d['classes_present']}/{len(hist)} classes present "
            f"(per class min {min(hist)}, max {max(hist)})",
            f"  valid frames: {pct}",
            f"  single-person samples: {100 * d['single_person_share']:.1f} %",
            f"  NaN/inf samples: {d['nonfinite_count']}"
            + (f" (first {d['nonfinite_samples']})" if d["nonfinite_count"] else ""),
            f"  all-zero samples: {d['empty_count']}"
            + (f" (first {d.get('empty_samples')})" if d["empty_count"] else ""),
        ]
    lines.append("ok" if s["ok"] else "PROBLEMS FOUND: see NaN/inf and all-zero counts above")
    return "\n".join(lines)
