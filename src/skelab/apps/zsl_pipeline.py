"""The staged zero-shot pipeline behind `skelab zeroshot run`: features, text, VAE, gate, GZSL.

Upstream runs four scripts chained by shell (MSF-GZSSAR run60.sh, FS-VAE fsvae_60.sh): train the
VAE on the test split, train it on the validation split, fit the gate, evaluate GZSL; between
them, numbers pass by slicing printed text. Here each stage writes its outputs atomically in the
work dir with the digest of its inputs, and is skipped when they are present and match:

    <work>/features/             `skelab.apps.zsl_features.make_features` (unless --features
                                 DIR is given)
    <work>/text/<enc>-<mode>-<N>.npy   the normalised text table (+ .json: what made it)
    <work>/<method>-<mode>-seed<S>/
      test/ and val/             per cycle: cycle_<k>.npz (scores, ZSL accuracy), cycle_<k>.pt
                                 (skelab checkpoint), state.pt (resume after a finished cycle)
      result.json                gates, chosen cycles, figures

Model selection, the point where skelab departs from upstream (PITFALLS 8, issue 10 point 5).
Upstream reports the best of its cycles by ZSL accuracy on the unseen TEST samples and takes the
GZSL scores of that cycle, with the gate fixed at T = 2, threshold 0.5. skelab's figure chooses
on the validation split only: the cycle is the one whose validation-unseen ZSL accuracy is best
in the VAE trained on the validation split, and the gate's temperature and threshold are searched
on the validation hold-out (upstream's grids). The upstream-compatible figure is computed too and
labelled as such. Both use the same gate fit (upstream's validation-phase scores).

It sits in the engine for its first stage (training backbones); the rest uses skelab.zeroshot.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from skelab.apps.zsl_features import make_features
from skelab.errors import ConfigError
from skelab.zeroshot.features import FeatureFolder, read_folder, save_npy
from skelab.zeroshot.splits import ZeroShotSplit, get_split

log = logging.getLogger(__name__)

FIGURES = ("zsl", "seen", "unseen", "h")


@dataclass(frozen=True)
class RunOptions:
    """What `skelab zeroshot run` was asked for (everything a result depends on)."""

    method: str = "fsvae"
    split: str = "ntu60-55/5"
    text_mode: str = "lb_ad_md"
    text_encoder: str = "minilm"
    text_dir: str | None = None
    clip_weights: str | None = None
    cycles: int | None = None  # None: the method's upstream default (10)
    steps_per_cycle: int | None = None  # None: 1700 (NTU60) / 1900 (NTU120)
    seed: int = 5  # upstream's seed
    seeds: int = 1
    device: str = "cpu"
    method_options: tuple[tuple[str, Any], ...] = ()  # MethodConfig overrides, e.g. latent

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ConfigError("--seeds", f"must be >= 1, got {self.seeds}", fix="use 1 or 3")


# --------------------------------------------------------------------------------------------
# helpers: digests and atomic files


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _array_sha(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _folder_sha(folder: FeatureFolder) -> str:
    return _array_sha(*(folder.arrays[k] for k in sorted(folder.arrays)))


def _write_json(path: Path, obj: Any) -> None:
    from skelab.files import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError:
        return None


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    import io

    from skelab.files import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# --------------------------------------------------------------------------------------------
# stages 1 and 2: features and text


def stage_features(
    split: ZeroShotSplit,
    work_dir: Path,
    *,
    features: str | Path | None,
    backbone_cfg: Any | None,
    progress: bool,
) -> tuple[FeatureFolder, FeatureFolder]:
    """Read `--features DIR` as it is, or train the backbones into `<work>/features`."""
    if features is None:
        if backbone_cfg is None:
            raise ConfigError(
                "--config",
                "no skeleton features: pass a backbone config to train, or existing features",
                fix="--config ntu60-xsub/stgcn-lite-joint --set data.path=NTU60_CS.npz, or "
                "--features DIR (a folder with shift_<ss>_r/ and shift_val_<ss>_r/)",
            )
        make_features(backbone_cfg, split, work_dir / "features", progress=progress)
        features = work_dir / "features"
    root = Path(features)
    return (
        read_folder(root / split.test_dir, val=False, split=split),
        read_folder(root / split.val_dir, val=True, split=split),
    )


def stage_text(opts: RunOptions, num_classes: int, work_dir: Path) -> np.ndarray:
    """The normalised (N, T) text table; encoded once per encoder, mode and class count."""
    from skelab.zeroshot.text_encoders import build_text_table
    from skelab.zeroshot.texts import class_texts, parse_text_mode

    parts = parse_text_mode(opts.text_mode)
    if opts.text_encoder == "npy":  # reading the files is as cheap as a cache
        return build_text_table(opts.text_mode, num_classes, encoder="npy", text_dir=opts.text_dir)
    what = {
        "encoder": opts.text_encoder,
        "mode": opts.text_mode,
        "weights": str(opts.clip_weights or ""),
        "texts": [class_texts(k, num_classes) for k in parts],
    }
    path = work_dir / "text" / f"{opts.text_encoder}-{opts.text_mode}-{num_classes}.npy"
    meta_path = path.with_suffix(".json")
    meta = _read_json(meta_path)
    if path.is_file() and meta is not None and meta.get("digest") == _sha(what):
        return np.load(path, allow_pickle=False)
    table = build_text_table(
        opts.text_mode, num_classes, encoder=opts.text_encoder, weights=opts.clip_weights
    )
    save_npy(path, table)
    _write_json(meta_path, {"digest": _sha(what), "encoder": opts.text_encoder,
                            "mode": opts.text_mode, "shape": list(table.shape)})  # fmt: skip
    return table


# --------------------------------------------------------------------------------------------
# stage 3: the VAE, cycle by cycle, on the test or the validation folder


def stage_vae(
    folder: FeatureFolder,
    *,
    val: bool,
    unseen: tuple[int, ...],
    text: np.ndarray,
    mcfg: Any,
    seed: int,
    device: str,
    out: Path,
    digest: str,
    bar: Any,
) -> list[dict[str, np.ndarray]]:
    """Train `mcfg.cycles` cycles; after each, score the folder's sets and save them.

    Returns one record per cycle: `zsl` (accuracy on the folder's ztest) and the zero-shot
    scores the later stages need (test: `gtest`; validation: `ztest` and `val`)."""
    import torch

    from skelab.files import atomic_save, load_torch
    from skelab.zeroshot import methods

    meta = _read_json(out / "stage.json")
    if meta is None or meta.get("digest") != digest:
        if out.exists():
            log.info("%s: inputs changed; training this stage again", out)
            for old in (*out.glob("cycle_*"), out / "state.pt"):
                old.unlink(missing_ok=True)
        out.mkdir(parents=True, exist_ok=True)
        _write_json(out / "stage.json", {"digest": digest, "config": mcfg.to_dict(),
                                         "seed": seed, "unseen": list(unseen)})  # fmt: skip
    done = [out / f"cycle_{k}.npz" for k in range(1, mcfg.cycles + 1)]
    ready = 0
    while ready < mcfg.cycles and done[ready].is_file():
        ready += 1
    if ready < mcfg.cycles:

        def fresh() -> methods.ZSLTrainer:
            return methods.ZSLTrainer(
                mcfg, feats=folder["train"], labels=folder["train_label"], text=text,
                unseen=list(unseen), seed=seed, device=device,
            )  # fmt: skip

        trainer = fresh()
        if ready and (out / "state.pt").is_file():
            trainer.load_state_dict(load_torch(out / "state.pt"))
            if trainer.cycles_done > ready:  # files removed by hand: the state cannot rewind
                log.info("%s: cycle files missing after the saved state; starting over", out)
                trainer = fresh()
            ready = trainer.cycles_done  # each cycle's files are written before its state
        else:
            ready = 0
        bar.update(ready * mcfg.steps_per_cycle)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny matmuls: one thread is stable, more contend (PITFALLS 17)
        try:
            for k in range(ready, mcfg.cycles):
                model = trainer.train_cycle(bar.update)
                rec = {"zsl": np.float64(methods.zsl_accuracy(model, folder["ztest"],
                                                              folder["z_label"]))}  # fmt: skip
                for name in ("ztest", "val") if val else ("gtest",):
                    rec[name] = methods.zsl_scores(model, folder[name])
                methods.save(model, out / f"cycle_{k + 1}.pt")
                _write_npz(done[k], **rec)
                atomic_save(trainer.state_dict(), out / "state.pt")
        finally:
            torch.set_num_threads(threads)
    else:
        bar.update(mcfg.cycles * mcfg.steps_per_cycle)
    return [_read_npz(p) for p in done]


# --------------------------------------------------------------------------------------------
# stages 4 and 5: gate and GZSL, both selection rules


@dataclass
class SeedResult:
    """One seed's figures (fractions) under both selection rules."""

    seed: int
    zsl: float
    seen: float
    unseen: float
    h: float
    cycle: int  # 1-based, chosen on the validation split
    upstream: dict[str, float]  # zsl, seen, unseen, h, and cycle (chosen on the test set)
    cycles: list[float]  # test ZSL of every cycle
    val_cycles: list[float]  # validation-unseen ZSL of every cycle (validation VAE)
    gate: dict[str, Any] = field(default_factory=dict)
    upstream_gate: dict[str, Any] = field(default_factory=dict)


def select_and_evaluate(
    test_recs: list[dict[str, np.ndarray]],
    val_recs: list[dict[str, np.ndarray]],
    test: FeatureFolder,
    val: FeatureFolder,
    split: ZeroShotSplit,
    seed: int,
) -> SeedResult:
    from skelab.zeroshot import gate as g

    test_acc = [float(r["zsl"]) for r in test_recs]
    val_acc = [float(r["zsl"]) for r in val_recs]
    c_val = int(np.argmax(val_acc))  # first best on ties
    c_test = int(np.argmax(test_acc))
    v = val_recs[c_val]
    inputs = dict(unseen_zs=v["ztest"], unseen_logits=val["ztest_out"], seen_zs=v["val"],
                  seen_logits=val["val_out"], seed=seed)  # fmt: skip
    honest_gate = g.fit_gate(
        **inputs, temperatures=g.SEARCH_TEMPERATURES, thresholds=g.SEARCH_THRESHOLDS
    )
    upstream_gate = g.fit_gate(**inputs)

    def gzsl(gate: Any, c: int) -> Any:
        return g.gzsl_evaluate(
            gate, zs_scores=test_recs[c]["gtest"], logits=test["gtest_out"],
            labels=test["g_label"], seen=split.seen, unseen=split.unseen,
        )  # fmt: skip

    ours, theirs = gzsl(honest_gate, c_val), gzsl(upstream_gate, c_test)
    return SeedResult(
        seed=seed, zsl=test_acc[c_val], seen=ours.seen, unseen=ours.unseen, h=ours.h,
        cycle=c_val + 1,
        upstream={"zsl": test_acc[c_test], "seen": theirs.seen, "unseen": theirs.unseen,
                  "h": theirs.h, "cycle": c_test + 1},
        cycles=test_acc, val_cycles=val_acc,
        gate=honest_gate.to_dict(), upstream_gate=upstream_gate.to_dict(),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# the whole run


@dataclass
class RunResult:
    """What `skelab zeroshot run` reports; `to_dict` is its `--json` object."""

    options: RunOptions
    runs: list[SeedResult]
    features: str
    steps_per_cycle: int

    def _stat(self, get: Any) -> tuple[float, float]:
        xs = np.array([get(r) for r in self.runs], dtype=np.float64)
        return float(xs.mean()), float(xs.std(ddof=1)) if len(xs) > 1 else 0.0

    def to_dict(self) -> dict[str, Any]:
        ours = {k: self._stat(lambda r, k=k: getattr(r, k)) for k in FIGURES}
        theirs = {k: self._stat(lambda r, k=k: r.upstream[k]) for k in FIGURES}
        out: dict[str, Any] = {k: ours[k][0] for k in FIGURES}
        out["upstream"] = {k: theirs[k][0] for k in FIGURES}
        out["cycles"] = np.mean([r.cycles for r in self.runs], axis=0).tolist()
        out["selection"] = {
            "skelab": "cycle with the best validation-unseen ZSL (VAE trained on the "
            "validation split); gate temperature and threshold searched on the validation "
            "hold-out",
            "upstream": "cycle with the best test ZSL; gate temperature 2, threshold 0.5",
        }
        if len(self.runs) > 1:
            out["spread"] = {k: ours[k][1] for k in FIGURES}
            out["upstream"]["spread"] = {k: theirs[k][1] for k in FIGURES}
        out["runs"] = [asdict(r) for r in self.runs]
        out["options"] = asdict(self.options)
        out["features"] = self.features
        out["steps_per_cycle"] = self.steps_per_cycle
        return out

    def to_text(self) -> str:
        o, d = self.options, self.to_dict()
        n = len(self.runs)

        def cell(mean: float, spread: float | None) -> str:
            return f"{100 * mean:5.1f}" + (f" ± {100 * spread:3.1f}" if spread is not None else "")

        sp = d.get("spread")
        usp = d["upstream"].get("spread")
        w = 12 if n > 1 else 6
        lines = [
            f"{o.method} · {o.split} · text {o.text_mode} ({o.text_encoder}) · "
            f"{len(d['cycles'])} cycles x {self.steps_per_cycle} steps · "
            f"{n} seed{'s' if n > 1 else ''} from {o.seed}" + (" (mean ± std)" if n > 1 else ""),
            f"{'':34}{'ZSL':>{w}} {'S':>{w}} {'U':>{w}} {'H':>{w}}   (top-1 %)",
        ]
        for label, vals, spread in (
            ("skelab (chosen on validation)", d, sp),
            ("upstream rule (chosen on test)", d["upstream"], usp),
        ):
            cells = " ".join(
                f"{cell(vals[k], spread[k] if spread else None):>{w}}" for k in FIGURES
            )
            lines.append(f"{label:34}{cells}")
        lines += [
            "how the cycle was chosen: skelab takes the cycle whose validation-unseen ZSL is "
            "best in the VAE trained on the validation split ("
            + ", ".join(f"seed {r.seed}: cycle {r.cycle}" for r in self.runs)
            + "); gate temperature and threshold searched on the validation hold-out ("
            + ", ".join(
                f"seed {r.seed}: T={r.gate['temperature']:g}, {r.gate['threshold']:g}"
                for r in self.runs
            )
            + ").",
            "upstream rule: the cycle with the best test ZSL ("
            + ", ".join(f"seed {r.seed}: cycle {r.upstream['cycle']}" for r in self.runs)
            + "); gate T=2, threshold 0.5. It looks at test labels: optimistic, for "
            "comparison with published tables only.",
            "test ZSL per cycle: " + " ".join(f"{100 * a:.1f}" for a in d["cycles"]),
            f"features: {self.features}",
        ]
        return "\n".join(lines)


def run_pipeline(
    opts: RunOptions,
    *,
    work_dir: str | Path,
    features: str | Path | None = None,
    backbone_cfg: Any | None = None,
    progress: bool = True,
) -> RunResult:
    """Every stage, for `opts.seeds` seeds (the features and text are shared by all seeds)."""

    from skelab.progress import progress_bar
    from skelab.zeroshot.methods import MethodConfig

    split = get_split(opts.split)
    work_dir = Path(work_dir)
    test, val = stage_features(
        split, work_dir, features=features, backbone_cfg=backbone_cfg, progress=progress
    )
    text = stage_text(opts, split.num_classes, work_dir)
    over = dict(opts.method_options)
    if opts.cycles is not None:
        over["cycles"] = opts.cycles
    if opts.steps_per_cycle is not None:
        over["steps_per_cycle"] = opts.steps_per_cycle
    mcfg = MethodConfig.for_method(opts.method, num_classes=split.num_classes, **over)
    sha = {"test": _folder_sha(test), "val": _folder_sha(val), "text": _array_sha(text)}
    total = 2 * opts.seeds * mcfg.cycles * mcfg.steps_per_cycle
    runs = []
    with progress_bar(total=total, desc=f"{opts.method} VAE", unit="step", enabled=progress,
                      smoothing=0.05) as bar:  # fmt: skip
        for seed in range(opts.seed, opts.seed + opts.seeds):
            run_dir = work_dir / f"{opts.method}-{opts.text_mode}-seed{seed}"
            recs = {}
            for name, folder, unseen in (("val", val, split.val_unseen),
                                         ("test", test, split.unseen)):  # fmt: skip
                digest = _sha({"cfg": mcfg.to_dict(), "seed": seed, "features": sha[name],
                               "text": sha["text"], "unseen": list(unseen),
                               "device": opts.device})  # fmt: skip
                bar.set_postfix_str(f"seed {seed}, {name} split")
                recs[name] = stage_vae(
                    folder, val=name == "val", unseen=unseen, text=text, mcfg=mcfg, seed=seed,
                    device=opts.device, out=run_dir / name, digest=digest, bar=bar,
                )  # fmt: skip
            result = select_and_evaluate(recs["test"], recs["val"], test, val, split, seed)
            _write_json(run_dir / "result.json", asdict(result))
            runs.append(result)
    for r in runs:
        if not all(math.isfinite(x) for x in (r.zsl, r.seen, r.unseen, r.h)):
            log.warning("seed %d gave a non-finite figure", r.seed)
    return RunResult(opts, runs, str(test.path.parent), mcfg.steps_per_cycle)
