"""The four-network cross-modal VAE (CADA-VAE family) shared by MSF-GZSSAR and FS-VAE.

Upstream: github.com/EHZ9NIWI7/MSF-GZSSAR and github.com/wenhanwu95/FS-VAE, model.py (Encoder,
Decoder, MLP). A skeleton encoder `se` and a text encoder `te` map their input to (mu, logvar) of
one shared latent space; decoders `sd` and `td` map a latent back to either modality. With the
shipped layer lists every "MLP" is a single Linear: the encoder heads read the input directly,
the decoders and the zero-shot classifier are Linear then ReLU (so a decoder can never output the
negative entries of a normalised text row, and the classifier's logits are rectified).

FS-VAE adds a frequency enhancement in front of BOTH encoders: DCT-II (orthonormal) along the
feature axis, a trained scale per band, inverse DCT. skelab applies the DCT as one matrix product
with a per-coefficient scale vector (upstream: torch-dct and a loop over 30 bands, scaling slices
in place); `band_parts` splits an input into its band components once, after which the enhanced
input of any scales is one weighted sum (used for the fixed class-text table while training).

Attribute names follow FS-VAE's keys (`mu_transformation`, `logvar_transformation`, `model.0`);
`skelab.zeroshot.checkpoints` maps MSF's `.0.` heads and FS-VAE's scalars.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def dct_matrix(dim: int) -> Tensor:
    """Orthonormal DCT-II matrix C (dim, dim): the transform of rows x is x @ C.T, inverse @ C."""
    n = torch.arange(dim, dtype=torch.float64)
    c = torch.cos(math.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * dim))
    c[0] *= math.sqrt(1.0 / dim)
    c[1:] *= math.sqrt(2.0 / dim)
    return c.float()


class FrequencyEnhancement(nn.Module):
    """FS-VAE's learned per-band DCT scaling of an encoder input; the last coefficient is kept."""

    def __init__(self, dim: int, *, bands: int = 30, split: int = 30, m: int = 1, k: float = 0.3):
        super().__init__()
        self.k = nn.Parameter(torch.tensor(float(k)))
        self.freq_weights = nn.Parameter(torch.ones(bands))
        # band edges p_0..p_nb = floor(linspace(0, D-1, nb+1)); band i = [p_i, p_{i+1}); the last
        # coefficient (D-1) lies in no band and gets the extra, fixed scale at index nb
        edges = torch.linspace(0, dim - 1, bands + 1).long()
        band_of = torch.searchsorted(edges, torch.arange(dim), right=True) - 1
        band_of[dim - 1] = bands
        i = torch.arange(bands, dtype=torch.float32)
        # "low" compares the band's END index with `split` (not the band number), as upstream
        low = edges[1:] <= split
        signed_pos = torch.where(low, 1 - i / bands, -(1 - (i - bands // m) / bands))
        self.register_buffer("dct", dct_matrix(dim), persistent=False)
        self.register_buffer("band_of", band_of, persistent=False)
        self.register_buffer("signed_pos", signed_pos, persistent=False)
        self.bands = bands

    def band_scales(self) -> Tensor:
        """(nb + 1,) scale of each band; the last entry (the unbanded coefficient) is 1."""
        scales = 1 + self.freq_weights * self.k * self.signed_pos
        return torch.cat([scales, scales.new_ones(1)])

    def forward(self, x: Tensor) -> Tensor:
        scales = self.band_scales()[self.band_of]  # (D,) one scale per DCT coefficient
        return ((x @ self.dct.T) * scales) @ self.dct  # (N, D): DCT, scale, inverse DCT

    @torch.no_grad()
    def band_parts(self, x: Tensor) -> Tensor:
        """(N, D, nb + 1) band components: forward(x) = parts @ band_scales()."""
        coeffs = x @ self.dct.T
        parts = x.new_zeros(x.shape[0], x.shape[1], self.bands + 1)
        for b in range(self.bands + 1):  # once per table, not per step
            idx = (self.band_of == b).nonzero().squeeze(1)
            if idx.numel():
                parts[:, :, b] = coeffs[:, idx] @ self.dct[idx]
        return parts

    def from_parts(self, parts: Tensor) -> Tensor:
        """Enhanced input from `band_parts` output, differentiable in k and the band weights."""
        return parts @ self.band_scales()  # (N, D, nb + 1) @ (nb + 1,) -> (N, D)


class Encoder(nn.Module):
    """Input (optionally frequency-enhanced) -> (mu, logvar), one Linear head each."""

    def __init__(self, d_in: int, latent: int, *, freq: FrequencyEnhancement | None = None):
        super().__init__()
        self.freq = freq
        self.mu_transformation = nn.Linear(d_in, latent)
        self.logvar_transformation = nn.Linear(d_in, latent)

    def heads(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """(mu, logvar) of an already enhanced input."""
        return self.mu_transformation(x), self.logvar_transformation(x)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self.heads(self.freq(x) if self.freq is not None else x)  # (N, L) twice


class Decoder(nn.Module):
    """Latent -> modality features, Linear then ReLU (outputs are never negative)."""

    def __init__(self, latent: int, d_out: int):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(latent, d_out), nn.ReLU())

    def forward(self, z: Tensor) -> Tensor:
        return self.model(z)


class ZeroShotClassifier(nn.Module):
    """Latent -> rectified logits over the sorted unseen classes (Linear then ReLU, as upstream)."""

    def __init__(self, latent: int, num_unseen: int, *, generator: torch.Generator | None = None):
        super().__init__()
        self.model = nn.Sequential(nn.Linear(latent, num_unseen), nn.ReLU())
        init_weights(self, generator)

    def forward(self, z: Tensor) -> Tensor:
        return self.model(z)


class CrossModalVAE(nn.Module):
    """Skeleton and text encoders and decoders over one latent space."""

    def __init__(
        self,
        *,
        feat_dim: int,
        text_dim: int,
        latent: int,
        frequency: bool = False,
        freq_bands: int = 30,
        freq_split: int = 30,
        freq_m: int = 1,
        freq_k: float = 0.3,
        generator: torch.Generator | None = None,
    ):
        super().__init__()

        def freq(dim: int) -> FrequencyEnhancement | None:
            if not frequency:
                return None
            return FrequencyEnhancement(dim, bands=freq_bands, split=freq_split, m=freq_m, k=freq_k)

        self.se = Encoder(feat_dim, latent, freq=freq(feat_dim))
        self.sd = Decoder(latent, feat_dim)
        self.te = Encoder(text_dim, latent, freq=freq(text_dim))
        self.td = Decoder(latent, text_dim)
        init_weights(self, generator)

    def forward(
        self, s: Tensor, t: Tensor, eps_s: Tensor, eps_t: Tensor, *, t_enhanced: bool = False
    ) -> dict[str, Tensor]:
        """All tensors of one training step; `t_enhanced` says `t` already went through te.freq."""
        smu, slv = self.se(s)
        tmu, tlv = self.te.heads(t) if t_enhanced else self.te(t)
        zs = reparameterize(smu, slv, eps_s)
        zt = reparameterize(tmu, tlv, eps_t)
        return {
            "se_mu": smu,
            "se_logvar": slv,
            "te_mu": tmu,
            "te_logvar": tlv,
            "z_s": zs,
            "z_t": zt,
            "sd_out": self.sd(zs),
            "td_out": self.td(zt),
            "sd_from_zt": self.sd(zt),
            "td_from_zs": self.td(zs),
        }


def reparameterize(mu: Tensor, logvar: Tensor, eps: Tensor) -> Tensor:
    """z = mu + eps * sigma with eps (N, 1): ONE normal draw per sample for every latent dim."""
    return mu + eps * torch.exp(0.5 * logvar)


def neg_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """Upstream's KL_divergence: MINUS the KL to N(0, I), summed over dims, mean over the batch."""
    return 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) / mu.shape[0]


def init_weights(module: nn.Module, generator: torch.Generator | None = None) -> None:
    """Upstream init: Xavier-uniform (gain 0.5) weights and zero biases for every Linear."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight, gain=0.5, generator=generator)
            nn.init.zeros_(m.bias)
