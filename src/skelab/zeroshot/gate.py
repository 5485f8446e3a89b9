"""The GZSL gate: decide per sample "seen or unseen", then defer to that side's classifier.

Upstream: github.com/EHZ9NIWI7/MSF-GZSSAR gating_train.py / gating_eval.py (identical in FS-VAE;
both from SynSE, github.com/skelemoa/synse-zsl).

Gate features of a sample: its ss zero-shot scores sorted descending, then the top ss of
softmax(seen-classifier logits / T) over ALL C columns, sorted descending (2 ss numbers). A
logistic regression, trained on the validation split (val-unseen samples labelled 0, held-out
val-seen samples labelled 1), gives P(seen); a sample goes to the seen classifier when
P(seen) > threshold. The seen route predicts the seen class with the largest logit (argmax over
the seen columns only); the unseen route the sorted unseen class with the largest zero-shot score.

How skelab differs from upstream:
* the logistic regression is fitted here (L-BFGS in float64, L2 penalty with C = 2, no penalty on
  the intercept): for two classes that equals the old scikit-learn multinomial C = 1 fit that
  upstream used and that scikit-learn >= 1.5 no longer accepts; no scikit-learn dependency;
* the gate is a small JSON-able dataclass, not a pickle;
* temperature and threshold grids are arguments: upstream fixes T = 2, threshold 0.5 (its
  scripts disable the search); `SEARCH_TEMPERATURES` / `SEARCH_THRESHOLDS` are upstream's search
  grids, chosen on the held-out fifth of the validation samples.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from skelab.errors import DataFormatError

UPSTREAM_TEMPERATURE = 2.0
UPSTREAM_THRESHOLD = 0.5
SEARCH_TEMPERATURES = tuple(float(t) for t in range(1, 10))
SEARCH_THRESHOLDS = tuple(round(0.25 + 0.01 * i, 2) for i in range(50))  # 0.25 .. 0.74


@dataclass(frozen=True)
class Gate:
    """P(seen) = sigmoid(features @ coef + intercept); route to seen when P(seen) > threshold."""

    coef: tuple[float, ...]  # (2 ss,)
    intercept: float
    temperature: float = UPSTREAM_TEMPERATURE
    threshold: float = UPSTREAM_THRESHOLD
    holdout_accuracy: float | None = None  # gate accuracy on the held-out validation fifth

    def to_dict(self) -> dict[str, Any]:
        return {
            "coef": list(self.coef),
            "intercept": self.intercept,
            "temperature": self.temperature,
            "threshold": self.threshold,
            "holdout_accuracy": self.holdout_accuracy,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Gate:
        missing = {"coef", "intercept"} - set(d)
        if missing:
            raise DataFormatError(
                "gate", f"missing {sorted(missing)}", fix="refit the gate (stage `gate`)"
            )
        return cls(
            coef=tuple(float(c) for c in d["coef"]),
            intercept=float(d["intercept"]),
            temperature=float(d.get("temperature", UPSTREAM_TEMPERATURE)),
            threshold=float(d.get("threshold", UPSTREAM_THRESHOLD)),
            holdout_accuracy=d.get("holdout_accuracy"),
        )

    def p_seen(self, features: np.ndarray) -> np.ndarray:
        """(N,) probability that each sample belongs to a seen class."""
        if features.shape[1] != len(self.coef):
            raise DataFormatError(
                "gate",
                f"gate has {len(self.coef)} weights, features are {features.shape[1]}-d",
                fix="use the gate fitted for this split (2 x number of unseen classes)",
            )
        z = features.astype(np.float64) @ np.asarray(self.coef) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class GZSLResult:
    """Seen accuracy S, unseen accuracy U (fractions) and their harmonic mean H."""

    seen: float
    unseen: float
    h: float
    pred: np.ndarray  # (N,) predicted global class ids
    route_seen: np.ndarray  # (N,) bool, True where the gate chose the seen classifier

    def as_dict(self) -> dict[str, float]:
        return {"seen": self.seen, "unseen": self.unseen, "h": self.h}


def softmax_np(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def gate_features(zs_scores: np.ndarray, logits: np.ndarray, temperature: float) -> np.ndarray:
    """(N, 2 ss): sorted zero-shot scores, then the top ss of softmax(logits / T), sorted."""
    zs = np.asarray(zs_scores, dtype=np.float64)
    lg = np.asarray(logits, dtype=np.float64)
    if zs.ndim != 2 or lg.ndim != 2 or len(zs) != len(lg):
        raise DataFormatError(
            "gate inputs",
            f"zero-shot scores {zs.shape} and logits {lg.shape} must be "
            "(N, ss) and (N, C) with the same N",
            fix="pass the scores and backbone logits of the same samples",
        )
    if not (np.isfinite(zs).all() and np.isfinite(lg).all()):
        raise DataFormatError(
            "gate inputs",
            "zero-shot scores or logits hold NaN or inf",
            fix="re-extract the features / re-run the cycle that wrote these scores",
        )
    ss = zs.shape[1]
    if lg.shape[1] < ss:
        raise DataFormatError(
            "logits",
            f"{lg.shape[1]} columns, fewer than the {ss} unseen classes",
            fix="pass the backbone's logits over all classes (upstream *_out.npy)",
        )
    p = softmax_np(lg / temperature)
    top = -np.sort(-p, axis=1)[:, :ss]
    return np.concatenate([-np.sort(-zs, axis=1), top], axis=1)


def fit_logistic(x: np.ndarray, y: np.ndarray, *, c: float = 2.0) -> tuple[np.ndarray, float]:
    """Binary L2 logistic regression: minimise 0.5 |w|^2 + c * sum log-loss (intercept free)."""
    xt = torch.from_numpy(np.asarray(x, dtype=np.float64))
    yt = torch.from_numpy(np.asarray(y, dtype=np.float64))
    w = torch.zeros(xt.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [w],
        lr=1,
        max_iter=5000,
        tolerance_grad=1e-10,
        tolerance_change=1e-14,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        z = xt @ w[:-1] + w[-1]
        loss = 0.5 * w[:-1].pow(2).sum() + c * torch.nn.functional.softplus(-(2 * yt - 1) * z).sum()
        loss.backward()
        return loss

    opt.step(closure)
    out = w.detach().numpy()
    return out[:-1], float(out[-1])


def fit_gate(
    *,
    unseen_zs: np.ndarray,
    unseen_logits: np.ndarray,
    seen_zs: np.ndarray,
    seen_logits: np.ndarray,
    temperatures: Sequence[float] = (UPSTREAM_TEMPERATURE,),
    thresholds: Sequence[float] = (UPSTREAM_THRESHOLD,),
    seed: int = 5,
) -> Gate:
    """Fit the gate on the validation split and pick T and threshold on its held-out fifth.

    `unseen_zs` / `unseen_logits`: zero-shot scores (M_z, ss) and backbone logits (M_z, C) of the
    val-unseen samples (upstream `*_unseen_zs.npy`, `ztest_out.npy`); `seen_zs` / `seen_logits`
    the same for held-out val-seen samples (`*_seen_zs.npy`, `val_out.npy`). A random fifth of
    each group (numpy `seed`) chooses T and threshold (maximum gate accuracy, first on ties);
    the rest trains the regression.
    """
    if len(unseen_zs) < 5 or len(seen_zs) < 5:
        raise DataFormatError(
            "gate inputs",
            f"{len(unseen_zs)} unseen and {len(seen_zs)} seen validation "
            "samples; need at least 5 of each",
            fix="run the validation split (shift_val_<ss>_r) with more samples",
        )
    rng = np.random.default_rng(seed)
    parts = []
    for zs, lg, label in ((unseen_zs, unseen_logits, 0), (seen_zs, seen_logits, 1)):
        order = rng.permutation(len(zs))
        n_hold = len(zs) // 5
        parts.append((zs, lg, label, order[n_hold:], order[:n_hold]))
    best: Gate | None = None
    for t in temperatures:
        feats = [gate_features(zs, lg, t) for zs, lg, *_ in parts]
        x_fit = np.concatenate([f[p[3]] for f, p in zip(feats, parts, strict=True)])
        y_fit = np.concatenate([np.full(len(p[3]), p[2]) for p in parts])
        x_hold = np.concatenate([f[p[4]] for f, p in zip(feats, parts, strict=True)])
        y_hold = np.concatenate([np.full(len(p[4]), p[2]) for p in parts]).astype(bool)
        coef, intercept = fit_logistic(x_fit, y_fit)
        for th in thresholds:
            gate = Gate(tuple(coef.tolist()), intercept, float(t), float(th))
            acc = float(np.mean((gate.p_seen(x_hold) > th) == y_hold)) if len(y_hold) else 0.0
            if best is None or acc > best.holdout_accuracy:
                best = Gate(gate.coef, intercept, float(t), float(th), acc)
    assert best is not None, "temperatures and thresholds must not be empty"
    return best


def gzsl_evaluate(
    gate: Gate,
    *,
    zs_scores: np.ndarray,
    logits: np.ndarray,
    labels: np.ndarray,
    seen: Sequence[int] | np.ndarray,
    unseen: Sequence[int] | np.ndarray,
) -> GZSLResult:
    """Route every test sample through the gate; S, U and H = 2SU / (S + U) as fractions.

    `zs_scores` (N, ss) columns follow sorted `unseen`; `logits` (N, C) are the seen backbone's
    logits over all classes; `labels` (N,) global class ids.
    """
    seen_ids = np.sort(np.asarray(seen, dtype=np.int64))
    unseen_ids = np.sort(np.asarray(unseen, dtype=np.int64))
    y = np.asarray(labels, dtype=np.int64)
    lg = np.asarray(logits, dtype=np.float64)
    feats = gate_features(zs_scores, lg, gate.temperature)
    if len(y) != len(feats):
        raise DataFormatError(
            "labels",
            f"{len(y)} labels for {len(feats)} samples",
            fix="pass g_label.npy of the same gtest set",
        )
    if seen_ids.max(initial=-1) >= lg.shape[1]:
        raise DataFormatError(
            "logits",
            f"{lg.shape[1]} columns but seen classes go up to {seen_ids.max()}",
            fix="pass the backbone's logits over all classes",
        )
    stray = np.setdiff1d(np.unique(y), np.concatenate([seen_ids, unseen_ids]))
    if stray.size:
        raise DataFormatError(
            "labels",
            f"classes {stray.tolist()[:8]} are neither seen nor unseen in this split",
            fix="pass g_label.npy of the split whose seen / unseen lists you give",
        )
    route_seen = gate.p_seen(feats) > gate.threshold
    seen_pred = seen_ids[np.argmax(lg[:, seen_ids], axis=1)] if len(seen_ids) else y * 0
    unseen_pred = unseen_ids[np.argmax(np.asarray(zs_scores), axis=1)]
    pred = np.where(route_seen, seen_pred, unseen_pred)
    is_unseen = np.isin(y, unseen_ids)
    s_acc = float(np.mean(pred[~is_unseen] == y[~is_unseen])) if (~is_unseen).any() else 0.0
    u_acc = float(np.mean(pred[is_unseen] == y[is_unseen])) if is_unseen.any() else 0.0
    h = 2 * s_acc * u_acc / (s_acc + u_acc) if s_acc + u_acc > 0 else 0.0
    return GZSLResult(s_acc, u_acc, h, pred, route_seen)
