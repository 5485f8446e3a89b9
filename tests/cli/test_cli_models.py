"""`skelab models` and `skelab bench`, run in-process."""

from __future__ import annotations

import json

import torch

from skelab.cli.main import main
from skelab.models import build


def test_models_lists_every_model_with_parameter_count(capsys):
    code = main(["models"])

    out = capsys.readouterr().out
    assert code == 0
    assert "stgcn" in out and "3,098,832" in out


def test_models_show_prints_the_card(capsys):
    code = main(["models", "show", "stgcn"])

    out = capsys.readouterr().out
    assert code == 0
    assert "AAAI" in out and "yysijie/st-gcn" in out


def test_models_import_converts_an_upstream_checkpoint(golden_dir, tmp_path, capsys):
    out_file = tmp_path / "stgcn.pt"

    code = main(
        ["models", "import", "stgcn", str(golden_dir / "stgcn_ntu60.state_dict.pt"), "--out",
         str(out_file)]
    )  # fmt: skip

    assert code == 0
    saved = torch.load(out_file, weights_only=True)
    model = build("stgcn")
    model.load_state_dict(saved["model"])
    ref = torch.load(golden_dir / "stgcn_ntu60.state_dict.pt", weights_only=True)
    assert torch.equal(model.fcn.weight, ref["fcn.weight"])


def test_models_import_of_a_mismatched_checkpoint_fails_with_the_keys(golden_dir, tmp_path, capsys):
    code = main(
        ["models", "import", "stgcn", str(golden_dir / "stgcn_ntu60.state_dict.pt"), "--out",
         str(tmp_path / "x.pt"), "--set", "num_classes=120"]
    )  # fmt: skip

    err = capsys.readouterr().err
    assert code == 1
    assert "fcn.weight: checkpoint (60, 256, 1, 1) vs model (120, 256, 1, 1)" in err
    assert not (tmp_path / "x.pt").exists()


def test_models_import_of_a_truncated_file_is_a_clear_error(golden_dir, tmp_path, capsys):
    broken = tmp_path / "broken.pt"
    broken.write_bytes((golden_dir / "stgcn_ntu60.state_dict.pt").read_bytes()[:5000])

    code = main(["models", "import", "stgcn", str(broken), "--out", str(tmp_path / "x.pt")])

    err = capsys.readouterr().err
    assert code == 1
    assert "broken.pt: cannot read as a PyTorch checkpoint" in err


def test_bench_times_a_model_and_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"

    code = main(["bench", "mlp", "--batch", "4", "--window", "16", "--repeats", "1",
                 "--warmup", "0", "--json", str(out)])  # fmt: skip

    rows = json.loads(out.read_text())
    assert code == 0
    assert rows[0]["model"] == "mlp" and rows[0]["samples_per_s"] > 0
    assert rows[0]["gflops_per_sample"] > 0
