"""`skelab viz run`: four figures and a self-contained report from a run folder."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from skelab.cli.main import main
from skelab.viz.report import most_confused
from skelab.viz.runplots import confusion_matrix

PNG = b"\x89PNG\r\n\x1a\n"


def _player_samples(page: str) -> list[dict]:
    m = re.search(r'<script type="application/json" id="player-data">(.*?)</script>', page, re.S)
    assert m is not None
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_viz_run_writes_four_pngs_and_a_self_contained_report(tiny_run, capsys):
    code = main(["viz", "run", str(tiny_run), "--json"])

    assert code == 0
    paths = json.loads(capsys.readouterr().out)
    assert paths["report"] == str(tiny_run / "viz" / "report.html")
    for name in ("curves", "confusion", "per_class", "confused_pairs"):
        data = (tiny_run / "viz" / f"{name}.png").read_bytes()
        assert data.startswith(PNG) and len(data) > 2000, name
        assert paths[name].endswith(f"{name}.png")
    page = (tiny_run / "viz" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # nothing fetched
    assert "model:" in page and "mlp" in page  # the config
    assert "scores/epoch_2_test.npz" in page  # epoch 2 has the best test top-1
    samples = _player_samples(page)
    assert [(s["class_name"], s["predicted"]) for s in samples][0] == ("class 1", "class 3")
    assert np.asarray(samples[0]["frames"]).shape == (12, 2, 25, 3)  # (T, M, V, xyz)


def test_viz_run_without_its_data_asks_for_data(tiny_run, capsys):
    (tiny_run.parent / "tiny.npz").unlink()

    code = main(["viz", "run", str(tiny_run)])

    assert code == 1
    assert "--data PATH" in capsys.readouterr().err


def test_most_confused_takes_the_surest_clip_of_the_most_frequent_pair():
    labels = np.array([0, 1, 1, 1, 2])
    scores = np.zeros((5, 3), np.float32)
    scores[0, 0] = 1  # right
    scores[1, 2] = 1  # 1 -> 2
    scores[2, 2] = 5  # 1 -> 2, surer
    scores[3, 0] = 1  # 1 -> 0
    scores[4, 2] = 1  # right
    index = np.array([10, 11, 12, 13, 14])

    picks = most_confused(scores, labels, index, k=5)

    assert [(pos, pred) for pos, pred, _ in picks] == [(12, 2), (13, 0)]
    assert picks[0][2] == pytest.approx(np.exp(5) / (np.exp(5) + 2))


def test_confusion_matrix_is_rebuilt_exactly_from_the_class_statistics():
    from skelab.engine.summary import summarize_scores

    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, 50)
    scores = rng.standard_normal((50, 4))
    direct = np.zeros((4, 4), np.int64)
    np.add.at(direct, (labels, scores.argmax(1)), 1)

    rebuilt = confusion_matrix(summarize_scores(scores, labels, ["a", "b", "c", "d"]))

    np.testing.assert_array_equal(rebuilt, direct)
