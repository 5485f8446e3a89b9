"""Small ONNX models with the inputs and outputs of real pose estimators (rtmlib's RTMO and
RTMPose, an Ultralytics YOLO-pose ONNX export) and a small video for them. The models "see" the
white square: every joint is put on it (joint j 2j pixels right and down of it for RTMO and
YOLO, so the body is 45 pixels across), so a test knows where the keypoints must land once the
glue has undone the letterbox or crop."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import onnx
from onnx import TensorProto, helper

W, H, FRAMES, SIDE = 128, 96, 12, 8  # video size, frames, the bright square's side


def square_centre(t: int) -> tuple[float, float]:
    return 20 + 7 * t + SIDE / 2, 30 + 3 * t + SIDE / 2


def make_video(path: Path) -> Path:
    """A grey 128x96 video with a white square moving right and down."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for t in range(FRAMES):
            img = np.full((H, W, 3), 114, np.uint8)
            x, y = (int(v - SIDE / 2) for v in square_centre(t))
            img[y : y + SIDE, x : x + SIDE] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def _const(name: str, values, dtype=TensorProto.FLOAT):
    arr = np.asarray(values)
    return helper.make_tensor(name, dtype, arr.shape, arr.reshape(-1).tolist())


def _spot_nodes(inp: str) -> list:
    """Nodes giving `xf`, `yf` (1,): the centroid of `inp` (1, 3, H, W) above the threshold
    `thr` (between the grey background and the white square in the model's input units)."""
    nodes = [
        helper.make_node("Sub", [inp, "thr"], ["above"]),
        helper.make_node("Relu", ["above"], ["bright"]),
        helper.make_node("ReduceSum", ["bright", "ax1"], ["s"], keepdims=0),  # (1, H, W)
    ]
    for axis, name in (("ax1", "xf"), ("ax2", "yf")):  # summing the rows gives a profile over x
        idx = "idx_x" if name == "xf" else "idx_y"
        nodes += [
            helper.make_node("ReduceSum", ["s", axis], [f"{name}_p"], keepdims=0),  # (1, W)
            helper.make_node("Mul", [f"{name}_p", idx], [f"{name}_w"]),
            helper.make_node("ReduceSum", [f"{name}_w", "ax1"], [f"{name}_num"], keepdims=0),
            helper.make_node("ReduceSum", [f"{name}_p", "ax1"], [f"{name}_den"], keepdims=0),
            helper.make_node("Div", [f"{name}_num", f"{name}_den"], [name]),  # (1,)
        ]
    return nodes


def _common_inits(thr: float, h: int = 128, w: int = 128) -> list:
    return [
        _const("ax1", [1], TensorProto.INT64), _const("ax2", [2], TensorProto.INT64),
        _const("thr", [thr]), _const("idx_x", np.arange(w) + 0.5),
        _const("idx_y", np.arange(h) + 0.5),
    ]  # fmt: skip


def _keypoint_nodes() -> list:
    """`kp` (17, 3): joint j at (xf + 2j, yf + 2j), score 0.8 (a body 45 pixels across)."""
    return [
        helper.make_node("Add", ["xf", "offs"], ["kx"]),  # (17,)
        helper.make_node("Add", ["yf", "offs"], ["ky"]),
        helper.make_node("Unsqueeze", ["kx", "ax_last"], ["kx1"]),
        helper.make_node("Unsqueeze", ["ky", "ax_last"], ["ky1"]),
        helper.make_node("Concat", ["kx1", "ky1", "kscore"], ["kp"], axis=1),  # (17, 3)
    ]


def _keypoint_inits() -> list:
    return [
        _const("offs", 2.0 * np.arange(17)),
        _const("ax_last", [1], TensorProto.INT64), _const("kscore", np.full((17, 1), 0.8)),
    ]  # fmt: skip


def _save(tmp: Path, name: str, nodes, inits, inp: str, shape, outputs) -> Path:
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info(inp, TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs], inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp / f"{name}.onnx"
    onnx.save(model, str(path))
    return path


def make_rtmo(folder: Path) -> Path:
    """RTMO's interface: input (1, 3, 128, 128) BGR pixels; dets (1, N, 5) x1 y1 x2 y2 score,
    keypoints (1, N, 17, 3) in input pixels."""
    nodes = _spot_nodes("input") + _keypoint_nodes() + [
        helper.make_node("Sub", ["xf", "ten"], ["x1"]),
        helper.make_node("Sub", ["yf", "ten"], ["y1"]),
        helper.make_node("Add", ["xf", "ten"], ["x2"]),
        helper.make_node("Add", ["yf", "ten"], ["y2"]),
        helper.make_node("Concat", ["x1", "y1", "x2", "y2", "p"], ["d"], axis=0),
        helper.make_node("Reshape", ["d", "dshape"], ["dets"]),
        helper.make_node("Reshape", ["kp", "kshape"], ["keypoints"]),
    ]  # fmt: skip
    inits = _common_inits(200.0) + _keypoint_inits() + [
        _const("ten", [10.0]), _const("p", [0.9]),
        _const("dshape", [1, 1, 5], TensorProto.INT64),
        _const("kshape", [1, 1, 17, 3], TensorProto.INT64),
    ]  # fmt: skip
    return _save(folder, "rtmo", nodes, inits, "input",
                 [1, 3, 128, 128], [("dets", [1, 1, 5]), ("keypoints", [1, 1, 17, 3])])  # fmt: skip


def make_yolo(folder: Path) -> Path:
    """YOLO-pose's interface: images (1, 3, 128, 128) RGB in [0, 1]; output0 (1, 56, N):
    cx, cy, w, h, score, 17 x (x, y, visibility). Anchor 0 finds the spot (0.9), anchor 1 is a
    duplicate of it (0.8, NMS must drop it), anchor 2 is below the score threshold."""
    nodes = _spot_nodes("images") + _keypoint_nodes() + [
        helper.make_node("Reshape", ["kp", "flat"], ["kpf"]),  # (51,)
        helper.make_node("Concat", ["xf", "yf", "wh", "p0", "kpf"], ["a0"], axis=0),  # (56,)
        helper.make_node("Concat", ["xf", "yf", "wh", "p1", "kpf"], ["a1"], axis=0),
        helper.make_node("Unsqueeze", ["a0", "ax_last"], ["c0"]),
        helper.make_node("Unsqueeze", ["a1", "ax_last"], ["c1"]),
        helper.make_node("Concat", ["c0", "c1", "c2"], ["cols"], axis=1),  # (56, 3)
        helper.make_node("Unsqueeze", ["cols", "ax0"], ["output0"]),
    ]  # fmt: skip
    inits = _common_inits(200 / 255) + _keypoint_inits() + [
        _const("flat", [51], TensorProto.INT64), _const("wh", [20.0, 20.0]),
        _const("p0", [0.9]), _const("p1", [0.8]), _const("c2", np.full((56, 1), 0.01)),
        _const("ax0", [0], TensorProto.INT64),
    ]  # fmt: skip
    return _save(folder, "yolo", nodes, inits, "images",
                 [1, 3, 128, 128], [("output0", [1, 56, 3])])  # fmt: skip


def make_rtmpose(folder: Path) -> Path:
    """RTMPose's interface: input (1, 3, 256, 192), the person's box cropped and normalised by
    ImageNet mean and std; simcc_x (1, 17, 384) and simcc_y (1, 17, 512), a peak at twice each
    joint's input pixel. Every joint sits on the spot."""
    nodes = _spot_nodes("input")
    for name, f, n in (("simcc_x", "xf", 384), ("simcc_y", "yf", 512)):
        nodes += [
            helper.make_node("Sub", [f"half{n}", f], [f"{name}_d"]),  # (n,)
            helper.make_node("Mul", [f"{name}_d", f"{name}_d"], [f"{name}_d2"]),
            helper.make_node("Neg", [f"{name}_d2"], [f"{name}_nd"]),
            helper.make_node("Exp", [f"{name}_nd"], [f"{name}_e"]),
            helper.make_node("Expand", [f"{name}_e", f"shape{n}"], [name]),  # (1, 17, n)
        ]
    inits = _common_inits(1.0, h=256, w=192) + [
        _const("half384", np.arange(384) / 2), _const("half512", np.arange(512) / 2),
        _const("shape384", [1, 17, 384], TensorProto.INT64),
        _const("shape512", [1, 17, 512], TensorProto.INT64),
    ]  # fmt: skip
    outputs = [("simcc_x", [1, 17, 384]), ("simcc_y", [1, 17, 512])]
    return _save(folder, "rtmpose", nodes, inits, "input",
                 [1, 3, 256, 192], outputs)  # fmt: skip
