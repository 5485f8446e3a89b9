"""SkateFormer variants, partitions, option checks and checkpoint loading, on tiny shapes."""

from __future__ import annotations

import pytest
import torch

from skelab.errors import CheckpointError, ModelConfigError
from skelab.models import build, count_parameters, get_card, load_upstream_checkpoint, skateformer
from skelab.models.skateformer import SkateMSA, valid_temporal_sizes, window_attention

# Window 16 has stage lengths 16, 8, 4, 2, so temporal partition sizes of 2 are valid.
SMALL = dict(window=16, type_1_size=[2, 8], type_2_size=[2, 12])
SMALL |= dict(type_3_size=[2, 8], type_4_size=[2, 12])
# Narrow widths for fast forward passes (heads 8: one head per attention branch).
NARROW = dict(SMALL, num_heads=8, channels=[16, 32, 32, 32])
TINY_README = dict(window=32, num_heads=8, type_1_size=[4, 6], type_2_size=[4, 8])
TINY_README |= dict(type_3_size=[4, 6], type_4_size=[4, 8])


def _batch(n: int = 2, t: int = 16, persons: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, 3, t, 24, persons)  # (N, C, T, V=24, M)
    index_t = torch.linspace(-1, 1, t).expand(n, t).contiguous()
    return x, index_t


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (dict(num_classes=120), 3_627_663),
        (dict(num_heads=8), 3_440_403),
        (dict(num_heads=16), 3_485_859),
        (TINY_README, 3_412_883),
        (dict(index_t=False), 3_906_387),
    ],
)
def test_skateformer_variant_parameter_counts_match_upstream(options, expected):
    model = build("skateformer", **options)

    assert count_parameters(model) == expected


def test_skateformer_tiny_preset_state_dict_has_upstream_shapes():
    model = build("skateformer", **TINY_README)

    sd = model.state_dict()

    assert len(sd) == 214
    assert sd["stages.0.blocks.0.transformer.gconv"].shape == (2, 48, 48)
    assert sd["stages.0.blocks.0.transformer.tconv.weight"].shape == (24, 12, 7, 1)
    assert sd["stages.1.blocks.0.transformer.tconv.weight"].shape == (48, 24, 7, 1)
    assert sd["stages.0.blocks.0.transformer.attention.0.relative_position_bias_table"].shape == (
        7,
        1,
    )
    assert sd["stages.3.blocks.1.transformer.attention.3.relative_position_bias_table"].shape == (
        7,
        8,
        8,
        1,
    )
    assert sd["stages.2.blocks.1.transformer.attention.2.relative_position_index"].shape == (4, 4)


def test_skateformer_ntu120_head_has_120_outputs():
    model = build("skateformer", num_class=120, **NARROW)
    x, index_t = _batch()

    logits = model(x, index_t)

    assert model.state_dict()["head.weight"].shape == (120, 32)
    assert logits.shape == (2, 120)


def test_skateformer_single_person_uses_24_points():
    model = build("skateformer", num_persons=1, **NARROW)
    x, index_t = _batch(persons=1)

    logits = model(x, index_t)

    assert model.joint_person_embedding.shape == (16, 24)
    assert model.stages[0].blocks[0].transformer.gconv.shape == (2, 24, 24)
    assert logits.shape == (2, 60)


@pytest.mark.parametrize("options", [pytest.param(SMALL, marks=pytest.mark.slow), NARROW])
def test_skateformer_forward_backward_reaches_every_parameter(options):
    model = build("skateformer", **options).train()
    x, index_t = _batch()

    model(x, index_t).logsumexp(dim=1).sum().backward()

    missing = [n for n, p in model.named_parameters() if p.grad is None]
    assert not missing


def test_skateformer_accepts_upstream_names_for_points_persons_frames():
    model = build("skateformer", num_points=24, num_people=2, num_frames=16, **SMALL)

    assert (model.num_points, model.num_people, model.window) == (24, 2, 16)


def test_skateformer_rejects_conflicting_upstream_and_skelab_names():
    with pytest.raises(ModelConfigError, match=r"num_persons.*num_people"):
        build("skateformer", num_persons=1, num_people=2)


@pytest.mark.parametrize(
    ("window", "valid"), [(64, [1, 2, 4, 8]), (32, [1, 2, 4]), (48, [1, 2, 3, 6]), (100, [1])]
)
def test_valid_temporal_sizes_divide_every_stage(window, valid):
    assert valid_temporal_sizes(window) == valid


def test_skateformer_rejects_original_lab_lowmem_window_48_with_partition_8():
    with pytest.raises(ModelConfigError, match=r"(?s)window 48.*\[1, 2, 3, 6\]"):
        build("skateformer", window=48, num_heads=16)


def test_skateformer_accepts_valid_lowmem_window_48_with_partition_6():
    model = build("skateformer", window=48, num_heads=16, type_1_size=[6, 8], type_2_size=[6, 12],
                  type_3_size=[6, 8], type_4_size=[6, 12])  # fmt: skip

    assert model.window == 48


@pytest.mark.parametrize(
    ("options", "pattern"),
    [
        (dict(num_heads=4), r"(?s)num_heads 4.*fix: use num_heads from \[8, 16"),
        (dict(num_heads=64), r"num_heads 64"),
        (dict(type_2_size=[8, 5]), r"(?s)type_2_size\[1\] = 5.*SKATEFORMER_24_ORDER"),
        (dict(window=32), r"(?s)type_1_size\[0\] = 8.*\[1, 2, 4\]"),
        (dict(type_3_size=[8]), r"four \[frames, points\] pairs|\[frames, points\] pair"),
        (dict(global_pool="max"), r"global_pool"),
        (dict(embed_dim=64), r"(?s)embed_dim 64.*fix: set embed_dim to 96"),
    ],
)
def test_skateformer_rejects_invalid_options_with_a_fix(options, pattern):
    with pytest.raises(ModelConfigError, match=pattern):
        build("skateformer", **options)


def test_skateformer_without_index_t_says_the_batch_transform_provides_it():
    model = build("skateformer", **SMALL)
    x, _ = _batch()

    with pytest.raises(ModelConfigError, match=r"(?s)index_t.*batch transform"):
        model(x)


def test_skateformer_learned_temporal_embedding_needs_no_index_t():
    model = build("skateformer", index_t=False, **NARROW)
    x, _ = _batch()

    assert model(x).shape == (2, 60)


def test_skateformer_rejects_25_joint_input():
    model = build("skateformer", **SMALL)
    x = torch.randn(1, 3, 16, 25, 2)

    with pytest.raises(ModelConfigError, match="SKATEFORMER_24_ORDER"):
        model(x, torch.zeros(1, 16))


def test_skateformer_rejects_input_window_that_partitions_cannot_split():
    model = build("skateformer", **SMALL)
    x, index_t = _batch(t=18)

    with pytest.raises(ModelConfigError, match="window 18"):
        model(x, index_t)


def test_skateformer_card_needs_index_t():
    card = get_card("skateformer")

    assert card.needs_index_t and card.params_ntu60 == 3_616_083 and card.default_window == 64


def _reference_windows(t: int, v: int, size: tuple[int, int], kind: int) -> list[list[tuple]]:
    """Token (frame, point) lists per window, written from the paper's index maths."""
    p, q = size
    local_t, local_v = kind in (1, 2), kind in (1, 3)
    windows = []
    for a in range(t // p):
        for b in range(v // q):
            tokens = []
            for i in range(p):  # frame-major token order
                for j in range(q):
                    frame = a * p + i if local_t else i * (t // p) + a
                    point = b * q + j if local_v else j * (v // q) + b
                    tokens.append((frame, point))
            windows.append(tokens)
    return windows


@pytest.mark.parametrize("kind", [1, 2, 3, 4])
@pytest.mark.parametrize("size", [(2, 3), (3, 2)])
def test_skate_msa_matches_per_window_reference_attention(kind, size):
    t, v, heads, dim = 6, 12, 2, 4
    msa = SkateMSA(dim, heads, size, kind in (1, 2), kind in (1, 3)).eval()
    with torch.no_grad():
        msa.relative_position_bias_table.normal_()
    x = torch.randn(2, t, v, 3 * dim)  # (N, T, V, 3 * dim)

    out = msa(x)

    bias = msa.bias()  # (heads, P*Q, P*Q)
    expected = torch.zeros(2, t, v, dim)
    for tokens in _reference_windows(t, v, size, kind):
        frames, points = zip(*tokens, strict=True)
        w = x[:, list(frames), list(points)].reshape(2, len(tokens), 3, heads, dim // heads)
        q, k, val = w.permute(2, 0, 3, 1, 4)
        attn = ((q * heads**-0.5) @ k.transpose(-2, -1) + bias).softmax(-1)
        expected[:, list(frames), list(points)] = (attn @ val).transpose(1, 2).reshape(2, -1, dim)
    assert torch.allclose(out, expected, atol=1e-5)


def test_skate_msa_fused_and_explicit_attention_agree():
    msa = SkateMSA(8, 2, (2, 4), True, False).train()
    msa.attn_drop = 0.0
    x = torch.randn(2, 4, 8, 24, requires_grad=True)

    explicit = msa(x)
    msa.fused = True
    fused = msa(x)

    assert torch.allclose(explicit, fused, atol=1e-5)


def test_skateformer_checkpoint_with_missing_key_fails_naming_it():
    model = build("skateformer", **SMALL)
    state = dict(model.state_dict())
    del state["stages.1.blocks.0.transformer.gconv"]

    with pytest.raises(CheckpointError, match=r"stages\.1\.blocks\.0\.transformer\.gconv"):
        load_upstream_checkpoint(build("skateformer", **SMALL), state)


def test_skateformer_checkpoint_with_wrong_shape_fails_naming_it():
    model = build("skateformer", **SMALL)
    state = dict(model.state_dict())
    state["head.weight"] = torch.zeros(120, 192)

    with pytest.raises(CheckpointError, match=r"head\.weight.*\(120, 192\)"):
        load_upstream_checkpoint(build("skateformer", **SMALL), state)


def test_skateformer_loading_rebuilds_bias_gather_from_relative_position_index():
    src = build("skateformer", **SMALL)
    state = dict(src.state_dict())
    key = "stages.0.blocks.0.transformer.attention.0.relative_position_index"
    state[key] = state[key].flip(0)
    model = build("skateformer", **SMALL)

    load_upstream_checkpoint(model, state)

    msa = model.stages[0].blocks[0].transformer.attention[0]
    assert torch.equal(msa._bias_index, msa._flat_bias_index())
    assert torch.equal(msa.relative_position_index, state[key])


@pytest.mark.parametrize("drop", [0.0, 0.3])
def test_window_attention_gradients_match_finite_differences(monkeypatch, drop):
    monkeypatch.setattr(skateformer, "CHUNK_SCORES", 32)  # two windows a chunk, two chunks
    qkv = torch.randn(3, 3, 1, 2, 4, dtype=torch.float64, requires_grad=True)
    bias = torch.randn(1, 4, 4, dtype=torch.float64, requires_grad=True)
    spares = {}  # the probabilities and the score-gradient scratch, lent between the calls

    def attend(qkv, bias):
        with torch.random.fork_rng():  # the same dropout mask on every call
            torch.manual_seed(1)
            return window_attention(qkv, bias, 0.7, drop, spares)

    assert torch.autograd.gradcheck(attend, (qkv, bias), fast_mode=True)
    assert set(spares) == {"p0", "p1", "ds"}


def test_window_attention_equals_softmax_attention_per_head():
    qkv = torch.randn(3, 4, 2, 3, 6)  # (q/k/v, windows, heads, head width, tokens)
    bias = torch.randn(2, 6, 6)

    out = window_attention(qkv, bias, 0.5)

    q, k, v = qkv.transpose(-2, -1).unbind(0)  # (windows, heads, tokens, head width)
    expected = (((q * 0.5) @ k.transpose(-2, -1) + bias).softmax(-1) @ v).transpose(-2, -1)
    assert torch.allclose(out, expected, atol=1e-6)


def test_chunked_mlp_matches_linear_gelu_linear_and_its_gradients(monkeypatch):
    monkeypatch.setattr(skateformer, "CHUNK_HIDDEN", 24)  # 3 rows a chunk: 7 rows, 3 chunks
    monkeypatch.setattr(skateformer, "eager_cpu", lambda x: True)  # float64 takes the kernel
    mlp = skateformer.Mlp(4, 8).double()
    x = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    params = (mlp.fc1.weight, mlp.fc1.bias, mlp.fc2.weight, mlp.fc2.bias)

    residual = torch.randn(7, 4, dtype=torch.float64, requires_grad=True)
    expected = mlp.fc2(torch.nn.functional.gelu(mlp.fc1(x)))

    assert torch.allclose(mlp(x), expected, atol=1e-12)
    assert torch.allclose(mlp(x, residual=residual), residual + expected, atol=1e-12)
    for res in (None, residual):
        spares = {}  # lent chunks: the second call reuses what the first call's backward gave back

        def mlp_fn(x, *p, res=res, spares=spares):
            return skateformer._ChunkedMlp.apply(x, *p[:4], p[4] if p[4:] else None, spares)

        inputs = (x, *params) if res is None else (x, *params, res)
        assert torch.autograd.gradcheck(mlp_fn, inputs, fast_mode=True)
        assert {"pre0", "act0", "dh"} <= set(spares)


def test_block_fast_path_matches_the_plain_layers_and_their_gradients(monkeypatch):
    # float64, so the comparison sees only the order of the sums: the written kernels (lent
    # chunks, branches assembled in place, residuals folded) against the plain layers
    monkeypatch.setattr(skateformer, "CHUNK_SCORES", 256)  # several attention chunks
    monkeypatch.setattr(skateformer, "CHUNK_HIDDEN", 640)  # several MLP chunks
    block = skateformer.SkateFormerBlock(16, 12, 8, ((2, 3), (2, 4), (2, 3), (2, 4))).double()
    with torch.no_grad():
        for msa in block.attention:
            msa.relative_position_bias_table.normal_()
    x = torch.randn(2, 4, 12, 16, dtype=torch.float64, requires_grad=True)
    gy = torch.randn(2, 4, 12, 16, dtype=torch.float64)
    params = [x, *block.parameters()]

    results = []
    for fast in (False, True, True):  # the second fast run borrows the first one's spares
        monkeypatch.setattr(skateformer, "eager_cpu", lambda t, fast=fast: fast)
        y = block(x)
        results.append((y, torch.autograd.grad(y, params, gy)))

    (y0, g0), *fast_runs = results
    for y, grads in fast_runs:
        assert torch.allclose(y, y0, atol=1e-12)
        for a, b in zip(grads, g0, strict=True):
            assert torch.allclose(a, b, atol=1e-12)
    assert block.mlp._spares and all(msa._spares for msa in block.attention)

    block.eval()  # eval drops what was lent, and a no-grad forward borrows nothing
    with torch.no_grad():
        assert torch.allclose(block(x), y0, atol=1e-12)
    assert not block.mlp._spares and not any(msa._spares for msa in block.attention)


def test_skateformer_batch_of_one_gives_the_batched_logits():
    # Window 16, partition 2: the last stage has 2 frames, one temporal window per sample, where
    # the partition reshape returns a view rather than a copy (2 heads per attention branch).
    model = build("skateformer", **dict(SMALL, num_heads=16, channels=[32, 32, 32, 32])).eval()
    x, index_t = _batch(n=2)

    with torch.no_grad():
        batched = model(x, index_t)
        single = model(x[:1], index_t[:1])
    model.train()
    model(x[:1], index_t[:1]).sum().backward()

    assert torch.allclose(single, batched[:1], atol=1e-5)


def test_skateformer_trains_under_cpu_autocast():
    model = build("skateformer", **NARROW).train()
    x, index_t = _batch()

    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(x, index_t)
    logits.float().sum().backward()

    assert logits.dtype == torch.bfloat16
    assert model.stages[0].blocks[0].transformer.mlp.fc1.weight.grad is not None
