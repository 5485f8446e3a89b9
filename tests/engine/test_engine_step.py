"""The shared training step: precision helpers, index_t routing, loss terms and chunking."""

from __future__ import annotations

import copy

import torch
from test_engine_support import AuxNet, IndexTNet, PoolNet, tiny_data

from skelab.engine.step import amp_dtype, autocast, forward, make_scaler, train_step


def _step(model, x, y, **kw):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    scaler = make_scaler(None, torch.device("cpu"))
    args = {"needs_index_t": False, "dtype": None, "label_smoothing": 0.0, "clip_grad": 0.0}
    args.update(kw)
    return train_step(model, opt, scaler, x, y, **args)


def test_amp_is_float32_on_the_cpu_and_the_scaler_is_off(caplog):
    cpu = torch.device("cpu")

    assert amp_dtype("bf16", cpu) is None and "CUDA only" in caplog.text
    assert amp_dtype("none", cpu) is None
    assert not make_scaler(torch.float16, cpu).is_enabled()
    with autocast(cpu, None):
        assert not torch.is_autocast_enabled("cpu")


def test_forward_gives_index_t_only_to_models_that_need_it():
    x, _ = tiny_data(4, 4, 8)
    index_t = torch.arange(8.0).expand(4, 8)

    assert forward(IndexTNet(), x, index_t, needs_index_t=True, dtype=None).shape == (4, 4)
    assert forward(PoolNet(), x, index_t, needs_index_t=False, dtype=None).shape == (4, 4)


def test_step_returns_each_loss_term_their_sum_and_the_correct_count():
    x, y = tiny_data(8, 4, 8)

    out = _step(AuxNet(), x, y, chunk_size=8)

    assert set(out) == {"ce", "weight_norm", "loss", "correct"}
    torch.testing.assert_close(out["loss"], out["ce"] + out["weight_norm"])
    assert 0 <= int(out["correct"]) <= 8 and not out["loss"].requires_grad


def test_chunked_step_updates_the_weights_as_one_full_batch():
    torch.manual_seed(0)
    x, y = tiny_data(8, 4, 8)
    full, chunked = PoolNet(), None
    chunked = copy.deepcopy(full)

    _step(full, x, y, chunk_size=8, label_smoothing=0.1)
    _step(chunked, x, y, chunk_size=3, label_smoothing=0.1)

    for p, q in zip(full.parameters(), chunked.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


def test_clipping_bounds_the_update_by_the_gradient_norm():
    x, y = tiny_data(8, 4, 8)
    model = PoolNet()
    before = [p.detach().clone() for p in model.parameters()]

    _step(model, x, y * 0 + 3, chunk_size=8, clip_grad=1e-3)

    with torch.no_grad():
        moved = torch.sqrt(
            sum(((p - b) ** 2).sum() for p, b in zip(model.parameters(), before, strict=True))
        )
    assert float(moved) <= 0.1 * 1e-3 * (1 + 1e-4)  # lr x max gradient norm
