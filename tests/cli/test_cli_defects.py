"""The command-line defects of issue 16, one test each (each failed before its fix)."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import numpy as np
import pytest

from skelab.cli.main import main


def _tiny_npz(path, *, train=12, test=6, classes=3):
    rng = np.random.default_rng(0)

    def split(n):
        y = np.arange(n) % classes
        x = 0.2 * rng.standard_normal((n, 3, 12, 25, 2)).astype(np.float32)
        x[:, 0] += y[:, None, None, None]
        return x, y.astype(np.int64)

    (xtr, ytr), (xte, yte) = split(train), split(test)
    np.savez(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, num_classes=np.int64(classes))
    return path


def _tiny_yaml(path, npz, *, model="mlp", classes=3):
    options = "{segments: 2, hidden: [8]}" if model == "mlp" else "{}"
    path.write_text(
        f"extends: ntu60-xsub/{model}-joint\n"
        f"model:\n  options: {options}\n"
        f"data:\n  path: {npz}\n  num_classes: {classes}\n  window: 8\n"
        "train:\n  epochs: 1\n  batch_size: 4\n  test_batch_size: 4\n  device: cpu\n"
    )
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("defects")
    cfg = _tiny_yaml(root / "tiny.yaml", _tiny_npz(root / "tiny.npz"))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["train", str(cfg), "--out", str(root / "run"), "--json"]) == 0
    (root / "train.json").write_text(out.getvalue())
    return root / "run"


def test_train_json_is_one_object_of_finite_figures(run_dir):
    result = json.loads((run_dir.parent / "train.json").read_text(), parse_constant=pytest.fail)

    assert result["run"] == str(run_dir) and result["epochs"] == 1 and result["best_epoch"] == 1
    assert 0 <= result["best_top1"] <= 1 and result["select"] == "test"


def test_export_out_into_a_folder_is_refused_and_leaves_no_partial_file(run_dir, tmp_path, capsys):
    folder = tmp_path / "exports"
    folder.mkdir()

    code = main(["export", str(run_dir), "--format", "torchscript", "--out", str(folder)])

    assert code == 2
    assert "is a folder; a file name is needed" in capsys.readouterr().err
    assert list(tmp_path.rglob("*")) == [folder]  # no hidden .partial beside or inside it


def test_export_refuses_to_replace_a_file_without_overwrite(run_dir, tmp_path, capsys):
    out = tmp_path / "m.ts.pt"
    out.write_text("mine")

    code = main(["export", str(run_dir), "--format", "torchscript", "--out", str(out)])

    assert code == 2 and out.read_text() == "mine"
    assert "--overwrite" in capsys.readouterr().err


# Argument errors that must be reported before torch is imported (they used to take 2-5 s, or
# ended in a traceback). One interpreter runs them all, then says whether torch was loaded.
BAD_ARGUMENTS = [
    (["bench", "mlp", "--batch", "0"], "--batch: must be between 1"),
    (["bench", "mlp", "--steps", "0"], "--steps: must be between 1"),
    (["fit", "--memory", "lots"], "--memory: 'lots' is not a memory size"),
    (["train", "x.yaml", "--out", "{file}"], "is a file; a folder is needed"),
    (["export", "run", "--format", "onnx", "--out", "{folder}"], "is a folder; a file name"),
    (["viz", "sample", "x.npz", "--index", "0", "--out", "/proc/skelab/x.gif"], "not a writable"),
    (["viz", "sample", "x.npz", "--index", "0", "--out", "{file}/x.gif"], "not a writable"),
    (["data", "prepare-raw", "{folder}", "/proc/skelab/out", "--dataset", "ntu60", "--split",
      "xsub"], "OUT_DIR: cannot write"),
    (["data", "prepare-raw", "{folder}", "{folder}/out", "--dataset", "ntu60", "--split", "xsub",
      "--kaggle-npz", "{folder}"], "--kaggle-npz"),
    (["data", "prepare-raw", "{folder}", "{folder}/out", "--dataset", "ntu60", "--split", "xsub",
      "--workers", "0"], "--workers: must be between 1"),
    (["data", "prepare-raw", "{folder}", "{folder}/out", "--dataset", "ntu60", "--split", "xsub",
      "--workers", "-3"], "--workers: must be between 1"),
    (["train", "ntu60-xsub/mlp-joint", "--drop-head"], "train.drop_head: drops the classifier"),
    (["train", "nope.yaml"], "no preset or file named 'nope.yaml'"),
    (["eval", "nope"], "nope does not exist"),
    (["predict", "nope", "x.npz"], "nope does not exist"),
    (["export", "nope", "--format", "onnx"], "nope does not exist"),
]  # fmt: skip


def test_argument_errors_are_printed_before_torch_is_imported(tmp_path):
    file = tmp_path / "plain.txt"
    file.write_text("x")
    cases = [[a.format(file=file, folder=tmp_path) for a in argv] for argv, _ in BAD_ARGUMENTS]
    script = (
        "import sys\nfrom skelab.cli.main import main\n"
        f"codes = [main(argv) for argv in {cases!r}]\n"
        "print(codes, 'torch' in sys.modules)\n"
    )

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=tmp_path, timeout=120)  # fmt: skip

    codes, torch_loaded = done.stdout.rsplit(" ", 1)
    assert torch_loaded.strip() == "False", done.stderr
    assert all(code in (1, 2) for code in eval(codes)), done.stderr
    for _, message in BAD_ARGUMENTS:
        assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.txt"]


def test_drop_head_without_weights_is_an_error(tmp_path, capsys):
    cfg = _tiny_yaml(tmp_path / "t.yaml", _tiny_npz(tmp_path / "t.npz"))

    code = main(["train", str(cfg), "--out", str(tmp_path / "run"), "--drop-head"])

    assert code == 2
    assert "train.drop_head: drops the classifier of train.weights" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow  # two training runs
def test_drop_head_starts_stgcn_lite_from_weights_of_another_class_count(tmp_path, capsys):
    first = _tiny_yaml(tmp_path / "a.yaml", _tiny_npz(tmp_path / "a.npz"), model="stgcn-lite")
    assert main(["train", str(first), "--out", str(tmp_path / "a"), "--no-progress"]) == 0
    second = _tiny_yaml(
        tmp_path / "b.yaml", _tiny_npz(tmp_path / "b.npz", classes=4), model="stgcn-lite",
        classes=4,
    )  # fmt: skip

    code = main(["train", str(second), "--out", str(tmp_path / "b"), "--no-progress",
                 "--weights", str(tmp_path / "a"), "--drop-head"])  # fmt: skip

    assert code == 0, capsys.readouterr().err
    assert "keys skipped: fcn.weight, fcn.bias" in (tmp_path / "b" / "config.yaml").read_text()


def test_training_on_an_empty_test_split_is_refused_before_any_epoch(tmp_path, capsys):
    npz = tmp_path / "no_test.npz"
    x = np.ones((8, 3, 12, 25, 2), np.float32)
    np.savez(npz, x_train=x, y_train=np.arange(8) % 3, x_test=x[:0],
             y_test=np.zeros(0, np.int64), num_classes=np.int64(3))  # fmt: skip
    cfg = _tiny_yaml(tmp_path / "t.yaml", npz)

    code = main(["train", str(cfg), "--out", str(tmp_path / "run"), "--no-progress"])

    err = capsys.readouterr().err
    assert code != 0
    assert "the test split is empty" in err and "Traceback" not in err
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


def test_import_arrays_missing_edges_file_is_one_error_line(tmp_path, capsys):
    arrays = tmp_path / "arrays"
    arrays.mkdir()
    np.save(arrays / "c0.npy", np.zeros((10, 5, 3), np.float32))
    (tmp_path / "labels.csv").write_text("file,label,split\nc0.npy,0,train\n")

    edges = ["--edges", str(tmp_path / "nope.txt"), "--center", "0"]
    code = main(["data", "import-arrays", str(arrays), str(tmp_path / "labels.csv"),
                 str(tmp_path / "out"), *edges])  # fmt: skip

    err = capsys.readouterr().err
    assert code != 0 and "nope.txt: no such file" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("rows", "line"),
    [("c0.npy,0,train\nc1.npy\n", 3), ("c0.npy,0,train\nc9.npy,1,test\n", 3)],
    ids=["short row", "missing file"],
)
def test_import_arrays_bad_csv_row_is_named_without_a_traceback(tmp_path, capsys, rows, line):
    arrays = tmp_path / "arrays"
    arrays.mkdir()
    for i in range(2):
        np.save(arrays / f"c{i}.npy", np.zeros((10, 17, 3), np.float32))
    (tmp_path / "labels.csv").write_text("file,label,split\n" + rows)

    code = main(["data", "import-arrays", str(arrays), str(tmp_path / "labels.csv"),
                 str(tmp_path / "out"), "--layout", "coco17"])  # fmt: skip

    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert "labels.csv" in err and str(line) in err
    assert not (tmp_path / "out").exists()
