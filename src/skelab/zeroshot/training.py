"""Training of the cross-modal VAE cycle by cycle, and the zero-shot classifier after each cycle.

Upstream: github.com/EHZ9NIWI7/MSF-GZSSAR and github.com/wenhanwu95/FS-VAE, train.py. See
`skelab.zeroshot.methods` for the protocol and how skelab differs from upstream.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from skelab.errors import ConfigError, DataFormatError
from skelab.zeroshot.config import MethodConfig
from skelab.zeroshot.fsvae import fsvae_loss
from skelab.zeroshot.inputs import check_features, check_labels, check_text, check_unseen
from skelab.zeroshot.msf import msf_loss
from skelab.zeroshot.vae import CrossModalVAE, ZeroShotClassifier, reparameterize

FOREACH_ADAM = True
"""The multi-tensor Adam kernel (False: the per-tensor loop upstream resolves to on the CPU)."""

Progress = Callable[[int], None]
"""Called with the number of optimizer steps just done (e.g. `tqdm.update`)."""


@dataclass
class StepRecord:
    """What one optimizer step did: where it was, its schedule factors and its loss terms."""

    cycle: int  # 0-based
    step: int  # 0-based within the cycle (upstream's `epoch - s_epoch`)
    factors: dict[str, float]  # k_fact, cr_fact, k_fact2 (and FS-VAE's coef)
    terms: dict[str, Tensor]  # every loss term and loss_total, detached


StepHook = Callable[[StepRecord], None]
"""Called after every optimizer step (after `optimizer.step()`), e.g. to log or compare."""


class Draws:
    """Every random draw of training, from one generator, in upstream's order per step.

    Per VAE step: the batch rows, the skeleton noise, the text noise and, for FS-VAE, the
    negative-pair permutation. Per cycle, after the VAE steps: the zero-shot classifier's
    initial weights, then its latents' noise. `noise` is the reparameterisation form
    (`MethodConfig.noise`): "sample" gives (rows, 1), one normal per sample shared over the
    latent dimensions, as the published code; "element" gives (rows, latent).

    The trainer only draws through this object, so a replay of a recorded run (e.g. the
    upstream-dynamics test) passes another object with the same four methods.
    """

    def __init__(self, generator: torch.Generator, *, noise: str = "sample"):
        self.gen = generator
        self.noise_form = noise

    def batch(self, n: int, size: int) -> Tensor:
        """Row indices of one mini-batch of `size` out of `n` training samples."""
        return sample_batch(n, size, self.gen)

    def noise(self, rows: int, latent: int) -> Tensor:
        """Reparameterisation noise for `rows` latents of width `latent`."""
        cols = 1 if self.noise_form == "sample" else latent
        return torch.randn(rows, cols, generator=self.gen)

    def permutation(self, n: int) -> Tensor:
        """FS-VAE's negative pairing of a batch of `n`."""
        return torch.randperm(n, generator=self.gen)

    def classifier(self, latent: int, num_unseen: int) -> ZeroShotClassifier:
        """A freshly initialised zero-shot classifier."""
        return ZeroShotClassifier(latent, num_unseen, generator=self.gen)


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


class ZSLTrainer:
    """Trains one method cycle by cycle; `train_cycle` returns a snapshot after each cycle.

    `feats` (N, D) and `labels` (N,) are the seen-class training samples; `text` (C, Dt) holds the
    normalised text row of every class, indexed by global class id; `unseen` lists the classes
    the zero-shot classifier predicts; `where` (e.g. the feature folder) prefixes the argument
    names in input errors. All randomness (init, batches, noise, permutations) comes
    from one generator seeded with `seed`. On the CPU a cycle runs with `threads` torch threads
    (restored afterwards; None keeps torch's setting): the matrices are small, and extra threads
    mostly contend (upstream slowed from ~6 ms to over 1 s per step on a busy 2-core machine).
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
        threads: int | None = 1,
        where: str | None = None,
        draws: Draws | None = None,
    ):
        self.config = config
        at = f"{where}: " if where else ""  # errors name the caller's files, e.g. shift_5_r/
        self.device = torch.device(device)
        self.threads = threads
        txt = check_text(text, name=f"{at}text")
        self.unseen = check_unseen(unseen, num_classes=len(txt), name=f"{at}unseen")
        x = check_features(feats, dim=None, name=f"{at}feats")
        y = check_labels(labels, n=len(x), num_classes=len(txt), name=f"{at}labels")
        clash = np.intersect1d(np.unique(y), self.unseen)
        if clash.size:
            raise DataFormatError(
                f"{at}labels",
                f"training labels include unseen classes {clash.tolist()[:8]}",
                fix="train on seen-class samples only (upstream train.npy / train_label.npy)",
            )
        if len(x) < 1:
            raise DataFormatError(
                f"{at}feats", "no training samples", fix="pass seen-class features"
            )
        self.gen = torch.Generator().manual_seed(int(seed))
        self.draws = draws if draws is not None else Draws(self.gen, noise=config.noise)
        self.feats = torch.from_numpy(x).to(self.device)
        self.labels = torch.from_numpy(y).to(self.device)
        self.text = torch.from_numpy(txt).to(self.device)
        self.vae = build_vae(config, feat_dim=x.shape[1], text_dim=txt.shape[1], generator=self.gen)
        self.vae.to(self.device)
        self.optimizer = adam(self.vae.parameters(), lr=config.lr)
        self.cycles_done = 0
        self.last_terms: dict[str, float] = {}

    def step(self, cycle: int, step: int) -> StepRecord:
        """One optimizer step on one mini-batch; returns its factors and (detached) loss terms."""
        cfg = self.config
        n = len(self.feats)
        idx = self.draws.batch(n, min(cfg.batch_size, n)).to(self.device)
        eps_s = self.draws.noise(len(idx), cfg.latent).to(self.device)
        eps_t = self.draws.noise(len(idx), cfg.latent).to(self.device)
        s, y = self.feats[idx], self.labels[idx]
        t = self.text[y]
        out = self.vae(s, t, eps_s, eps_t)
        w = cfg.weights(cycle, step)
        if cfg.method == "fsvae":
            perm = self.draws.permutation(len(idx)).to(self.device)
            terms = fsvae_loss(
                s, t, out, w, perm, lmd=cfg.lmd, alpha=cfg.alpha, use_cr_fact=cfg.use_cr_fact
            )
        else:
            terms = msf_loss(s, t, out, w)
        self.optimizer.zero_grad(set_to_none=True)
        terms["loss_total"].backward()
        self.optimizer.step()
        detached = {k: v.detach() for k, v in terms.items()}
        return StepRecord(cycle, step, cfg.factors(cycle, step), detached)

    def train_cycle(
        self, progress: Progress | None = None, *, on_step: StepHook | None = None
    ) -> ZSLModel:
        """Run the next cycle (VAE steps, then a fresh zero-shot classifier); return a snapshot.

        `on_step` sees every step's `StepRecord` right after its optimizer update.
        """
        before = torch.get_num_threads()
        if self.threads is not None and self.device.type == "cpu":
            torch.set_num_threads(self.threads)
        try:
            return self._cycle(progress, on_step)
        finally:
            torch.set_num_threads(before)

    def _cycle(self, progress: Progress | None, on_step: StepHook | None) -> ZSLModel:
        cycle = self.cycles_done
        self.vae.train()
        every = max(1, self.config.steps_per_cycle // 100)
        for step in range(self.config.steps_per_cycle):
            record = self.step(cycle, step)
            if on_step is not None:
                on_step(record)
            if progress is not None and ((step + 1) % every == 0):
                progress(every)
        if progress is not None and self.config.steps_per_cycle % every:
            progress(self.config.steps_per_cycle % every)
        self.last_terms = {k: v.item() for k, v in record.terms.items()}
        if not np.isfinite(self.last_terms["loss_total"]):
            raise DataFormatError(
                "feats",
                f"training diverged in cycle {cycle} (loss {self.last_terms})",
                fix="check the features for huge values; lower lr",
            )
        self.cycles_done += 1
        self.vae.eval()
        classifier = fit_classifier(self.vae, self.text, self.unseen, self.config, self.draws)
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
    threads: int | None = 1,
) -> list[ZSLModel]:
    """All `config.cycles` cycles; one model snapshot per cycle (choose among them yourself)."""
    trainer = ZSLTrainer(
        config,
        feats=feats,
        labels=labels,
        text=text,
        unseen=unseen,
        seed=seed,
        device=device,
        threads=threads,
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


def adam(params: Any, *, lr: float) -> torch.optim.Adam:
    """Adam with upstream's settings and upstream's arithmetic.

    FOREACH_ADAM picks the multi-tensor kernel. The fused kernel is faster on the CPU but rounds
    differently: against the recorded upstream run it drifted to 3% on a decoder bias by step
    850 (tests/zeroshot/test_zeroshot_dynamics.py), so it is not used.
    """
    return torch.optim.Adam(list(params), lr=lr, foreach=FOREACH_ADAM)


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
    draws: Draws,
) -> ZeroShotClassifier:
    """Fit a fresh classifier on `cls_samples` latents per unseen class text (full batch, Adam).

    As upstream: the classifier is built first, then the latents' noise is drawn; latent row i
    belongs to unseen class i mod ss (the unseen text table tiled `cls_samples` times).
    """
    device = text.device
    ss = len(unseen)
    clf = draws.classifier(config.latent, ss).to(device)
    with torch.no_grad():
        mu, logvar = vae.te(text[torch.as_tensor(unseen, device=device)])  # te is deterministic:
        mu = mu.repeat(config.cls_samples, 1)  # encode each row once, then tile
        logvar = logvar.repeat(config.cls_samples, 1)
        eps = draws.noise(len(mu), config.latent).to(device)
        z = reparameterize(mu, logvar, eps)
    target = torch.arange(ss, device=device).repeat(config.cls_samples)
    opt = adam(clf.parameters(), lr=config.cls_lr)
    for _ in range(config.cls_steps):
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(clf(z), target).backward()
        opt.step()
    return clf.eval()
