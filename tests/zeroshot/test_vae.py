"""The cross-modal VAE: DCT, FS-VAE band scaling, reparameterisation, decoders."""

from __future__ import annotations

import math

import pytest
import torch

from skelab.zeroshot.vae import (
    CrossModalVAE,
    FrequencyEnhancement,
    dct_ortho,
    idct_ortho,
    neg_kl,
    reparameterize,
)


def test_dct_is_the_orthonormal_dct_ii_and_idct_inverts_it():
    x = torch.randn(3, 8, dtype=torch.float64)
    n = torch.arange(8, dtype=torch.float64)
    k = 3
    by_formula = math.sqrt(2 / 8) * (x * torch.cos(math.pi * (2 * n + 1) * k / 16)).sum(dim=1)

    coeffs = dct_ortho(x)

    assert torch.allclose(coeffs[:, k], by_formula, atol=1e-9)
    assert torch.allclose(coeffs.norm(dim=1), x.norm(dim=1), atol=1e-9)  # orthonormal
    assert torch.allclose(idct_ortho(coeffs), x, atol=1e-9)


@pytest.mark.parametrize("dim", [37, 256])  # odd and even lengths reorder differently
def test_dct_matches_scipy_orthonormal_dct(dim):
    fft = pytest.importorskip("scipy.fft")
    x = torch.randn(4, dim, dtype=torch.float64)

    ref = torch.from_numpy(fft.dct(x.numpy(), type=2, norm="ortho", axis=-1))
    assert torch.allclose(dct_ortho(x), ref, atol=1e-9)
    assert torch.allclose(idct_ortho(ref), x, atol=1e-9)


def test_skeleton_bands_boost_first_three_and_damp_the_rest_at_init():
    freq = FrequencyEnhancement(256)

    scales = freq.band_scales()
    per_coeff = freq.coefficient_scales()

    assert scales[:3].tolist() == pytest.approx([1.30, 1.29, 1.28], abs=1e-6)
    assert scales[3].item() == pytest.approx(1 - 0.3 * (2 - 3 / 30))  # 0.43
    assert scales[29].item() == pytest.approx(1 - 0.3 * (2 - 29 / 30))  # 0.69
    assert per_coeff[-1].item() == 1.0  # the last coefficient belongs to no band


def test_1536_dim_text_has_no_boosted_band_and_keeps_the_last_coefficient():
    freq = FrequencyEnhancement(1536)

    per_coeff = freq.coefficient_scales()

    assert (per_coeff[:-1] < 1).all()
    assert per_coeff[-1].item() == 1.0
    assert per_coeff[:51].unique().numel() == 1  # edges 0, 51, 102, ...: band 0 is 51 wide
    assert per_coeff[51] != per_coeff[50]


def test_enhancement_scales_each_dct_band_of_the_input():
    freq = FrequencyEnhancement(64, k=0.25)
    with torch.no_grad():
        freq.freq_weights.uniform_(0.5, 1.5)
    x = torch.randn(5, 64)

    out = freq(x)

    expected = dct_ortho(x) * freq.coefficient_scales()
    assert torch.allclose(dct_ortho(out), expected, atol=1e-5)


def test_band_weights_and_strength_get_gradients():
    freq = FrequencyEnhancement(40, bands=6, split=10)

    (freq(torch.randn(4, 40)) * torch.randn(4, 40)).sum().backward()

    assert freq.freq_weights.grad is not None and (freq.freq_weights.grad != 0).all()
    assert freq.k.grad is not None and freq.k.grad != 0


def test_fewer_dims_than_bands_leaves_empty_bands_and_still_works():
    freq = FrequencyEnhancement(10)  # edges repeat: some of the 30 bands are empty

    out = freq(torch.randn(2, 10))

    assert out.shape == (2, 10) and torch.isfinite(out).all()


def test_reparameterisation_shares_one_draw_across_latent_dims():
    mu, logvar = torch.zeros(3, 5), torch.zeros(3, 5)
    eps = torch.tensor([[1.0], [-2.0], [0.5]])

    z = reparameterize(mu, logvar, eps)

    assert torch.equal(z, eps.expand(3, 5))


def test_neg_kl_is_zero_at_the_prior_and_negative_elsewhere():
    assert neg_kl(torch.zeros(4, 3), torch.zeros(4, 3)).item() == 0.0
    assert neg_kl(torch.ones(4, 3), torch.zeros(4, 3)).item() == pytest.approx(-1.5)


def test_decoders_never_output_negative_values():
    vae = CrossModalVAE(feat_dim=12, text_dim=9, latent=4)

    out = vae(torch.randn(6, 12), torch.randn(6, 9), torch.randn(6, 1), torch.randn(6, 1))

    for key in ("sd_out", "td_out", "sd_from_zt", "td_from_zs"):
        assert (out[key] >= 0).all()


def test_fsvae_encoders_train_k_and_band_weights_msf_has_none():
    fs = CrossModalVAE(feat_dim=12, text_dim=9, latent=4, frequency=True)
    msf = CrossModalVAE(feat_dim=12, text_dim=9, latent=4)

    names_fs = {n for n, _ in fs.named_parameters()}
    names_msf = {n for n, _ in msf.named_parameters()}

    assert {"se.freq.k", "se.freq.freq_weights", "te.freq.k", "te.freq.freq_weights"} <= names_fs
    assert names_fs - names_msf == {
        "se.freq.k",
        "se.freq.freq_weights",
        "te.freq.k",
        "te.freq.freq_weights",
    }
