"""`skelab bench`, run in-process: table, CSV/JSON/PNG outputs, the lab's flag aliases."""

from __future__ import annotations

import csv
import json

from skelab.cli.main import main

FAST = ["--batch", "2", "--steps", "1", "--warmup", "0", "--no-estimate"]


def test_bench_writes_csv_json_and_plot_with_positive_numbers(tmp_path, capsys):
    code = main(["bench", "mlp", "--window", "16", *FAST[:-1], "--out", str(tmp_path)])

    out = capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / "bench.csv").open()))
    data = json.loads((tmp_path / "bench.json").read_text())
    assert code == 0
    assert "samples/s" in out and "GFLOPs/sample" in out and "FLOPs leave out:" in out
    assert rows[0]["model"] == "mlp" and float(rows[0]["samples_per_s"]) > 0
    assert data[0]["estimated_peak_bytes"] > 0 and data[0]["params"] > 0
    assert (tmp_path / "bench.png").stat().st_size > 0


def test_bench_accepts_the_original_labs_flags(capsys):
    lab = ["--seq_len", "16", "--steps", "1", "--device", "cpu", "--amp"]
    code = main(["bench", "mlp", *lab, "--warmup", "0", "--batch", "2", "--no-estimate", "--json"])

    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert rows[0]["window"] == 16 and rows[0]["precision"] == "fp16"
    assert rows[0]["dtype"] == "float32"  # mixed precision is CUDA only


def test_bench_runs_a_preset_in_both_modes(capsys):
    code = main(["bench", "ntu60-xsub/mlp-joint", "--mode", "both", "--window", "16", *FAST,
                 "--json"])  # fmt: skip

    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["mode"] for r in rows] == ["train", "infer"]
    assert rows[0]["preset"] == "ntu60-xsub/mlp-joint"


def test_bench_names_an_unknown_model(capsys):
    code = main(["bench", "ctrgcm", *FAST])

    assert code == 2
    assert "did you mean 'ctrgcn'" in capsys.readouterr().err


def test_write_figures_rewrites_the_memory_file_and_the_readme_table(tmp_path, monkeypatch):
    from skelab.bench import figures

    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{figures.README_START}\nold\n{figures.README_END}\n")
    memory = tmp_path / "_memory.json"
    row = {
        "model": "mlp", "params": 10, "gflops_per_sample": 0.5, "cpu_train_samples_per_s": 0.04,
        "batch": 128, "window": 64, "fp32_gib": 0.6, "bf16_gib": 0.55,
        "fp32_largest_batch_8gib": 900, "bf16_largest_batch_8gib": 1200,
    }  # fmt: skip
    monkeypatch.setattr(figures, "memory_file", lambda: memory)
    monkeypatch.setattr(
        figures, "memory_table", lambda progress: {"format": 1, "generated_by": "x", "presets": {}}
    )
    monkeypatch.setattr(figures, "model_rows", lambda progress: [row])

    code = main(["bench", "--write-figures", "--readme", str(readme)])

    assert code == 0
    assert json.loads(memory.read_text())["format"] == 1
    text = readme.read_text()
    assert "| mlp | 0.00 M | 0.50 | 0.04 | 128 x 64 | 0.60 | 0.55 | 900 / 1200 |" in text
    assert "old" not in text and text.startswith("intro\n")
