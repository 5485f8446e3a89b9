"""`read_skeleton` on the real NTU recordings in shared/data/ntu, and on broken copies of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shared_refs import REAL_DATA, require
from skelab.data.raw import SkeletonFileError, parse_skeleton, read_skeleton
from skelab.errors import SkelabError

NTU = REAL_DATA / "ntu"
A001 = NTU / "S001C001P001R001A001.skeleton"
A058 = NTU / "S001C003P008R002A058.skeleton"


@pytest.fixture(autouse=True)
def _needs_the_real_recordings() -> None:
    require(NTU)  # skips on a laptop without ../shared, fails on CI


def _slow_reference(path: Path) -> tuple[list[int], list[tuple[int, int, list[list[str]]]]]:
    """A plain line-by-line reading of the documented grammar: (bodies per frame, records)."""
    lines = path.read_text().splitlines()
    counts, records, i = [], [], 1
    for _ in range(int(lines[0])):
        b = int(lines[i])
        counts.append(b)
        i += 1
        for _ in range(b):
            body_id = int(lines[i].split()[0])
            joints = [lines[i + 2 + j].split() for j in range(int(lines[i + 1]))]
            records.append((len(counts) - 1, body_id, joints))
            i += 2 + len(joints)
    return counts, records


@pytest.mark.parametrize("path", sorted(NTU.glob("*.skeleton")), ids=lambda p: p.name[:20])
def test_parsed_values_equal_the_text_exactly(path):
    counts, records = _slow_reference(path)

    raw = read_skeleton(path)

    assert raw.bodies_per_frame.tolist() == counts
    ids = list(dict.fromkeys(r[1] for r in records))
    assert raw.body_ids.tolist() == ids
    for frame, body_id, joints in records:
        b = ids.index(body_id)
        text = np.array([[float(v) for v in j[:3]] for j in joints], dtype=np.float32)
        assert raw.present[b, frame]
        np.testing.assert_array_equal(raw.positions[b, frame], text)
        assert raw.tracking[b, frame].tolist() == [int(j[11]) for j in joints]
    assert raw.present.sum() == len(records)


def test_counts_match_the_data_readme():
    a001, a058 = read_skeleton(A001), read_skeleton(A058)

    assert (a001.num_frames, a001.num_bodies) == (103, 1)
    assert a001.body_ids.tolist() == [72057594037931101]
    assert ((a001.tracking == 2).sum(), (a001.tracking == 1).sum()) == (2208, 367)
    assert (a058.num_frames, a058.num_bodies) == (70, 2)
    assert a058.body_ids.tolist() == [72057594037944738, 72057594037944734]  # file order
    assert ((a058.tracking == 2).sum(), (a058.tracking == 1).sum()) == (3097, 403)


def test_lf_line_ends_and_no_final_newline_parse_the_same():
    data = A001.read_bytes()
    crlf = parse_skeleton(data, A001)

    lf = parse_skeleton(data.replace(b"\r\n", b"\n").rstrip(b"\n"), A001)

    np.testing.assert_array_equal(lf.positions, crlf.positions)
    np.testing.assert_array_equal(lf.tracking, crlf.tracking)


def _lines(path: Path = A001) -> list[bytes]:
    return path.read_bytes().split(b"\r\n")


def _error(data: bytes, tmp_path: Path) -> SkeletonFileError:
    bad = tmp_path / "S001C001P001R001A001.skeleton"
    bad.write_bytes(data)
    with pytest.raises(SkeletonFileError) as info:
        read_skeleton(bad)
    return info.value


def test_truncated_file_names_the_line_where_data_is_missing(tmp_path):
    # frames take 28 lines from line 2; 100 lines end inside frame 4, whose body starts at 87
    err = _error(b"\r\n".join(_lines()[:100]), tmp_path)

    assert err.line == 101
    assert "file ends early inside frame 4" in err.problem


def test_file_cut_inside_a_line_reports_where_the_body_runs_short(tmp_path):
    lines = _lines()
    cut = b"\r\n".join(lines[:40]) + b"\r\n" + lines[40][:20]  # line 41: joint 9 of frame 2

    err = _error(cut, tmp_path)

    assert err.line == 42
    assert "file ends early inside frame 2" in err.problem


def test_short_joint_line_is_reported_with_its_field_count(tmp_path):
    lines = _lines()
    lines[40] = b" ".join(lines[40].split(b" ")[:5])  # line 41 keeps 5 of its 12 fields

    err = _error(b"\r\n".join(lines), tmp_path)

    assert err.line == 41
    assert "joint line has 5 fields, expected 12" in err.problem


def test_wrong_joint_count_is_reported_with_its_line(tmp_path):
    lines = _lines()
    lines[3] = b"24"  # line 4: the joint count of the first body

    err = _error(b"\r\n".join(lines), tmp_path)

    assert err.line == 4
    assert "joint count 24, expected 25" in err.problem


def test_non_numeric_value_is_reported_with_line_and_field(tmp_path):
    lines = _lines()
    fields = lines[9].split(b" ")
    fields[1] = b"0.1x7"
    lines[9] = b" ".join(fields)

    err = _error(b"\r\n".join(lines), tmp_path)

    assert err.line == 10
    assert "field 2 is '0.1x7', expected a finite number" in err.problem


def test_nan_value_is_rejected(tmp_path):
    lines = _lines()
    lines[4] = b"nan " + lines[4].split(b" ", 1)[1]  # line 5: x of joint 1, frame 1

    err = _error(b"\r\n".join(lines), tmp_path)

    assert err.line == 5
    assert "field 1 is 'nan'" in err.problem


def test_empty_file_is_an_error_on_line_1(tmp_path):
    err = _error(b"", tmp_path)

    assert err.line == 1
    assert "empty" in err.problem


def test_error_is_one_line_naming_file_and_line_then_a_fix(tmp_path):
    err = _error(b"103\r\nabc\r\n", tmp_path)

    first, fix = str(err).splitlines()
    assert first.endswith(
        "S001C001P001R001A001.skeleton:2: expected the body count of frame 1 (one integer), "
        "got 'abc'"
    )
    assert fix.startswith("  fix:")
    assert isinstance(err, SkelabError)


def test_data_after_the_declared_frames_is_an_error(tmp_path):
    data = A001.read_bytes().replace(b"103\r\n", b"102\r\n", 1)

    err = _error(data, tmp_path)

    assert err.line == 2 + 102 * 28
