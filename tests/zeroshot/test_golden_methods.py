"""Golden tests: upstream MSF-GZSSAR and FS-VAE outputs, through skelab's upstream import."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shared_refs import load_golden, rel_err
from skelab.zeroshot.checkpoints import load_upstream_model
from skelab.zeroshot.fsvae import fsvae_loss
from skelab.zeroshot.gate import Gate, gate_features, gzsl_evaluate
from skelab.zeroshot.methods import zsl_predict, zsl_scores
from skelab.zeroshot.msf import msf_loss

pytestmark = pytest.mark.golden

TOL = 1e-5
TENSOR_OUTPUTS = (
    "se_mu",
    "se_logvar",
    "te_mu",
    "te_logvar",
    "z_s",
    "z_t",
    "sd_out",
    "td_out",
    "sd_from_zt",
    "td_from_zs",
)
LOSS_KEYS = (
    "loss_s_recons",
    "loss_t_recons",
    "loss_s_kld",
    "loss_t_kld",
    "loss_s_crecons",
    "loss_t_crecons",
    "loss_total",
)


def fixture(name: str) -> tuple[dict, dict]:
    _, state, case = load_golden(name)
    return case, state


@pytest.mark.parametrize("name", ["msf_ntu60", "fsvae_ntu60"])
def test_upstream_checkpoint_reproduces_every_stored_output(name):
    case, state = fixture(name)
    model = load_upstream_model(state, unseen=case["unseen_inds"].numpy())
    vae = model.vae
    s, t = case["skeleton_input"], case["text_input"]

    with torch.no_grad():
        out = vae(s, t, case["eps_s"], case["eps_t"])
        got = {k: out[k] for k in TENSOR_OUTPUTS}
        got["sd_from_fixed"] = vae.sd(case["z_fixed"])
        got["td_from_fixed"] = vae.td(case["z_fixed"])
        got["cls_logits_from_se_mu"] = model.classifier(out["se_mu"])
        if name.startswith("fsvae"):
            got["se_dct_enhanced"] = vae.se.freq(s)
            got["te_dct_enhanced"] = vae.te.freq(t)
    got["cls_softmax"] = torch.from_numpy(zsl_scores(model, s.numpy()))

    errors = {k: rel_err(v, case[k]) for k, v in got.items()}
    assert max(errors.values()) < TOL, errors
    assert np.array_equal(zsl_predict(model, s.numpy()), case["zsl_pred_class"].numpy())


def test_msf_loss_terms_match_upstream_at_cycle_2_step_1600():
    case, state = fixture("msf_ntu60")
    model = load_upstream_model(state, unseen=case["unseen_inds"].numpy())
    s, t = case["skeleton_input"], case["text_input"]
    w = model.config.weights(cycle=2, step=1600)

    with torch.no_grad():
        terms = msf_loss(s, t, model.vae(s, t, case["eps_s"], case["eps_t"]), w)

    assert w == pytest.approx((0.02, 1.0, 0.1 * 200 / 3000))
    errors = {k: rel_err(terms[k], case[k]) for k in LOSS_KEYS}
    assert max(errors.values()) < TOL, errors


def test_fsvae_loss_terms_match_upstream_at_cycle_2_step_1600():
    case, state = fixture("fsvae_ntu60")
    model = load_upstream_model(state, unseen=case["unseen_inds"].numpy())
    s, t = case["skeleton_input"], case["text_input"]
    w = model.config.weights(cycle=2, step=1600)

    with torch.no_grad():
        out = model.vae(s, t, case["eps_s"], case["eps_t"])
        terms = fsvae_loss(s, t, out, w, case["t_perm"], lmd=100.0, alpha=0.5)

    keys = LOSS_KEYS + ("loss_t_cali", "loss_s_cali")
    errors = {k: rel_err(terms[k], case[k]) for k in keys}
    assert max(errors.values()) < TOL, errors


def test_gate_reproduces_upstream_gzsl_evaluation():
    case, _ = fixture("msf_ntu60")
    gate = Gate(
        coef=tuple(case["gating_coef"].double().flatten().tolist()),
        intercept=float(case["gating_intercept"]),
        temperature=float(case["gating_temperature"]),
        threshold=float(case["gating_threshold"]),
    )
    zs, logits = case["gating_zs_scores"].numpy(), case["gating_gtest_out"].numpy()

    feats = gate_features(zs, logits, gate.temperature)
    p_seen = gate.p_seen(feats)
    result = gzsl_evaluate(
        gate,
        zs_scores=zs,
        logits=logits,
        labels=case["gating_g_label"].numpy(),
        seen=case["seen_inds"].numpy(),
        unseen=case["unseen_inds"].numpy(),
    )

    assert rel_err(torch.from_numpy(feats), case["gating_features"]) < TOL
    assert rel_err(torch.from_numpy(p_seen), case["gating_prob_gate"][:, 1]) < TOL
    assert np.array_equal(result.route_seen, case["gating_route_seen"].numpy())
    assert np.array_equal(result.pred, case["gating_pred"].numpy())
    expected = [float(case[f"gating_{k}"]) for k in ("seen_acc", "unseen_acc", "h_mean")]
    assert [result.seen, result.unseen, result.h] == pytest.approx(expected, rel=TOL)
