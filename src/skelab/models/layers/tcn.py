"""Multi-scale temporal convolution, shared by CTR-GCN, MS-G3D and Hyper-GCN.

Paper: Liu et al., "Disentangling and Unifying Graph Convolutions for Skeleton-Based Action
Recognition", CVPR 2020 (MS-TCN); CTR-GCN (ICCV 2021) and Hyper-GCN (ICCV 2025) reuse it with
kernel 5 and dilations (1, 2). Attribute names follow the upstream checkpoints
(`branches.{i}.{j}`, `.conv`, `.bn`, `residual`), so their weights load without renaming.

Layout of the branches, for D dilations and branch width b = C_out / (D + 2):
  branch i < D : 1x1 conv -> BN -> ReLU -> TemporalConv(kernel, dilation d_i, stride)
  branch D     : 1x1 conv -> BN -> ReLU -> MaxPool(3, stride) -> BN
  branch D + 1 : 1x1 conv with stride -> BN
The outputs are concatenated along channels; an optional residual is added, then the optional
activation.

Same function, less work than upstream's loop over branches: the 1x1 convolutions that open
the branches all read the same input, so those with stride 1 run as one convolution with their
weights stacked along the output channels, and their BatchNorms as one batch norm over the
stacked channels (BatchNorm is per channel, so this is exact; each module's running statistics
and batch counter are updated as its own forward would). The weights stay in their modules
under upstream's keys. BatchNorms with different settings fall back to the branch loop.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.models.layers.init import constant_bn_, kaiming_conv_
from skelab.models.layers.pointwise import conv1x1, eager_cpu, pointwise
from skelab.models.layers.temporal import temporal_conv


class TemporalConv(nn.Module):
    """Convolution over frames only (kernel (k, 1)), then BatchNorm; joints never mix."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int,
        stride: int = 1,
        dilation: int = 1,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        pad = (kernel + (kernel - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(
            c_in,
            c_out,
            (kernel, 1),
            stride=(stride, 1),
            padding=(pad, 0),
            dilation=(dilation, 1),
            padding_mode=padding_mode,
        )
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x: Tensor) -> Tensor:
        return self.bn(frame_conv(self.conv, x))  # (N, C, T, V) -> (N, C_out, T / stride, V)


class MultiScaleTemporalConv(nn.Module):
    """Parallel temporal branches of several dilations, a max-pool and a strided 1x1 branch."""

    def __init__(
        self,
        c_in: int,
        c_out: int,
        kernel: int = 3,
        stride: int = 1,
        dilations: tuple[int, ...] = (1, 2, 3, 4),
        residual: bool = True,
        activation: bool = True,
        padding_mode: str = "zeros",
    ) -> None:
        super().__init__()
        n_branches = len(dilations) + 2
        if c_out % n_branches:
            raise ValueError(f"c_out={c_out} must be a multiple of {n_branches} branches")
        b = c_out // n_branches
        branches: list[nn.Module] = [
            nn.Sequential(
                nn.Conv2d(c_in, b, 1),
                nn.BatchNorm2d(b),
                nn.ReLU(inplace=True),
                TemporalConv(b, b, kernel, stride, d, padding_mode),
            )
            for d in dilations
        ]
        branches.append(
            nn.Sequential(
                nn.Conv2d(c_in, b, 1),
                nn.BatchNorm2d(b),
                nn.ReLU(inplace=True),
                nn.MaxPool2d((3, 1), stride=(stride, 1), padding=(1, 0)),
                nn.BatchNorm2d(b),
            )
        )
        branches.append(nn.Sequential(nn.Conv2d(c_in, b, 1, stride=(stride, 1)), nn.BatchNorm2d(b)))
        self.branches = nn.ModuleList(branches)
        if not residual:
            self.residual: nn.Module | None = None
        elif c_in == c_out and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = TemporalConv(c_in, c_out, 1, stride)
        self.act = nn.ReLU(inplace=True) if activation else nn.Identity()

    def _heads(self) -> list[nn.Sequential]:
        """Branches whose opening 1x1 convolution has stride 1 (all of them when stride is 1)."""
        return [b for b in self.branches if b[0].stride == (1, 1)]

    def _branches_fused(self, x: Tensor, heads: list[nn.Sequential]) -> list[Tensor]:
        """All branch outputs, the stride-1 opening convolutions and BatchNorms (of `heads`)
        run as one."""
        parts = iter(stacked_heads(x, [b[0] for b in heads], [b[1] for b in heads]))
        outs = []
        for branch in self.branches:
            if branch[0].stride != (1, 1):  # the strided 1x1 branch: its own conv and BN
                outs.append(branch[1](pointwise(branch[0], x)))
                continue
            y = next(parts)
            for layer in list(branch)[2:]:  # after conv and BN: ReLU, then the branch's tail
                if isinstance(layer, nn.ReLU):
                    y = F.relu(y)
                elif isinstance(layer, nn.MaxPool2d):
                    y = frame_max_pool(layer, y)
                else:
                    y = layer(y)
            outs.append(y)
        return outs

    def forward(self, x: Tensor) -> Tensor:
        heads = self._heads()
        if fusable_batch_norms([b[1] for b in heads]):
            outs = self._branches_fused(x, heads)
        else:
            outs = [branch(x) for branch in self.branches]
        out = torch.cat(outs, dim=1)  # (N, C_out, T/s, V)
        if self.residual is not None:
            out = out + self.residual(x)
        return self.act(out)


def fusable_batch_norms(bns: list[nn.Module]) -> bool:
    """True if these BatchNorms can run as one: same type and settings, all affine."""
    if len(bns) < 2 or any(type(b) is not nn.BatchNorm2d for b in bns):
        return False
    first = bns[0]
    return all(
        b.affine
        and b.training == first.training
        and b.eps == first.eps
        and b.momentum == first.momentum
        and b.track_running_stats == first.track_running_stats
        # a cumulative average (momentum None) weighs by the batch count, read in training only
        and (
            b.momentum is not None
            or not b.training
            or int(b.num_batches_tracked) == int(first.num_batches_tracked)
        )
        for b in bns
    )


def stacked_heads(
    x: Tensor, convs: list[nn.Conv2d], bns: list[nn.BatchNorm2d], *, relu: bool = False
) -> list[Tensor]:
    """`[bn_i(conv_i(x))]` (then ReLU, in place, if `relu`) for 1x1 convs (stride 1) that read
    the same x, as one product with their weights stacked along the output channels and one
    batch norm over the stacked channels (`stacked_batch_norm`; check
    `fusable_batch_norms(bns)` first). The result is split, not sliced: backward concatenates
    the pieces' gradients once, where each slice's backward would zero-fill a gradient the
    size of all of them."""
    weight = torch.cat([c.weight for c in convs])
    bias = torch.cat([c.bias for c in convs])
    h = stacked_batch_norm(conv1x1(x, weight, bias), bns)
    if relu:
        h = h.relu_()
    return list(h.split([c.out_channels for c in convs], dim=1))


def stacked_batch_norm(x: Tensor, bns: list[nn.BatchNorm2d]) -> Tensor:
    """`cat([bn_i(x_i)])` for x = cat([x_i]) along channels, as one batch norm.

    Follows `nn.BatchNorm2d.forward`: batch statistics in training (or without running
    statistics), the running statistics otherwise; in training each module's running mean,
    variance and batch counter are updated as its own forward would update them.
    """
    first = bns[0]
    training = first.training
    track = first.track_running_stats and first.running_mean is not None
    factor = 0.0 if first.momentum is None else first.momentum
    if training and track:
        for bn in bns:
            bn.num_batches_tracked.add_(1)
        if first.momentum is None:  # cumulative moving average
            factor = 1.0 / float(first.num_batches_tracked)
    mean = torch.cat([bn.running_mean for bn in bns]) if track else None
    var = torch.cat([bn.running_var for bn in bns]) if track else None
    weight = torch.cat([bn.weight for bn in bns])
    bias = torch.cat([bn.bias for bn in bns])
    use_batch = training or not track
    y = F.batch_norm(x, mean, var, weight, bias, use_batch, factor, first.eps)
    if training and track:
        with torch.no_grad():
            start = 0
            for bn in bns:
                width = bn.num_features
                bn.running_mean.copy_(mean[start : start + width])
                bn.running_var.copy_(var[start : start + width])
                start += width
    return y


def ctrgcn_temporal(channels: int, stride: int = 1, padding_mode: str = "zeros") -> nn.Module:
    """CTR-GCN's `tcn1`: kernel 5, dilations (1, 2), no inner residual or activation, with
    upstream's `weights_init` (Kaiming convs, zero biases, BN gamma ~ N(1, 0.02), beta 0).
    Hyper-GCN uses the same module with replicate padding."""
    tcn = MultiScaleTemporalConv(
        channels,
        channels,
        kernel=5,
        stride=stride,
        dilations=(1, 2),
        residual=False,
        activation=False,
        padding_mode=padding_mode,
    )
    for m in tcn.modules():
        if isinstance(m, nn.Conv2d):
            kaiming_conv_(m)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return tcn


def unit_tcn(c_in: int, c_out: int, stride: int = 1, padding_mode: str = "zeros") -> TemporalConv:
    """The CTR-GCN family's projected unit residual: 1x1 conv with stride, then BN (gamma 1)."""
    res = TemporalConv(c_in, c_out, 1, stride, padding_mode=padding_mode)
    kaiming_conv_(res.conv)
    constant_bn_(res.bn, 1.0)
    return res


# --------------------------------------------------------------------------------------------
# CPU kernels for the frame-only convolution and max-pool, as written-out products and maxima


def frame_conv(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """`conv(x)` for a (K, 1) convolution over frames (zero or replicate padding, stride and
    dilation over frames, no groups).

    On the CPU (float32, eager) a 1x1 conv runs through `pointwise`, and a wider one with
    replicate padding as K shifted matrix products per sample (`_FrameConv`): frames are
    contiguous rows of T*V values, so tap k's input is a flat window of the padded input, and
    the padding and its backward are written out (`F.pad`'s replicate backward cost as much
    as the convolution). With zero padding it is `layers.temporal.temporal_conv`: the DFT
    form where that was measured faster (9+ taps, 64+ channels: ST-GCN), else oneDNN's
    convolution, which was as fast as the shifted products in the whole training step
    (CTR-GCN, in-process A/B). Elsewhere (GPU, meta, autocast, compile or export tracing) it
    is `conv(x)`."""
    kt, kv = conv.kernel_size
    plain = (
        kv != 1
        or conv.stride[1] != 1
        or conv.dilation[1] != 1
        or conv.padding[1] != 0
        or conv.groups != 1
        or not isinstance(conv.padding, tuple)
        or conv.padding_mode not in ("zeros", "replicate")
        or not eager_cpu(x)
    )
    if plain:
        return conv(x)
    if kt == 1 and conv.padding == (0, 0):
        return pointwise(conv, x)
    if conv.padding_mode == "zeros":
        return temporal_conv(conv, x)
    return _FrameConv.apply(
        x,
        conv.weight,
        conv.bias,
        conv.stride[0],
        conv.dilation[0],
        conv.padding[0],
        conv.padding_mode == "replicate",
    )


def _padded_phases(x: Tensor, pad: int, stride: int, replicate: bool) -> Tensor:
    """x (N, C, T, V) padded by `pad` frames each side (zeros or edge frames), rounded up to a
    multiple of `stride` frames with zeros and split into its `stride` frame phases: (N, C,
    stride * T_p / stride * V) with phase r holding padded frames r, r + stride, ..."""
    n, c, t, v = x.shape
    tp = t + 2 * pad
    total = -(-tp // stride) * stride
    xp = x.new_empty(n, c, total, v)
    xp[:, :, pad : pad + t] = x
    if replicate:
        xp[:, :, :pad] = x[:, :, :1]
        xp[:, :, pad + t : tp] = x[:, :, t - 1 :]
    else:
        xp[:, :, :pad] = 0
        xp[:, :, pad + t : tp] = 0
    xp[:, :, tp:] = 0
    if stride > 1:
        xp = xp.view(n, c, total // stride, stride, v).transpose(2, 3).contiguous()
    return xp.view(n, c, total * v)


class _FrameConv(torch.autograd.Function):
    """y[n, :, t] = b + sum_k W_k x_pad[n, :, stride * t + k * dilation] over frames, each tap a
    batched product over the samples on a flat window of the padded, phase-split input."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, dilation, pad, replicate):  # type: ignore[override]
        n, c_in, t, v = x.shape
        c_out, _, kernel, _ = weight.shape
        t_out = (t + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
        xp = _padded_phases(x, pad, stride, replicate)
        phase = xp.shape[2] // (stride * v)  # frames per phase
        width = t_out * v
        # tap k reads padded frames stride * t + k * dilation: phase (k d) % s, from (k d) // s
        offsets = [k * dilation for k in range(kernel)]
        starts = [(o % stride * phase + o // stride) * v for o in offsets]
        w = weight.view(c_out, c_in, kernel)
        out = x.new_empty(n, c_out, width)
        for k, start in enumerate(starts):
            w_k = w[:, :, k].expand(n, -1, -1).contiguous()  # a stride-0 batch is BLAS's slow path
            window = xp[:, :, start : start + width]
            if k == 0 and bias is not None:
                torch.baddbmm(bias.view(1, c_out, 1), w_k, window, out=out)
            elif k == 0:
                torch.bmm(w_k, window, out=out)
            else:
                out.baddbmm_(w_k, window)
        ctx.save_for_backward(xp, weight)
        ctx.layout = (stride, pad, replicate, t, v, starts, width, bias is not None)
        return out.view(n, c_out, t_out, v)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        xp, weight = ctx.saved_tensors
        stride, pad, replicate, t, v, starts, width, has_bias = ctx.layout
        n, c_in, flat = xp.shape
        c_out, _, kernel, _ = weight.shape
        grad = grad.reshape(n, c_out, width)
        w = weight.view(c_out, c_in, kernel)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            gp = xp.new_empty(n, c_in, flat)
            gp[:, :, width:].zero_()  # tap 0 writes (beta 0) the rest: no full-size zero fill
            for k, start in enumerate(starts):
                w_k = w[:, :, k].t().expand(n, -1, -1).contiguous()
                gp[:, :, start : start + width].baddbmm_(w_k, grad, beta=0.0 if k == 0 else 1.0)
            total = flat // v
            gp = gp.view(n, c_in, stride, total // stride, v).transpose(2, 3)
            gp = gp.reshape(n, c_in, total, v)  # phases back to frame order (a view at stride 1)
            grad_x = gp[:, :, pad : pad + t]
            if replicate and pad:  # the padded frames copied the first and last frame
                grad_x[:, :, 0] += gp[:, :, :pad].sum(2)
                grad_x[:, :, t - 1] += gp[:, :, pad + t : t + 2 * pad].sum(2)
        if ctx.needs_input_grad[1]:
            taps = [torch.bmm(grad, xp[:, :, s : s + width].transpose(1, 2)).sum(0) for s in starts]
            grad_w = torch.stack(taps, dim=-1).view(weight.shape)
        if has_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum((0, 2))
        return grad_x, grad_w, grad_b, None, None, None, None


def frame_max_pool(pool: nn.MaxPool2d, x: Tensor) -> Tensor:
    """`pool(x)` for the TCN's max-pool: kernel (3, 1), padding (1, 0), stride over frames.

    On the CPU (eager) the maximum of the three shifted frame views (`_FrameMaxPool`):
    `max_pool2d_with_indices` walks every window with index arithmetic and writes an int64
    index per output. The gradient goes, as max_pool2d's, to the first maximum of each window."""
    if (
        pool.kernel_size != (3, 1)
        or pool.padding != (1, 0)
        or pool.dilation not in (1, (1, 1))
        or pool.ceil_mode
        or pool.return_indices
        or not isinstance(pool.stride, tuple)
        or pool.stride[1] != 1
        or not eager_cpu(x)
    ):
        return pool(x)
    return _FrameMaxPool.apply(x, pool.stride[0])


def _pool_views(x: Tensor, stride: int, t_out: int) -> tuple[Tensor, Tensor, Tensor]:
    """Frames s*t - 1 (for t >= 1), s*t, s*t + 1 (where < T) of x, as views over outputs."""
    t = x.shape[2]
    end = stride * (t_out - 1) + 1
    left = x[:, :, stride - 1 : end - 1 : stride]  # outputs 1..t_out-1
    centre = x[:, :, 0:end:stride]  # all outputs
    right = x[:, :, 1 : min(end + 1, t) : stride]  # outputs whose s*t + 1 < T
    return left, centre, right


class _FrameMaxPool(torch.autograd.Function):
    """max over frames s*t-1, s*t, s*t+1 (missing frames are -inf padding)."""

    @staticmethod
    def forward(ctx, x, stride):  # type: ignore[override]
        t = x.shape[2]
        t_out = (t - 1) // stride + 1
        left, centre, right = _pool_views(x, stride, t_out)
        out = centre.clone(memory_format=torch.contiguous_format)
        torch.maximum(out[:, :, 1:], left, out=out[:, :, 1:])
        r = right.shape[2]
        torch.maximum(out[:, :, :r], right, out=out[:, :, :r])
        ctx.save_for_backward(x, out)
        ctx.stride = stride
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, out = ctx.saved_tensors
        stride = ctx.stride
        t_out = out.shape[2]
        left, centre, right = _pool_views(x, stride, t_out)
        r = right.shape[2]
        # Each window's gradient goes to its first maximum: left, else centre, else right. A
        # frame is a maximum where out - frame is 0, else positive: sign() gives 0 or 1 as
        # floats (comparisons into bool masks run several times slower on the CPU).
        later = torch.sign(out[:, :, 1:] - left)  # 1 where the left frame is not the maximum
        to_left = torch.addcmul(grad[:, :, 1:], grad[:, :, 1:], later, value=-1.0)
        rest = torch.empty_like(grad)
        rest[:, :, :1] = grad[:, :, :1]
        torch.mul(grad[:, :, 1:], later, out=rest[:, :, 1:])
        later = torch.sign(out - centre)  # 1 where the centre is not the maximum either
        to_centre = torch.addcmul(rest, rest, later, value=-1.0)
        rest *= later  # what is left goes right
        if stride == 1:
            grad_x = to_centre  # frame t is the centre of output t
        else:
            grad_x = torch.zeros_like(x)
            _pool_views(grad_x, stride, t_out)[1].copy_(to_centre)
        g_left, _, g_right = _pool_views(grad_x, stride, t_out)
        g_left += to_left
        g_right += rest[:, :, :r]
        return grad_x, None
