"""`skelab data inspect | convert | prepare`, run in-process."""

from __future__ import annotations

import json

import numpy as np

from skelab.cli.main import main


def _npz(path, nan=False):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 20, 150)).astype(np.float32)
    x[:, 15:] = 0
    x[:3, :, 75:] = 0
    if nan:
        x[2, 3, 4] = np.nan
    y = np.eye(60, dtype=np.float32)[[0, 1, 1, 2, 3, 3]]
    np.savez(path, x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
    return path


def test_inspect_json_reports_counts_lengths_and_persons(tmp_path, capsys):
    path = _npz(tmp_path / "a.npz")

    code = main(["data", "inspect", str(path), "--json"])

    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["ok"] and out["layout"] == "kaggle"
    train = out["splits"]["train"]
    assert train["num_samples"] == 6 and train["label_histogram"][:4] == [1, 2, 1, 2]
    assert train["valid_length_percentiles"]["p50"] == 15
    assert train["single_person_share"] == 0.5
    assert out["keys"]["x_train"]["shape"] == [6, 20, 150]


def test_inspect_reports_nan_and_fails(tmp_path, capsys):
    code = main(["data", "inspect", str(_npz(tmp_path / "n.npz", nan=True))])

    text = capsys.readouterr().out
    assert code == 1 and "NaN/inf samples: 1 (first [2])" in text


def test_convert_round_trip_and_prepare(tmp_path, capsys):
    src = _npz(tmp_path / "a.npz")

    assert main(["data", "convert", str(src), str(tmp_path / "f.npz"), "--to", "5d"]) == 0
    assert (
        main(
            ["data", "convert", str(tmp_path / "f.npz"), str(tmp_path / "b.npz"), "--to", "kaggle"]
        )
        == 0
    )
    assert main(["data", "prepare", str(tmp_path / "b.npz"), str(tmp_path / "p")]) == 0

    a, b = np.load(src), np.load(tmp_path / "b.npz")
    assert all(np.array_equal(a[k], b[k]) for k in a.files)
    assert (tmp_path / "p" / "meta.json").exists()


def test_bad_file_gives_one_error_line_with_fix(tmp_path, capsys):
    path = tmp_path / "bad.npz"
    np.savez(path, x_train=np.zeros((2, 5, 75), np.float32))

    code = main(["data", "inspect", str(path)])

    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"skelab: error: {path}: key 'x_train'") or "key 'y_train'" in err
    assert "fix:" in err
