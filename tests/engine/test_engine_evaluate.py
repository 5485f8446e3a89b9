"""`evaluate` as a free function: order, accuracies, captured features; `evaluate_weights`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_engine_support import PoolNet, TinyBatch, tiny_config, tiny_data, tiny_loaders

from skelab.engine.build import build_loaders, build_model
from skelab.engine.evaluate import evaluate, evaluate_weights
from skelab.engine.metrics import load_scores
from skelab.engine.trainer import Trainer


class _Reversed:
    """Test batches in reverse sample order, to check that scores come back sorted."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size

    def set_epoch(self, epoch):
        pass

    def __len__(self):
        return -(-len(self.y) // self.batch_size)

    def __iter__(self):
        order = torch.arange(len(self.y)).flip(0)
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            yield TinyBatch(self.x[idx], self.y[idx], idx)


def test_scores_come_back_sorted_by_sample_index_with_their_labels():
    x, y = tiny_data(10, 4, 8)
    model = PoolNet().eval()

    result = evaluate(model, _Reversed(x, y, 3), needs_index_t=False, num_classes=4)

    np.testing.assert_array_equal(result.index, np.arange(10))
    np.testing.assert_array_equal(result.labels, y.numpy())
    with torch.no_grad():
        np.testing.assert_allclose(result.scores, model(x).numpy(), rtol=1e-6, atol=1e-6)
    assert result.top1 == pytest.approx(float((model(x).argmax(1) == y).float().mean()))
    assert result.top5 == 1.0 and result.features is None


def test_capture_returns_the_classifier_input_in_score_order():
    x, y = tiny_data(10, 4, 8)
    model = PoolNet()

    result = evaluate(
        model, _Reversed(x, y, 4), needs_index_t=False, num_classes=4, capture=model.fc
    )

    expected = x.mean(dim=(2, 4)).reshape(10, -1).numpy()
    assert result.features is not None and result.features.shape == (10, 75)
    np.testing.assert_allclose(result.features, expected, rtol=1e-6, atol=1e-6)
    assert not model.fc._forward_pre_hooks  # the hook is removed afterwards


def test_evaluate_restores_training_mode():
    x, y = tiny_data(4, 4, 8)
    model = PoolNet().train()

    evaluate(model, _Reversed(x, y, 4), needs_index_t=False, num_classes=4)

    assert model.training


def test_evaluate_weights_scores_the_test_split_and_writes_them(tmp_path):
    x, y = tiny_data(24, 4, 8)
    xt, yt = tiny_data(12, 4, 8, seed=1)
    path = tmp_path / "tiny.npz"
    arrays = {"x_train": x, "y_train": y, "x_test": xt, "y_test": yt}
    np.savez(path, **{k: v.numpy() for k, v in arrays.items()}, num_classes=np.int64(4))
    cfg = tiny_config(data={"path": str(path)})
    model = build_model(cfg)
    torch.save({"model": model.state_dict()}, tmp_path / "w.pt")
    _, test_loader, _ = build_loaders(cfg, device=torch.device("cpu"), train=False)
    expected = evaluate(model, test_loader, needs_index_t=False, num_classes=4)

    result, out = evaluate_weights(cfg, tmp_path / "w.pt", work_dir=tmp_path / "ev")

    np.testing.assert_array_equal(result.scores, expected.scores)
    np.testing.assert_array_equal(result.labels, yt.numpy())
    assert out == tmp_path / "ev/scores/eval_w_test.npz"
    np.testing.assert_array_equal(load_scores(out)["scores"], expected.scores)


def test_trainer_evaluate_uses_the_free_function_on_its_test_loader():
    cfg = tiny_config()
    train, test = tiny_loaders(cfg)
    trainer = Trainer(cfg, work_dir=None, train_loader=train, test_loader=test, progress=False)

    a = trainer.evaluate()
    b = evaluate(trainer.model, test, needs_index_t=False, num_classes=4)

    np.testing.assert_array_equal(a.scores, b.scores)
