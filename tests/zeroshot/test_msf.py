"""MSF-GZSSAR loss and the cyclic loss-weight schedule."""

from __future__ import annotations

import pytest
import torch

from skelab.zeroshot.methods import MethodConfig
from skelab.zeroshot.msf import LossWeights, msf_loss
from skelab.zeroshot.vae import CrossModalVAE


def test_upstream_1700_step_schedule():
    cfg = MethodConfig(steps_per_cycle=1700)

    assert cfg.weights(0, 1000) == (0.0, 0.0, 0.0)
    assert cfg.weights(0, 1400).cr_fact == 0.0
    assert cfg.weights(0, 1401).cr_fact == 1.0
    assert cfg.weights(0, 1699).k_fact == pytest.approx(0.1 * 699 / 3000)  # 0.0233
    assert cfg.weights(1, 1699).k_fact2 == 0.0  # text KL off in cycles 0 and 1
    assert cfg.weights(2, 1699).k_fact2 == pytest.approx(0.1 * 299 / 3000)  # 0.00997


def test_upstream_1900_step_schedule_switches_cross_alignment_at_1500():
    cfg = MethodConfig.for_method("msf", num_classes=120)

    assert cfg.steps_per_cycle == 1900 and cfg.latent == 200
    assert cfg.weights(0, 1500).cr_fact == 0.0 and cfg.weights(0, 1501).cr_fact == 1.0
    assert cfg.weights(3, 1899).k_fact2 == pytest.approx(0.1 * 399 / 3000)


def test_short_cycles_scale_the_schedule_so_alignment_still_switches_on():
    cfg = MethodConfig(steps_per_cycle=170)

    sched = cfg.schedule()

    assert (sched["kl_start"], sched["cross_start"]) == (100, 140)
    assert cfg.weights(0, 169).k_fact == pytest.approx(0.1 * 690 / 3000)  # = step 1690 of 1700
    assert cfg.weights(0, 141).cr_fact == 1.0


def test_explicit_schedule_options_win_over_the_derived_ones():
    cfg = MethodConfig(steps_per_cycle=170, cross_start=150, kl_start=0, kl_slope=0.5)

    assert cfg.weights(0, 150).cr_fact == 0.0
    assert cfg.weights(0, 2).k_fact == pytest.approx(1.0)


def test_msf_total_adds_kl_and_cross_reconstruction_with_their_weights():
    vae = CrossModalVAE(feat_dim=6, text_dim=5, latent=3)
    s, t = torch.rand(4, 6), torch.randn(4, 5)
    out = vae(s, t, torch.randn(4, 1), torch.randn(4, 1))
    w = LossWeights(k_fact=0.5, cr_fact=1.0, k_fact2=0.25)

    terms = msf_loss(s, t, out, w)

    expected = (
        terms["loss_s_recons"]
        + terms["loss_t_recons"]
        - 0.5 * terms["loss_s_kld"]
        - 0.25 * terms["loss_t_kld"]
        + terms["loss_s_crecons"]
        + terms["loss_t_crecons"]
    )
    assert terms["loss_total"].item() == pytest.approx(expected.item())
    assert terms["loss_s_kld"].item() <= 0  # upstream's sign: minus the KL


def test_msf_cross_reconstruction_is_off_before_the_switch():
    vae = CrossModalVAE(feat_dim=6, text_dim=5, latent=3)
    s, t = torch.rand(4, 6), torch.randn(4, 5)
    out = vae(s, t, torch.randn(4, 1), torch.randn(4, 1))

    terms = msf_loss(s, t, out, LossWeights(0.0, 0.0, 0.0))

    expected = terms["loss_s_recons"] + terms["loss_t_recons"]
    assert terms["loss_total"].item() == pytest.approx(expected.item())
