"""layers.framepool.max_over_frames equals F.max_pool2d's (3, 1) window, gradients included."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from skelab.models.layers.framepool import _MaxOf3Frames, max_over_frames


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("frames", [1, 2, 7, 8])
def test_max_over_frames_equals_max_pool_with_its_argmax_on_ties(stride, frames):
    torch.manual_seed(0)
    x = torch.randn(2, 3, frames, 4, dtype=torch.float64)
    x[0, 0, :, 0] = 1.0  # a constant joint: every window ties, the pool picks its first frame
    x[1, 2, :, 1] = torch.arange(frames) % 2  # ties between the first and the last frame
    x.requires_grad_(True)
    want = F.max_pool2d(x, (3, 1), (stride, 1), (1, 0))
    grad = torch.randn_like(want)
    got = _MaxOf3Frames.apply(x, stride)  # float64: max_over_frames would take the pool
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(
        torch.autograd.grad(got, x, grad)[0], torch.autograd.grad(want, x, grad)[0]
    )


def test_max_over_frames_backward_passes_gradcheck():
    x = torch.randn(1, 2, 6, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: _MaxOf3Frames.apply(x, 2), (x,))


def test_max_over_frames_takes_the_views_in_float32_on_the_cpu():
    x = torch.randn(2, 3, 8, 4, requires_grad=True)
    out = max_over_frames(x, 2)
    assert type(out.grad_fn).__name__ == "_MaxOf3FramesBackward"
    torch.testing.assert_close(out, F.max_pool2d(x, (3, 1), (2, 1), (1, 0)), rtol=0, atol=0)


def test_max_over_frames_is_max_pool_on_the_meta_device():
    x = torch.empty(2, 3, 8, 4, device="meta")
    assert max_over_frames(x, 2).shape == (2, 3, 4, 4)
