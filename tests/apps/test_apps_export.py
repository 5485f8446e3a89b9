"""Export: every registered model that claims support gives PyTorch's logits from the file."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from skelab.apps.export import FORMATS, export_model, input_shape, unsupported_reason
from skelab.cli.main import main
from skelab.models import build, get_card, list_models

# Small but valid builds: SkateFormer's partitions need a window that is a multiple of 64;
# DeGCN runs on 64 frames only.
WINDOW = {"skateformer": 64, "degcn": 64}
# Exported in the default run (two models to ONNX, one to TorchScript); the rest are slow.
FAST = {("mlp", "onnx"), ("stgcn-lite", "onnx"), ("mlp", "torchscript")}


def _cases() -> list:
    cases = []
    for name in list_models():
        for fmt in FORMATS:
            if unsupported_reason(name, fmt):
                continue  # those say why instead: see the unsupported-model test
            marks = [] if (name, fmt) in FAST else [pytest.mark.slow]
            cases.append(pytest.param(name, fmt, marks=marks, id=f"{name}-{fmt}"))
    return cases


def _calibrated(name: str) -> tuple[nn.Module, tuple[int, ...]]:
    """A model whose BatchNorm statistics come from one batch of data-like inputs, so eval
    logits have the size of a trained model's (fresh statistics give logits of 1e4 and more)."""
    window = WINDOW.get(name, 16)
    model = build(name, num_classes=7, window=window)
    shape = input_shape(name, {}, window)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
            module.momentum = None  # cumulative average: one batch sets the statistics
    x = torch.randn(8, *shape)
    with torch.no_grad():
        if get_card(name).needs_index_t:
            model.train()(x, index_t=torch.linspace(-1, 1, window).expand(8, window))
        else:
            model.train()(x)
    return model.eval(), shape


@pytest.mark.parametrize(("name", "fmt"), _cases())
def test_exported_model_gives_pytorch_logits_within_1e4(name, fmt, tmp_path):
    """1e-4 absolute on logits up to 1, 1e-4 relative to the largest logit beyond (FreqMixFormer's
    calibrated logits reach about 36, and ONNX Runtime differs there by about 5e-4)."""
    model, shape = _calibrated(name)

    result = export_model(
        model,
        tmp_path / f"m.{fmt}",
        fmt=fmt,
        model_name=name,
        shape=shape,
        needs_index_t=get_card(name).needs_index_t,
    )

    assert result.max_abs_diff <= 1e-4 * max(1.0, result.max_abs_logit), result
    assert 1e-3 < result.max_abs_logit < 1e3  # the comparison is on logits of a sensible size
    assert result.path.stat().st_size > 0


def _checkpoint(tmp_path, *, with_config: bool = True):
    from skelab.engine.presets import load_config

    cfg = load_config("ntu60-xsub/mlp-joint", ["data.window=16", "data.num_classes=5"])
    from skelab.engine.build import build_model

    model = build_model(cfg)
    path = tmp_path / "best.pt"
    torch.save(
        {"model": model.state_dict()} | ({"config": cfg.to_dict()} if with_config else {}), path
    )
    return path, model


def test_export_command_writes_an_onnx_file_with_the_checkpoints_weights(tmp_path, capsys):
    import onnxruntime as ort

    weights, model = _checkpoint(tmp_path)

    code = main(["export", str(weights), "--format", "onnx", "--json"])

    assert code == 0
    report = json.loads(capsys.readouterr().out)  # stdout holds the result only
    assert report["ok"] and report["path"] == str(tmp_path / "best.onnx")
    x = torch.randn(4, 3, 16, 25, 2)
    got = ort.InferenceSession(report["path"]).run(["logits"], {"x": x.numpy()})[0]
    torch.testing.assert_close(torch.from_numpy(got), model.eval()(x), atol=1e-5, rtol=0)


def test_export_command_refuses_weights_without_a_config(tmp_path, capsys):
    weights, _ = _checkpoint(tmp_path, with_config=False)

    code = main(["export", str(weights), "--format", "onnx"])

    assert code == 1
    err = capsys.readouterr().err
    assert "carries no config" in err and "--config" in err


def test_export_command_says_why_a_model_cannot_be_exported(tmp_path, capsys, monkeypatch):
    import skelab.apps.export as export

    monkeypatch.setitem(export.UNSUPPORTED, "mlp", {"onnx": "a reason the test gives"})
    weights, _ = _checkpoint(tmp_path)

    code = main(["export", str(weights), "--format", "onnx"])

    assert code == 1
    assert "mlp cannot be exported to onnx: a reason the test gives" in capsys.readouterr().err
