"""Training-mode BatchNorm for the CPU, with the residual sum and the ReLU that follow it.

PyTorch's CPU BatchNorm forward with batch statistics runs well above its memory floor at the
skeleton GCNs' shapes. Measured in one process on one core (float32, `process_time`, min of
9): (16, 128, 64, 25) takes 8.8 ms, where the row sums take 0.5 ms, the two-pass variance 2.2 ms
and the affine map 2.2 ms; (16, 256, 32, 25) 9.2 ms; (16, 64, 64, 25) 4.7 ms. Its backward
(`native_batch_norm_backward`) is at its floor and is kept.

`batch_norm_train` computes the same thing in three steps over the (N, C, L) view:

1. the per-channel mean from float32 row sums (each a cascade sum of L values) added up in
   float64;
2. the biased variance as the sum of squared deviations from that mean (two-pass, as exact as
   BatchNorm's own), a few samples at a time so that the deviations stay in cache;
3. the affine map `y * scale + shift` (BatchNorm's own alpha/beta form, scale and shift formed
   in float64), with the residual added and the ReLU applied on the same cache-sized chunk.

Where skelab's compiled CPU kernels build (`layers.native`, `kernels/batch_norm.c`), steps 1-2
are two vectorized passes and step 3 one, and `_BatchNormAct`'s backward is two passes instead
of ATen's ReLU backward plus BatchNorm backward: per-channel sums of the ReLU-masked gradient
g' and of g' (y - mean), then dy = a g' + k y + m with BatchNorm's training-mode coefficients
(formed in float64), the masked gradient written for the residual in the same pass. BatchNorm
+ residual + ReLU forward and backward measured 1.25-2.05x faster at (8, 64-256, 64-16, 25);
whole training steps: ST-GCN 1.06x, ProtoGCN 1.06x, DeGCN 1.03x (in-process A/B).

The running statistics move as `nn.BatchNorm2d` moves them (unbiased variance, `momentum`
factor), and the saved mean and inverse deviation are the ones `native_batch_norm_backward`
takes. `batch_norm_act(bn, y, res, relu)` is the module-level entry point: relu(bn(y) + res)
through the written forward on eager float32 CPU with batch statistics, the plain modules
everywhere else (GPU, meta, autocast, tracing, eval mode).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.models.layers import native
from skelab.models.layers.eager import eager_cpu

# elements per chunk of the variance and affine passes: 512 KB of float32, half an L2
_CHUNK = 1 << 17
# below this many values ATen's kernel is the faster one: fwd+bwd on (8, 150, 64) took 0.64 ms
# written vs 0.44 ms ATen; from (16, 16, 64, 25) up the written forward wins (2.7 vs 3.7 ms)
MIN_VALUES = 1 << 17


_P, _L = native.POINTER, native.LONG
# kernels/batch_norm.c, each over channels c0..c1 (the last two arguments)
_KERNEL = {
    "skelab_bn_statistics": [_P, _L, _L, _L, _P, _P, _L, _L],
    "skelab_bn_apply": [_P, _P, _P, _P, _P, _L, _L, _L, _L, _L, _L, _L, _L],
    "skelab_bn_reduce": [_P, _P, _P, _P, _L, _L, _L, _P, _P, _L, _L],
    "skelab_bn_backward": [_P, _P, _P, _P, _P, _P, _P, _P, _L, _L, _L, _L, _L],
}


def _kernel(y: Tensor):
    """The compiled BatchNorm passes (`kernels/batch_norm.c`) for a float32 tensor, or None
    (no compiler, SKELAB_NATIVE=0, another dtype): then the torch-operation passes run."""
    return native.library("batch_norm", _KERNEL) if y.dtype == torch.float32 else None


def _by_channel(fn, c: int, *args) -> None:
    """fn(*args, c0, c1) over channel ranges, one per torch thread."""
    native.run([(fn, (*args, i, j)) for i, j in native.split(c, 4)])


def batch_norm_factor(bn: nn.modules.batchnorm._BatchNorm) -> float:
    """The running-statistics factor of one training-mode call, counting the batch as
    `nn.BatchNorm2d.forward` does (`num_batches_tracked` + 1; momentum None = cumulative)."""
    if not (bn.track_running_stats and bn.num_batches_tracked is not None):
        return 0.0
    bn.num_batches_tracked.add_(1)
    if bn.momentum is None:
        return 1.0 / float(bn.num_batches_tracked)
    return bn.momentum


def uses_batch_statistics(bn: nn.Module) -> bool:
    """Whether `bn`, a plain BatchNorm1d/2d/3d (not SyncBatchNorm, whose statistics span
    processes), normalises with the batch's statistics in this call (training mode, or no
    running statistics), as `nn.BatchNorm2d.forward` decides."""
    return type(bn) in (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d) and (
        bn.training or bn.running_mean is None
    )


def batch_statistics(
    yv: Tensor,
    eps: float,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    momentum: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """The batch mean and inverse deviation (float64, (C,)) of yv (N, C, L), as BatchNorm's
    training mode computes them (biased variance, two passes), with the running statistics
    moved as `nn.BatchNorm2d` moves them (unbiased variance, `momentum` factor; none if 0).
    Through the compiled kernel's two vectorized passes on a contiguous float32 tensor, else
    float32 row sums added in float64 and the squared deviations a few samples at a time."""
    n, c, length = yv.shape
    count = n * length
    lib = _kernel(yv) if yv.is_contiguous() else None
    if lib is not None:
        mean64, m2 = yv.new_empty(c, dtype=torch.float64), yv.new_empty(c, dtype=torch.float64)
        ptr = native.pointer
        _by_channel(lib.skelab_bn_statistics, c, ptr(yv), n, c, length, ptr(mean64), ptr(m2))
        var64 = m2 / count
    else:
        mean64 = yv.sum(2).sum(0, dtype=torch.float64) / count
        mean = mean64.to(yv.dtype)
        step = max(1, _CHUNK // max(1, c * length))
        squares = yv.new_empty(n, c)
        dev = yv.new_empty(min(step, n), c, length)
        for i in range(0, n, step):
            d = dev[: min(step, n - i)]
            torch.sub(yv[i : i + step], mean[:, None], out=d)
            torch.sum(d.square_(), 2, out=squares[i : i + step])
        var64 = squares.sum(0, dtype=torch.float64) / count
    if running_mean is not None and running_var is not None and momentum:
        with torch.no_grad():
            unbiased = var64 * (count / max(count - 1, 1))
            running_mean.mul_(1 - momentum).add_(mean64.to(running_mean.dtype), alpha=momentum)
            running_var.mul_(1 - momentum).add_(unbiased.to(running_var.dtype), alpha=momentum)
    return mean64, (var64 + eps).rsqrt()


def batch_norm_train(
    y: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    momentum: float,
    eps: float,
    *,
    res: Tensor | None = None,
    relu: bool = False,
    out: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """`torch.native_batch_norm(y, weight, bias, running_mean, running_var, True, momentum,
    eps)` for a float32 CPU tensor (N, C, ...), followed by `+ res` and a ReLU when asked.

    Returns (output, batch mean, inverse deviation), the last two as native_batch_norm saves
    them for its backward. No autograd: the caller's Function owns the backward. `out`, if
    given, receives the output (any tensor whose (N, C, rest) view exists, e.g. a channel
    slice of a larger buffer); `res` has y's shape."""
    n, c = y.shape[:2]
    yv = y.reshape(n, c, -1)
    length = yv.shape[2]
    lib = _kernel(y) if yv.is_contiguous() else None
    step = max(1, _CHUNK // max(1, c * length))
    mean64, invstd64 = batch_statistics(yv, eps, running_mean, running_var, momentum)
    mean = mean64.to(y.dtype)
    scale64 = invstd64 if weight is None else weight.detach().double() * invstd64
    shift64 = -mean64 * scale64
    if bias is not None:
        shift64 = shift64 + bias.detach().double()
    scale = scale64.to(y.dtype)[:, None]
    shift = shift64.to(y.dtype)[:, None]
    if out is None:
        out = torch.empty_like(y, memory_format=torch.contiguous_format)
    ov = out.view(n, c, length)
    rv = None if res is None else res.reshape(n, c, length)
    if lib is not None and ov.stride(2) == 1:  # affine, residual and ReLU in one pass
        rv = None if rv is None else rv.contiguous()
        args = [native.pointer(t) for t in (yv, scale, shift, rv, ov)]
        _by_channel(lib.skelab_bn_apply, c, *args, ov.stride(0), ov.stride(1), n, c, length, relu)
    else:
        for i in range(0, n, step):
            o = ov[i : i + step]
            if rv is None:
                torch.addcmul(shift, yv[i : i + step], scale, out=o)
            else:
                torch.addcmul(rv[i : i + step], yv[i : i + step], scale, out=o)
                o.add_(shift)
            if relu:
                o.relu_()
    return out, mean, invstd64.to(y.dtype)


class _BatchNormAct(torch.autograd.Function):
    """relu?(batch_norm(y) + res) with batch statistics; backward through ATen's ReLU and
    BatchNorm backward kernels on the saved mean and inverse deviation."""

    @staticmethod
    def forward(ctx, y, weight, bias, running_mean, running_var, momentum, eps, res, relu):  # type: ignore[override]
        y = y.contiguous()
        out, mean, invstd = batch_norm_train(
            y, weight, bias, running_mean, running_var, momentum, eps, res=res, relu=relu
        )
        ctx.save_for_backward(y, weight, mean, invstd, out if relu else None)
        ctx.eps, ctx.relu = eps, relu
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        y, weight, mean, invstd, out = ctx.saved_tensors
        g_y, g_w, g_b, g_res = batch_norm_backward(
            grad.contiguous(), y, weight, mean, invstd, ctx.eps,
            relu_out=out if ctx.relu else None,
            need=tuple(ctx.needs_input_grad[:3]), masked=ctx.needs_input_grad[7],
        )  # fmt: skip
        return g_y, g_w, g_b, None, None, None, None, g_res, None


def batch_norm_backward(
    g: Tensor,
    y: Tensor,
    weight: Tensor | None,
    mean: Tensor,
    invstd: Tensor,
    eps: float,
    *,
    relu_out: Tensor | None = None,
    out: Tensor | None = None,
    need: tuple[bool, bool, bool] = (True, True, True),
    masked: bool = False,
) -> tuple[Tensor | None, Tensor | None, Tensor | None, Tensor | None]:
    """The gradients of relu?(batch_norm(y) + res) with batch statistics: (dy, dweight, dbias,
    g') from the output's gradient g (contiguous, y's shape), the input y, the saved mean and
    inverse deviation (as `batch_norm_train` returns them) and, with a ReLU, its output
    `relu_out` (the mask). g' is the ReLU-masked gradient, the residual's (returned when
    `masked`; g itself without a ReLU). `out` receives dy (it may be g: in place); `need`
    picks dy, dweight, dbias as `native_batch_norm_backward`'s mask does.

    On float32 through the compiled kernel (`kernels/batch_norm.c`) in two passes: per-channel
    sums of g' and of g' (y - mean), then dy = a g' + k y + m with BatchNorm's training-mode
    coefficients (formed in float64) and g' written in the same pass. Otherwise ATen's ReLU
    backward and BatchNorm backward."""
    lib = _kernel(y) if g.is_contiguous() and y.is_contiguous() else None
    if lib is None:
        if relu_out is not None:
            g = torch.ops.aten.threshold_backward(g, relu_out, 0)
        if out is None:
            g_y, g_w, g_b = torch.ops.aten.native_batch_norm_backward(
                g, y, weight, None, None, mean, invstd, True, eps, list(need)
            )
        else:
            g_w, g_b = torch.empty_like(mean), torch.empty_like(mean)
            g_y, g_w, g_b = torch.ops.aten.native_batch_norm_backward.out(
                g, y, weight, None, None, mean, invstd, True, eps, list(need),
                out0=out, out1=g_w, out2=g_b,
            )  # fmt: skip
        g_w = g_w if need[1] and weight is not None else None
        return (g_y if need[0] else None), g_w, (g_b if need[2] else None), (g if masked else None)
    n, c = y.shape[:2]
    length = y[0, 0].numel()
    count = n * length
    ptr = native.pointer
    mean64 = mean.double()
    sum_g, sum_gx = y.new_empty(c, dtype=torch.float64), y.new_empty(c, dtype=torch.float64)
    args = (ptr(g), ptr(relu_out), ptr(y), ptr(mean64), n, c, length, ptr(sum_g), ptr(sum_gx))
    _by_channel(lib.skelab_bn_reduce, c, *args)
    invstd64 = invstd.double()
    w64 = invstd64.new_ones(c) if weight is None else weight.detach().double()
    a = w64 * invstd64
    k = -w64 * invstd64**3 * sum_gx / count
    m = -a * sum_g / count - k * mean64
    g_y = None
    if need[0]:
        g_y = torch.empty_like(y) if out is None else out
    # g' itself, written in the same pass where a ReLU masked it
    g_res = None
    if masked:
        g_res = torch.empty_like(y) if relu_out is not None else g
    coef = [t.to(y.dtype) for t in (a, k, m)]
    write_res = g_res if relu_out is not None else None
    args = (ptr(g), ptr(relu_out), ptr(y), *(ptr(t) for t in coef), ptr(g_y), ptr(write_res))
    _by_channel(lib.skelab_bn_backward, c, *args, n, c, length)
    g_w = (invstd64 * sum_gx).to(y.dtype) if need[1] and weight is not None else None
    g_b = sum_g.to(y.dtype) if need[2] else None
    return g_y, g_w, g_b, g_res


def batch_norm_train_act(
    y: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    momentum: float,
    eps: float,
    res: Tensor | None = None,
    relu: bool = False,
) -> Tensor:
    """relu?(F.batch_norm(y, ..., training=True) + res) with autograd, for parameters that are
    not one module's (e.g. several BatchNorms stacked along the channels): the written
    forward where `batch_norm_act` would take it, `F.batch_norm` otherwise."""
    if _written(y, res):
        return _BatchNormAct.apply(
            y, weight, bias, running_mean, running_var, momentum, eps, res, relu
        )
    out = F.batch_norm(y, running_mean, running_var, weight, bias, True, momentum, eps)
    return _add_relu(out, res, relu)


def _add_relu(out: Tensor, res: Tensor | None, relu: bool) -> Tensor:
    """relu?(out + res) in place on BatchNorm's fresh output (its backward needs its input,
    not its output)."""
    if res is not None:
        out += res
    return out.relu_() if relu else out


def _written(y: Tensor, res: Tensor | None) -> bool:
    return (
        eager_cpu(y)
        and y.dim() >= 2
        and y.numel() >= max(MIN_VALUES, 2 * y.shape[1])
        and (res is None or (eager_cpu(res) and res.shape == y.shape))
    )


def batch_norm_act(
    bn: nn.Module, y: Tensor, res: Tensor | None = None, relu: bool = False
) -> Tensor:
    """relu?(bn(y) + res): a BatchNorm followed by an optional residual sum and ReLU.

    Through `batch_norm_train` where it applies (eager float32 CPU, a `_BatchNorm` using batch
    statistics, at least `MIN_VALUES` values); otherwise the module itself, then the sum
    and the ReLU in place."""
    if uses_batch_statistics(bn) and _written(y, res):
        factor = batch_norm_factor(bn) if bn.training else 0.0
        return _BatchNormAct.apply(
            y, bn.weight, bn.bias, bn.running_mean, bn.running_var, factor, bn.eps, res, relu
        )
    return _add_relu(bn(y), res, relu)
