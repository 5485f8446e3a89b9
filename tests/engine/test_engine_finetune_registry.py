"""`train.drop_head` for every registered model: the card's `head` covers every key that depends
on the class count, and weights of another class count load with exactly those keys dropped."""

from __future__ import annotations

import pytest
import torch

from skelab.engine.finetune import head_keys, load_initial_weights
from skelab.errors import CheckpointError
from skelab.models import build, get_card, list_models


@pytest.mark.parametrize("name", list_models())
def test_drop_head_loads_weights_of_another_class_count(name, tmp_path):
    torch.manual_seed(0)
    source, target = build(name, num_classes=7), build(name, num_classes=9)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    class_dependent = {k for k, v in source.state_dict().items() if v.shape != before[k].shape}
    torch.save({"model": source.state_dict()}, tmp_path / "w.pt")
    head = get_card(name).head

    with pytest.raises(CheckpointError, match="classifier does not fit"):
        load_initial_weights(target, tmp_path / "w.pt", drop_head=False, head=head)
    skipped = load_initial_weights(target, tmp_path / "w.pt", drop_head=True, head=head)

    assert class_dependent and class_dependent <= set(head_keys(target, head)), head
    assert set(skipped) == class_dependent
    after, loaded = target.state_dict(), source.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in skipped)  # fresh classifier
    assert all(torch.equal(after[k], loaded[k]) for k in after if k not in skipped)
