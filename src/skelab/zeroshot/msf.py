"""MSF-GZSSAR's training loss and the cyclic loss-weight schedule (shared by FS-VAE, a fork).

Paper: Li et al., "Multi-Semantic Fusion Model for Generalized Zero-Shot Skeleton-based Action
Recognition", ICIG 2023. Upstream: github.com/EHZ9NIWI7/MSF-GZSSAR, train.py (schedule from
SynSE, github.com/skelemoa/synse-zsl).

loss = MSE(s, sd(z_s)) + MSE(t, td(z_t)) + k_fact KL_s + k_fact2 KL_t
       + cr_fact (MSE(s, sd(z_t)) + MSE(t, td(z_s)))
MSE is the mean over all elements; KL is summed over latent dims and averaged over the batch
(upstream subtracts its negative KL; the sign is the same). The distribution-alignment and
triplet functions of upstream model.py are never called, so they are not here.
"""

from __future__ import annotations

from typing import NamedTuple

import torch.nn.functional as F
from torch import Tensor

from skelab.zeroshot.vae import neg_kl


class LossWeights(NamedTuple):
    """The three schedule factors at one step."""

    k_fact: float  # skeleton KL
    cr_fact: float  # cross-alignment switch (0 or 1)
    k_fact2: float  # text KL


def loss_weights(
    cycle: int,
    step: int,
    *,
    kl_start: int = 1000,
    kl_slope: float = 0.1 / 3000,
    cross_start: int = 1400,
    text_kl_from_cycle: int = 2,
) -> LossWeights:
    """Weights at `step` (0-based) within `cycle` (0-based); the schedule restarts every cycle.

    Upstream's global epoch e and cycle start s give the same values with step = e - s.
    """
    k_fact = max(kl_slope * (step - kl_start), 0.0)
    cr_fact = 1.0 if step > cross_start else 0.0
    k_fact2 = max(kl_slope * (step - cross_start), 0.0) if cycle >= text_kl_from_cycle else 0.0
    return LossWeights(k_fact, cr_fact, k_fact2)


def base_terms(s: Tensor, t: Tensor, out: dict[str, Tensor]) -> dict[str, Tensor]:
    """Reconstruction, upstream-signed KL and cross-reconstruction terms, both methods."""
    return {
        "loss_s_recons": F.mse_loss(out["sd_out"], s),
        "loss_t_recons": F.mse_loss(out["td_out"], t),
        "loss_s_kld": neg_kl(out["se_mu"], out["se_logvar"]),
        "loss_t_kld": neg_kl(out["te_mu"], out["te_logvar"]),
        "loss_s_crecons": F.mse_loss(out["sd_from_zt"], s),
        "loss_t_crecons": F.mse_loss(out["td_from_zs"], t),
    }


def msf_loss(s: Tensor, t: Tensor, out: dict[str, Tensor], w: LossWeights) -> dict[str, Tensor]:
    """Every MSF-GZSSAR loss term of one step, plus `loss_total` (what is minimised)."""
    terms = base_terms(s, t, out)
    terms["loss_total"] = (
        terms["loss_s_recons"]
        + terms["loss_t_recons"]
        - (w.k_fact * terms["loss_s_kld"] + w.k_fact2 * terms["loss_t_kld"])
        + w.cr_fact * (terms["loss_s_crecons"] + terms["loss_t_crecons"])
    )
    return terms
