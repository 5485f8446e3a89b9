"""BlockGCN pieces on tiny inputs: batch coupling, topology features, upstream arguments."""

from __future__ import annotations

import copy
import sys

import pytest
import torch

from skelab.errors import ModelConfigError, SkelabError
from skelab.models import blockgcn as blockgcn_module
from skelab.models import build, get_card
from skelab.models.blockgcn import StructureElements, TopoTrans, hop_distances
from skelab.models.layers import pointwise as pointwise_module
from skelab.skeletons import NTU25

pytest.importorskip("gph", reason="BlockGCN needs giotto-ph: pip install 'skelab[blockgcn]'")


def test_hop_distances_follow_upstream_graph_with_hand_tips_on_the_hands():
    hops = hop_distances(NTU25)

    assert hops.max() == 11  # upstream's rpe has 12 entries per head
    assert hops[21, 7] == hops[22, 7] == 1  # 1-based 22 and 23 hang off hand 8
    assert (hops == hops.T).all() and (hops.diagonal() == 0).all()


def test_topo_features_are_tiled_so_row_r_gets_sample_r_mod_n():
    layer = TopoTrans(4).eval()
    a = torch.randn(3, 64)

    out = layer(a, num_persons=2)[:, :, 0, 0]  # (N*M, C)

    assert torch.equal(out[3], out[0]) and torch.equal(out[4], out[1])
    assert not torch.equal(out[1], out[0])


def test_structure_elements_count_each_padding_row_as_one():
    layer = StructureElements()
    deaths = torch.tensor([[0.2, 0.5, 0.0]])
    valid = torch.tensor([[True, True, False]])

    padded = layer(deaths, valid)
    unpadded = layer(deaths[:, :2], valid[:, :2])

    assert torch.allclose(padded, unpadded + 1.0)


def test_a_sample_logits_depend_on_the_rest_of_its_batch():
    torch.manual_seed(0)
    model = build("blockgcn", num_classes=5).eval()
    x = torch.randn(2, 3, 8, 25, 2)
    other = x.clone()
    other[1] = torch.randn(3, 8, 25, 2)

    with torch.no_grad():
        out, out_other = model(x), model(other)

    assert not torch.allclose(out[0], out_other[0])
    assert "depend on the rest of its batch" in get_card("blockgcn").notes


def test_builder_takes_upstream_model_args_as_they_stand():
    model = build(
        "blockgcn",
        num_class=120,
        num_point=25,
        num_person=2,
        graph="graph.ntu_rgb_d.Graph",
        graph_args={"labeling_mode": "spatial"},
        window_size=64,
        joint_label=[0] * 25,
        adaptive=True,
        num_set=3,
        drop_out=0,
    )

    assert model.fc.out_features == 120


def test_builder_rejects_another_graph_with_a_fix():
    with pytest.raises(ModelConfigError, match=r"(?s)graph.*fix:"):
        build("blockgcn", graph="graph.ucla.Graph")


def test_forward_rejects_joints_of_another_clip_length():
    model = build("blockgcn", num_classes=5)

    with pytest.raises(ModelConfigError, match="joint has shape"):
        model(torch.randn(1, 3, 8, 25, 2), joint=torch.randn(1, 3, 6, 25, 2))


def test_building_without_giotto_ph_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "gph", None)  # makes `import gph` fail

    with pytest.raises(SkelabError, match=r"(?s)giotto-ph.*skelab\[blockgcn\]"):
        build("blockgcn")


# chunks of 1 and 4 groups of a sample, of 2 samples (last one short), of all 3 samples
@pytest.mark.parametrize("chunk_values", [1, 900, 2880, 1 << 20])
@pytest.mark.parametrize("lend", [False, True])  # recompute the mixing, or keep it (lent)
def test_chunked_block_product_matches_the_plain_products_and_gradients(
    monkeypatch, chunk_values, lend
):
    monkeypatch.setattr(blockgcn_module, "CHUNK_VALUES", chunk_values)
    torch.manual_seed(0)
    x = torch.randn(3, 16, 5, 6, dtype=torch.float64, requires_grad=True)
    graph = torch.randn(3, 8, 6, 6, dtype=torch.float64, requires_grad=True)
    weight = torch.randn(8, 3, 6, dtype=torch.float64, requires_grad=True)  # 16 -> 24 channels
    bias = torch.randn(24, dtype=torch.float64, requires_grad=True)
    inputs = (x, graph, weight, bias)

    spares: dict[str, torch.Tensor] | None = {} if lend else None
    product = blockgcn_module._BlockProduct.apply
    for _ in range(2):  # with lend, the second call writes into the buffer the first gave back
        fast = product(*inputs, spares)
        plain = blockgcn_module._block_product(*inputs)
        ours = torch.autograd.grad(fast, inputs, grad_out := torch.randn_like(plain))
    assert (spares is None) or set(spares) == {"mixed"}

    assert torch.allclose(fast, plain, rtol=1e-12, atol=1e-12)
    for got, ref in zip(ours, torch.autograd.grad(plain, inputs, grad_out), strict=True):
        assert torch.allclose(got, ref, rtol=1e-12, atol=1e-12)
    small = tuple(t[:2, :8, :2, :3].detach().clone().requires_grad_() for t in inputs[:1])
    small += (graph[:, :, :3, :3], weight[:, :2, :3], bias[:16])  # 8 -> 16 channels, 3 joints
    assert torch.autograd.gradcheck(lambda *t: product(*t, spares), small, fast_mode=True)


@pytest.mark.slow
def test_written_cpu_paths_match_the_plain_layers_in_the_whole_model(monkeypatch):
    torch.manual_seed(0)
    fast = build("blockgcn", num_classes=5).double().train()
    for p in fast.parameters():
        p.data.add_(0.1 * torch.randn_like(p))
    plain = copy.deepcopy(fast)
    x = torch.randn(2, 3, 8, 25, 2, dtype=torch.float64)
    for module in (blockgcn_module, pointwise_module):  # float64: force them
        monkeypatch.setattr(module, "eager_cpu", lambda t: True)
    out = fast(x, x)
    for module in (blockgcn_module, pointwise_module):
        monkeypatch.setattr(module, "eager_cpu", lambda t: False)
    ref = plain(x, x)
    grad_out = torch.randn_like(ref)
    got = torch.autograd.grad(out, list(fast.parameters()), grad_out)
    want = torch.autograd.grad(ref, list(plain.parameters()), grad_out)

    assert torch.allclose(out, ref, rtol=1e-12, atol=1e-12)
    for a, b in zip(got, want, strict=True):  # biases before a BN have ~0 gradients: atol
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(fast.buffers(), plain.buffers(), strict=True):
        assert torch.allclose(a.double(), b.double(), rtol=1e-12, atol=1e-12)
