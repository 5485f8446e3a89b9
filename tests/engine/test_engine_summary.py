"""Per-class summary: best and hardest classes by name, most frequent confusions."""

from __future__ import annotations

import numpy as np

from skelab.engine.metrics import topk_accuracy
from skelab.engine.summary import summarize_scores


def test_summary_ranks_classes_and_counts_confusions():
    labels = np.array([0, 0, 1, 1, 2, 2])
    pred = np.array([0, 0, 1, 2, 1, 1])  # class 0 perfect, 1 half, 2 always taken for 1
    scores = np.eye(3, dtype=np.float32)[pred]

    s = summarize_scores(scores, labels, ("walk", "sit", "stand"))

    assert s.best(1) == [("walk", 1.0, 2)]
    assert s.worst(1) == [("stand", 0.0, 2)]
    assert s.confusions[0] == (2, 1, 2)
    assert "2x  stand -> sit" in s.to_text()


def test_topk_accuracy_counts_a_label_among_the_k_highest():
    scores = np.array([[0.1, 0.5, 0.4], [0.9, 0.05, 0.05]], np.float32)
    labels = np.array([2, 0])

    assert topk_accuracy(scores, labels, 1) == 0.5
    assert topk_accuracy(scores, labels, 2) == 1.0
