"""Video frames as BGR arrays, decoded by PyAV (FFmpeg), the `[pose]` extra."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelab.errors import DataFormatError, SkelabError

_FIX = "check the file, or convert it with ffmpeg to .mp4"


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about the first video stream (frames may be 0: unknown)."""

    width: int
    height: int
    fps: float
    frames: int


def _av():
    try:
        import av
    except ImportError as err:
        raise SkelabError(
            "decoding a video needs PyAV, which is not installed",
            fix="pip install 'skelab[pose]' (or pip install av)",
        ) from err
    return av


def video_info(path: str | Path) -> VideoInfo:
    """Size, frame rate and frame count of `path`'s first video stream."""
    av = _av()
    path = Path(path)
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = float(stream.average_rate or stream.guessed_rate or 0)
            return VideoInfo(stream.width, stream.height, rate, int(stream.frames or 0))
    except (av.FFmpegError, IndexError, OSError) as err:
        raise DataFormatError(path, f"is not a readable video ({err})",
                              fix=_FIX) from err  # fmt: skip


def read_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Every frame of `path` as an (H, W, 3) uint8 BGR array (the order OpenCV-based
    estimators expect), in display order. A damaged stream is an error naming the frame."""
    av = _av()
    path = Path(path)
    n = 0
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="bgr24")
                n += 1
    except (av.FFmpegError, IndexError, OSError) as err:
        raise DataFormatError(path, f"cannot be decoded at frame {n} ({err})",
                              fix=_FIX) from err  # fmt: skip
