"""Read one NTU RGB+D `.skeleton` text file into arrays, the whole file at once.

The format (reference/ntu-data.md §3; the dataset's `read_skeleton_file.m`): line 1 is the
frame count T; each frame has a body-count line B, then per body a 10-field info line (bodyID
first), a joint-count line (25) and 25 joint lines of 12 fields (x y z, depthX depthY, colorX
colorY, orientation W X Y Z, trackingState). CRLF and LF line ends are both accepted, and so is
a missing final newline.

Speed: line ends and the token count of every line come from one pass of numpy over the bytes;
the structure walk touches one line per frame and two per body, never a value. The file is
checked to hold only the bytes of decimal numbers, then the x y z fields of every joint line are
gathered by index into one buffer and converted by one `np.fromstring` call (fields upstream
does not use are not converted); the tracking state is one digit, read as is. Only when a check
fails does a slow per-line scan run, to name the first bad line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skelab.errors import DataFormatError

JOINTS = 25
JOINT_FIELDS = 12
INFO_FIELDS = 10
_BODY_LINES = 2 + JOINTS  # info line, joint-count line, joint lines
_NUMBER_BYTES = b"0123456789+-.eE \t\r\n"  # the bytes a file of decimal numbers may hold


class SkeletonFileError(DataFormatError):
    """A `.skeleton` file that does not follow the format; `line` is 1-based (0: whole file)."""

    def __init__(self, path: str | Path, line: int, problem: str) -> None:
        self.line = line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(
            where,
            problem,
            fix="re-extract this file from the official archive (or skip it: prepare-raw "
            "reports and skips bad files unless --strict)",
        )
        self.path = str(path)


@dataclass(frozen=True)
class RawSkeleton:
    """One `.skeleton` file. Bodies are in order of first appearance; absent entries are 0."""

    path: Path
    bodies_per_frame: np.ndarray  # (T,) int64, the body-count line of each frame
    body_ids: np.ndarray  # (B,) uint64 Kinect tracking IDs (exact; never through a float)
    positions: np.ndarray  # (B, T, 25, 3) float32 camera-space x, y, z in metres
    present: np.ndarray  # (B, T) bool, body b appears in frame t
    tracking: np.ndarray  # (B, T, 25) int8 joint trackingState: 1 inferred, 2 tracked

    @property
    def num_frames(self) -> int:
        return int(self.bodies_per_frame.shape[0])

    @property
    def num_bodies(self) -> int:
        return int(self.body_ids.shape[0])


class _Lines:
    """Line boundaries and per-line token counts of a byte string, found with numpy."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        buf = np.frombuffer(data, dtype=np.uint8)
        nl = np.flatnonzero(buf == 10)
        ends = nl if data.endswith(b"\n") else np.append(nl, len(data))
        self.starts = np.concatenate(([0], nl + 1))[: len(ends)]
        self.ends = ends
        ws = buf <= 32  # space, tab, CR, LF
        token_pos = np.flatnonzero(~ws & np.concatenate(([True], ws[:-1])))
        self.buf = buf
        self.token_pos = np.append(token_pos, len(data))  # a sentinel after the last token
        line_of_token = np.searchsorted(ends, token_pos)
        self.tokens = np.bincount(line_of_token, minlength=len(ends))[: len(ends)]
        self.first_token = np.concatenate(([0], np.cumsum(self.tokens)[:-1]))

    def __len__(self) -> int:
        return len(self.ends)

    def text(self, i: int) -> bytes:
        return self.data[self.starts[i] : self.ends[i]].strip()


def read_skeleton(path: str | Path) -> RawSkeleton:
    """Parse one `.skeleton` file; a malformed one raises `SkeletonFileError` naming the line."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SkeletonFileError(path, 0, f"cannot be read ({err.strerror})") from err
    return parse_skeleton(data, path)


def _count(lines: _Lines, i: int, path: Path, what: str) -> int:
    if i >= len(lines):
        raise SkeletonFileError(path, i + 1, f"file ends early; expected {what} on this line")
    text = lines.text(i)
    if lines.tokens[i] != 1 or not text.isdigit():
        shown = text[:40].decode("ascii", "replace")
        raise SkeletonFileError(path, i + 1, f"expected {what} (one integer), got {shown!r}")
    return int(text)


def parse_skeleton(data: bytes, path: str | Path = "<bytes>") -> RawSkeleton:
    """Parse the bytes of a `.skeleton` file (see `read_skeleton`)."""
    path = Path(path)
    if not data.strip():
        raise SkeletonFileError(path, 1, "file is empty; expected the frame count on line 1")
    lines = _Lines(data)
    num_frames = _count(lines, 0, path, "the frame count")
    counts = np.zeros(num_frames, dtype=np.int64)
    info_lines: list[int] = []
    frame_of: list[int] = []
    i = 1
    for f in range(num_frames):
        b = _count(lines, i, path, f"the body count of frame {f + 1}")
        counts[f] = b
        i += 1
        for _ in range(b):
            if i + _BODY_LINES > len(lines):
                raise SkeletonFileError(
                    path,
                    len(lines) + 1,
                    f"file ends early inside frame {f + 1}: a body needs {_BODY_LINES} lines "
                    f"from line {i + 1}",
                )
            if lines.tokens[i] != INFO_FIELDS:
                raise SkeletonFileError(
                    path,
                    i + 1,
                    f"body info line has {lines.tokens[i]} fields, expected {INFO_FIELDS}",
                )
            joints = _count(lines, i + 1, path, "the joint count")
            if joints != JOINTS:
                raise SkeletonFileError(
                    path, i + 2, f"joint count {joints}, expected {JOINTS} (Kinect v2)"
                )
            info_lines.append(i)
            frame_of.append(f)
            i += _BODY_LINES
    rest = [k for k in range(i, len(lines)) if lines.tokens[k]]
    if rest:
        raise SkeletonFileError(
            path, rest[0] + 1, f"unexpected data after the {num_frames} frames the file declares"
        )
    records = np.asarray(info_lines, dtype=np.int64)
    values = _joint_values(lines, records, path)  # (R, 25, 12) float64
    return _assemble(path, lines, records, np.asarray(frame_of, np.int64), counts, values)


def _joint_values(lines: _Lines, records: np.ndarray, path: Path) -> np.ndarray:
    """x, y, z and trackingState of every joint line, as one (R, 25, 4) float64 array."""
    if records.size == 0:
        return np.zeros((0, JOINTS, 4))
    joint_lines = (records[:, None] + 2 + np.arange(JOINTS)).ravel()
    bad = np.flatnonzero(lines.tokens[joint_lines] != JOINT_FIELDS)
    if bad.size:
        k = int(joint_lines[bad[0]])
        raise SkeletonFileError(
            path, k + 1, f"joint line has {lines.tokens[k]} fields, expected {JOINT_FIELDS}"
        )
    # Only bytes of numbers may appear; then x y z of every joint line are gathered into one
    # buffer and converted by one call (3 of the 12 fields: a quarter of the text).
    if lines.data.translate(None, _NUMBER_BYTES):
        _raise_bad_value(lines, path)
    first = lines.first_token[joint_lines]
    starts, stops = lines.token_pos[first], lines.token_pos[first + 3]
    xyz = _convert(lines, starts, stops, 3 * joint_lines.size)
    state_at = lines.token_pos[first + JOINT_FIELDS - 1]
    state = lines.buf[state_at].astype(np.int64) - ord("0")
    one_digit = (state_at + 1 >= len(lines.buf)) | (
        lines.buf[np.minimum(state_at + 1, len(lines.buf) - 1)] <= 32
    )
    if xyz is None or not (one_digit & (state >= 0) & (state <= 9)).all():
        _raise_bad_value(lines, path)
    values = np.concatenate([xyz.reshape(-1, 3), state[:, None]], axis=1)
    return values.reshape(-1, JOINTS, 4)


def _convert(lines: _Lines, starts: np.ndarray, stops: np.ndarray, count: int) -> np.ndarray | None:
    """The numbers in the byte ranges [starts, stops), converted in one call; None if bad."""
    lengths = stops - starts
    shift = np.repeat(starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths)
    text = lines.buf[shift + np.arange(int(lengths.sum()))].tobytes()
    try:
        out = np.fromstring(text, dtype=np.float64, sep=" ")
    except ValueError:  # text that is not a number
        return None
    return out if out.size == count and np.isfinite(out).all() else None


def _raise_bad_value(lines: _Lines, path: Path) -> None:
    """The slow path: find and report the first token that is not a finite number."""
    for k in range(len(lines)):
        for n, tok in enumerate(lines.text(k).split(), start=1):
            try:
                ok = bool(np.isfinite(float(tok)))
            except ValueError:
                ok = False
            if not ok:
                shown = tok[:30].decode("ascii", "replace")
                raise SkeletonFileError(
                    path, k + 1, f"field {n} is {shown!r}, expected a finite number"
                )
    raise SkeletonFileError(path, 0, "values do not parse as numbers")


def _assemble(
    path: Path,
    lines: _Lines,
    records: np.ndarray,
    frames: np.ndarray,
    counts: np.ndarray,
    values: np.ndarray,
) -> RawSkeleton:
    ids_per_record = []
    for r in records.tolist():
        head = lines.text(r).split(None, 1)[0]
        if not head.isdigit():
            shown = head[:30].decode("ascii", "replace")
            raise SkeletonFileError(path, r + 1, f"bodyID {shown!r}, expected an integer")
        ids_per_record.append(int(head))
    uniq: dict[int, int] = {}
    for body_id in ids_per_record:
        uniq.setdefault(body_id, len(uniq))
    body_index = np.asarray([uniq[b] for b in ids_per_record], dtype=np.int64)
    num_bodies, num_frames = len(uniq), len(counts)
    seen = body_index * max(num_frames, 1) + frames
    if np.unique(seen).size != seen.size:
        dup = int(np.flatnonzero(np.bincount(seen) > 1)[0])
        k = int(np.flatnonzero(seen == dup)[1])
        raise SkeletonFileError(
            path,
            int(records[k]) + 1,
            f"bodyID {ids_per_record[k]} appears twice in frame {dup % num_frames + 1}",
        )
    positions = np.zeros((num_bodies, num_frames, JOINTS, 3), dtype=np.float32)
    tracking = np.zeros((num_bodies, num_frames, JOINTS), dtype=np.int8)
    present = np.zeros((num_bodies, num_frames), dtype=bool)
    positions[body_index, frames] = values[:, :, 0:3]
    tracking[body_index, frames] = values[:, :, 3]
    present[body_index, frames] = True
    return RawSkeleton(
        path=path,
        bodies_per_frame=counts,
        body_ids=np.asarray(list(uniq), dtype=np.uint64),
        positions=positions,
        present=present,
        tracking=tracking,
    )
