"""BlockGCN: block graph convolution with hop-distance encoding and persistent-homology features.

Paper: Zhou et al., "BlockGCN: Redefining Topology Awareness for Skeleton-Based Action
Recognition", CVPR 2024 (arXiv 2305.11468).
Upstream: github.com/ZhouYuxuanYX/BlockGCN @7b45971, model/BlockGCN.py (`Model`,
`TCN_GCN_unit`, `unit_gcn`, `MultiScale_TemporalConv`, `TopoTrans`, `Topo`), graph/ntu_rgb_d.py,
and torch-topological 0.1.7 (`VietorisRipsComplex`, `make_tensor`, `StructureElementLayer`),
which upstream imports for the topology branch.

Written from the paper and upstream's shapes, layer order and checkpoint keys. Attribute names
match upstream, so its state dicts load as they are (703 entries, 1,372,780 parameters for
NTU60). Joints are embedded to 128 channels (a linear map plus a per-joint position embedding),
then ten blocks (128, 128, 128, 128, 256 stride 2, 256, 256, 256 stride 2, 256, 256). Each block
is a BlockGC (8 channel groups; per group and per subset a learned joint-to-joint matrix, column
L2-normalised, plus a learned embedding of the hop distance between the joints, then a grouped
1x1 conv), CTR-GCN's multi-scale temporal conv and a residual. Before every block a feature of
the clip's topology is added: the 0-dim persistence diagram of the (V, V) matrix of mean
pairwise joint distances, turned into 64 numbers by a structure-element layer and mapped to the
block's width (`t0`..`t9`, Linear + BatchNorm1d + ReLU).

A sample's logits depend on the rest of its batch, exactly as upstream:

* the distance matrices are min-max normalised over the whole batch, and
* the topology features (N rows) are tiled, not interleaved, onto the (N*M) person rows:
  row r = n*M + m receives the feature of sample r mod N (upstream `x.repeat(2, 1)`), so for
  N > 1 a person gets another sample's topology feature.

The persistence computation runs `ripser` from giotto-ph (`pip install 'skelab[blockgcn]'`) on
the CPU through NumPy, as upstream's torch-topological does; the death times are then gathered
from the differentiable distance matrix. The model cannot be exported to ONNX or TorchScript.

Differences from upstream (none changes the function for upstream's NTU setting; the golden
test holds to rel. err. 1e-4):

* `forward(x, joint=None)` returns the logits only. Upstream's `forward(x, y, joint)` passes
  the label `y` through unchanged. Without `joint`, `x` is taken to be BlockGCN's joint stream
  (joints minus joint 21, whose slot keeps its absolute trajectory) and the raw joints are
  rebuilt from it; skelab's engine always passes the raw joints, whatever the stream.
* The three subsets of a BlockGC run as one batched matrix product over joints and one over
  channels (the grouped 1x1 convs `fc2`, their weights and summed biases as one matrix)
  instead of a loop of three einsums and grouped convs. On the CPU (float32, eager) both run
  in chunks of samples through a scratch buffer with a written backward (`_BlockProduct`);
  elsewhere (GPU, meta, autocast, compile, export) as plain batched products.
* The topology branch averages over frames before taking pairwise joint differences (a linear
  map, so the same in exact arithmetic; T times less memory). It calls giotto-ph's
  `ripser_parallel` directly (torch-topological's wrapper pulls in gudhi and POT, which
  BlockGCN never uses) and evaluates the structure-element layer in closed form: each diagram
  point (0, d) adds exp(-(s0^2 c0^2 + s1^2 (c1 - d)^2)) and each NaN padding row adds
  exp(0) = 1, as upstream's `nansum` does.
* The topology features are tiled `num_persons` times (upstream hard-codes 2; the same for
  NTU's two person slots).
* `hops` (the hop-distance matrix indexing `rpe`) is rebuilt by breadth-first search over
  upstream's NTU graph (hand tips and thumbs on the hands, `BLOCKGCN_INWARD_1BASED`; another
  layout uses its own edges) and kept as a non-persistent buffer, as upstream keeps it out of
  the state dict.
* Upstream's unused keywords are accepted and checked: `window_size`, `joint_label` (swallowed
  by `**kwargs` upstream), `adaptive`, `num_set`. `alpha=True` adds upstream's unused
  `alpha` parameters (for strict loading) and nothing else.
* On the meta device (skelab's memory estimates, which trace shapes only) the persistence
  diagram is V - 1 placeholder points, the count for V distinct points; ripser is not run.
* A batch whose distance matrices are all equal (max = min, e.g. all-zero clips) divides 0 by
  0, so ripser sees only NaN distances and finds no finite pair. Upstream's structure-element
  layer then fails to reshape the empty diagram; skelab's gives zero topology features.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.errors import ModelConfigError, SkelabError
from skelab.models.layers.batchnorm import batch_norm_act
from skelab.models.layers.init import constant_bn_, kaiming_conv_
from skelab.models.layers.pointwise import bn_residual_relu, eager_cpu, joint_embedding
from skelab.models.layers.spares import LendingModule, give_back, lend
from skelab.models.layers.tcn import ctrgcn_temporal, unit_tcn
from skelab.models.registry import ModelCard, register_model
from skelab.skeletons import NTU25, NTU_INWARD_1BASED, Skeleton, get_skeleton

NUM_SUBSETS = 3  # upstream keeps three BlockGC subsets (its NTU graph's partition count)
NUM_HEADS = 8  # channel groups of every BlockGC with more than 8 input channels
EMBED = 128  # joint embedding width
TOPO_ELEMENTS = 64  # structure elements of the persistence-diagram layer
UPSTREAM_GRAPH = "graph.ntu_rgb_d.Graph"
INSTALL_FIX = "pip install 'skelab[blockgcn]' (installs giotto-ph, whose ripser BlockGCN uses)"


# Upstream graph/ntu_rgb_d.py's inward edges, 1-based: the hand tips and thumbs hang directly
# off the hands (22, 23 -> 8; 24, 25 -> 12), unlike the bone pairs of the data streams.
BLOCKGCN_INWARD_1BASED: tuple[tuple[int, int], ...] = NTU_INWARD_1BASED[:20] + (
    (22, 8),
    (23, 8),
    (24, 12),
    (25, 12),
)


def graph_edges(skeleton: Skeleton) -> tuple[tuple[int, int], ...]:
    """Undirected 0-based edges of the graph BlockGCN's hop distances use for this layout."""
    if skeleton == NTU25:
        return tuple((i - 1, j - 1) for i, j in BLOCKGCN_INWARD_1BASED)
    return skeleton.inward


def hop_distances(skeleton: Skeleton) -> np.ndarray:
    """(V, V) int64 shortest-path hop counts over the layout's graph (0 on the diagonal)."""
    v = skeleton.num_joints
    adj: list[list[int]] = [[] for _ in range(v)]
    for a, b in graph_edges(skeleton):
        adj[a].append(b)
        adj[b].append(a)
    out = np.zeros((v, v), dtype=np.int64)
    for src in range(v):
        seen = {src: 0}
        queue = deque([src])
        while queue:
            u = queue.popleft()
            for w in adj[u]:
                if w not in seen:
                    seen[w] = seen[u] + 1
                    queue.append(w)
        if len(seen) != v:
            raise ModelConfigError(
                f"blockgcn: layout {skeleton.name!r} is not connected (joint {src} reaches "
                f"{len(seen)} of {v} joints); hop distances need a connected skeleton",
                fix="pass a layout whose bones join every joint (e.g. 'ntu25')",
            )
        for w, hops in seen.items():
            out[src, w] = hops
    return out


def _ripser():
    """giotto-ph's `ripser_parallel`, or a clear error naming the extra to install."""
    try:
        from gph import ripser_parallel
    except ImportError as err:
        raise SkelabError(
            f"blockgcn needs giotto-ph for its persistent-homology branch ({err})",
            fix=INSTALL_FIX,
        ) from None
    return ripser_parallel


class BlockGC(LendingModule):
    """Upstream `unit_gcn`: per-group normalised joint mixing plus hop embedding, 3 subsets."""

    def __init__(self, c_in: int, c_out: int, hops: Tensor, *, alpha: bool = False) -> None:
        super().__init__()
        v = hops.shape[-1]
        self.num_heads = NUM_HEADS if c_in > NUM_HEADS else 1
        h = self.num_heads
        eye = torch.eye(v).expand(NUM_SUBSETS, h, v, v)
        self.fc1 = nn.Parameter(eye.clone())  # (S, H, V, V) learned joint mixing per group
        self.fc2 = nn.ModuleList(nn.Conv2d(c_in, c_out, 1, groups=h) for _ in range(NUM_SUBSETS))
        if c_in != c_out:
            self.down: nn.Module = nn.Sequential(nn.Conv2d(c_in, c_out, 1), nn.BatchNorm2d(c_out))
        else:
            self.down = nn.Identity()
        self.bn = nn.BatchNorm2d(c_out)
        self.register_buffer("hops", hops.clone(), persistent=False)
        self.rpe = nn.Parameter(torch.zeros(NUM_SUBSETS, h, int(hops.max()) + 1))
        if alpha:  # upstream creates it with alpha=True but never reads it
            self.alpha = nn.Parameter(torch.ones(1, h, 1, 1, 1))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                kaiming_conv_(m)
            elif isinstance(m, nn.BatchNorm2d):
                constant_bn_(m, 1.0)
        constant_bn_(self.bn, 1e-6)

    @staticmethod
    def _column_normalised(w: Tensor) -> Tensor:
        """w / (L2 norm of each column + 1e-4); columns are the receiving joints."""
        return w / (w.norm(dim=-2, keepdim=True) + 1e-4)

    def graph(self) -> Tensor:
        """(S, H, V, V): each subset's and group's normalised joint matrix plus hop embedding."""
        rpe = self.rpe[:, :, self.hops]  # (S, H, V, V) hop-distance embedding
        return self._column_normalised(self.fc1) + self._column_normalised(rpe)

    def channel_weight(self) -> tuple[Tensor, Tensor]:
        """The grouped 1x1 convs `fc2` as (H, C_out/H, S*C_in/H) (column s*C_in/H + c reads
        subset s, channel c of the group) and the summed bias (C_out,)."""
        weight = torch.stack([conv.weight.flatten(1) for conv in self.fc2], dim=2)  # (C_o, ck, S)
        h, c_out, ck = self.num_heads, weight.shape[0], weight.shape[1]
        weight = weight.view(h, c_out // h, ck, NUM_SUBSETS).transpose(2, 3)
        bias = sum(conv.bias for conv in self.fc2)
        return weight.reshape(h, c_out // h, NUM_SUBSETS * ck), bias

    def forward(self, x: Tensor) -> Tensor:
        graph = self.graph()
        weight, bias = self.channel_weight()
        if eager_cpu(x):  # float32 CPU, eager: the chunked product
            y = _BlockProduct.apply(x, graph, weight, bias, self.spares())
        else:
            y = _block_product(x, graph, weight, bias)
        return bn_residual_relu(self.bn, y, self.down, x)


def _block_product(x: Tensor, graph: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """BlockGC's products before its BatchNorm: sum over subsets s of the grouped 1x1 conv s
    applied to x mixed over joints by graph[s]. x (N, C, T, V), graph (S, H, V, V), weight
    (H, C_out/H, S*C/H), bias (C_out,) -> (N, C_out, T, V). Plain batched products."""
    n, c, t, v = x.shape
    s, h = graph.shape[:2]
    ck = c // h
    # all subsets in one product: (N, H, C/H*T, V) @ (H, V, S*V) -> (N, H, C/H*T, S*V)
    mixing = graph.permute(1, 2, 0, 3).reshape(h, v, s * v)
    z = torch.matmul(x.reshape(n, h, ck * t, v), mixing)
    # regroup to (N, H, S*C/H, T*V): each group's 1x1 conv reads its S subsets at once
    z = z.view(n, h, ck, t, s, v).permute(0, 1, 4, 2, 3, 5).reshape(n, h, s * ck, t * v)
    c_out = weight.shape[0] * weight.shape[1]
    return torch.matmul(weight, z).view(n, c_out, t, v) + bias[:, None, None]


CHUNK_VALUES = 1 << 20  # joint-mixed values (floats) per chunk of rows: a few MB, in cache


class _BlockProduct(torch.autograd.Function):
    """`_block_product` in chunks of (sample, group) rows, for the CPU.

    Per chunk the joint mixing writes each subset straight into a (row, subset, channel, frame,
    joint) scratch buffer, so the grouped 1x1 conv reads its S subsets as one K = S*C/H
    product with no regrouping copy, and the buffer (reused chunk after chunk) stays in cache
    instead of a fresh (N, H, S, C/H, T, V) tensor, 3x the input, being allocated, faulted in
    and copied. The buffer ends in a plane of ones and the weight in a column holding the
    bias, so the product adds the bias (and its gradient is that column's). A chunk is whole
    samples, or a divisor of H groups of one sample.

    With `spares` (a module's dict, when it trains) the mixed chunks are written into one
    (N*H, S*C/H*T*V + T*V) tensor that backward reads for the weight gradient instead of
    mixing again; it is lent by the module between steps (taken out of `spares` in forward,
    put back when backward has read it), so a step neither recomputes the mixing nor
    allocates and page-faults 3x the input anew. Without it (no gradients wanted, or another
    caller) the chunks go through one cache-sized scratch and backward recomputes the chunk's
    mixing (one joint product). Either way x, the graph, weight and bias are saved.
    """

    @staticmethod
    def forward(ctx, x, graph, weight, bias, spares):  # type: ignore[override]
        x = x.contiguous()
        n, c, t, v = x.shape
        s, h = graph.shape[:2]
        co = weight.shape[1]
        rows = _chunk_rows(x, s, h)
        wb = torch.cat([weight, bias.view(h, co, 1)], dim=2)  # (H, C_out/H, S*C/H + 1)
        keep = spares is not None
        z = _scratch(x, s, h, n * h if keep else rows, spares)
        y = x.new_empty(n, h * co, t, v)
        xs, ys = x.view(n * h, -1, v), y.view(n * h, co, t * v)
        graphs, wbs = _tiled(graph, rows, dim=1), _tiled(wb, rows)
        for r0 in range(0, n * h, rows):
            r1 = min(n * h, r0 + rows)
            zb = z[r0:r1] if keep else z[: r1 - r0]
            _mix(xs[r0:r1], graphs.narrow(1, r0 % h, r1 - r0), zb)
            torch.bmm(wbs.narrow(0, r0 % h, r1 - r0), zb.view(r1 - r0, -1, t * v), out=ys[r0:r1])
        ctx.save_for_backward(x, graph, weight, bias, z if keep else None)
        ctx.rows, ctx.spares = rows, spares
        return y

    @staticmethod
    def backward(ctx, gy: Tensor):
        x, graph, weight, bias, mixed = ctx.saved_tensors
        need_x, need_graph, need_weight, need_bias = ctx.needs_input_grad[:4]
        gy = gy.contiguous()
        n, c, t, v = x.shape
        s, h = graph.shape[:2]
        ck, co = c // h, weight.shape[1]
        rows = ctx.rows
        xs, gys = x.view(n * h, ck * t, v), gy.view(n * h, co, t * v)
        gx = torch.empty_like(x) if need_x else None
        gxs = gx.view(n * h, ck * t, v) if need_x else None
        g_graph = torch.zeros_like(graph) if need_graph else None
        need_wb = need_weight or need_bias
        g_wb = weight.new_zeros(h, co, s * ck + 1) if need_wb else None
        z = _scratch(x, s, h, rows) if need_wb and mixed is None else None
        gz = x.new_empty(rows, s, ck * t, v) if need_x or need_graph else None
        part_w = weight.new_empty(rows, co, s * ck + 1) if need_wb else None
        part_g = graph.new_empty(rows, v, v) if need_graph else None
        graph_rows, weight_rows = _tiled(graph, rows, dim=1), _tiled(weight, rows)
        for r0 in range(0, n * h, rows):
            r1 = min(n * h, r0 + rows)
            b = r1 - r0
            xb, gyb = xs[r0:r1], gys[r0:r1]
            graphs = graph_rows.narrow(1, r0 % h, b)  # (S, rows, V, V)
            if need_wb:  # d[W | b] = sum over samples of dy (C_out/H, T*V) @ [z; 1]^T
                if mixed is None:
                    _mix(xb, graphs, z[:b])
                zb = z[:b] if mixed is None else mixed[r0:r1]
                torch.bmm(gyb, zb.view(b, -1, t * v).transpose(1, 2), out=part_w[:b])
                _accumulate(g_wb, part_w[:b], r0)
            if gz is None:
                continue
            gzb = gz[:b]  # dz = W^T dy: (S*C/H, C_out/H) @ (C_out/H, T*V)
            torch.bmm(weight_rows.narrow(0, r0 % h, b).mT, gyb, out=gzb.view(b, s * ck, t * v))
            for k in range(s):
                if need_graph:  # d graph[k] = x^T (V, C/H*T) @ dz_k (C/H*T, V), summed
                    torch.bmm(xb.transpose(1, 2), gzb[:, k], out=part_g[:b])
                    _accumulate(g_graph[k], part_g[:b], r0)
                if need_x:  # dx = sum_k dz_k @ graph[k]^T
                    if k == 0:
                        torch.bmm(gzb[:, k], graphs[k].mT, out=gxs[r0:r1])
                    else:
                        gxs[r0:r1].baddbmm_(gzb[:, k], graphs[k].mT)
        give_back(ctx.spares, "mixed", mixed)  # read: back to the module for its next step
        g_weight = g_wb[:, :, :-1] if need_weight else None
        g_bias = g_wb[:, :, -1].reshape(-1) if need_bias else None
        return gx, g_graph, g_weight, g_bias, None


def _chunk_rows(x: Tensor, subsets: int, heads: int) -> int:
    """(sample, group) rows per chunk, about CHUNK_VALUES joint-mixed values: whole samples
    (at most the batch), or the largest divisor of the group count that fits."""
    per_row = subsets * x[0].numel() // heads
    fits = max(1, CHUNK_VALUES // per_row)
    if fits >= heads:
        return min(fits // heads, x.shape[0]) * heads
    return max(d for d in range(1, heads + 1) if heads % d == 0 and d <= fits)


def _tiled(t: Tensor, rows: int, dim: int = 0) -> Tensor:
    """The per-group tensor t (size H along `dim`) over a chunk's `rows` (sample, group) rows,
    row r taking group r % H: t repeated over the chunk's samples, once per pass (t itself when
    a chunk is part of one sample). Chunk r0..r1 reads `.narrow(dim, r0 % H, r1 - r0)`."""
    h = t.shape[dim]
    if rows <= h:
        return t
    reps = [1] * t.dim()
    reps[dim] = rows // h
    return t.repeat(*reps)


def _accumulate(total: Tensor, part: Tensor, r0: int) -> None:
    """total (H, ...) += the per-row parts of rows r0.. (summed over samples)."""
    h = total.shape[0]
    if part.shape[0] <= h:
        total[r0 % h : r0 % h + part.shape[0]] += part
    else:
        total += part.view(-1, *total.shape).sum(0)


def _scratch(
    x: Tensor, subsets: int, heads: int, rows: int, spares: dict[str, Tensor] | None = None
) -> Tensor:
    """(rows, S*C/H*T*V + T*V) buffer: the S joint-mixed copies of a group's channels, then a
    (T, V) plane of ones that multiplies the bias column. Taken out of `spares` ("mixed") when
    one of that shape, dtype and device is there."""
    _, c, t, v = x.shape
    shape = (rows, subsets * c // heads * t * v + t * v)
    z = lend(spares, "mixed", shape, x)
    z[:, -t * v :] = 1.0
    return z


def _mix(xb: Tensor, graphs: Tensor, z: Tensor) -> None:
    """The joint mixing of one chunk into its scratch: z[r, k] = xb[r] @ graphs[k, r] for every
    subset k; xb (rows, C/H*T, V), graphs (S, rows, V, V)."""
    rows, length, v = xb.shape
    s = graphs.shape[0]
    out = z[:, : s * length * v].view(rows, s, length, v)
    for k in range(s):
        torch.bmm(xb, graphs[k], out=out[:, k])


class BlockGCNBlock(nn.Module):
    """Upstream `TCN_GCN_unit`: BlockGC, multi-scale temporal conv, block residual, ReLU."""

    def __init__(
        self, c_in: int, c_out: int, hops: Tensor, *, stride: int = 1, alpha: bool = False
    ) -> None:
        super().__init__()
        self.gcn1 = BlockGC(c_in, c_out, hops, alpha=alpha)
        self.tcn1 = ctrgcn_temporal(c_out, stride)
        if c_in == c_out and stride == 1:
            self.residual: nn.Module = nn.Identity()
        else:
            self.residual = unit_tcn(c_in, c_out, stride)

    def forward(self, x: Tensor) -> Tensor:
        res = self.residual(x)  # x, or a strided 1x1 conv (a product) and its BN (layers.tcn)
        # relu(tcn(gcn(x)) + res): on the CPU in training the sum and the ReLU run in the
        # TCN's last batch norm pass (layers.tcn), elsewhere in place on its fresh output
        return self.tcn1(self.gcn1(x), res, relu=True)  # (N, C_out, T/stride, V)


class TopoTrans(nn.Module):
    """Upstream `TopoTrans`: topology feature (N, 64) -> (N*M, C, 1, 1), tiled over persons."""

    def __init__(self, c_out: int) -> None:
        super().__init__()
        self.mlp = nn.Linear(TOPO_ELEMENTS, c_out)
        self.bn = nn.BatchNorm1d(c_out)

    def forward(self, a: Tensor, num_persons: int) -> Tensor:
        a = a.repeat(num_persons, 1)  # rows [a_0..a_{N-1}] * M: row r holds a_{r mod N}
        return F.relu(self.bn(self.mlp(a)))[:, :, None, None]


class StructureElements(nn.Module):
    """torch-topological's `StructureElementLayer` on 0-dim diagrams: 64 Gaussian bumps."""

    def __init__(self, n_elements: int = TOPO_ELEMENTS) -> None:
        super().__init__()
        self.centres = nn.Parameter(torch.rand(n_elements, 2))
        self.sharpness = nn.Parameter(torch.full((n_elements, 2), 3.0))

    def forward(self, deaths: Tensor, valid: Tensor) -> Tensor:
        """deaths (N, L) with `valid` (N, L) bool; padding rows count exp(0) = 1 each."""
        s2 = self.sharpness.pow(2)  # (E, 2)
        c = self.centres
        birth_term = s2[:, 0] * c[:, 0].pow(2)  # every point is born at 0
        death_term = s2[:, 1] * (c[:, 1] - deaths[:, :, None]).pow(2)  # (N, L, E)
        bumps = torch.exp(-(birth_term + death_term))
        bumps = torch.where(valid[:, :, None], bumps, torch.ones_like(bumps))
        return bumps.sum(1)  # (N, E)


class Topo(nn.Module):
    """Upstream `Topo`: batch-normalised joint distance matrices -> persistence -> (N, 64)."""

    def __init__(self) -> None:
        super().__init__()
        self.pl = StructureElements()

    @staticmethod
    def distance_matrices(joint: Tensor) -> Tensor:
        """(N, C, T, V, M) raw joints -> (N, V, V) mean-offset norms, min-max over the batch."""
        mean = joint.mean(dim=(2, 4))  # (N, C, V): persons and frames averaged
        d = (mean[:, :, :, None] - mean[:, :, None, :]).norm(dim=1)  # (N, V, V)
        return (d - d.min()) / (d.max() - d.min())

    def diagrams(self, d: Tensor) -> tuple[Tensor, Tensor]:
        """Rows of each (V, V) matrix as points in R^V -> 0-dim death times (N, L), valid mask."""
        if d.device.type == "meta":  # memory estimates trace shapes only: V distinct points
            n, v = d.shape[:2]  # have V - 1 finite 0-dim pairs
            return d.new_empty(n, v - 1), torch.ones(n, v - 1, dtype=torch.bool, device=d.device)
        ripser = _ripser()
        deaths, lengths = [], []
        for points in d:
            dist = torch.cdist(points, points, p=2)
            gens = ripser(
                dist.detach().cpu().numpy(),
                metric="precomputed",
                maxdim=0,
                thresh=np.inf,
                return_generators=True,
            )["gens"][0]  # (K, 3): vertex, then the edge that kills its component
            idx = torch.as_tensor(gens, device=dist.device)
            deaths.append(dist[idx[:, 1], idx[:, 2]].float())  # float32, as make_tensor does
            lengths.append(len(gens))
        size = max(lengths)
        out = torch.zeros(len(deaths), size, device=d.device)  # float32, like the deaths
        valid = torch.zeros(len(deaths), size, dtype=torch.bool, device=d.device)
        for i, row in enumerate(deaths):
            out[i, : len(row)] = row
            valid[i, : len(row)] = True
        return out, valid

    def forward(self, joint: Tensor) -> Tensor:
        deaths, valid = self.diagrams(self.distance_matrices(joint))
        return self.pl(deaths, valid)  # (N, 64)


# (C_in, C_out, stride) of l1..l10
_LAYOUT = (
    (EMBED, 128, 1),
    (128, 128, 1),
    (128, 128, 1),
    (128, 128, 1),
    (128, 256, 2),
    (256, 256, 1),
    (256, 256, 1),
    (256, 256, 2),
    (256, 256, 1),
    (256, 256, 1),
)


class BlockGCN(nn.Module):
    """Upstream `Model`: joint embedding, input BN, ten blocks with topology features, fc."""

    def __init__(
        self,
        *,
        num_classes: int = 60,
        in_channels: int = 3,
        num_persons: int = 2,
        skeleton: Skeleton,
        dropout: float = 0.0,
        alpha: bool = False,
    ) -> None:
        super().__init__()
        v = skeleton.num_joints
        self.num_classes, self.in_channels = num_classes, in_channels
        self.num_joints, self.num_persons = v, num_persons
        self.center = skeleton.graph_root  # joint 21 for ntu25: the joint stream's centre
        hops = torch.from_numpy(hop_distances(skeleton))
        # One statistic per (person slot, joint, embedding channel), flattened in that order.
        self.data_bn = nn.BatchNorm1d(num_persons * EMBED * v)
        self.to_joint_embedding = nn.Linear(in_channels, EMBED)
        self.pos_embedding = nn.Parameter(torch.randn(1, v, EMBED))
        for index, (c_in, c_out, stride) in enumerate(_LAYOUT, start=1):
            block = BlockGCNBlock(c_in, c_out, hops, stride=stride, alpha=alpha)
            self.add_module(f"l{index}", block)  # upstream names l1..l10
        for index, (c_in, _, _) in enumerate(_LAYOUT):
            self.add_module(f"t{index}", TopoTrans(c_in))  # t_i feeds block l_{i+1}
        self.topo = Topo()
        self.fc = nn.Linear(256, num_classes)
        nn.init.normal_(self.fc.weight, 0.0, math.sqrt(2.0 / num_classes))
        constant_bn_(self.data_bn, 1.0)
        self.drop_out = nn.Dropout(dropout)

    def joints_from_stream(self, x: Tensor) -> Tensor:
        """Invert the joint stream: joint v = x_v + x_centre for v != centre."""
        c = self.center
        joint = x + x[:, :, :, c : c + 1]
        joint[:, :, :, c] = x[:, :, :, c]
        return joint

    def _embed(self, x: Tensor) -> Tensor:
        """(N, C, T, V, M) -> the joint embedding plus position embedding (N, M*V*128, T),
        in the (person, joint, channel) order data_bn normalises (`joint_embedding`)."""
        return joint_embedding(self.to_joint_embedding, self.pos_embedding, x)

    def _check(self, x: Tensor, what: str) -> None:
        if (
            x.dim() != 5
            or x.shape[1] != self.in_channels
            or x.shape[3:] != (self.num_joints, self.num_persons)
        ):
            raise ModelConfigError(
                f"blockgcn: {what} has shape {tuple(x.shape)}, expected (N, {self.in_channels}, "
                f"T, {self.num_joints}, {self.num_persons})",
                fix="pass (N, C, T, V, M) clips and build with matching in_channels/num_persons",
            )

    def forward(self, x: Tensor, joint: Tensor | None = None) -> Tensor:
        self._check(x, "input")
        if joint is None:
            joint = self.joints_from_stream(x)
        elif joint.shape[:1] + joint.shape[2:] != x.shape[:1] + x.shape[2:] or joint.dim() != 5:
            raise ModelConfigError(
                f"blockgcn: joint has shape {tuple(joint.shape)}, input {tuple(x.shape)}; they "
                "must agree in N, T, V and M",
                fix="pass the raw joints of the same clips as joint= (N, 3, T, V, M)",
            )
        a = self.topo(joint)  # (N, 64), depends on the whole batch
        n, c, t, v, m = x.shape  # (N, C, T, V, M)
        x = batch_norm_act(self.data_bn, self._embed(x))  # (N, M*V*128, T)
        x = x.view(n, m, v, EMBED, t).permute(0, 1, 3, 4, 2).reshape(n * m, EMBED, t, v)
        for index in range(len(_LAYOUT)):
            topo = getattr(self, f"t{index}")(a, m)  # (N*M, C, 1, 1)
            x = getattr(self, f"l{index + 1}")(x + topo)  # ends (N*M, 256, T / 4, V)
        x = x.view(n, m, x.shape[1], -1).mean(3).mean(1)  # (N, 256)
        return self.fc(self.drop_out(x))  # (N, num_classes)


def _check_upstream_args(graph: Any, graph_args: dict[str, Any] | None, **unused: Any) -> None:
    if graph not in (UPSTREAM_GRAPH, "ntu25"):
        raise ModelConfigError(
            f"blockgcn: graph {graph!r} is not supported",
            fix=f"use {UPSTREAM_GRAPH!r} (upstream's NTU graph) or 'ntu25'",
        )
    labeling = (graph_args or {}).get("labeling_mode", "spatial")
    if labeling != "spatial" or set(graph_args or {}) - {"labeling_mode"}:
        raise ModelConfigError(
            f"blockgcn: graph_args {graph_args!r} are not supported",
            fix="use graph_args={'labeling_mode': 'spatial'} (upstream's NTU configs)",
        )
    if unused["num_set"] != NUM_SUBSETS:
        raise ModelConfigError(
            f"blockgcn: num_set={unused['num_set']}; upstream ignores it and always uses 3",
            fix="drop num_set or set it to 3",
        )
    label = unused["joint_label"]
    if label is not None and not isinstance(label, (list, tuple)):
        raise ModelConfigError(
            f"blockgcn: joint_label must be a list (upstream ignores it), got {label!r}",
            fix="drop joint_label",
        )


@register_model(
    ModelCard(
        name="blockgcn",
        title="BlockGCN",
        paper="Zhou et al., BlockGCN: Redefining Topology Awareness for Skeleton-Based Action "
        "Recognition",
        venue="CVPR",
        year=2024,
        upstream="github.com/ZhouYuxuanYX/BlockGCN model/BlockGCN.py",
        default_window=64,
        joint_layout="ntu25 (N, 3, T, 25, 2), plus the raw joints as joint= (N, 3, T, 25, 2)",
        streams=("joint", "bone", "joint_motion", "bone_motion"),
        params_ntu60=1_372_780,
        reported_top1={"ensemble": 93.1},
        needs_joint=True,
        notes=(
            "Top-1 (paper, 4-stream ensemble J+B+JM+BM): NTU60 X-Sub 93.1, NTU120 X-Sub 90.3; "
            "NTU60 X-View 97.0 per the papers-with-code listing (not checked against the "
            "paper); NTU120 X-Set not found here. The upstream README and repo list no "
            "accuracy, no per-stream numbers and no released weights. "
            "A sample's logits depend on the rest of its batch (distance matrices min-max "
            "normalised over the batch; topology features tiled over person rows so a person "
            "gets another sample's feature, as upstream). Needs giotto-ph: "
            "pip install 'skelab[blockgcn]'. The persistence computation (ripser, NumPy) "
            "cannot be exported to ONNX or TorchScript. Layout: ntu25 with the 'blockgcn' data "
            "style, which passes the raw joints for every stream (the builder takes another "
            "connected layout through skeleton=, but no data style passes its raw joints). "
            "Recipe: SGD nesterov momentum 0.9, lr 0.05, wd 4e-4, 5 warm-up epochs, x0.1 at "
            "epochs 110 and 120, 140 epochs, batch 64 on two GPUs (32 per forward pass), "
            "window 64, crop U(0.5, 1) train / 0.95 test, random rotation; joint stream centred "
            "on joint 21, which keeps its trajectory. Ensemble (upstream ensemble.py, raw "
            "logits): J 0.6, B 0.7, JM 0.35, BM 0.2."
        ),
    )
)
def blockgcn(
    *,
    num_classes: int = 60,
    in_channels: int = 3,
    num_joints: int = 25,
    num_persons: int = 2,
    window: int = 64,
    dropout: float = 0.0,
    graph: str = UPSTREAM_GRAPH,
    graph_args: dict[str, Any] | None = None,
    adaptive: bool = True,
    num_set: int = NUM_SUBSETS,
    alpha: bool = False,
    window_size: int | None = None,
    joint_label: list[int] | None = None,
    skeleton: str | Skeleton = "ntu25",
) -> BlockGCN:
    """BlockGCN on the 25-joint NTU skeleton, as in upstream's NTU configs.

    Takes upstream's `model_args` as they stand: `graph`, `graph_args`, `num_set`, `alpha`,
    `adaptive` (ignored upstream too), `window_size` and `joint_label` (swallowed by upstream's
    `**kwargs`). Nothing in the network depends on T. Building checks that giotto-ph (the
    `blockgcn` extra) is installed.
    """
    _check_upstream_args(graph, graph_args, num_set=num_set, joint_label=joint_label)
    _ripser()
    layout = get_skeleton(skeleton)
    if num_joints != layout.num_joints:
        raise ModelConfigError(
            f"blockgcn: num_joints={num_joints}, but the {layout.name!r} graph has "
            f"{layout.num_joints} joints",
            fix="pass the data's layout, e.g. skeleton='nwucla20' (a dataset's `ds.skeleton`)",
        )
    size = window if window_size is None else window_size
    if num_classes < 1 or num_persons < 1 or size < 1 or in_channels < 1:
        raise ModelConfigError(
            f"blockgcn: num_classes={num_classes}, num_persons={num_persons}, window={size}, "
            f"in_channels={in_channels}; each must be >= 1",
            fix="e.g. num_classes=60 (NTU60) or 120 (NTU120), num_persons=2, window=64",
        )
    if not 0.0 <= dropout < 1.0:
        raise ModelConfigError(
            f"blockgcn: dropout={dropout} is outside [0, 1)", fix="use 0 (upstream's configs)"
        )
    del adaptive  # upstream accepts and ignores it
    return BlockGCN(
        num_classes=num_classes,
        in_channels=in_channels,
        num_persons=num_persons,
        skeleton=layout,
        dropout=dropout,
        alpha=alpha,
    )
