"""skelab.files: atomic writes and weights-only reads."""

import os

import pytest
import torch

from skelab.errors import CheckpointError
from skelab.files import atomic_save, atomic_write, atomic_write_text, load_torch


def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    path = atomic_write_text(tmp_path / "a.json", "old")

    def broken(fh):
        fh.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(path, broken)

    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["a.json"]  # no temp file left behind


def test_load_torch_round_trips_tensors(tmp_path):
    path = atomic_save({"w": torch.arange(3)}, tmp_path / "x.pt")

    assert torch.equal(load_torch(path)["w"], torch.arange(3))


class Foreign:
    """Any class a pickle could smuggle in."""


def test_load_torch_refuses_pickled_objects_and_names_the_file(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"obj": Foreign()}, path)

    with pytest.raises(CheckpointError, match=r"evil\.pt: cannot read"):
        load_torch(path)


def test_load_torch_of_a_missing_file_says_so(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        load_torch(tmp_path / "nope.pt")


def test_atomic_dir_swaps_in_a_whole_folder_and_keeps_the_old_one_on_failure(tmp_path):
    from skelab.files import atomic_dir

    out = tmp_path / "prepared"
    with atomic_dir(out) as tmp:
        (tmp / "a.txt").write_text("1")
    with pytest.raises(RuntimeError), atomic_dir(out, overwrite=True) as tmp:
        (tmp / "a.txt").write_text("2")
        raise RuntimeError("killed")

    assert (out / "a.txt").read_text() == "1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["prepared"]


def test_atomic_dir_refuses_to_replace_without_overwrite(tmp_path):
    from skelab.files import atomic_dir

    (tmp_path / "x").mkdir()
    with pytest.raises(FileExistsError), atomic_dir(tmp_path / "x"):
        pass


def test_atomic_writes_keep_the_usual_permissions(tmp_path):
    from skelab.files import atomic_dir

    old = os.umask(0o022)
    try:
        f = atomic_write_text(tmp_path / "a.txt", "x")
        with atomic_dir(tmp_path / "d"):
            pass
    finally:
        os.umask(old)

    assert f.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
