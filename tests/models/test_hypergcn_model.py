"""Hyper-GCN: variants' layouts, the fast graph convolution against its definition, the
divergence loss, option checks and strict checkpoint loading."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from shared_refs import compiled_kernels, on_threads
from skelab.errors import CheckpointError, ModelConfigError, SkelabError
from skelab.models import build, count_parameters, get_card, hypergcn, load_upstream_checkpoint
from skelab.models.hypergcn import HyperGraphConv, divergence_loss, virtual_ensemble_graph
from skelab.models.layers import native


def _num_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------ layouts of the variants


def test_base_and_large_have_upstream_parameter_counts():
    base, large = build("hypergcn"), build("hypergcn-large")

    assert (_num_params(base), count_parameters(base, trainable_only=True)) == (
        1_098_125,
        1_041_677,
    )
    assert (count_parameters(large), count_parameters(large, trainable_only=True)) == (
        2_361_741,
        2_305_293,
    )
    assert get_card("hypergcn").params_ntu60 == 1_098_125
    assert get_card("hypergcn-large").params_ntu60 == 2_361_741


def test_large_layout_is_base_plus_l7_down_with_512_channels():
    base, large = build("hypergcn").state_dict(), build("hypergcn-large").state_dict()

    extra = [k for k in large if k not in base]

    assert len(large) == 614 and len(base) == 607
    assert extra == [
        "l7.gcn1.down.0.weight", "l7.gcn1.down.0.bias", "l7.gcn1.down.1.weight",
        "l7.gcn1.down.1.bias", "l7.gcn1.down.1.running_mean", "l7.gcn1.down.1.running_var",
        "l7.gcn1.down.1.num_batches_tracked",
    ]  # fmt: skip
    assert large["l7.gcn1.down.0.weight"].shape == (512, 256, 1, 1)
    assert large["l7.gcn1.conv_d.weight"].shape == (512, 32, 1, 1)
    assert large["l7.residual.conv.weight"].shape == (512, 256, 1, 1)
    assert large["l8.gcn1.hyper_joint"].shape == (3, 512)
    assert large["l8.gcn1.to_V.weight"].shape == (128, 64, 1)
    assert large["l9.tcn1.branches.0.3.conv.weight"].shape == (128, 128, 5, 1)
    assert large["fc.weight"].shape == (60, 512)


def test_ntu120_changes_only_the_classifier():
    base, ntu120 = build("hypergcn").state_dict(), build("hypergcn", num_class=120).state_dict()

    changed = [k for k in base if base[k].shape != ntu120[k].shape]

    assert changed == ["fc.weight", "fc.bias"]
    assert ntu120["fc.weight"].shape == (120, 256)


def test_single_person_shrinks_data_bn_to_one_person():
    state = build("hypergcn", num_person=1).state_dict()

    assert state["data_bn.weight"].shape == (25 * 128,)


@pytest.mark.parametrize(
    ("name", "num_classes", "shape"),
    [
        ("hypergcn", 120, (2, 3, 32, 25, 2)),
        ("hypergcn", 60, (2, 3, 48, 25, 1)),
        ("hypergcn-large", 60, (2, 3, 16, 25, 1)),
    ],
)
def test_forward_and_backward_on_tiny_batches(name, num_classes, shape):
    model = build(name, num_classes=num_classes, num_persons=shape[-1], window=shape[2])
    x = torch.randn(shape)  # (N, C, T, V, M)

    logits = model(x)
    loss = logits.logsumexp(dim=1).mean() + model.auxiliary_losses()["divergence"]
    loss.backward()

    assert logits.shape == (2, num_classes)
    assert model.l1.gcn1.conv_d.weight.grad.abs().sum() > 0
    assert model.l9.gcn1.hyper_joint.grad is not None


# ------------------------------------------------ the fast graph convolution vs its definition


def _definition(layer: HyperGraphConv, x: torch.Tensor) -> torch.Tensor:
    """HYPERGC written out as the reference states it: concatenate the virtual joints, build the
    full (V+P) x (V+P) graph, aggregate head by head, drop the virtual vertices."""
    n, c, t, v = x.shape
    p = layer.hyper_joint.shape[0]
    xv = torch.cat([x, layer.hyper_joint.t()[None, :, None, :].expand(n, c, t, p)], dim=-1)
    a = layer.edge_importance * layer.PA
    a = a / (a.abs().sum(-1, keepdim=True) + 1e-8)
    t_x = xv.mean(2)
    phi = layer.to_V(t_x).view(n, 8, -1, v + p).transpose(-1, -2)
    dist = torch.cdist(phi, phi)
    near, idx = dist.topk(9, dim=-1, largest=False)
    h = torch.zeros_like(dist).scatter(-1, idx, torch.softmax(-near, -1))
    w = layer.to_W(t_x)
    hw = h * w[:, :, None, :]
    g = torch.zeros_like(h)
    for i, j in itertools.product(range(v + p), range(v + p)):
        d_v = hw[:, :, i].abs().sum(-1) + 1e-8
        d_e = h.abs().sum(-2) + 1e-8
        g[:, :, i, j] = (hw[:, :, i, :] * w / d_e * h[:, :, j, :]).sum(-1) / d_v
    a = a + F.relu(layer.alpha) * g
    d = layer.conv_d(xv).view(n, 8, -1, t, v + p)
    y = torch.stack([torch.einsum("nctv,nuv->nctu", d[:, k], a[:, k]) for k in range(8)], 1)
    y = y.reshape(n, -1, t, v + p)[..., :v]
    return F.relu(layer.bn(y) + layer.down(x))


@pytest.mark.parametrize(("c_in", "c_out", "t"), [(32, 32, 48), (32, 64, 32), (64, 64, 5)])
def test_graph_convolution_equals_its_definition(c_in, c_out, t):
    layer = HyperGraphConv(c_in, c_out, virtual_ensemble_graph(3)).double()
    with torch.no_grad():  # break the identical-rows init and the tiny BN scale
        layer.hyper_joint.add_(torch.randn_like(layer.hyper_joint))
        layer.edge_importance.add_(0.1 * torch.randn_like(layer.edge_importance))
        layer.bn.weight.fill_(1.0)
    layer.eval()
    x = torch.randn(2, c_in, t, 25, dtype=torch.float64)  # (N, C, T, V)

    fast, plain = layer(x), _definition(layer, x)

    assert torch.allclose(fast, plain, rtol=1e-9, atol=1e-10)


# ------------------------------------------------------------ the compiled graph products


def _graph_products(x, a, w, const):
    """W_h (x A^T) + const per (sample, head), as the torch form computes it."""
    n, c, t, v = x.shape
    heads = w.shape[0]
    z = x.view(n, heads, -1, v) @ a.transpose(-1, -2)
    y = w @ z.view(n, heads, c // heads, t * v)
    return (y.view(n, heads, -1, t, v) + const.unsqueeze(3)).view(n, -1, t, v)


@compiled_kernels
@pytest.mark.parametrize(
    ("n", "c_in", "c_out", "t", "v"),
    [(3, 128, 128, 16, 25), (2, 128, 256, 8, 25), (2, 40, 24, 7, 13), (1, 16, 8, 3, 32)],
)
def test_compiled_graph_products_match_float64_values_and_gradients(n, c_in, c_out, t, v):
    x = torch.randn(n, c_in, t, v, requires_grad=True)
    a = torch.randn(n, 8, v, v + 3)[..., :v].requires_grad_()  # a column slice, as in the layer
    w = torch.randn(8, c_out // 8, c_in // 8, requires_grad=True)
    const = torch.randn(n, 8, c_out // 8, v, requires_grad=True)
    gy = torch.randn(n, c_out, t, v)
    assert hypergcn._compiled_fits(x, w)

    y = hypergcn._GraphProduct.apply(x, a, w, const)
    grads = torch.autograd.grad(y, [x, a, w, const], gy)

    wide = [u.detach().double().requires_grad_() for u in (x, a, w, const)]
    expected = _graph_products(*wide)
    wanted = torch.autograd.grad(expected, wide, gy.double())
    assert y.dtype == torch.float32
    assert torch.allclose(y.double(), expected, rtol=1e-5, atol=1e-5 * expected.abs().max().item())
    for got, want in zip(grads, wanted, strict=True):
        assert torch.allclose(got.double(), want, rtol=1e-5, atol=1e-5 * want.abs().max().item())


@compiled_kernels
def test_compiled_graph_products_split_over_threads_with_the_same_result():
    x = torch.randn(5, 64, 6, 25, requires_grad=True)
    a = torch.randn(5, 8, 25, 28)[..., :25].requires_grad_()
    w = torch.randn(8, 8, 8, requires_grad=True)
    const = torch.randn(5, 8, 8, 25, requires_grad=True)
    gy = torch.randn(5, 64, 6, 25)

    def run(threads):
        assert len(native.split(40)) == threads
        y = hypergcn._GraphProduct.apply(x, a, w, const)
        return (y, *torch.autograd.grad(y, [x, a, w, const], gy))

    for one, two in zip(*on_threads(run), strict=True):
        assert torch.allclose(one, two, rtol=1e-6, atol=1e-6 * two.abs().max().item())


@compiled_kernels
def test_compiled_endings_split_over_threads_with_the_same_result():
    n, c_in, c_out, t, v = 4, 32, 64, 6, 25
    x = torch.randn(n, c_in, t, v, requires_grad=True)
    a = torch.randn(n, 8, v, v + 3)[..., :v].requires_grad_()
    w = torch.randn(8, c_out // 8, c_in // 8, requires_grad=True)
    const = torch.randn(n, 8, c_out // 8, v, requires_grad=True)
    bn = [torch.rand(c_out).add_(0.5).requires_grad_(), torch.randn(c_out, requires_grad=True)]
    down = [torch.randn(c_out, c_in, 1, 1, requires_grad=True), torch.randn(c_out)]
    down += [torch.rand(c_out).add_(0.5).requires_grad_(), torch.randn(c_out, requires_grad=True)]
    emb = [torch.randn(2, 3, 8, 25, 2), torch.randn(16, 3, requires_grad=True)]
    emb += [torch.randn(16, requires_grad=True), torch.randn(1, 25, 16, requires_grad=True)]
    emb += [torch.rand(800).add_(0.5).requires_grad_(), torch.randn(800, requires_grad=True)]
    gy, ge = torch.randn(n, c_out, t, v), torch.randn(4, 16, 8, 25)
    inputs = [x, a, w, const, *bn, down[0], down[2], down[3], *emb[1:]]

    def run(threads):
        stats = [torch.zeros(c_out), torch.ones(c_out)]
        y = hypergcn._GraphConvEnd.apply(
            x, a, w, const, *bn, *stats, 0.1, 1e-5, None, *down, *stats, 0.1, 1e-5
        )
        e = hypergcn._EmbedNorm.apply(*emb, torch.zeros(800), torch.ones(800), 0.1, 1e-5)
        loss = (y * gy).sum() + (e * ge).sum()
        return (y, e, *torch.autograd.grad(loss, inputs))

    for one, two in zip(*on_threads(run), strict=True):
        assert torch.allclose(one, two, rtol=1e-5, atol=1e-5 * two.abs().max().item())


@compiled_kernels
@pytest.mark.parametrize(("c_in", "c_out"), [(32, 32), (32, 64)])
def test_graph_convolution_with_the_kernel_matches_it_switched_off(c_in, c_out):
    torch.manual_seed(3)
    layer = HyperGraphConv(c_in, c_out, virtual_ensemble_graph(3))
    with torch.no_grad():
        layer.hyper_joint.add_(torch.randn_like(layer.hyper_joint))
        layer.bn.weight.fill_(1.0)
    x = torch.randn(3, c_in, 12, 25, requires_grad=True)
    gy = torch.randn(3, c_out, 12, 25)
    # to_V.bias leaves every distance unchanged and down's conv bias feeds a BatchNorm: their
    # true gradients are zero (rounding noise here), left out
    noise = ("to_V.bias", "down.0.bias")
    params = [x] + [p for k, p in layer.named_parameters() if p.requires_grad and k not in noise]
    start = {k: v.clone() for k, v in layer.state_dict().items()}
    runs = []
    for on in (True, False):
        layer.load_state_dict(start)
        with pytest.MonkeyPatch.context() as mp:
            if not on:
                mp.setattr(native, "_LIBRARIES", {"hg_graph": None})
            assert hypergcn._compiled_fits(x, layer.conv_d.weight) is on
            y = layer(x)
            stats = [b.clone() for b in layer.buffers()]  # running statistics, batch counters
            runs.append((y, torch.autograd.grad(y, params, gy), stats))
    (y1, g1, s1), (y0, g0, s0) = runs
    assert torch.allclose(y1, y0, rtol=1e-5, atol=1e-5)
    for one, off in zip(s1, s0, strict=True):
        assert torch.allclose(one, off, rtol=1e-5, atol=1e-7)
    for one, off in zip(g1, g0, strict=True):
        assert torch.allclose(one, off, rtol=1e-4, atol=1e-5 * off.abs().max().item())


@compiled_kernels
@pytest.mark.parametrize("shortcut", ["identity", "tensor", "down"])
def test_compiled_graph_conv_end_matches_float64_values_and_gradients(shortcut):
    n, c_in, c_out, t, v = 3, 64, 64 if shortcut == "identity" else 128, 6, 25
    x = torch.randn(n, c_in, t, v, requires_grad=True)
    a = torch.randn(n, 8, v, v + 3)[..., :v].requires_grad_()
    w = torch.randn(8, c_out // 8, c_in // 8, requires_grad=True)
    const = torch.randn(n, 8, c_out // 8, v, requires_grad=True)
    gamma = torch.rand(c_out).add_(0.5).requires_grad_()
    beta = torch.randn(c_out, requires_grad=True)
    inputs = [x, a, w, const, gamma, beta]
    res, down = None, ()
    if shortcut == "tensor":
        res = torch.randn(n, c_out, t, v, requires_grad=True)
        inputs.append(res)
    elif shortcut == "down":  # 1x1 conv (weight, bias), then BatchNorm (gamma, beta)
        extra = [torch.randn(c_out, c_in, 1, 1), torch.randn(c_out)]
        extra += [torch.rand(c_out).add_(0.5), torch.randn(c_out)]
        inputs += [u.requires_grad_() for u in extra]
    stats = [torch.zeros(c_out), torch.ones(c_out), torch.zeros(c_out), torch.ones(c_out)]
    if shortcut == "down":
        down = (*inputs[6:], stats[2], stats[3], 0.1, 1e-5)
    gy = torch.randn(n, c_out, t, v)

    fn = hypergcn._GraphConvEnd.apply
    y = fn(x, a, w, const, gamma, beta, stats[0], stats[1], 0.1, 1e-5, res, *down)
    grads = torch.autograd.grad(y, inputs, gy)

    wide = [u.detach().double().requires_grad_() for u in inputs]
    products = _graph_products(*wide[:4])
    normed = F.batch_norm(products, None, None, wide[4], wide[5], True, 0.0, 1e-5)
    if shortcut == "identity":
        added = wide[0]
    elif shortcut == "tensor":
        added = wide[6]
    else:
        proj = F.conv2d(wide[0], wide[6], wide[7])
        added = F.batch_norm(proj, None, None, wide[8], wide[9], True, 0.0, 1e-5)
    expected = F.relu(normed + added)
    wanted = torch.autograd.grad(expected, wide, gy.double())
    assert torch.allclose(y.double(), expected, rtol=1e-5, atol=1e-5)
    for got, want in zip(grads, wanted, strict=True):
        if shortcut == "down" and got.shape == (c_out,) and got is grads[7]:
            continue  # the conv bias before a BatchNorm: true gradient 0, rounding noise
        assert torch.allclose(got.double(), want, rtol=1e-4, atol=2e-5 * want.abs().max().item())
    batch = products.detach()
    assert torch.allclose(stats[0].double(), 0.1 * batch.mean((0, 2, 3)), atol=1e-6)
    assert torch.allclose(stats[1].double(), 0.9 + 0.1 * batch.var((0, 2, 3)), rtol=1e-5)
    if shortcut == "down":
        batch = proj.detach()
        assert torch.allclose(stats[2].double(), 0.1 * batch.mean((0, 2, 3)), atol=1e-5)
        assert torch.allclose(stats[3].double(), 0.9 + 0.1 * batch.var((0, 2, 3)), rtol=1e-5)


@compiled_kernels
def test_compiled_embedding_norm_matches_float64_values_gradients_and_statistics():
    n, c, t, v, m, e = 3, 3, 10, 25, 2, 16
    x = torch.randn(n, c, t, v, m, requires_grad=True)
    weight = torch.randn(e, c, requires_grad=True)
    bias = torch.randn(e, requires_grad=True)
    pos = torch.randn(1, v, e, requires_grad=True)
    gamma = torch.rand(m * v * e).add_(0.5).requires_grad_()
    beta = torch.randn(m * v * e, requires_grad=True)
    inputs = [x, weight, bias, pos, gamma, beta]
    mean, var = torch.zeros(m * v * e), torch.ones(m * v * e)
    gy = torch.randn(n * m, e, t, v)
    assert hypergcn._embed_fits(x)

    y = hypergcn._EmbedNorm.apply(*inputs, mean, var, 0.1, 1e-5)
    grads = torch.autograd.grad(y, inputs, gy)

    x64, w64, b64, p64, g64, be64 = wide = [u.detach().double().requires_grad_() for u in inputs]
    emb = (x64.permute(0, 4, 2, 3, 1) @ w64.t() + b64 + p64).tanh()  # (N, M, T, V, E)
    emb = emb.permute(0, 1, 3, 4, 2).reshape(n, m * v * e, t)  # data_bn's layout
    normed = F.batch_norm(emb, None, None, g64, be64, True, 0.0, 1e-5)
    expected = normed.view(n, m, v, e, t).permute(0, 1, 3, 4, 2).reshape(n * m, e, t, v)
    wanted = torch.autograd.grad(expected, wide, gy.double())
    assert y.shape == (n * m, e, t, v)
    assert torch.allclose(y.double(), expected, rtol=1e-5, atol=1e-5)
    for got, want in zip(grads, wanted, strict=True):
        assert torch.allclose(got.double(), want, rtol=1e-4, atol=2e-5 * want.abs().max().item())
    batch = emb.detach()
    assert torch.allclose(mean.double(), 0.1 * batch.mean((0, 2)), atol=1e-6)
    assert torch.allclose(var.double(), 0.9 + 0.1 * batch.var((0, 2)), rtol=1e-5)


@compiled_kernels
def test_a_second_backward_through_the_compiled_embedding_is_refused():
    # its backward writes the pre-tanh gradient over the saved tanh values
    model = build("hypergcn", num_classes=10)
    assert hypergcn._embed_fits(torch.randn(1, 3, 4, 25, 2))
    loss = model(torch.randn(2, 3, 8, 25, 2)).square().sum()
    loss.backward(retain_graph=True)

    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


@compiled_kernels
def test_model_embedding_with_the_kernel_matches_it_switched_off():
    # what the model hands its first block (l1's input), and its gradients; later blocks'
    # nearest-edge selections would amplify float32 rounding
    torch.manual_seed(4)
    model = build("hypergcn", num_classes=10)
    x = torch.randn(2, 3, 12, 25, 2)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    params = [model.to_joint_embedding.weight, model.pos_embedding, model.data_bn.weight]
    seen: list[torch.Tensor] = []
    model.l1.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    runs = []
    for on in (True, False):
        model.load_state_dict(start)
        with pytest.MonkeyPatch.context() as mp:
            if not on:
                mp.setattr(native, "_LIBRARIES", {"hg_embed": None})
            assert hypergcn._embed_fits(x) is on
            model(x)
            h = seen.pop()
            grads = torch.autograd.grad(
                (h * torch.linspace(-1, 1, h.numel()).view_as(h)).sum(), params
            )
            runs.append((h, grads, model.data_bn.running_var.clone()))
    (h1, g1, v1), (h0, g0, v0) = runs
    assert h1.shape == h0.shape == (4, 128, 12, 25)
    assert torch.allclose(h1, h0, rtol=1e-5, atol=1e-5)
    for one, off in zip(g1, g0, strict=True):
        assert torch.allclose(one, off, rtol=1e-4, atol=1e-4 * off.abs().max().item())
    assert torch.allclose(v1, v0, rtol=1e-5)


def test_graph_products_take_the_torch_form_where_the_kernel_does_not_fit(monkeypatch):
    w = torch.randn(8, 4, 4)
    assert not hypergcn._compiled_fits(torch.randn(1, 32, 4, 25, dtype=torch.float64), w.double())
    assert not hypergcn._compiled_fits(torch.randn(1, 32, 4, 40), w)  # 40 joints > 32
    assert not hypergcn._compiled_fits(torch.randn(1, 1024, 4, 25), torch.randn(8, 4, 128))
    monkeypatch.setenv("SKELAB_NATIVE", "0")
    monkeypatch.setattr(native, "_LIBRARIES", {})
    assert not hypergcn._compiled_fits(torch.randn(1, 32, 4, 25), w)
    assert not hypergcn._embed_fits(torch.randn(1, 3, 4, 25, 2))


def test_virtual_joint_rows_of_the_static_graph_get_no_gradient():
    layer = HyperGraphConv(32, 32, virtual_ensemble_graph(3))
    layer.bn.weight.data.fill_(1.0)

    layer(torch.randn(2, 32, 8, 25)).square().sum().backward()

    grad = layer.edge_importance.grad  # (8, 28, 28)
    assert grad[:, 25:].abs().max() == 0
    assert grad[:, :25].abs().max() > 0


def test_to_v_bias_does_not_change_the_output():
    layer = HyperGraphConv(32, 32, virtual_ensemble_graph(3)).double().eval()
    x = torch.randn(2, 32, 6, 25, dtype=torch.float64)  # (N, C, T, V)
    before = layer(x)

    with torch.no_grad():  # shifts every embedding of a head alike: distances stay the same
        layer.to_V.bias.add_(torch.randn_like(layer.to_V.bias))

    assert torch.allclose(layer(x), before, rtol=1e-6, atol=1e-9)


def test_graph_is_symmetric_with_virtual_joints_linked_to_all_real_joints():
    a = torch.from_numpy(virtual_ensemble_graph(3))

    degree = a.sum(1)

    assert torch.equal(a, a.t())
    assert degree[:25].min() == 5 and degree[:25].max() == 8
    assert torch.all(degree[25:] == 26)


# ------------------------------------------------------------------------ divergence loss


def _divergence_by_definition(matrices: list[torch.Tensor]) -> torch.Tensor:
    per_layer = []
    for m in matrices:
        pairs = [
            F.relu(F.cosine_similarity(m[i], m[j], dim=0))
            for i in range(m.shape[0])
            for j in range(m.shape[0])
            if i != j
        ]
        per_layer.append(torch.stack(pairs).mean())
    return torch.stack(per_layer).mean()


def test_divergence_equals_definition_and_scales_with_weight():
    model = build("hypergcn", divergence_weight=0.5)
    with torch.no_grad():
        for block in model.blocks():
            block.gcn1.hyper_joint.normal_()
    model(torch.randn(2, 3, 8, 25, 2))
    expected = _divergence_by_definition([b.gcn1.hyper_joint for b in model.blocks()])

    loss = model.auxiliary_losses()["divergence"]

    assert torch.allclose(loss, 0.5 * expected, atol=1e-6)


def test_divergence_is_one_while_virtual_joints_are_identical():
    joints = [torch.randn(1, 16).repeat(3, 1) for _ in range(9)]

    assert torch.allclose(divergence_loss(joints), torch.tensor(1.0), atol=1e-6)


def test_divergence_gradient_reaches_every_hyper_joint():
    model = build("hypergcn")
    with torch.no_grad():
        for block in model.blocks():
            block.gcn1.hyper_joint.normal_()
    model(torch.randn(2, 3, 8, 25, 2))

    model.auxiliary_losses()["divergence"].backward()

    for block in model.blocks():
        assert block.gcn1.hyper_joint.grad.abs().sum() > 0


def test_auxiliary_losses_before_any_forward_is_an_error():
    with pytest.raises(SkelabError, match="forward"):
        build("hypergcn").auxiliary_losses()


# ------------------------------------------------------------------------ options, loading


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ({"num_joints": 18}, "num_joints"),
        ({"graph": "graph.kinetics.Graph"}, "graph.ntu_rgb_d.Graph"),
        ({"graph_args": {"labeling_mode": "spatial"}}, "virtual_ensemble"),
        ({"hyper_joints": 1}, "hyper_joints"),
        ({"dropout": 1.5}, "dropout"),
    ],
)
def test_invalid_options_name_the_valid_values(opts, message):
    with pytest.raises(ModelConfigError, match=message):
        build("hypergcn", **opts)


def test_checkpoint_missing_a_key_fails_listing_it():
    model = build("hypergcn")
    state = build("hypergcn").state_dict()
    del state["l3.gcn1.alpha"]

    with pytest.raises(CheckpointError, match=r"missing: l3\.gcn1\.alpha"):
        load_upstream_checkpoint(model, state)


def test_checkpoint_with_wrong_shape_fails_listing_it():
    model = build("hypergcn")
    state = build("hypergcn").state_dict()
    state["fc.weight"] = torch.zeros(120, 256)

    with pytest.raises(CheckpointError, match=r"fc\.weight: checkpoint \(120, 256\)"):
        load_upstream_checkpoint(model, state)


@pytest.mark.golden
def test_training_forward_with_autograd_recording_matches_upstream():
    # the written training paths (compiled graph-conv ending, TCN kernels) run only while
    # autograd records; the golden tests' training forward runs under no_grad
    from shared_refs import load_golden, rel_err

    meta, state, case = load_golden("hypergcn_base_ntu60")
    model = load_upstream_checkpoint(build("hypergcn", **meta["upstream_constructor"]), state)
    model.train()

    out = model(case["input"])

    assert out.requires_grad
    assert rel_err(out.detach(), case["train_output"]) < 1e-4
