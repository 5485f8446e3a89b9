"""skelab.data: NTU skeleton files, prepared datasets, batch transforms and the batch loader.

    import skelab.data as sd
    ds = sd.load("NTU60_CS.npz", split="train")      # or a folder from `skelab data prepare`
    t = sd.BatchTransform(style="ctrgcn", window=64, modality="joint", train=True)
    for batch in sd.BatchLoader(ds, batch_size=64, train=True, transform=t, device="cuda"):
        batch.x, batch.y, batch.index, batch.index_t

Importing this package is cheap: it loads numpy-only modules on first use and torch only when a
transform or loader is asked for. The synthetic data generator lives in `skelab.synth`.
"""

from __future__ import annotations

from skelab._lazy import lazy_exports

_LAZY = {
    "load": "skelab.data.reader",
    "load_npz": "skelab.data.reader",
    "SkeletonDataset": "skelab.data.dataset",
    "prepare": "skelab.data.prepared",
    "open_prepared": "skelab.data.prepared",
    "verify_prepared": "skelab.data.prepared",
    "inspect_npz": "skelab.data.formats",
    "save_kaggle_npz": "skelab.data.npzwrite",
    "convert_npz": "skelab.data.npzwrite",
    "summarize": "skelab.data.summary",
    "BatchTransform": "skelab.data.transforms",
    "TransformOutput": "skelab.data.transforms",
    "BatchLoader": "skelab.data.loader",
    "Batch": "skelab.data.loader",
    "Subset": "skelab.data.subset",
    "read_skeleton": "skelab.data.raw",
    "RawSkeleton": "skelab.data.raw",
    "prepare_raw": "skelab.data.raw_prepare",
    "import_nwucla": "skelab.data.importers",
    "import_kinetics": "skelab.data.importers",
    "import_arrays": "skelab.data.importers",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _LAZY)
