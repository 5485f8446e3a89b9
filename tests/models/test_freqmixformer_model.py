"""FreqMixFormer building blocks, variants and error messages, on tiny shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from skelab.errors import CheckpointError, ModelConfigError
from skelab.models import build, count_parameters, get_card, load_upstream_checkpoint
from skelab.models.freqmixformer import (
    FMF_INWARD,
    SpatialFreqMixFormer,
    dct_matrix,
    graph_partition,
    idct_matrix,
    relative_coordinates,
)

PARAMS_NTU60 = 2_065_048


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: on a shared, busy CPU, thread barriers cost more than they save."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _dct_ii_by_definition(x: list[float]) -> list[float]:
    """torch-dct's `dct(x)`, norm=None: X_k = 2 sum_n x_n cos(pi k (2n + 1) / 2N)."""
    n = len(x)
    return [
        2.0 * sum(x[j] * math.cos(math.pi * k * (2 * j + 1) / (2 * n)) for j in range(n))
        for k in range(n)
    ]


def _dct_iii_by_definition(coef: list[float]) -> list[float]:
    """torch-dct's `idct(X)`, norm=None: x_n = (X_0 + 2 sum_k>0 X_k cos(pi k (2n+1) / 2N)) / 2N."""
    n = len(coef)
    return [
        (
            coef[0]
            + 2.0
            * sum(coef[k] * math.cos(math.pi * k * (2 * j + 1) / (2 * n)) for k in range(1, n))
        )
        / (2 * n)
        for j in range(n)
    ]


def test_dct_matrices_match_the_dct_ii_and_dct_iii_definitions_in_float64():
    x = torch.randn(25, dtype=torch.float64)

    coef = dct_matrix(25) @ x
    back = idct_matrix(25) @ x

    assert torch.allclose(
        coef, torch.tensor(_dct_ii_by_definition(x.tolist()), dtype=torch.float64), atol=1e-12
    )
    assert torch.allclose(
        back, torch.tensor(_dct_iii_by_definition(x.tolist()), dtype=torch.float64), atol=1e-12
    )


def test_idct_inverts_dct():
    product = idct_matrix(25) @ dct_matrix(25)

    assert torch.allclose(product, torch.eye(25, dtype=torch.float64), atol=1e-12)


def test_model_dct_buffers_match_the_definitions_to_1e6_and_are_not_saved():
    model = build("freqmixformer", window=8)
    spatial = model.l1.spa_mixf
    x = torch.randn(3, 25, dtype=torch.float64)

    coef = x.float() @ spatial.dct.T
    back = x.float() @ spatial.idct.T

    want_coef = torch.tensor([_dct_ii_by_definition(r) for r in x.tolist()], dtype=torch.float64)
    want_back = torch.tensor([_dct_iii_by_definition(r) for r in x.tolist()], dtype=torch.float64)
    assert (coef.double() - want_coef).abs().max() < 1e-6 * want_coef.abs().max()
    assert (back.double() - want_back).abs().max() < 1e-6 * want_back.abs().max()
    assert not any(k.endswith((".dct", ".idct", ".A_SE", "A_vector")) for k in model.state_dict())


def test_graph_is_rooted_at_spine_middle_and_seven_edges_deep():
    parents = dict(FMF_INWARD)
    depth = {}
    for joint in range(25):
        d, j = 0, joint
        while j in parents:
            j, d = parents[j], d + 1
        depth[joint] = d

    assert set(range(25)) - set(parents) == {1}  # joint 2 (index 1) has no parent
    assert max(depth.values()) == 7


def test_graph_partition_is_identity_plus_two_column_normalised_directions():
    a = graph_partition()

    assert a.shape == (3, 25, 25)
    np.testing.assert_array_equal(a[0], np.eye(25))
    np.testing.assert_allclose(a[1].sum(axis=0)[a[1].sum(axis=0) > 0], 1.0, rtol=1e-6)
    assert a[1][0, 1] == pytest.approx(0.5)  # joint 1 flows into joint 2, which has 2 children
    assert a[2][1, 0] == pytest.approx(1.0)  # joint 2 flows into its only parent-less child 1
    np.testing.assert_array_equal(a[1] > 0, (a[2] > 0).T)


def test_relative_coordinates_subtract_the_kth_ancestor():
    x = torch.randn(25, 3, dtype=torch.float64)
    parents = dict(FMF_INWARD)

    hop1 = torch.from_numpy(relative_coordinates(1)).double() @ x
    hop8 = torch.from_numpy(relative_coordinates(8)).double() @ x

    assert torch.equal(hop8, x)  # no joint has an 8th ancestor
    for joint in range(25):
        want = x[joint] - x[parents[joint]] if joint in parents else x[joint]
        assert torch.allclose(hop1[joint], want)


def test_batched_aggregation_equals_the_per_channel_adjacency_einsum():
    for c_out in (80, 160):  # group width 20 (not a multiple of 8) and 40
        layer = SpatialFreqMixFormer(8, c_out, graph_partition())
        with torch.no_grad():
            layer.A_GEME.add_(torch.randn_like(layer.A_GEME))
        m = torch.randn(2, 3, c_out, 5, 25)
        maps = torch.randn(2, 3, 4, 25, 25)

        got = layer.aggregate(m, maps)

        prior = (layer.A_SE[:, None] + layer.A_GEME).repeat(1, c_out // 8, 1, 1)
        adj = 0.5 * maps.repeat_interleave(c_out // 4, dim=2) + prior
        want = torch.einsum("nsctv,nscvw->nctw", m, adj)
        assert torch.allclose(got, want, atol=1e-4, rtol=1e-4)


def test_pooled_descriptors_equal_pooling_the_projection():
    layer = SpatialFreqMixFormer(8, 80, graph_partition())
    x0 = torch.randn(2, 8, 6, 25)
    captured = {}
    original = layer.group_maps
    layer.group_maps = lambda q, k: captured.setdefault("qk", (q, k)) and original(q, k)

    layer(x0)

    m = layer.conv(x0).view(2, 3, 4, 2, 10, 6, 25).mean(dim=(4, 5))
    assert torch.allclose(captured["qk"][0], m[:, :, :, 0], atol=1e-5)
    assert torch.allclose(captured["qk"][1], m[:, :, :, 1], atol=1e-5)


def test_ntu60_model_has_upstream_parameter_count_and_card():
    model = build("freqmixformer")

    assert count_parameters(model) == PARAMS_NTU60
    assert get_card("freqmixformer").params_ntu60 == PARAMS_NTU60
    assert get_card("freqmixformer").default_window == 64


def test_ntu120_model_changes_only_the_classifier():
    ntu60, ntu120 = build("freqmixformer"), build("freqmixformer", num_class=120)
    shapes60 = {k: tuple(v.shape) for k, v in ntu60.state_dict().items()}
    shapes120 = {k: tuple(v.shape) for k, v in ntu120.state_dict().items()}

    diff = {k for k in shapes60 if shapes60[k] != shapes120[k]}

    assert diff == {"fc.weight", "fc.bias"}
    assert shapes120["fc.weight"] == (120, 320)
    assert count_parameters(ntu120) == PARAMS_NTU60 + 60 * 321


def test_single_person_model_sizes_data_bn_for_one_person_and_runs():
    model = build("freqmixformer", num_person=1, num_class=120, window=8)
    x = torch.randn(2, 3, 8, 25, 1)  # (N, C, T, V, M)

    logits = model(x)
    logits.sum().backward()

    assert model.data_bn.weight.shape == (1 * 80 * 25,)
    assert logits.shape == (2, 120)
    assert model.fc.weight.grad is not None


@pytest.mark.parametrize("window", [64, 48, 32])
def test_temporal_attention_is_sized_by_window(window):
    model = build("freqmixformer", window=window)

    sizes = [
        tuple(getattr(model, f"l{i}").tem_mixf.branches[3][0].linear.weight.shape)
        for i in (1, 5, 8)
    ]

    assert sizes == [(window, window), (window // 2, window // 2), (window // 4, window // 4)]


def test_lowmem_window_48_runs_forward_and_backward():
    model = build("freqmixformer", window=48)
    x = torch.randn(1, 3, 48, 25, 2)

    loss = torch.nn.functional.cross_entropy(model(x), torch.tensor([3]))
    loss.backward()

    assert torch.isfinite(loss)
    assert model.l10.tem_mixf.branches[3][0].linear.weight.grad is not None


def test_window_not_multiple_of_four_is_rejected_naming_64():
    with pytest.raises(ModelConfigError, match=r"(?s)window=50.*multiple of 4.*fix:.*64"):
        build("freqmixformer", window=50)


def test_window_64_checkpoint_does_not_load_into_window_48_model():
    state = build("freqmixformer").state_dict()
    model = build("freqmixformer", window=48)

    with pytest.raises(CheckpointError, match=r"l1\.tem_mixf\.branches\.3\.0\.linear\.weight"):
        load_upstream_checkpoint(model, state)


def test_hops_one_gives_the_bone_like_input():
    model = build("freqmixformer", hops=1, window=8)

    assert torch.equal(model.A_vector, torch.from_numpy(relative_coordinates(1)))


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        ({"graph": "graph.kinetics.Graph"}, r"graph.*fix:.*ntu_rgb_d"),
        ({"graph_args": {"labeling_mode": "uniform"}}, r"graph_args.*fix:.*spatial"),
        ({"num_point": 18}, r"num_joints=18.*fix:.*25"),
        ({"hops": 0}, r"hops=0.*fix:"),
        ({"dropout": 1.5}, r"dropout.*fix:"),
    ],
)
def test_invalid_options_name_the_problem_and_the_fix(options, pattern):
    with pytest.raises(ModelConfigError, match=f"(?s){pattern}"):
        build("freqmixformer", **options)


def test_missing_key_in_checkpoint_fails_listing_it():
    model = build("freqmixformer", window=8)
    state = dict(model.state_dict())
    del state["l3.spa_mixf.A_GEME"]

    with pytest.raises(CheckpointError, match=r"missing: l3\.spa_mixf\.A_GEME"):
        load_upstream_checkpoint(model, state)


def test_wrong_shape_in_checkpoint_fails_listing_it():
    model = build("freqmixformer", window=8)
    state = dict(model.state_dict())
    state["pos_embedding"] = torch.zeros(1, 24, 80)

    with pytest.raises(CheckpointError, match=r"pos_embedding: checkpoint \(1, 24, 80\)"):
        load_upstream_checkpoint(model, state)
