"""FS-VAE's calibrated cross-alignment loss.

Paper: Wu et al., "Frequency-Semantic Enhanced Variational Autoencoder for Zero-Shot
Skeleton-based Action Recognition", ICCV 2025 (arXiv 2506.22179).
Upstream: github.com/wenhanwu95/FS-VAE, train.py (and model.py for the frequency enhancement,
which lives in `skelab.zeroshot.vae.FrequencyEnhancement`).

loss = coef (t_cali + s_cali) + MSE(s, sd(z_s)) + MSE(t, td(z_t)) + k_fact KL_s + k_fact2 KL_t,
coef = lmd * alpha * cr_fact (cr_fact dropped when use_cr_fact is off). The cross-reconstruction
MSEs are computed (and returned) but, as upstream, NOT part of the loss:
* t_cali = mean_i sigmoid((d_pos_i - d_neg_i) / lmd), d_pos_i = ||t_i - td(z_s)_i||^2 and
  d_neg_i = ||t_i - td(z_s)_{perm(i)}||^2 for a fresh batch permutation (which may map a sample to
  its own class, or to itself);
* s_cali = mean_i sigmoid(||s_i - sd(z_t)_i||^2 / lmd): no negative pair. It is bounded in
  [0.5, 1) and saturates fast for 256-d features, as upstream.
"""

from __future__ import annotations

import torch
from torch import Tensor

from skelab.zeroshot.msf import LossWeights, base_terms


def calibration_weight(w: LossWeights, *, lmd: float, alpha: float, use_cr_fact: bool) -> float:
    """Upstream's `coef`: the weight of the two calibrated terms at one step."""
    return lmd * alpha * (w.cr_fact if use_cr_fact else 1.0)


def fsvae_loss(
    s: Tensor,
    t: Tensor,
    out: dict[str, Tensor],
    w: LossWeights,
    perm: Tensor,
    *,
    lmd: float = 100.0,
    alpha: float = 0.5,
    use_cr_fact: bool = True,
) -> dict[str, Tensor]:
    """Every FS-VAE loss term of one step, plus `loss_total`; `perm` (N,) pairs the negatives."""
    terms = base_terms(s, t, out)
    # written as upstream writes them, 1 / (1 + exp(x / lmd)) rather than sigmoid(-x / lmd): the
    # same function, but its backward rounds as upstream's does (fsvae_ntu60_dyn)
    t_from_s = out["td_from_zs"]
    gap = torch.sum(torch.square(t - t_from_s[perm]), 1) - torch.sum(torch.square(t - t_from_s), 1)
    terms["loss_t_cali"] = torch.mean(1.0 / (1.0 + torch.exp(gap / lmd)))
    s_gap = -torch.sum(torch.square(s - out["sd_from_zt"]), 1)
    terms["loss_s_cali"] = torch.mean(1.0 / (1.0 + torch.exp(s_gap / lmd)))
    coef = calibration_weight(w, lmd=lmd, alpha=alpha, use_cr_fact=use_cr_fact)
    terms["loss_total"] = (
        coef * (terms["loss_t_cali"] + terms["loss_s_cali"])
        + terms["loss_s_recons"]
        + terms["loss_t_recons"]
        - (w.k_fact * terms["loss_s_kld"] + w.k_fact2 * terms["loss_t_kld"])
    )
    return terms
