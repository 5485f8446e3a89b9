"""Label CSV rules (`skelab.data.labels.read_label_table`): nothing is renumbered silently."""

from __future__ import annotations

import pytest

from skelab.data.labels import read_label_table
from skelab.errors import DataFormatError


def _csv(tmp_path, text: str, name: str = "labels.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _rows(labels: list[str]) -> str:
    return "file,label,split\n" + "".join(f"c{i}.npy,{lab},train\n" for i, lab in enumerate(labels))


def test_integer_labels_are_kept_as_written(tmp_path):
    path = _csv(tmp_path, _rows(["2", "0", "1", "2"]))

    table = read_label_table(path)

    assert [r.label for r in table.rows] == [2, 0, 1, 2]
    assert table.num_classes == 3
    assert table.class_names == ["class 0", "class 1", "class 2"]
    assert [r.line for r in table.rows] == [2, 3, 4, 5]


def test_negative_label_is_an_error_naming_its_row(tmp_path):
    path = _csv(tmp_path, _rows(["0", "1", "-1"]))

    with pytest.raises(DataFormatError, match=r"labels\.csv:4.*label -1 is outside"):
        read_label_table(path)


def test_integers_then_one_name_is_a_mixing_error_naming_the_row(tmp_path):
    path = _csv(tmp_path, _rows([str(i) for i in range(12)] + ["jump"]))

    with pytest.raises(DataFormatError, match=r"labels\.csv:14.*'jump' is a name.*mixed") as err:
        read_label_table(path)
    assert "fix:" in str(err.value)


def test_names_then_one_integer_is_a_mixing_error(tmp_path):
    path = _csv(tmp_path, _rows(["walk", "3"]))

    with pytest.raises(DataFormatError, match=r"labels\.csv:3.*'3' is an integer"):
        read_label_table(path)


def test_label_1000_among_few_classes_is_a_gap_error_naming_its_row(tmp_path):
    path = _csv(tmp_path, _rows(["0", "1", "1000", "2"]))

    with pytest.raises(
        DataFormatError, match=r"(?s)labels\.csv:4.*1001 classes.*--num-classes 1001"
    ):
        read_label_table(path)


def test_gap_is_an_error_unless_num_classes_allows_it(tmp_path):
    path = _csv(tmp_path, _rows(["0", "2"]))
    with pytest.raises(DataFormatError, match=r"labels\.csv:3.*no row has class 1"):
        read_label_table(path)

    table = read_label_table(path, num_classes=5)

    assert [r.label for r in table.rows] == [0, 2]
    assert table.num_classes == 5


def test_label_at_or_over_num_classes_is_an_error(tmp_path):
    path = _csv(tmp_path, _rows(["0", "4"]))

    with pytest.raises(DataFormatError, match=r"labels\.csv:3.*label 4 is outside 0\.\.3"):
        read_label_table(path, num_classes=4)


def test_names_are_numbered_in_order_of_first_appearance(tmp_path):
    path = _csv(tmp_path, _rows(["wave", "jump", "wave", "clap"]))

    table = read_label_table(path)

    assert table.class_names == ["wave", "jump", "clap"]
    assert [r.label for r in table.rows] == [0, 1, 0, 2]


def test_classes_file_fixes_the_order_and_rejects_unknown_names(tmp_path):
    classes = _csv(tmp_path, "# actions\nclap\n\njump\nwave\n", "classes.txt")
    path = _csv(tmp_path, _rows(["wave", "jump"]))

    table = read_label_table(path, classes_file=classes)

    assert table.class_names == ["clap", "jump", "wave"]
    assert [r.label for r in table.rows] == [2, 1]
    bad = _csv(tmp_path, _rows(["wave", "Jmp"]), "bad.csv")
    with pytest.raises(DataFormatError, match=r"bad\.csv:3.*'Jmp' is not in"):
        read_label_table(bad, classes_file=classes)


def test_classes_file_names_integer_labels(tmp_path):
    classes = _csv(tmp_path, "clap\njump\n", "classes.txt")
    path = _csv(tmp_path, _rows(["1", "0"]))

    table = read_label_table(path, classes_file=classes)

    assert table.class_names == ["clap", "jump"]
    assert [r.label for r in table.rows] == [1, 0]


def test_short_row_and_missing_label_are_errors_naming_the_row(tmp_path):
    short = _csv(tmp_path, "file,label,split\na.npy,0,train\nb.npy\n")
    with pytest.raises(DataFormatError, match=r"labels\.csv:3.*1 columns"):
        read_label_table(short)

    empty = _csv(tmp_path, "file,label,split\na.npy,0,train\nb.npy,,train\n", "empty.csv")
    with pytest.raises(DataFormatError, match=r"empty\.csv:3.*has no label"):
        read_label_table(empty)


def test_missing_split_column_means_train_and_bad_split_is_an_error(tmp_path):
    table = read_label_table(_csv(tmp_path, "file,label\na.npy,0\n"))
    assert table.rows[0].split == "train"

    with pytest.raises(DataFormatError, match=r"bad\.csv:2.*split 'val'"):
        read_label_table(_csv(tmp_path, "file,label,split\na.npy,0,val\n", "bad.csv"))


def test_listed_file_must_exist_under_files_root(tmp_path):
    (tmp_path / "a.npy").write_bytes(b"")
    path = _csv(tmp_path, "file,label\na.npy,0\nb.npy,0\n")

    with pytest.raises(DataFormatError, match=r"labels\.csv:3.*'b\.npy' is not in"):
        read_label_table(path, files_root=tmp_path)


def test_header_without_label_column_is_an_error(tmp_path):
    with pytest.raises(DataFormatError, match=r"labels\.csv:1.*needs the columns file and label"):
        read_label_table(_csv(tmp_path, "name,class\na.npy,0\n"))


def test_huge_class_count_is_refused_before_anything_is_allocated(tmp_path):
    path = _csv(tmp_path, _rows(["wave"]))

    with pytest.raises(DataFormatError, match=r"--num-classes 1000000000000 is outside 1\.\.10000"):
        read_label_table(path, num_classes=10**12)
    with pytest.raises(DataFormatError, match=r"big\.csv:2.*label 99999 is above 9999"):
        read_label_table(_csv(tmp_path, _rows(["99999"]), "big.csv"))
