"""Ensembles: fusion by hand, refusal of misaligned runs, weight search on held-out data only."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skelab.apps.ensemble import ensemble, search_weights
from skelab.cli.main import main
from skelab.engine.holdout import holdout_positions
from skelab.engine.metrics import save_scores
from skelab.errors import SkelabError


def _run(tmp_path, name, scores, labels, *, epoch=1, index=None, holdout=None, top1s=None):
    """A run folder with config.yaml, metrics.jsonl and scores files (no training)."""
    run = tmp_path / name.replace("/", "_")
    (run / "scores").mkdir(parents=True)
    benchmark = name.split("/")[0]  # the preset record load_config writes for a preset
    (run / "config.yaml").write_text(
        f"name: {name}\npreset:\n  benchmark: {benchmark}\ndata:\n  path: x.npz\n"
    )
    top1s = top1s or {epoch: 0.5}
    (run / "metrics.jsonl").write_text(
        "".join(json.dumps({"epoch": e, "test_top1": t}) + "\n" for e, t in top1s.items())
    )
    labels = np.asarray(labels)
    index = np.arange(len(labels)) if index is None else np.asarray(index)
    save_scores(run / "scores" / f"epoch_{epoch}_test.npz", np.asarray(scores), labels, index)
    if holdout is not None:
        h_scores, h_labels = holdout
        h_index = np.arange(len(h_labels))
        save_scores(run / "scores" / f"epoch_{epoch}_holdout.npz", h_scores, h_labels, h_index)
    return run


@pytest.mark.parametrize(("weights", "top1"), [((1.0, 0.5), 1.0), ((0.5, 1.0), 1 / 3)])
def test_fusion_is_the_weighted_sum_of_logits_computed_by_hand(tmp_path, weights, top1):
    labels = [0, 1, 2]
    a = _run(tmp_path, "b/m-joint", [[2, 1, 0], [2, 1, 0], [0, 0, 1]], labels)  # 2 of 3 right
    b = _run(tmp_path, "b/m-bone", [[0, 1, 0], [0, 3, 0], [1, 0, 0]], labels)  # 1 of 3 right

    result = ensemble([a, b], weights=weights)

    # (1, 0.5): [2, 1.5, 0] -> 0, [2, 2.5, 0] -> 1, [0.5, 0, 1] -> 2: all right.
    # (0.5, 1): [1, 2, 0] -> 1, [1, 3.5, 0] -> 1, [1, 0, 0.5] -> 0: one right.
    assert result.top1 == pytest.approx(top1)
    assert result.top5 == 1.0 and result.weights == list(weights)
    assert result.member_top1 == [pytest.approx(2 / 3), pytest.approx(1 / 3)]


def test_the_best_epoch_is_used_by_default(tmp_path):
    run = _run(
        tmp_path, "b/m-joint", [[1, 0]], [0], epoch=2, top1s={1: 0.2, 2: 0.9, 3: 0.9}
    )  # epochs 2 and 3 tie: the earlier one, as best.pt keeps it
    other = _run(tmp_path, "b/m-bone", [[0, 1]], [0], epoch=2, top1s={2: 0.1})

    result = ensemble([run, other])

    assert [r.epoch for r in result.runs] == [2, 2]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"index": [0, 2, 1]}, "sample order"),
        ({"scores": np.zeros((3, 4))}, "4 classes vs 3"),
        ({"name": "other/m-bone"}, "split 'other'"),
    ],
)
def test_misaligned_runs_are_refused(tmp_path, change, message):
    scores = np.eye(3)
    a = _run(tmp_path, "b/m-joint", scores, [0, 1, 2])
    b = _run(
        tmp_path,
        change.get("name", "b/m-bone"),
        change.get("scores", scores),
        [0, 1, 2],
        index=change.get("index"),
    )

    with pytest.raises(SkelabError, match=rf"(?s)cannot be fused: .*{message}.*fix:"):
        ensemble([a, b])


def test_search_picks_weights_on_the_holdout_scores_never_the_test_scores(tmp_path):
    # On the held-out samples only run A is right; on the test samples only run B is right.
    # A search that read the test scores would pick (0, 1); one on held-out data picks (x, 0).
    right, wrong = np.eye(2) * 5, np.eye(2)[::-1] * 5
    labels = [0, 1]
    a = _run(tmp_path, "b/m-joint", wrong, labels, holdout=(right, labels))
    b = _run(tmp_path, "b/m-bone", right, labels, holdout=(wrong, labels))

    result = ensemble([a, b], search=True)

    assert result.weights[1] == 0.0 and result.weights[0] > 0
    assert result.holdout_top1 == 1.0 and result.top1 == 0.0
    assert result.searched and result.holdout_samples == 2


def test_search_needs_runs_trained_with_a_holdout(tmp_path):
    a = _run(tmp_path, "b/m-joint", np.eye(2), [0, 1])
    b = _run(tmp_path, "b/m-bone", np.eye(2), [0, 1])

    with pytest.raises(SkelabError, match=r"(?s)no holdout scores.*data\.holdout=0\.05"):
        ensemble([a, b], search=True)


def test_search_weights_takes_the_first_best_grid_point():
    from skelab.apps.ensemble import RunScores

    s = RunScores(
        None, "r", "b", 1, "holdout", np.eye(2, dtype=np.float32), np.arange(2), np.arange(2)
    )

    weights, top1 = search_weights([s, s])

    assert weights == [0.0, 0.2] and top1 == 1.0


def test_cli_prints_top1_and_top5_as_fractions(tmp_path, capsys):
    labels = [0, 1, 2]
    a = _run(tmp_path, "b/m-joint", np.eye(3), labels)
    b = _run(tmp_path, "b/m-bone", np.eye(3), labels)

    assert main(["ensemble", str(a), str(b), "--weights", "0.6,0.4", "--json"]) == 0

    out = json.loads(capsys.readouterr().out)
    assert out["top1"] == 1.0 and out["top5"] == 1.0 and out["weights"] == [0.6, 0.4]
    assert out["weights_from"] == "given" and "best checkpoint" in out["scores"]


def test_holdout_positions_are_fixed_by_size_and_fraction_only():
    a, b = holdout_positions(100, 0.1), holdout_positions(100, 0.1)

    assert len(a) == 10 and np.array_equal(a, b) and np.all(np.diff(a) > 0)
    assert len(holdout_positions(100, 0.0)) == 0
