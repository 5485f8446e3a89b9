"""The four-network cross-modal VAE (CADA-VAE family) shared by MSF-GZSSAR and FS-VAE.

Upstream: github.com/EHZ9NIWI7/MSF-GZSSAR and github.com/wenhanwu95/FS-VAE, model.py (Encoder,
Decoder, MLP). A skeleton encoder `se` and a text encoder `te` map their input to (mu, logvar) of
one shared latent space; decoders `sd` and `td` map a latent back to either modality. With the
shipped layer lists every "MLP" is a single Linear: the encoder heads read the input directly,
the decoders and the zero-shot classifier are Linear then ReLU (so a decoder can never output the
negative entries of a normalised text row, and the classifier's logits are rectified).

FS-VAE adds a frequency enhancement in front of BOTH encoders: DCT-II (orthonormal) along the
feature axis, a trained scale per band, inverse DCT, computed as upstream computes it (an FFT-based
DCT and one in-place scaling per band), so that a training run follows upstream's step by step.

Attribute names follow FS-VAE's keys (`mu_transformation`, `logvar_transformation`, `model.0`);
`skelab.zeroshot.checkpoints` maps MSF's `.0.` heads and FS-VAE's scalars.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def dct_ortho(x: Tensor) -> Tensor:
    """Orthonormal DCT-II of the rows of `x` (N, D), through one length-D FFT (Makhoul, 1980).

    The samples are reordered (even ones, then the odd ones reversed), transformed, and each
    coefficient k is the real part of the spectrum turned by exp(-i pi k / 2D), scaled to be
    orthonormal. The operations and their order are those of torch-dct, which upstream FS-VAE
    calls: training is chaotic enough that another rounding of the same transform moves a
    decoder bias by 4% within 850 steps (tests/zeroshot/test_zeroshot_dynamics.py).
    """
    n = x.shape[-1]
    rows = x.reshape(-1, n)
    reordered = torch.cat([rows[:, ::2], rows[:, 1::2].flip([1])], dim=1)
    spec = torch.view_as_real(torch.fft.fft(reordered, dim=1))
    angle = -torch.arange(n, dtype=x.dtype, device=x.device)[None, :] * math.pi / (2 * n)
    out = spec[:, :, 0] * torch.cos(angle) - spec[:, :, 1] * torch.sin(angle)
    out[:, 0] /= math.sqrt(n) * 2
    out[:, 1:] /= math.sqrt(n / 2) * 2
    return 2 * out.view(x.shape)


def idct_ortho(coeffs: Tensor) -> Tensor:
    """Inverse of `dct_ortho` (an orthonormal DCT-III), through one inverse real FFT."""
    n = coeffs.shape[-1]
    half = coeffs.reshape(-1, n) / 2
    half[:, 0] *= math.sqrt(n) * 2
    half[:, 1:] *= math.sqrt(n / 2) * 2
    angle = torch.arange(n, dtype=coeffs.dtype, device=coeffs.device)[None, :] * math.pi / (2 * n)
    cos, sin = torch.cos(angle), torch.sin(angle)
    imag_in = torch.cat([half[:, :1] * 0, -half.flip([1])[:, :-1]], dim=1)
    real = half * cos - imag_in * sin
    imag = half * sin + imag_in * cos
    spec = torch.cat([real.unsqueeze(2), imag.unsqueeze(2)], dim=2)
    v = torch.fft.irfft(torch.view_as_complex(spec), n=n, dim=1)
    out = v.new_zeros(v.shape)
    out[:, ::2] += v[:, : n - n // 2]  # undo the reordering of `dct_ortho`
    out[:, 1::2] += v.flip([1])[:, : n // 2]
    return out.view(coeffs.shape)


class FrequencyEnhancement(nn.Module):
    """FS-VAE's learned per-band DCT scaling of an encoder input; the last coefficient is kept.

    Band i covers DCT coefficients [p_i, p_i+1) with p = floor(linspace(0, D-1, nb+1)); its
    scale is 1 + w_i k (1 - i/nb) when the band ends at or below `split` (boosted), else
    1 - w_i k (1 - (i - nb//m)/nb) (damped). Coefficient D-1 lies in no band and is unscaled.
    Each band's slice is scaled in turn, as upstream does: the same rounding, and the same
    gradient sums for k and the band weights.
    """

    def __init__(self, dim: int, *, bands: int = 30, split: int = 30, m: int = 1, k: float = 0.3):
        super().__init__()
        self.k = nn.Parameter(torch.tensor(float(k)))
        self.freq_weights = nn.Parameter(torch.ones(bands))
        edges = torch.linspace(0, dim - 1, bands + 1).long().tolist()
        # (start, end, sign, decay) per band; "low" compares the band's END index with `split`
        # (not the band number), as upstream
        self.plan = [
            (a, b, 1.0, 1 - i / bands) if b <= split else (a, b, -1.0, 1 - (i - bands // m) / bands)
            for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True))
        ]
        self.bands = bands
        self.dim = dim

    def band_scales(self) -> Tensor:
        """(nb,) scale of each band (for inspection; `forward` scales band by band)."""
        return torch.stack([self._scale(i) for i in range(self.bands)])

    def coefficient_scales(self) -> Tensor:
        """(D,) the scale each DCT coefficient gets (1 for the unbanded last one)."""
        out = self.k.new_ones(self.dim)
        for i, (a, b, _, _) in enumerate(self.plan):
            out[a:b] = self._scale(i)
        return out

    def _scale(self, i: int) -> Tensor:
        _, _, sign, decay = self.plan[i]
        w = self.freq_weights[i] * self.k * decay
        return 1 + w if sign > 0 else 1 - w

    def forward(self, x: Tensor) -> Tensor:
        coeffs = dct_ortho(x)
        for i, (a, b, _, _) in enumerate(self.plan):
            coeffs[:, a:b] *= self._scale(i)
        return idct_ortho(coeffs)  # (N, D)


class Encoder(nn.Module):
    """Input (optionally frequency-enhanced) -> (mu, logvar), one Linear head each."""

    def __init__(self, d_in: int, latent: int, *, freq: FrequencyEnhancement | None = None):
        super().__init__()
        self.freq = freq
        self.mu_transformation = nn.Linear(d_in, latent)
        self.logvar_transformation = nn.Linear(d_in, latent)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.freq(x) if self.freq is not None else x
        return self.mu_transformation(h), self.logvar_transformation(h)  # (N, L) twice


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

    def forward(self, s: Tensor, t: Tensor, eps_s: Tensor, eps_t: Tensor) -> dict[str, Tensor]:
        """All tensors of one training step."""
        smu, slv = self.se(s)
        tmu, tlv = self.te(t)
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
    """z = mu + eps * sigma; eps (N, 1) shares one draw over the latent dims (upstream), (N, L)
    draws one per dimension (the original lab's copy). See `MethodConfig.noise`."""
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
