"""The GZSL gate: features, logistic regression, threshold and S / U / H."""

from __future__ import annotations

import numpy as np
import pytest

from skelab.errors import DataFormatError
from skelab.zeroshot.gate import (
    SEARCH_TEMPERATURES,
    SEARCH_THRESHOLDS,
    Gate,
    fit_gate,
    fit_logistic,
    gate_features,
    gzsl_evaluate,
)


def test_gate_features_sort_scores_and_take_top_ss_of_tempered_softmax():
    zs = np.array([[0.2, 0.7, 0.1]])
    logits = np.log(np.array([[1.0, 4.0, 2.0, 9.0]]))  # softmax(logits / 2) ∝ [1, 2, 1.41, 3]

    feats = gate_features(zs, logits, temperature=2.0)

    p = np.array([1.0, 2.0, np.sqrt(2), 3.0]) / (6 + np.sqrt(2))
    assert feats[0, :3].tolist() == pytest.approx([0.7, 0.2, 0.1])
    assert feats[0, 3:].tolist() == pytest.approx([p[3], p[1], p[2]])


@pytest.mark.slow  # importing scikit-learn takes seconds
def test_logistic_regression_matches_scikit_learn_with_c_2():
    linear_model = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = (x @ [1.0, -2.0, 0.5, 0.0] + rng.normal(size=200) > 0).astype(int)

    coef, intercept = fit_logistic(x, y, c=2.0)

    ref = linear_model.LogisticRegression(C=2.0, tol=1e-10, max_iter=10_000).fit(x, y)
    assert coef == pytest.approx(ref.coef_[0], abs=1e-4)
    assert intercept == pytest.approx(ref.intercept_[0], abs=1e-4)


def _val_split(rng: np.random.Generator, n: int = 60) -> dict[str, np.ndarray]:
    """Unseen samples: confident zero-shot scores, flat logits; seen ones the other way round."""
    peaked = np.array([0.9, 0.05, 0.05]) + rng.uniform(0, 0.05, size=(n, 3))
    flat = np.full((n, 3), 1 / 3) + rng.uniform(0, 0.05, size=(n, 3))
    return {
        "unseen_zs": peaked,
        "unseen_logits": rng.normal(size=(n, 10)) * 0.1,
        "seen_zs": flat,
        "seen_logits": rng.normal(size=(n, 10)) * 0.1 + 8 * np.eye(10)[rng.integers(0, 10, n)],
    }


def test_fitted_gate_separates_seen_from_unseen_validation_samples():
    rng = np.random.default_rng(1)

    gate = fit_gate(**_val_split(rng))

    assert gate.holdout_accuracy == 1.0
    assert (gate.temperature, gate.threshold) == (2.0, 0.5)  # upstream's fixed values


def test_gate_search_picks_from_the_given_grids():
    rng = np.random.default_rng(2)

    temperatures = SEARCH_TEMPERATURES[:3]

    gate = fit_gate(**_val_split(rng), temperatures=temperatures, thresholds=SEARCH_THRESHOLDS)

    assert gate.temperature in temperatures and gate.threshold in SEARCH_THRESHOLDS
    assert SEARCH_THRESHOLDS[0] == 0.25 and SEARCH_THRESHOLDS[-1] == 0.74


def test_gate_round_trips_through_a_json_dict():
    gate = Gate(coef=(0.5, -1.0), intercept=0.25, temperature=3.0, threshold=0.4)

    assert Gate.from_dict(gate.to_dict()) == gate


def test_gzsl_evaluation_routes_and_scores_each_side():
    gate = Gate(coef=(0.0, 0.0, 10.0, 0.0), intercept=-5.0)  # seen when top softmax is large
    seen, unseen = [0, 1, 3], [2, 4]
    logits = np.array([[9.0, 0, 0, 0, 0], [0, 9.0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]])
    zs = np.array([[0.5, 0.5], [0.5, 0.5], [0.9, 0.1], [0.9, 0.1]])
    labels = np.array([0, 3, 2, 4])

    result = gzsl_evaluate(
        gate, zs_scores=zs, logits=logits, labels=labels, seen=seen, unseen=unseen
    )

    assert result.route_seen.tolist() == [True, True, False, False]
    assert result.pred.tolist() == [0, 1, 2, 2]
    assert (result.seen, result.unseen) == (0.5, 0.5)
    assert result.h == pytest.approx(0.5)


def test_gate_rejects_features_of_another_split_size():
    gate = Gate(coef=(1.0, 1.0), intercept=0.0)

    with pytest.raises(DataFormatError, match=r"(?s)2 weights.*fix:"):
        gate.p_seen(np.zeros((3, 4)))


def test_fit_gate_needs_validation_samples_of_both_kinds():
    rng = np.random.default_rng(0)
    data = _val_split(rng)
    data["seen_zs"], data["seen_logits"] = data["seen_zs"][:2], data["seen_logits"][:2]

    with pytest.raises(DataFormatError, match="need at least 5"):
        fit_gate(**data)


def test_nan_scores_are_rejected():
    with pytest.raises(DataFormatError, match="NaN"):
        gate_features(np.array([[np.nan, 0.5]]), np.zeros((1, 4)), temperature=2.0)


def test_labels_outside_the_split_are_rejected():
    gate = Gate(coef=(0.0,) * 4, intercept=0.0)

    with pytest.raises(DataFormatError, match=r"classes \[7\] are neither seen nor unseen"):
        gzsl_evaluate(
            gate, zs_scores=np.full((1, 2), 0.5), logits=np.zeros((1, 8)),
            labels=np.array([7]), seen=[0, 1], unseen=[2, 3],
        )  # fmt: skip
