"""`skelab fit`'s decisions: accumulation first, then bf16, then a named recipe change."""

from __future__ import annotations

import pytest

from skelab.bench import fit as fitmod
from skelab.bench.fit import fit_config
from skelab.bench.memory import GIB, MemoryProbe, model_config
from skelab.bench.units import parse_bytes
from skelab.engine.presets import load_config
from skelab.errors import ConfigError


def _probe(precision: str, per_sample_mib: float, fixed_mib: float = 100) -> MemoryProbe:
    return MemoryProbe(
        model="ctrgcn",
        precision=precision,
        optimizer="sgd+momentum",
        window=64,
        params=1_000_000,
        weights_bytes=int(fixed_mib * 2**20),
        grads_bytes=0,
        optimizer_bytes=0,
        activation_fixed=0.0,
        activation_per_sample=per_sample_mib * 2**20,
        transient_fixed=0.0,
        transient_per_sample=0.0,
        optimizer_transient_fixed=0.0,
        optimizer_transient_per_sample=0.0,
        batchnorm=True,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8GiB", 8 * GIB), ("8 GB", 8_000_000_000), ("512MiB", 512 * 2**20), ("2", 2 * GIB)],
)
def test_parse_bytes_reads_sizes_with_units(text, expected):
    assert parse_bytes(text) == expected


@pytest.mark.parametrize("text", ["eight", "8XB", "-1GiB", "0"])
def test_parse_bytes_rejects_what_is_not_a_size(text):
    with pytest.raises(ConfigError, match=r"(?s)--memory.*fix:"):
        parse_bytes(text)


def test_fit_keeps_the_batch_by_accumulating_forward_passes(monkeypatch):
    monkeypatch.setattr(fitmod, "probe_memory", lambda cfg, precision: _probe(precision, 100))
    cfg = load_config("ntu60-xsub/ctrgcn-joint")  # batch 64, one forward pass

    row = fit_config(cfg, budget_bytes=4 * GIB, preset="ntu60-xsub/ctrgcn-joint")

    # 4 GiB less 10%, less 0.5 GiB context and 100 MiB weights: 3,074 MiB, 30 samples of
    # 100 MiB; the largest divisor of 64 is 16, so 4 passes of 16 make the batch of 64.
    assert (row.batch, row.forward_batch, row.largest_forward_batch) == (64, 16, 30)
    assert row.recipe_kept and row.precision == "fp32"
    assert "--set train.forward_batch_size=16" in row.flags
    assert "BatchNorm statistics over 16" in row.note
    assert row.estimated_bytes <= 0.9 * 4 * GIB


def test_fit_switches_to_bf16_before_changing_the_recipe(monkeypatch):
    sizes = {"fp32": 8000, "bf16": 1000}
    monkeypatch.setattr(
        fitmod, "probe_memory", lambda cfg, precision: _probe(precision, sizes[precision])
    )
    cfg = load_config("ntu60-xsub/ctrgcn-joint")

    row = fit_config(cfg, budget_bytes=4 * GIB, preset="ntu60-xsub/ctrgcn-joint")

    assert row.precision == "bf16" and row.recipe_kept
    assert "--set train.precision=bf16" in row.flags
    assert row.note.startswith("fp32 does not fit")


def test_fit_names_the_recipe_change_when_only_a_lowmem_preset_fits(monkeypatch):
    def probe(cfg, precision):
        return _probe(precision, 100 if cfg.data.window < 64 else 50_000)

    monkeypatch.setattr(fitmod, "probe_memory", probe)
    cfg = load_config("ntu60-xsub/skateformer-joint")

    row = fit_config(cfg, budget_bytes=4 * GIB, preset="ntu60-xsub/skateformer-joint")

    assert not row.recipe_kept
    assert row.preset == "ntu60-xsub/skateformer-lowmem-joint"
    assert "only a recipe change fits" in row.note and "window 64->48" in row.note


def test_fit_says_when_nothing_fits(monkeypatch):
    monkeypatch.setattr(fitmod, "probe_memory", lambda cfg, precision: _probe(precision, 1e6))

    row = fit_config(model_config("mlp"), budget_bytes=GIB, preset="")

    assert row.batch == 0 and row.forward_batch == 0 and not row.recipe_kept
    assert "does not fit" in row.note


def test_fit_answers_a_real_model_within_budget():
    row = fit_config(model_config("mlp"), budget_bytes=GIB, preset="ntu60-xsub/mlp-joint")

    assert row.forward_batch == row.batch == 128
    assert 0 < row.estimated_bytes <= 0.9 * GIB
