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

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.models.layers.batchnorm import (
    batch_norm_act,
    batch_norm_backward,
    batch_norm_factor,
    batch_norm_train,
    batch_norm_train_act,
)
from skelab.models.layers.init import constant_bn_, kaiming_conv_
from skelab.models.layers.pointwise import batched, conv1x1, eager_cpu, pointwise
from skelab.models.layers.spares import LendingModule, give_back, lend
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
        y = frame_conv(self.conv, x)  # (N, C, T, V) -> (N, C_out, T / stride, V)
        return batch_norm_act(self.bn, y)


class MultiScaleTemporalConv(LendingModule):
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

    def _tail_batch_norms(self) -> list[nn.Module]:
        """The BatchNorms that end the branches, in output channel order."""
        *convs, pool, last = self.branches
        return [b[3].bn for b in convs] + [pool[4], last[1]]

    def _written(self, x: Tensor) -> bool:
        """Whether `_MultiScale` (the written forward and backward) computes this call: eager
        float32 CPU, training with batch statistics, the branch layout the constructor builds."""
        *convs, pool, last = self.branches
        if not (self.training and convs and eager_cpu(x) and x.dim() == 4):
            return False
        heads = [b[1] for b in (*convs, pool)]
        tail = self._tail_batch_norms()
        if not (fusable_batch_norms(heads + tail) and heads[0].training):
            return False
        pool_layer = pool[3]
        if not (
            isinstance(pool_layer, nn.MaxPool2d)
            and pool_layer.kernel_size == (3, 1)
            and pool_layer.padding == (1, 0)
            and pool_layer.dilation in (1, (1, 1))
            and not pool_layer.ceil_mode
            and isinstance(pool_layer.stride, tuple)
            and pool_layer.stride[1] == 1
        ):
            return False
        stride = pool_layer.stride[0]
        for branch in (*convs, pool, last):
            c = branch[0]
            if c.kernel_size != (1, 1) or c.padding != (0, 0) or c.groups != 1 or c.bias is None:
                return False
        if last[0].stride != (stride, 1) or any(b[0].stride != (1, 1) for b in (*convs, pool)):
            return False
        first = convs[0][3].conv
        for b in convs:
            c = b[3].conv
            if (
                c.kernel_size[1] != 1
                or c.stride != (stride, 1)
                or c.dilation[1] != 1
                or not isinstance(c.padding, tuple)
                or c.padding[1] != 0
                or c.groups != 1
                or c.bias is None
                or c.padding_mode != first.padding_mode
                or c.padding_mode not in ("zeros", "replicate")
                or 2 * c.padding[0] != (c.kernel_size[0] - 1) * c.dilation[0]
            ):
                return False
        return True

    def _written_forward(self, x: Tensor, res: Tensor | None = None, relu: bool = False) -> Tensor:
        """The branches through `_MultiScale`, then `+ res` and the ReLU in its last batch
        norm's pass: parameters stacked as its inputs, running statistics updated as each
        module's own forward would."""
        *convs, pool, last = self.branches
        heads = [*convs, pool]
        head_bns, tail_bns = [b[1] for b in heads], self._tail_batch_norms()
        h_mean, h_var, factor = _batch_statistics_begin(head_bns)
        t_mean, t_var, _ = _batch_statistics_begin(tail_bns)
        first = convs[0][3].conv
        plan = _Plan(
            stride=last[0].stride[0],
            kernels=tuple(b[3].conv.kernel_size[0] for b in convs),
            dilations=tuple(b[3].conv.dilation[0] for b in convs),
            pads=tuple(b[3].conv.padding[0] for b in convs),
            replicate=first.padding_mode == "replicate",
            momentum=factor,
            eps=head_bns[0].eps,
            relu=relu,
        )
        conv_params = [p for b in convs for p in (b[3].conv.weight, b[3].conv.bias)]
        out = _MultiScale.apply(
            x,
            torch.cat([b[0].weight for b in heads]),
            torch.cat([b[0].bias for b in heads]),
            torch.cat([bn.weight for bn in head_bns]),
            torch.cat([bn.bias for bn in head_bns]),
            last[0].weight,
            last[0].bias,
            torch.cat([bn.weight for bn in tail_bns]),
            torch.cat([bn.bias for bn in tail_bns]),
            h_mean,
            h_var,
            t_mean,
            t_var,
            res,
            plan,
            self.spares(),
            *conv_params,
        )
        _batch_statistics_end(head_bns, h_mean, h_var)
        _batch_statistics_end(tail_bns, t_mean, t_var)
        return out

    def forward(self, x: Tensor, res: Tensor | None = None, relu: bool = False) -> Tensor:
        """The branches' concatenation (+ the inner residual, then the activation), then
        `+ res` and a ReLU if given: relu?(tcn(x) + res), the ending of the blocks that use
        it. In training on the CPU without an inner residual or activation, the sum and the
        ReLU run in the last batch norm's pass (`_MultiScale`); elsewhere in place on the
        fresh output."""
        written = self._written(x)  # the layout check runs once a call
        simple = self.residual is None and isinstance(self.act, nn.Identity)
        if written and simple and (res is None or res.shape == _out_shape(self, x)):
            return self._written_forward(x, res, relu)
        if written:
            out = self._written_forward(x)
        else:
            heads = self._heads()
            if fusable_batch_norms([b[1] for b in heads]):
                outs = self._branches_fused(x, heads)
            else:
                outs = [branch(x) for branch in self.branches]
            out = torch.cat(outs, dim=1)  # (N, C_out, T/s, V)
        if self.residual is not None:
            out = out + self.residual(x)
        out = self.act(out)
        if res is None and not relu:
            return out
        if not isinstance(self.act, nn.Identity):  # the activation saved its output
            out = out.clone()
        if res is not None:
            out += res
        return out.relu_() if relu else out


def _out_shape(tcn: MultiScaleTemporalConv, x: Tensor) -> tuple[int, ...]:
    """The shape of tcn(x) for x (N, C, T, V)."""
    n, _, t, v = x.shape
    stride = tcn.branches[-1][0].stride[0]
    return (n, tcn.branches[-1][1].num_features * len(tcn.branches), (t - 1) // stride + 1, v)


class _Plan(NamedTuple):
    """The settings `_MultiScale` needs besides its tensors."""

    stride: int
    kernels: tuple[int, ...]
    dilations: tuple[int, ...]
    pads: tuple[int, ...]
    replicate: bool
    momentum: float
    eps: float
    relu: bool  # the output's ReLU, after `+ res`


def _conv_frames(x: Tensor, stride: int, pad: int, dilation: int) -> tuple[Tensor, list[int]]:
    """The input and (stride, padding, dilation) over frames that compute the zero-padded
    dilated convolution with dilation 1 where possible: at stride 1 with T a multiple of d,
    x (N, C, T, V) viewed as (N, C, T/d, d V) holds the d frame phases side by side and a
    dilation-1 conv with padding p/d over it is the dilated conv (no copy); at stride d
    only the even phase is read (one copy of half the frames). oneDNN runs dilation 1
    1.1-1.9x faster (b 16-64, T 16-64)."""
    n, c, t, v = x.shape
    if dilation > 1 and pad % dilation == 0:
        if stride == 1 and t % dilation == 0:
            return x.reshape(n, c, t // dilation, dilation * v), [1, pad // dilation, 1]
        if stride == dilation:
            return x[:, :, ::dilation], [1, pad // dilation, 1]
    return x, [stride, pad, dilation]


def _replicate_padded(x: Tensor, pad: int, out: Tensor) -> Tensor:
    """out (N, C, T + 2 pad, V) = x with its first and last frame repeated `pad` times."""
    t = x.shape[2]
    out[:, :, pad : pad + t] = x
    out[:, :, :pad] = x[:, :, :1]
    out[:, :, pad + t :] = x[:, :, t - 1 :]
    return out


def _replicate_unpad(grad: Tensor, pad: int, t: int) -> Tensor:
    """The input's gradient (a view of grad (N, C, T + 2 pad, V)) from the replicate-padded
    input's: the padded frames' gradient added to the first and last frame, in place."""
    inner = grad[:, :, pad : pad + t]
    if pad:
        inner[:, :, 0] += grad[:, :, :pad].sum(2)
        inner[:, :, t - 1] += grad[:, :, pad + t :].sum(2)
    return inner


class _MultiScale(torch.autograd.Function):
    """The multi-scale TCN's branches in training, forward and backward written out.

    Forward: the openings of the ReLU branches (temporal convs, max-pool) as one product H
    and one batch norm (ReLU in place); each branch writes its pre-norm output straight into
    its channels of one buffer P (the 1x1 branch's product too), and one batch norm over P
    gives the output: no concatenation, and one BatchNorm backward over the contiguous
    incoming gradient. Backward: each branch's input gradient, masked by the ReLU, is written
    into its channels of one buffer (no concatenation of the split's gradients), and x's
    gradient from the openings and the 1x1 branch accumulates in one product.
    Temporal convs: oneDNN on a contiguous copy of the branch's input (lent), with replicate
    padding written into the copy and undone on its gradient (the tap products of
    `_FrameConv` took 1.1-1.8x as long at Hyper-GCN's shapes), dilations through
    `_conv_frames`."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx,
        x,
        w_h,
        b_h,
        gam_h,
        be_h,
        w_l,
        b_l,
        gam_t,
        be_t,
        rm_h,
        rv_h,
        rm_t,
        rv_t,
        res,
        plan,
        spares,
        *convs,
    ):
        x = x.contiguous()
        n, c, t, v = x.shape
        s = plan.stride
        hb, b = w_h.shape[0], w_l.shape[0]
        branches = len(plan.dilations)
        t_out = (t - 1) // s + 1
        width = t_out * v
        xf = x.view(n, c, t * v)
        # the tensors saved for backward (and the scratch) are the module's spares: a fresh
        # 5-50 MB tensor per step is page-faulted in again (layers.spares)
        h = lend(spares, "h", (n, hb, t * v), x)
        torch.baddbmm(b_h.view(1, hb, 1), batched(w_h.view(hb, c), n), xf, out=h)
        hn, mean_h, invstd_h = batch_norm_train(
            h, gam_h, be_h, rm_h, rv_h, plan.momentum, plan.eps, relu=True,
            out=lend(spares, "hn", (n, hb, t * v), x),
        )  # fmt: skip
        pre4 = lend(spares, "pre", (n, (branches + 2) * b, t_out, v), x)  # 4-d: no view out
        pre = pre4.view(n, (branches + 2) * b, width)
        padded = []
        # BLAS's batched product needs a contiguous result (into a channel slice of `pre` it
        # runs one product per sample, 2-5x slower at these sizes): products go through
        # `tmp` and are copied into place
        tmp = lend(spares, "tmp", (n, b, width), x)
        for i, (d, pad) in enumerate(zip(plan.dilations, plan.pads, strict=True)):
            w, bias = convs[2 * i], convs[2 * i + 1]
            inp = hn[:, i * b : (i + 1) * b].view(n, b, t, v)
            dest = pre[:, i * b : (i + 1) * b]
            # oneDNN copies a strided input in forward and again in backward: the branch's
            # input is copied once here, with replicate padding written out around it
            if plan.replicate:
                src4 = _replicate_padded(
                    inp, pad, lend(spares, f"in{i}", (n, b, t + 2 * pad, v), x)
                )
                cpad = 0
            else:
                src4 = lend(spares, f"in{i}", (n, b, t, v), x).copy_(inp)
                cpad = pad
            padded.append(src4)
            src, (cs, cp, cd) = _conv_frames(src4, s, cpad, d)
            y = torch.ops.aten.convolution(
                src, w, bias, [cs, 1], [cp, 0], [cd, 1], False, [0, 0], 1
            )
            dest.view(n, b, t_out, v).copy_(y.view(n, b, t_out, v))
        pool_in = hn[:, branches * b : (branches + 1) * b].view(n, b, t, v)
        _max_pool_into(pool_in, s, pre[:, branches * b : (branches + 1) * b].view(n, b, t_out, v))
        xs = xf if s == 1 else x[:, :, ::s].reshape(n, c, width)
        torch.baddbmm(b_l.view(1, b, 1), batched(w_l.view(b, c), n), xs, out=tmp)
        pre[:, (branches + 1) * b :].copy_(tmp)
        out, mean_t, invstd_t = batch_norm_train(
            pre4, gam_t, be_t, rm_t, rv_t, plan.momentum, plan.eps, res=res, relu=plan.relu
        )
        give_back(spares, "tmp", tmp)
        ctx.plan, ctx.spares = plan, spares
        ctx.shape = (n, c, t, v)
        ctx.save_for_backward(
            x, xs, h, hn, pre, mean_h, invstd_h, mean_t, invstd_t, w_h, gam_h, w_l, gam_t,
            *convs, *padded, *((out,) if plan.relu else ()),
        )  # fmt: skip
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        plan = ctx.plan
        n, c, t, v = ctx.shape
        x, xs, h, hn, pre, mean_h, invstd_h, mean_t, invstd_t, w_h, gam_h, w_l, gam_t, *rest = (
            ctx.saved_tensors
        )
        branches = len(plan.dilations)
        convs, padded = rest[: 2 * branches], rest[2 * branches : 3 * branches]
        s, eps = plan.stride, plan.eps
        grad = grad.contiguous()
        hb, b = w_h.shape[0], w_l.shape[0]
        width = pre.shape[2]
        t_out = width // v
        mask = [True, True, True]
        # the tail BatchNorm, behind the output's ReLU (its mask is the saved output); `+ res`
        # takes the masked gradient
        g_pre, g_gt, g_bet, grad = batch_norm_backward(
            grad, pre.view(grad.shape), gam_t, mean_t, invstd_t, eps,
            relu_out=rest[3 * branches] if plan.relu else None,
            masked=ctx.needs_input_grad[13],
        )  # fmt: skip
        g_pre = g_pre.view(pre.shape)
        g_hn = lend(ctx.spares, "g_hn", (n, hb, t * v), x)
        conv_grads = []
        for i, (d, pad) in enumerate(zip(plan.dilations, plan.pads, strict=True)):
            w, src4 = convs[2 * i], padded[i]  # the branch's (padded) input copy
            inp = hn[:, i * b : (i + 1) * b].view(n, b, t, v)
            gy = g_pre[:, i * b : (i + 1) * b]
            dest = g_hn[:, i * b : (i + 1) * b].view(n, b, t, v)
            src, (cs, cp, cd) = _conv_frames(src4, s, 0 if plan.replicate else pad, d)
            cols = src.shape[3]
            g_src, g_w, g_b = torch.ops.aten.convolution_backward(
                gy.view(n, b, width // cols, cols), src, w, [b],
                [cs, 1], [cp, 0], [cd, 1], False, [0, 0], 1, mask,
            )  # fmt: skip
            conv_grads += [g_w, g_b]
            frames = src4.shape[2]
            if src.shape[2] * cols == frames * v:  # every frame read (maybe phases folded)
                g_src = g_src.view(n, b, frames, v)
            elif plan.replicate:  # the even phase only
                g_even, g_src = g_src, g_src.new_zeros(n, b, frames, v)
                g_src[:, :, ::d] = g_even
            else:  # the even phase only, written into its frames of dest
                dest.zero_()
                phase = dest[:, :, ::d]
                torch.ops.aten.threshold_backward.grad_input(
                    g_src, src4[:, :, ::d], 0, grad_input=phase
                )
                continue
            if plan.replicate:
                g_src = _replicate_unpad(g_src, pad, t)
            torch.ops.aten.threshold_backward.grad_input(g_src, inp, 0, grad_input=dest)
        pool_in = hn[:, branches * b : (branches + 1) * b].view(n, b, t, v)
        pool_out = pre[:, branches * b : (branches + 1) * b].view(n, b, t_out, v)
        g_pool = g_pre[:, branches * b : (branches + 1) * b].view(n, b, t_out, v)
        dest = g_hn[:, branches * b : (branches + 1) * b].view(n, b, t, v)
        _max_pool_grad_into(pool_in, pool_out, g_pool, s, dest)
        torch.ops.aten.threshold_backward.grad_input(dest, pool_in, 0, grad_input=dest)
        # in place: the kernel reads each gradient value before it writes it
        g_hh, g_gh, g_beh, _ = batch_norm_backward(g_hn, h, gam_h, mean_h, invstd_h, eps, out=g_hn)
        g_last = g_pre[:, (branches + 1) * b :]
        xf = x.view(n, c, t * v)
        g_wh = torch.bmm(g_hh, xf.transpose(1, 2)).sum(0).view(w_h.shape)
        g_wl = torch.bmm(g_last, xs.transpose(1, 2)).sum(0).view(w_l.shape)
        g_bl = g_last.sum((0, 2))
        g_x = None
        if ctx.needs_input_grad[0]:
            w_lt = batched(w_l.view(b, c).t(), n)
            if s == 1 and g_pre.shape[1] == c:
                # x's gradient reuses g_pre's memory (no fresh pages): g_last first
                g_last = g_last.clone()
                g_x = torch.bmm(batched(w_h.view(hb, c).t(), n), g_hh, out=g_pre)
                g_x.baddbmm_(w_lt, g_last)
            else:
                g_x = torch.bmm(batched(w_h.view(hb, c).t(), n), g_hh)
                if s == 1:
                    g_x.baddbmm_(w_lt, g_last)
                else:
                    phase = g_x.view(n, c, t, v)[:, :, ::s]
                    phase += torch.bmm(w_lt, g_last).view(n, c, t_out, v)
            g_x = g_x.view(n, c, t, v)
        g_bh = g_hh.sum((0, 2))
        spares = ctx.spares
        for name, tensor in (("h", h), ("hn", hn), ("pre", pre.view(n, -1, t_out, v))):
            give_back(spares, name, tensor)
        give_back(spares, "g_hn", g_hn)
        for i, inp in enumerate(padded):
            give_back(spares, f"in{i}", inp)
        return (
            g_x, g_wh, g_bh, g_gh, g_beh, g_wl, g_bl, g_gt, g_bet, None, None, None, None,
            grad if ctx.needs_input_grad[13] else None, None, None, *conv_grads,
        )  # fmt: skip


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
    h = stacked_batch_norm(conv1x1(x, weight, bias), bns, relu=relu)
    return list(h.split([c.out_channels for c in convs], dim=1))


def stacked_batch_norm(x: Tensor, bns: list[nn.BatchNorm2d], *, relu: bool = False) -> Tensor:
    """`cat([bn_i(x_i)])` for x = cat([x_i]) along channels, as one batch norm (then a ReLU,
    in the same pass where `layers.batchnorm` runs it, if `relu`).

    Follows `nn.BatchNorm2d.forward`: batch statistics in training (or without running
    statistics), the running statistics otherwise; in training each module's running mean,
    variance and batch counter are updated as its own forward would update them.
    """
    first = bns[0]
    mean, var, factor = _batch_statistics_begin(bns)
    weight = torch.cat([bn.weight for bn in bns])
    bias = torch.cat([bn.bias for bn in bns])
    if first.training or mean is None:
        y = batch_norm_train_act(x, weight, bias, mean, var, factor, first.eps, relu=relu)
    else:
        y = F.batch_norm(x, mean, var, weight, bias, False, factor, first.eps)
        y = y.relu_() if relu else y
    _batch_statistics_end(bns, mean, var)
    return y


def _batch_statistics_begin(
    bns: list[nn.BatchNorm2d],
) -> tuple[Tensor | None, Tensor | None, float]:
    """The stacked running mean and variance (None without running statistics) and the
    momentum factor of one batch norm over `bns`; in training each batch counter advances."""
    first = bns[0]
    track = first.track_running_stats and first.running_mean is not None
    factor = 0.0 if first.momentum is None else first.momentum
    if first.training and track:  # every counter advances; the modules' factors agree
        factor = [batch_norm_factor(bn) for bn in bns][0]
    mean = torch.cat([bn.running_mean for bn in bns]) if track else None
    var = torch.cat([bn.running_var for bn in bns]) if track else None
    return mean, var, factor


def _batch_statistics_end(bns: list[nn.BatchNorm2d], mean: Tensor | None, var: Tensor | None):
    """Copies the stacked running statistics, updated in training, back into each module."""
    if not bns[0].training or mean is None or var is None:
        return
    with torch.no_grad():
        start = 0
        for bn in bns:
            width = bn.num_features
            bn.running_mean.copy_(mean[start : start + width])
            bn.running_var.copy_(var[start : start + width])
            start += width


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


def _tap_starts(kernel: int, dilation: int, stride: int, phase: int, v: int) -> list[int]:
    """Flat start of each tap's window in the phase-split padded input: tap k reads padded
    frames stride * t + k * dilation, i.e. phase (k d) % s from its frame (k d) // s."""
    offsets = [k * dilation for k in range(kernel)]
    return [(o % stride * phase + o // stride) * v for o in offsets]


def _taps_forward(xp: Tensor, weight: Tensor, bias: Tensor | None, starts, width, out: Tensor):
    """out (N, C_out, width), any view with unit column stride, = bias + sum_k W_k window_k."""
    n = xp.shape[0]
    c_out, c_in, kernel = weight.shape[:3]
    w = weight.view(c_out, c_in, kernel)
    for k, start in enumerate(starts):
        w_k = batched(w[:, :, k], n)
        window = xp[:, :, start : start + width]
        if k == 0 and bias is not None:
            torch.baddbmm(bias.view(1, c_out, 1), w_k, window, out=out)
        elif k == 0:
            torch.bmm(w_k, window, out=out)
        else:
            out.baddbmm_(w_k, window)


def _taps_grad_input(grad: Tensor, weight: Tensor, starts, width: int, flat: int) -> Tensor:
    """The gradient of the phase-split padded input (N, C_in, flat) from grad (N, C_out,
    width): tap 0 writes its window (beta 0), the rest accumulate; no full-size zero fill."""
    n = grad.shape[0]
    c_out, c_in, kernel = weight.shape[:3]
    w = weight.view(c_out, c_in, kernel)
    gp = grad.new_empty(n, c_in, flat)
    gp[:, :, width:].zero_()
    for k, start in enumerate(starts):
        w_k = batched(w[:, :, k].t(), n)
        gp[:, :, start : start + width].baddbmm_(w_k, grad, beta=0.0 if k == 0 else 1.0)
    return gp


def _taps_unpad(gp: Tensor, stride: int, pad: int, t: int, v: int, replicate: bool) -> Tensor:
    """The input's gradient (N, C, T, V) (a view of gp) from the padded input's: phases back
    to frame order, and with replicate padding the padded frames' gradient added to the first
    and last frame (in place)."""
    n, c, flat = gp.shape
    total = flat // v
    gp = gp.view(n, c, stride, total // stride, v).transpose(2, 3)
    gp = gp.reshape(n, c, total, v)  # a view at stride 1
    grad_x = gp[:, :, pad : pad + t]
    if replicate and pad:
        grad_x[:, :, 0] += gp[:, :, :pad].sum(2)
        grad_x[:, :, t - 1] += gp[:, :, pad + t : t + 2 * pad].sum(2)
    return grad_x


def _taps_grad_weight(grad: Tensor, xp: Tensor, starts, width: int, shape) -> Tensor:
    """dL/dW (C_out, C_in, K, 1) = sum over samples of grad @ window_k^T, per tap."""
    taps = [torch.bmm(grad, xp[:, :, s : s + width].transpose(1, 2)).sum(0) for s in starts]
    return torch.stack(taps, dim=-1).view(shape)


class _FrameConv(torch.autograd.Function):
    """y[n, :, t] = b + sum_k W_k x_pad[n, :, stride * t + k * dilation] over frames, each tap a
    batched product over the samples on a flat window of the padded, phase-split input."""

    @staticmethod
    def forward(ctx, x, weight, bias, stride, dilation, pad, replicate):  # type: ignore[override]
        n, c_in, t, v = x.shape
        c_out, _, kernel, _ = weight.shape
        t_out = (t + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
        xp = _padded_phases(x, pad, stride, replicate)
        starts = _tap_starts(kernel, dilation, stride, xp.shape[2] // (stride * v), v)
        width = t_out * v
        out = x.new_empty(n, c_out, width)
        _taps_forward(xp, weight, bias, starts, width, out)
        ctx.save_for_backward(xp, weight)
        ctx.layout = (stride, pad, replicate, t, v, starts, width, bias is not None)
        return out.view(n, c_out, t_out, v)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        xp, weight = ctx.saved_tensors
        stride, pad, replicate, t, v, starts, width, has_bias = ctx.layout
        n, _, flat = xp.shape
        grad = grad.reshape(n, weight.shape[0], width)
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            gp = _taps_grad_input(grad, weight, starts, width, flat)
            grad_x = _taps_unpad(gp, stride, pad, t, v, replicate)
        if ctx.needs_input_grad[1]:
            grad_w = _taps_grad_weight(grad, xp, starts, width, weight.shape)
        if has_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum((0, 2))
        return grad_x, grad_w, grad_b, None, None, None, None


def frame_mean(x: Tensor) -> Tensor:
    """`x.mean(2, keepdim=True)` over the frames of x (N, C, T, ...). On the CPU (eager) its
    gradient is g / T broadcast over the frames as a view (`_FrameMean`): autograd's mean
    backward divides the expanded gradient into a full-size tensor that is then only added to
    x's other gradients; the sum reads the view instead (the same values)."""
    if not eager_cpu(x):
        return x.mean(2, keepdim=True)
    return _FrameMean.apply(x)


class _FrameMean(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):  # type: ignore[override]
        ctx.shape = x.shape
        return x.mean(2, keepdim=True)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        return (grad / ctx.shape[2]).expand(ctx.shape)


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


def _max_pool_into(x: Tensor, stride: int, out: Tensor) -> None:
    """out (N, C, T_out, V), any view, = max over frames s*t-1, s*t, s*t+1 of x."""
    left, centre, right = _pool_views(x, stride, out.shape[2])
    out.copy_(centre)
    torch.maximum(out[:, :, 1:], left, out=out[:, :, 1:])
    r = right.shape[2]
    torch.maximum(out[:, :, :r], right, out=out[:, :, :r])


def _max_pool_grad_into(x: Tensor, out: Tensor, grad: Tensor, stride: int, dest: Tensor) -> None:
    """dest (N, C, T, V), any view, = the max-pool's input gradient: each window's gradient
    goes to its first maximum (left, else centre, else right), as max_pool2d's indices do."""
    t_out = out.shape[2]
    left, centre, right = _pool_views(x, stride, t_out)
    r = right.shape[2]
    # A frame is a maximum where out - frame is 0, else positive: sign() gives 0 or 1 as
    # floats (comparisons into bool masks run several times slower on the CPU).
    later = torch.sign(out[:, :, 1:] - left)  # 1 where the left frame is not the maximum
    to_left = torch.addcmul(grad[:, :, 1:], grad[:, :, 1:], later, value=-1.0)
    rest = torch.empty_like(grad, memory_format=torch.contiguous_format)
    rest[:, :, :1] = grad[:, :, :1]
    torch.mul(grad[:, :, 1:], later, out=rest[:, :, 1:])
    later = torch.sign(out - centre)  # 1 where the centre is not the maximum either
    if stride > 1:
        dest.zero_()
    g_left, g_centre, g_right = _pool_views(dest, stride, t_out)
    torch.addcmul(rest, rest, later, value=-1.0, out=g_centre)
    rest *= later  # what is left goes right
    g_left += to_left
    g_right += rest[:, :, :r]


class _FrameMaxPool(torch.autograd.Function):
    """max over frames s*t-1, s*t, s*t+1 (missing frames are -inf padding)."""

    @staticmethod
    def forward(ctx, x, stride):  # type: ignore[override]
        n, c, t, v = x.shape
        out = x.new_empty(n, c, (t - 1) // stride + 1, v)
        _max_pool_into(x, stride, out)
        ctx.save_for_backward(x, out)
        ctx.stride = stride
        return out

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        x, out = ctx.saved_tensors
        grad_x = torch.empty_like(x, memory_format=torch.contiguous_format)
        _max_pool_grad_into(x, out, grad, ctx.stride, grad_x)
        return grad_x, None
