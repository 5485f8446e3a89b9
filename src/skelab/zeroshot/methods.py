"""MSF-GZSSAR and FS-VAE: configuration, training and zero-shot scoring (the public API).

Papers: Li et al., "Multi-Semantic Fusion Model for Generalized Zero-Shot Skeleton-based Action
Recognition", ICIG 2023; Wu et al., "Frequency-Semantic Enhanced Variational Autoencoder for
Zero-Shot Skeleton-based Action Recognition", ICCV 2025.
Upstream: github.com/EHZ9NIWI7/MSF-GZSSAR and github.com/wenhanwu95/FS-VAE, train.py.

Everything at this boundary is numpy: features (N, D) float32, labels (N,) int64 in the GLOBAL
class index space (0..C-1, never re-indexed), the class-text table (C, Dt) already normalised
(`skelab.zeroshot.texts`), unseen classes as global ids. The zero-shot classifier's output k is
`sorted(unseen)[k]`, as upstream.

Training follows upstream step for step: `cycles` cycles of `steps_per_cycle` optimizer steps,
each "epoch" being ONE mini-batch drawn from a fresh shuffle; the loss weights restart every cycle;
the VAE and its Adam state carry over; after each cycle a fresh zero-shot classifier is fitted on
latents of the unseen class texts. `ZSLTrainer.train_cycle` runs one cycle and returns a snapshot
of the model, so a caller can score, select and save every cycle.

How skelab differs from upstream:
* any feature width and text width (upstream hard-codes 256 skeleton dims);
* the FS-VAE DCT is one matrix product (and, for class texts, a per-band table computed once per
  step) instead of a torch-dct call and a Python loop over 30 bands; same numbers;
* no DataLoader per step: the batch is the first `batch_size` indices of a fresh permutation;
* input checks (widths, label range, NaN) raise `SkelabError`s instead of failing inside torch.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from skelab.errors import ConfigError, DataFormatError
from skelab.zeroshot.fsvae import fsvae_loss
from skelab.zeroshot.gate import Gate, GZSLResult, fit_gate, gate_features, gzsl_evaluate
from skelab.zeroshot.inputs import check_features, check_labels, check_text, check_unseen
from skelab.zeroshot.msf import LossWeights, loss_weights, msf_loss
from skelab.zeroshot.vae import CrossModalVAE, ZeroShotClassifier, reparameterize

METHODS = ("msf", "fsvae")

__all__ = [
    "METHODS",
    "MethodConfig",
    "ZSLModel",
    "ZSLTrainer",
    "train",
    "zsl_scores",
    "zsl_predict",
    "zsl_accuracy",
    "Gate",
    "GZSLResult",
    "fit_gate",
    "gate_features",
    "gzsl_evaluate",
    "save",
    "load",
    "load_upstream",
]

Progress = Callable[[int], None]
"""Called with the number of optimizer steps just done (e.g. `tqdm.update`)."""


@dataclass(frozen=True)
class MethodConfig:
    """Hyper-parameters of one method; defaults are upstream's NTU-60 settings (`for_method`)."""

    method: str = "msf"  # "msf" (MSF-GZSSAR) or "fsvae" (FS-VAE)
    cycles: int = 10  # upstream --num_cycles
    steps_per_cycle: int = 1700  # upstream --num_epoch_per_cycle: 1700 NTU-60, 1900 NTU-120
    batch_size: int = 64
    lr: float = 1e-4  # one Adam over se, sd, te, td
    latent: int = 100  # 100 NTU-60, 200 NTU-120
    # loss-weight schedule, by step s within a cycle (restarts every cycle); None = derived from
    # steps_per_cycle (`schedule`): upstream's numbers at 1700 and 1900 steps, else scaled
    kl_start: int | None = None  # skeleton KL weight k_fact = max(kl_slope * (s - kl_start), 0)
    kl_slope: float | None = None
    cross_start: int | None = None  # cr_fact = 1 once s > cross_start
    text_kl_from_cycle: int = 2  # then k_fact2 = max(kl_slope * (s - cross_start), 0)
    # FS-VAE only: calibrated loss weight lmd * alpha (* cr_fact) and the frequency enhancement
    alpha: float = 0.5  # 0.5 NTU-60, 0.1 NTU-120
    lmd: float = 100.0
    use_cr_fact: bool = True
    freq_bands: int = 30
    freq_split: int = 30  # a band whose END COEFFICIENT index is <= this is boosted, else damped
    freq_m: int = 1
    freq_k: float = 0.3  # initial enhancement strength (trained)
    # zero-shot classifier, fitted after every cycle
    cls_samples: int = 500  # latents drawn per unseen class
    cls_steps: int = 300  # full-batch Adam steps
    cls_lr: float = 1e-3

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            near = difflib.get_close_matches(self.method, METHODS, n=1)
            raise ConfigError(
                "zeroshot.method",
                f"unknown method {self.method!r}"
                + (f"; did you mean {near[0]!r}?" if near else ""),
                fix="use one of: " + ", ".join(METHODS),
            )
        for key in ("cycles", "steps_per_cycle", "batch_size", "latent", "cls_samples"):
            if getattr(self, key) < 1:
                raise ConfigError(
                    f"zeroshot.{key}",
                    f"must be >= 1, got {getattr(self, key)}",
                    fix=f"set {key} to a positive integer (upstream: {_UPSTREAM_HINT[key]})",
                )
        for key in ("lr", "cls_lr", "lmd"):
            if not getattr(self, key) > 0:
                raise ConfigError(
                    f"zeroshot.{key}",
                    f"must be > 0, got {getattr(self, key)}",
                    fix=f"use the upstream value {getattr(MethodConfig, key)}",
                )
        if (
            self.cls_steps < 0
            or min(v for v in (self.kl_start, self.kl_slope, 0) if v is not None) < 0
        ):
            raise ConfigError(
                "zeroshot.schedule",
                "cls_steps, kl_start and kl_slope must be >= 0",
                fix="leave them at their defaults unless you study the schedule",
            )
        if self.freq_bands < 1 or self.freq_m < 1:
            raise ConfigError(
                "zeroshot.freq_bands",
                "freq_bands and freq_m must be >= 1",
                fix="use freq_bands=30, freq_m=1 (FS-VAE)",
            )

    def schedule(self) -> dict[str, Any]:
        """The resolved schedule: kl_start, kl_slope, cross_start, text_kl_from_cycle.

        At 1700 steps per cycle these are upstream's 1000, 0.1/3000 and 1400; at 1900, 1000,
        0.1/3000 and 1500. Upstream keeps those absolute numbers for any other length, which
        switches cross-alignment off entirely in cycles of 1400 steps or fewer; skelab scales
        the 1700-step schedule to the cycle length instead (same shape, same final weights).
        """
        n = self.steps_per_cycle
        if n in (1700, 1900):
            start, slope, cross = 1000, 0.1 / 3000, 1400 if n == 1700 else 1500
        else:
            f = n / 1700
            start, slope, cross = round(1000 * f), 0.1 / 3000 / f, round(1400 * f)
        return {
            "kl_start": self.kl_start if self.kl_start is not None else start,
            "kl_slope": self.kl_slope if self.kl_slope is not None else slope,
            "cross_start": self.cross_start if self.cross_start is not None else cross,
            "text_kl_from_cycle": self.text_kl_from_cycle,
        }

    def weights(self, cycle: int, step: int) -> LossWeights:
        """k_fact, cr_fact and k_fact2 at `step` (0-based) of `cycle` (0-based)."""
        return loss_weights(cycle, step, **self.schedule())

    @classmethod
    def for_method(cls, method: str, *, num_classes: int = 60, **overrides: Any) -> MethodConfig:
        """Upstream defaults of `method` for a dataset of `num_classes` classes, then overrides.

        NTU-120-sized label sets (more than 60 classes) get latent 200, 1900 steps per cycle and,
        for FS-VAE, alpha 0.1, as in upstream's run120.sh / fsvae_120.sh.
        """
        base: dict[str, Any] = {"method": method}
        if num_classes > 60:
            base.update(latent=200, steps_per_cycle=1900)
            if method == "fsvae":
                base["alpha"] = 0.1
        return cls.from_dict({**base, **overrides})

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict of every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, where: str | None = None) -> MethodConfig:
        """Build from a dict; an unknown key is an error that names it."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            near = difflib.get_close_matches(unknown[0], known, n=1)
            raise ConfigError(
                f"zeroshot.{unknown[0]}",
                "unknown option" + (f"; did you mean {near[0]!r}?" if near else ""),
                fix="known options: " + ", ".join(sorted(known)),
                where=where,
            )
        return cls(**values)


_UPSTREAM_HINT = {
    "cycles": 10,
    "steps_per_cycle": 1700,
    "batch_size": 64,
    "latent": 100,
    "cls_samples": 500,
}


@dataclass
class ZSLModel:
    """A trained cross-modal VAE and its zero-shot classifier over the sorted unseen classes."""

    config: MethodConfig
    vae: CrossModalVAE
    classifier: ZeroShotClassifier
    unseen: np.ndarray  # (ss,) sorted global class ids; classifier output k is unseen[k]
    cycle: int = 0  # cycles of VAE training behind this snapshot

    @property
    def feat_dim(self) -> int:
        return self.vae.se.mu_transformation.in_features

    @property
    def text_dim(self) -> int:
        return self.vae.te.mu_transformation.in_features


def zsl_scores(model: ZSLModel, feats: np.ndarray, *, batch: int = 4096) -> np.ndarray:
    """(N, ss) float32 softmax of the rectified classifier logits on se's mu (upstream's scores).

    Columns follow `model.unseen` (sorted). These are upstream's `*_zs.npy` score files.
    """
    x = check_features(feats, dim=model.feat_dim, name="feats")
    device = next(model.vae.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            mu, _ = model.vae.se(torch.from_numpy(x[i : i + batch]).to(device))
            out.append(torch.softmax(model.classifier(mu), dim=1).cpu())
    if not out:
        return np.zeros((0, len(model.unseen)), np.float32)
    return torch.cat(out).numpy()


def zsl_predict(model: ZSLModel, feats: np.ndarray) -> np.ndarray:
    """(N,) predicted global class ids among the unseen classes (ties go to the smallest id)."""
    return model.unseen[np.argmax(zsl_scores(model, feats), axis=1)]


def zsl_accuracy(model: ZSLModel, feats: np.ndarray, labels: np.ndarray) -> float:
    """Top-1 accuracy (correct / samples) of the zero-shot classifier on unseen-class samples."""
    y = check_labels(labels, n=len(feats), num_classes=None, name="labels")
    if len(y) == 0:
        raise DataFormatError("labels", "no samples to score", fix="pass the ZSL test features")
    return float(np.mean(zsl_predict(model, feats) == y))


class ZSLTrainer:
    """Trains one method cycle by cycle; `train_cycle` returns a snapshot after each cycle.

    `feats` (N, D) and `labels` (N,) are the seen-class training samples; `text` (C, Dt) holds the
    normalised text row of every class, indexed by global class id; `unseen` lists the classes
    the zero-shot classifier predicts. All randomness (init, batches, noise, permutations) comes
    from one generator seeded with `seed`. For stable CPU timings call
    `torch.set_num_threads(1)` first (the networks are small; threads mostly contend).
    """

    def __init__(
        self,
        config: MethodConfig,
        *,
        feats: np.ndarray,
        labels: np.ndarray,
        text: np.ndarray,
        unseen: np.ndarray | list[int],
        seed: int = 5,
        device: str | torch.device = "cpu",
    ):
        self.config = config
        self.device = torch.device(device)
        txt = check_text(text)
        self.unseen = check_unseen(unseen, num_classes=len(txt))
        x = check_features(feats, dim=None, name="feats")
        y = check_labels(labels, n=len(x), num_classes=len(txt), name="labels")
        clash = np.intersect1d(np.unique(y), self.unseen)
        if clash.size:
            raise DataFormatError(
                "labels",
                f"training labels include unseen classes {clash.tolist()[:8]}",
                fix="train on seen-class samples only (upstream train.npy / train_label.npy)",
            )
        if len(x) < 1:
            raise DataFormatError("feats", "no training samples", fix="pass seen-class features")
        self.gen = torch.Generator().manual_seed(int(seed))
        self.feats = torch.from_numpy(x).to(self.device)
        self.labels = torch.from_numpy(y).to(self.device)
        self.text = torch.from_numpy(txt).to(self.device)
        self.vae = build_vae(config, feat_dim=x.shape[1], text_dim=txt.shape[1], generator=self.gen)
        self.vae.to(self.device)
        self.optimizer = torch.optim.Adam(self.vae.parameters(), lr=config.lr)
        self.cycles_done = 0
        self.last_terms: dict[str, float] = {}
        # the text input only depends on the class: split the table into band parts once, so
        # FS-VAE's text enhancement costs a weighted sum per step instead of two D x D products
        freq = self.vae.te.freq
        self._text_parts = freq.band_parts(self.text) if freq is not None else None

    def step(self, cycle: int, step: int) -> dict[str, Tensor]:
        """One optimizer step on one mini-batch; returns the loss terms (tensors)."""
        cfg = self.config
        idx = sample_batch(len(self.feats), cfg.batch_size, self.gen).to(self.device)
        eps = torch.randn(2, len(idx), 1, generator=self.gen).to(self.device)
        s, y = self.feats[idx], self.labels[idx]
        t = self.text[y]
        if self._text_parts is not None:  # enhance the class table (C rows), then pick rows
            t_in = self.vae.te.freq.from_parts(self._text_parts)[y]
            out = self.vae(s, t_in, eps[0], eps[1], t_enhanced=True)
        else:
            out = self.vae(s, t, eps[0], eps[1])
        w = cfg.weights(cycle, step)
        if cfg.method == "fsvae":
            perm = torch.randperm(len(idx), generator=self.gen).to(self.device)
            terms = fsvae_loss(
                s, t, out, w, perm, lmd=cfg.lmd, alpha=cfg.alpha, use_cr_fact=cfg.use_cr_fact
            )
        else:
            terms = msf_loss(s, t, out, w)
        self.optimizer.zero_grad(set_to_none=True)
        terms["loss_total"].backward()
        self.optimizer.step()
        return terms

    def train_cycle(self, progress: Progress | None = None) -> ZSLModel:
        """Run the next cycle (VAE steps, then a fresh zero-shot classifier); return a snapshot."""
        cycle = self.cycles_done
        self.vae.train()
        every = max(1, self.config.steps_per_cycle // 100)
        for step in range(self.config.steps_per_cycle):
            terms = self.step(cycle, step)
            if progress is not None and ((step + 1) % every == 0):
                progress(every)
        if progress is not None and self.config.steps_per_cycle % every:
            progress(self.config.steps_per_cycle % every)
        self.last_terms = {k: v.item() for k, v in terms.items()}
        if not np.isfinite(self.last_terms["loss_total"]):
            raise DataFormatError(
                "feats",
                f"training diverged in cycle {cycle} (loss {self.last_terms})",
                fix="check the features for huge values; lower lr",
            )
        self.cycles_done += 1
        self.vae.eval()
        classifier = fit_classifier(self.vae, self.text, self.unseen, self.config, self.gen)
        snapshot = copy.deepcopy(self.vae)
        return ZSLModel(self.config, snapshot, classifier, self.unseen.copy(), self.cycles_done)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to resume after the last finished cycle (weights_only-safe)."""
        return {
            "config": self.config.to_dict(),
            "vae": self.vae.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "generator": self.gen.get_state(),
            "cycles_done": self.cycles_done,
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume from `state_dict()` output of a trainer built on the same data and config."""
        if dict(state["config"]) != self.config.to_dict():
            raise ConfigError(
                "zeroshot",
                "the saved trainer state was made with another method config",
                fix="resume with the same options, or start a fresh work dir",
            )
        self.vae.load_state_dict(state["vae"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.gen.set_state(state["generator"])
        self.cycles_done = int(state["cycles_done"])


def train(
    config: MethodConfig,
    *,
    feats: np.ndarray,
    labels: np.ndarray,
    text: np.ndarray,
    unseen: np.ndarray | list[int],
    seed: int = 5,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
) -> list[ZSLModel]:
    """All `config.cycles` cycles; one model snapshot per cycle (choose among them yourself)."""
    trainer = ZSLTrainer(
        config, feats=feats, labels=labels, text=text, unseen=unseen, seed=seed, device=device
    )
    return [trainer.train_cycle(progress) for _ in range(config.cycles)]


def sample_batch(n: int, size: int, generator: torch.Generator) -> Tensor:
    """`size` distinct indices of 0..n-1, uniformly: the first batch of a fresh shuffle.

    Upstream builds a shuffled DataLoader iterator per step and takes its first batch. Drawing
    `size` indices and redrawing the rare batch with a repeat has the same distribution without
    a permutation of all n samples per step.
    """
    if n <= 4 * size:
        return torch.randperm(n, generator=generator)[:size]
    while True:
        idx = torch.randint(n, (size,), generator=generator)
        if len(torch.unique(idx)) == size:
            return idx


def build_vae(
    config: MethodConfig, *, feat_dim: int, text_dim: int, generator: torch.Generator | None = None
) -> CrossModalVAE:
    """The cross-modal VAE of `config.method` for these widths, upstream-initialised."""
    return CrossModalVAE(
        feat_dim=feat_dim,
        text_dim=text_dim,
        latent=config.latent,
        frequency=config.method == "fsvae",
        freq_bands=config.freq_bands,
        freq_split=config.freq_split,
        freq_m=config.freq_m,
        freq_k=config.freq_k,
        generator=generator,
    )


def fit_classifier(
    vae: CrossModalVAE,
    text: Tensor,
    unseen: np.ndarray,
    config: MethodConfig,
    generator: torch.Generator,
) -> ZeroShotClassifier:
    """Fit a fresh classifier on `cls_samples` latents per unseen class text (full batch, Adam)."""
    device = text.device
    ss = len(unseen)
    with torch.no_grad():
        mu, logvar = vae.te(text[torch.as_tensor(unseen, device=device)])  # te is deterministic:
        mu = mu.repeat_interleave(config.cls_samples, dim=0)  # encode each row once, then copy
        logvar = logvar.repeat_interleave(config.cls_samples, dim=0)
        eps = torch.randn(len(mu), 1, generator=generator).to(device)
        z = reparameterize(mu, logvar, eps)
    target = torch.arange(ss, device=device).repeat_interleave(config.cls_samples)
    clf = ZeroShotClassifier(config.latent, ss, generator=generator).to(device)
    opt = torch.optim.Adam(clf.parameters(), lr=config.cls_lr)
    for _ in range(config.cls_steps):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(clf(z), target).backward()
        opt.step()
    return clf.eval()


def save(model: ZSLModel, path: str | Path) -> Path:
    """Write skelab's single-file checkpoint (weights, config, unseen classes), atomically."""
    from skelab.zeroshot.checkpoints import save_model

    return save_model(model, path)


def load(path: str | Path, *, device: str | torch.device = "cpu") -> ZSLModel:
    """Read a checkpoint written by `save` (weights_only)."""
    from skelab.zeroshot.checkpoints import load_model

    return load_model(path, device=device)


def load_upstream(
    source: str | Path,
    *,
    unseen: np.ndarray | list[int],
    epoch: int | None = None,
    **overrides: Any,
) -> ZSLModel:
    """Load upstream's five files (a folder with se_/sd_/te_/td_<epoch>.pth.tar and
    classifier.pth.tar, or one flat dict with `se.` ... `classifier.` prefixes). The method is
    read from the keys; `unseen` is the split's unseen list (upstream does not save it);
    `overrides` set MethodConfig options (e.g. the FS-VAE band settings are checked)."""
    from skelab.zeroshot.checkpoints import load_upstream_model

    return load_upstream_model(source, unseen=unseen, epoch=epoch, **overrides)
