"""`skelab demo --quick`: the whole first-run path (synth, prepare, train, eval, summary)."""

from __future__ import annotations

from skelab.cli.main import main


def test_quick_demo_trains_evaluates_and_says_where_the_run_lives(tmp_path, capsys):
    out = tmp_path / "demo"

    code = main(["demo", "--quick", "--out", str(out), "--no-progress"])

    text = capsys.readouterr().out
    assert code == 0
    assert "test top-1" in text and "chance 8.3%" in text and "hardest classes" in text
    assert (out / "run/checkpoints/best.pt").is_file()
    assert (out / "run/scores/eval_best_test.npz").is_file()
    assert str(out / "run") in text


def test_demo_refuses_a_folder_it_did_not_make(tmp_path, capsys):
    (tmp_path / "mine.txt").write_text("keep me")

    code = main(["demo", "--quick", "--out", str(tmp_path)])

    assert code == 1 and "not made by `skelab demo`" in capsys.readouterr().err
    assert (tmp_path / "mine.txt").read_text() == "keep me"
