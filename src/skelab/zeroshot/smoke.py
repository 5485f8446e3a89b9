"""Smoke cases for `skelab smoke`: each method trains and evaluates on tiny random data.

One case per method: a 2-step cycle of the VAE, the zero-shot classifier, the zero-shot scores,
a gate fitted on a validation split and the GZSL evaluation, on a chosen device, in well under a
second on a CPU. Any failure raises; the checks are on shapes and finiteness, not accuracy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from skelab.errors import SkelabError

NUM_CLASSES = 8
UNSEEN = (2, 5)
FEAT_DIM = 24
TEXT_DIM = 20


def _tiny_split(rng: np.random.Generator, classes: list[int], n: int) -> tuple[np.ndarray, ...]:
    labels = np.repeat(np.asarray(classes, dtype=np.int64), n)
    feats = rng.random((len(labels), FEAT_DIM), dtype=np.float32)
    logits = rng.normal(size=(len(labels), NUM_CLASSES)).astype(np.float32)
    return feats, labels, logits


def run_method(method: str, device: torch.device) -> dict[str, float]:
    """One short training cycle and one evaluation of `method`; returns S / U / H."""
    from skelab.zeroshot.methods import (
        MethodConfig,
        ZSLTrainer,
        fit_gate,
        gzsl_evaluate,
        zsl_scores,
    )

    rng = np.random.default_rng(0)
    text = rng.normal(size=(NUM_CLASSES, TEXT_DIM)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    seen = [c for c in range(NUM_CLASSES) if c not in UNSEEN]
    cfg = MethodConfig.for_method(
        method, cycles=1, steps_per_cycle=2, batch_size=8, latent=4, cls_samples=6, cls_steps=2
    )
    x_train, y_train, _ = _tiny_split(rng, seen, 6)
    model = ZSLTrainer(
        cfg, feats=x_train, labels=y_train, text=text, unseen=list(UNSEEN), seed=0, device=device
    ).train_cycle()
    x_val, _, logits_val = _tiny_split(rng, seen, 2)
    x_vz, _, logits_vz = _tiny_split(rng, list(UNSEEN), 5)
    gate = fit_gate(
        unseen_zs=zsl_scores(model, x_vz),
        unseen_logits=logits_vz,
        seen_zs=zsl_scores(model, x_val),
        seen_logits=logits_val,
    )
    x_test, y_test, logits_test = _tiny_split(rng, list(range(NUM_CLASSES)), 3)
    scores = zsl_scores(model, x_test)
    if scores.shape != (len(x_test), len(UNSEEN)) or not np.isfinite(scores).all():
        raise SkelabError(
            f"zeroshot smoke ({method}): bad zero-shot scores, shape {scores.shape}",
            fix="run tests/zeroshot to find the failing part",
        )
    result = gzsl_evaluate(
        gate, zs_scores=scores, logits=logits_test, labels=y_test, seen=seen, unseen=UNSEEN
    )
    return result.as_dict()


def smoke_cases() -> dict[str, Callable[[torch.device], None]]:
    """`{name: case(device)}` for `skelab smoke`: one per zero-shot method."""

    def case(method: str) -> Callable[[torch.device], None]:
        def run(device: torch.device) -> None:
            run_method(method, torch.device(device))

        return run

    return {f"zeroshot-{m}": case(m) for m in ("msf", "fsvae")}
