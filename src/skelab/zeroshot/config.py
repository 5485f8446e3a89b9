"""Hyper-parameters of MSF-GZSSAR and FS-VAE, with upstream's defaults and schedules.

Upstream: github.com/EHZ9NIWI7/MSF-GZSSAR run60.sh / run120.sh and github.com/wenhanwu95/FS-VAE
fsvae_60.sh / fsvae_120.sh (the values their train.py is run with).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from skelab.errors import ConfigError, did_you_mean
from skelab.zeroshot.fsvae import calibration_weight
from skelab.zeroshot.msf import LossWeights, loss_weights

METHODS = ("msf", "fsvae")
NOISE_FORMS = ("sample", "element")


@dataclass(frozen=True)
class MethodConfig:
    """Hyper-parameters of one method; defaults are upstream's NTU-60 settings (`for_method`)."""

    method: str = "msf"  # "msf" (MSF-GZSSAR) or "fsvae" (FS-VAE)
    cycles: int = 10  # upstream --num_cycles
    steps_per_cycle: int = 1700  # upstream --num_epoch_per_cycle: 1700 NTU-60, 1900 NTU-120
    batch_size: int = 64
    lr: float = 1e-4  # one Adam over se, sd, te, td
    latent: int = 100  # 100 NTU-60, 200 NTU-120
    # reparameterisation noise: "sample" draws ONE normal per sample, shared by every latent
    # dimension (the published code of both methods, whose figures the papers report);
    # "element" draws one per latent dimension (the original Docker lab's vendored copies)
    noise: str = "sample"
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
            raise ConfigError(
                "zeroshot.method",
                f"unknown method {self.method!r}{did_you_mean(self.method, METHODS)}",
                fix="use one of: " + ", ".join(METHODS),
            )
        if self.noise not in NOISE_FORMS:
            raise ConfigError(
                "zeroshot.noise",
                f"unknown noise form {self.noise!r}",
                fix="use noise=sample (published upstream code) or noise=element (the lab's copy)",
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

    def factors(self, cycle: int, step: int) -> dict[str, float]:
        """Every schedule factor of the loss at `step` of `cycle`, by upstream's names.

        k_fact, cr_fact and k_fact2 for both methods; FS-VAE adds `coef`, the weight of its
        calibrated terms: lmd * alpha * cr_fact (lmd * alpha when use_cr_fact is off).
        """
        w = self.weights(cycle, step)
        out = w._asdict()
        if self.method == "fsvae":
            out["coef"] = calibration_weight(
                w, lmd=self.lmd, alpha=self.alpha, use_cr_fact=self.use_cr_fact
            )
        return out

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
            raise ConfigError(
                f"zeroshot.{unknown[0]}",
                "unknown option" + did_you_mean(unknown[0], known),
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
