"""FS-VAE's calibrated loss."""

from __future__ import annotations

import pytest
import torch

from skelab.zeroshot.fsvae import fsvae_loss
from skelab.zeroshot.msf import LossWeights
from skelab.zeroshot.vae import CrossModalVAE


def _step(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    torch.manual_seed(seed)
    vae = CrossModalVAE(feat_dim=6, text_dim=5, latent=3, frequency=True)
    s, t = torch.rand(4, 6), torch.randn(4, 5)
    return s, t, vae(s, t, torch.randn(4, 1), torch.randn(4, 1))


def test_calibrated_terms_follow_the_distance_formulas():
    s, t, out = _step()
    perm = torch.tensor([2, 0, 3, 1])

    terms = fsvae_loss(s, t, out, LossWeights(0.0, 1.0, 0.0), perm, lmd=10.0, alpha=0.5)

    d_pos = ((t - out["td_from_zs"]) ** 2).sum(1)
    d_neg = ((t - out["td_from_zs"][perm]) ** 2).sum(1)
    s_dist = ((s - out["sd_from_zt"]) ** 2).sum(1)
    assert terms["loss_t_cali"].item() == pytest.approx(
        torch.sigmoid((d_pos - d_neg) / 10).mean().item()
    )
    assert terms["loss_s_cali"].item() == pytest.approx(torch.sigmoid(s_dist / 10).mean().item())
    assert 0.5 <= terms["loss_s_cali"].item() < 1.0


def test_cross_reconstruction_is_reported_but_not_in_the_fsvae_loss():
    s, t, out = _step()
    perm = torch.arange(4)
    w = LossWeights(k_fact=0.1, cr_fact=1.0, k_fact2=0.2)

    terms = fsvae_loss(s, t, out, w, perm, lmd=100.0, alpha=0.5)

    expected = (
        50.0 * (terms["loss_t_cali"] + terms["loss_s_cali"])
        + terms["loss_s_recons"]
        + terms["loss_t_recons"]
        - 0.1 * terms["loss_s_kld"]
        - 0.2 * terms["loss_t_kld"]
    )
    assert terms["loss_total"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert terms["loss_s_crecons"].item() > 0


def test_calibrated_terms_wait_for_cr_fact_unless_it_is_disabled():
    s, t, out = _step()
    perm = torch.arange(4)
    w = LossWeights(0.0, 0.0, 0.0)

    gated = fsvae_loss(s, t, out, w, perm, use_cr_fact=True)
    always = fsvae_loss(s, t, out, w, perm, use_cr_fact=False, lmd=100.0, alpha=0.5)

    recons = (gated["loss_s_recons"] + gated["loss_t_recons"]).item()
    assert gated["loss_total"].item() == pytest.approx(recons)
    cali = (always["loss_t_cali"] + always["loss_s_cali"]).item()
    assert always["loss_total"].item() == pytest.approx(recons + 50.0 * cali, rel=1e-6)
