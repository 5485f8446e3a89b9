"""skelab's single-file zero-shot checkpoint and upstream's five files."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shared_refs import load_golden
from skelab.errors import CheckpointError
from skelab.zeroshot.checkpoints import PARTS, load_upstream_model
from skelab.zeroshot.methods import MethodConfig, load, load_upstream, save, train, zsl_scores

UNSEEN = [10, 11, 19, 26, 56]


def _tiny_model(method: str):
    rng = np.random.default_rng(0)
    text = rng.normal(size=(6, 7)).astype(np.float32)
    labels = np.repeat([0, 2, 3, 5], 4)
    feats = rng.random((len(labels), 9), dtype=np.float32)
    cfg = MethodConfig.for_method(
        method, cycles=1, steps_per_cycle=2, batch_size=4, latent=3, cls_samples=4, cls_steps=2
    )
    model = train(cfg, feats=feats, labels=labels, text=text, unseen=[1, 4])[0]
    return model, feats


@pytest.mark.parametrize("method", ["msf", "fsvae"])
def test_saved_model_loads_back_with_identical_scores(tmp_path, method):
    model, feats = _tiny_model(method)

    path = save(model, tmp_path / "zsl.pt")
    loaded = load(path)

    assert loaded.config == model.config and loaded.unseen.tolist() == [1, 4]
    assert np.array_equal(zsl_scores(loaded, feats), zsl_scores(model, feats))


def test_checkpoint_with_an_unknown_key_is_refused(tmp_path):
    model, _ = _tiny_model("msf")
    path = save(model, tmp_path / "zsl.pt")
    obj = torch.load(path, weights_only=True)
    obj["extra"] = 1
    torch.save(obj, path)

    with pytest.raises(CheckpointError, match=r"(?s)zsl\.pt.*unknown keys \['extra'\].*fix:"):
        load(path)


def test_checkpoint_missing_a_weight_lists_it(tmp_path):
    model, _ = _tiny_model("fsvae")
    path = save(model, tmp_path / "zsl.pt")
    obj = torch.load(path, weights_only=True)
    del obj["vae"]["te.freq.k"]
    torch.save(obj, path)

    with pytest.raises(CheckpointError, match=r"1 missing: te\.freq\.k"):
        load(path)


def _write_upstream_folder(folder, state: dict, epoch: int = 1699) -> None:
    """Upstream's layout: {'epoch', 'state_dict'} per network, Adam state in se, classifier."""
    weight = torch.nn.Parameter(torch.zeros(3))
    adam = torch.optim.Adam([weight], lr=1e-4)
    weight.sum().backward()
    adam.step()
    for part in PARTS:
        sub = {k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(part + ".")}
        if part == "classifier":
            torch.save({"state_dict": sub}, folder / "classifier.pth.tar")
            continue
        obj = {"epoch": epoch, "state_dict": sub}
        if part == "se":
            obj["optimizer"] = adam.state_dict()
        torch.save(obj, folder / f"{part}_{epoch}.pth.tar")


@pytest.mark.parametrize("name", ["msf_ntu60", "fsvae_ntu60"])
def test_upstream_folder_of_five_files_loads_like_the_flat_dict(tmp_path, name):
    _, state, case = load_golden(name)
    _write_upstream_folder(tmp_path, state)
    x = case["skeleton_input"].numpy()

    from_folder = load_upstream(tmp_path, unseen=UNSEEN)
    from_dict = load_upstream_model(state, unseen=UNSEEN)

    assert from_folder.config.method == name.split("_")[0]
    assert np.array_equal(zsl_scores(from_folder, x), zsl_scores(from_dict, x))


def test_upstream_folder_missing_a_file_names_it(tmp_path):
    _, state, _ = load_golden("msf_ntu60")
    _write_upstream_folder(tmp_path, state)
    (tmp_path / "td_1699.pth.tar").unlink()

    with pytest.raises(CheckpointError, match=r"(?s)missing td_1699\.pth\.tar.*fix:"):
        load_upstream(tmp_path, unseen=UNSEEN)


def test_upstream_checkpoint_with_an_unknown_key_is_refused():
    _, state, _ = load_golden("msf_ntu60")
    state = {**state, "sd.model.1.weight": torch.zeros(3)}

    with pytest.raises(CheckpointError, match=r"unexpected: sd\.model\.1\.weight"):
        load_upstream_model(state, unseen=UNSEEN)


def test_upstream_classifier_must_match_the_unseen_list():
    _, state, _ = load_golden("msf_ntu60")

    with pytest.raises(CheckpointError, match=r"(?s)classifier.*4 outputs"):
        load_upstream_model(state, unseen=UNSEEN[:4])


def test_upstream_files_can_be_given_one_by_one(tmp_path):
    _, state, case = load_golden("fsvae_ntu60")
    _write_upstream_folder(tmp_path, state, epoch=3399)
    files = sorted(tmp_path.iterdir())
    x = case["skeleton_input"].numpy()

    model = load_upstream(files, unseen=UNSEEN)

    expected = zsl_scores(load_upstream_model(state, unseen=UNSEEN), x)
    assert np.array_equal(zsl_scores(model, x), expected)
    with pytest.raises(CheckpointError, match=r"lack \['classifier'\]"):
        load_upstream([f for f in files if f.name != "classifier.pth.tar"], unseen=UNSEEN)
