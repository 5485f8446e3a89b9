"""Label tables: the `file,label,split` CSV that names each sample's class, read without guessing.

The importers of arrays and of pose-estimator files (`skelab data import-arrays`,
`import-keypoints`) read their labels here, so both follow one set of rules:

* The CSV has a header with the columns `file` and `label`, and optionally `split` (`train` or
  `test`; an empty or missing split is `train`). Every error names the CSV line.
* Integer labels are kept as they are: class `k` is label `k`. Without `num_classes` the class
  count is the largest label + 1, and every class from 0 to it must have a row (a gap is an
  error: label 1000 among 0..3 is a typo far more often than a 1001-class dataset). With
  `num_classes=K` any label in 0..K-1 is accepted and gaps are allowed. A label below 0 or at
  least K is always an error.
* Class names (anything that is not an integer) are numbered in the order they first appear in
  the CSV, or in the order of a classes file (one name per line; blank lines and `#` comments
  ignored). With a classes file, integer labels index into it and a name not in it is an error.
* Integers and names mixed in one CSV is an error naming the first row whose kind differs from
  the first row's (`0..11` plus one `jump` is ambiguous; nothing is renumbered silently).
* A row without a file or a label, or with fewer columns than the header, is an error; so is a
  file listed twice, and (with `files_root`) a file that does not exist.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from skelab.data.formats import MAX_CLASSES
from skelab.errors import DataFormatError, did_you_mean

SPLITS = ("train", "test")
_EXAMPLE = "write e.g. `file,label,split` then `clip001.npy,3,train`"


@dataclass(frozen=True)
class LabelRow:
    """One sample: its file (as written in the CSV), 0-based class, split and CSV line number."""

    file: str
    label: int
    split: str
    line: int


@dataclass(frozen=True)
class LabelTable:
    """Every row of a label CSV with the class count and one name per class."""

    rows: list[LabelRow]
    class_names: list[str]
    num_classes: int


def _as_int(text: str) -> int | None:
    """`text` as an integer label (`-1` included), or None when it is a class name."""
    body = text[1:] if text[:1] in "+-" else text
    if not body.isdigit():
        return None
    return int(text) if len(body) < 4000 else 10**12  # past Python's int() digit limit


def read_classes_file(path: str | Path) -> list[str]:
    """Class names, one per line, in order; blank lines and `#` comments are skipped."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise DataFormatError(
            path, f"cannot be read ({err})", fix="pass a text file, one class name per line"
        ) from err
    names: list[str] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(lines, start=1):
        name = line.split("#", 1)[0].strip()
        if not name:
            continue
        if name in seen:
            raise DataFormatError(
                f"{path}:{n}",
                f"class {name!r} is listed twice (first on line {seen[name]})",
                fix="list every class name once",
            )
        seen[name] = n
        names.append(name)
    if not names:
        raise DataFormatError(path, "holds no class names", fix="write one class name per line")
    return names


def _read_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line number, {column: stripped text}) of every non-blank data row, header checked."""
    try:
        fh = open(path, newline="", encoding="utf-8")
    except OSError as err:
        raise DataFormatError(path, f"cannot be read ({err})", fix=_EXAMPLE) from err
    with fh:
        reader = csv.reader(fh)
        try:
            header = [h.strip() for h in next(reader, [])]
            raw = [(reader.line_num, r) for r in reader]
        except (csv.Error, UnicodeDecodeError) as err:
            raise DataFormatError(path, f"is not a readable CSV ({err})", fix=_EXAMPLE) from err
    if not {"file", "label"} <= set(header):
        raise DataFormatError(
            f"{path}:1",
            f"header {header} needs the columns file and label (and optionally split)",
            fix=_EXAMPLE,
        )
    rows = []
    for line, values in raw:
        if not any(v.strip() for v in values):
            continue
        if len(values) < len(header):
            raise DataFormatError(
                f"{path}:{line}",
                f"has {len(values)} columns, the header has {len(header)} ({', '.join(header)})",
                fix="give every row a value for each column, e.g. `clip001.npy,3,train`",
            )
        rows.append((line, {h: v.strip() for h, v in zip(header, values, strict=False)}))
    if not rows:
        raise DataFormatError(path, "has a header but no rows", fix=_EXAMPLE)
    return rows


def read_label_table(
    path: str | Path,
    *,
    num_classes: int | None = None,
    classes_file: str | Path | None = None,
    files_root: str | Path | None = None,
) -> LabelTable:
    """Read a `file,label[,split]` CSV by the rules of the module docstring.

    `num_classes` (`--num-classes K`) allows gaps and fixes the class count; `classes_file`
    (`--classes FILE`) fixes the names and their order; `files_root` makes every listed file
    be checked for existence."""
    path = Path(path)
    if num_classes is not None and not 1 <= num_classes <= MAX_CLASSES:
        raise DataFormatError(
            path,
            f"--num-classes {num_classes} is outside 1..{MAX_CLASSES}",
            fix="pass the dataset's class count, e.g. --num-classes 10",
        )
    file_names = read_classes_file(classes_file) if classes_file is not None else None
    if file_names is not None and num_classes is not None and num_classes != len(file_names):
        raise DataFormatError(
            classes_file,
            f"lists {len(file_names)} classes, but --num-classes is {num_classes}",
            fix="drop --num-classes (the classes file sets the count) or make them agree",
        )
    rows = _read_rows(path)
    seen_files: dict[str, int] = {}
    parsed: list[tuple[int, str, int | None, str, str]] = []  # line, file, int, text, split
    for line, r in rows:
        where = f"{path}:{line}"
        file, text, split = r["file"], r["label"], r.get("split") or "train"
        if not file or not text:
            raise DataFormatError(
                where,
                f"has no {'file' if not file else 'label'}",
                fix="give every row a file and a label, e.g. `clip001.npy,3,train`",
            )
        if split not in SPLITS:
            raise DataFormatError(where, f"split {split!r}", fix="use train or test")
        if file in seen_files:
            raise DataFormatError(
                where,
                f"file {file!r} is listed twice (first on line {seen_files[file]})",
                fix="list each sample once",
            )
        seen_files[file] = line
        if files_root is not None and not (Path(files_root) / file).is_file():
            raise DataFormatError(
                where,
                f"file {file!r} is not in {files_root}",
                fix="correct the file name or add the file",
            )
        parsed.append((line, file, _as_int(text), text, split))

    first_line, _, first_int, first_text, _ = parsed[0]
    for line, _, value, text, _ in parsed:
        if (value is None) != (first_int is None):
            kind = "an integer" if value is not None else "a name"
            raise DataFormatError(
                f"{path}:{line}",
                f"label {text!r} is {kind}, but line {first_line} has {first_text!r}: integers "
                "and class names are mixed",
                fix="use class names in every row (order them with --classes FILE) or "
                "integers 0..K-1 in every row",
            )

    if first_int is not None:
        labels, names = _integer_labels(path, parsed, num_classes, file_names)
    else:
        labels, names = _named_labels(path, parsed, num_classes, file_names, classes_file)
    out = [
        LabelRow(file=file, label=lab, split=split, line=line)
        for (line, file, _, _, split), lab in zip(parsed, labels, strict=True)
    ]
    return LabelTable(rows=out, class_names=names, num_classes=len(names))


def _integer_labels(path, parsed, num_classes, file_names) -> tuple[list[int], list[str]]:
    values = [v for _, _, v, _, _ in parsed]
    k = len(file_names) if file_names is not None else num_classes
    for line, _, value, _, _ in parsed:
        if value < 0 or (k is not None and value >= k):
            top = f"0..{k - 1}" if k is not None else "0 or more"
            raise DataFormatError(
                f"{path}:{line}",
                f"label {value} is outside {top}",
                fix="correct the label, drop the row, or pass --num-classes K with K above "
                "the largest label"
                if file_names is None
                else "correct the label or add the class to the --classes file",
            )
    if k is None:
        k = max(values) + 1
        if k > MAX_CLASSES:
            line = next(ln for ln, _, v, _, _ in parsed if v == k - 1)
            raise DataFormatError(
                f"{path}:{line}",
                f"label {k - 1} is above {MAX_CLASSES - 1}, the most classes skelab takes",
                fix="correct the label",
            )
        missing = sorted(set(range(k)) - set(values))
        if missing:
            line = next(ln for ln, _, v, _, _ in parsed if v == k - 1)
            shown = ", ".join(map(str, missing[:8])) + (", ..." if len(missing) > 8 else "")
            raise DataFormatError(
                f"{path}:{line}",
                f"label {k - 1} makes {k} classes, but no row has class {shown} "
                f"({len(missing)} of {k} without a sample)",
                fix=f"correct the label if it is a typo, or pass --num-classes {k} if those "
                "classes exist but have no samples here",
            )
    names = list(file_names) if file_names is not None else [f"class {i}" for i in range(k)]
    return values, names


def _named_labels(
    path, parsed, num_classes, file_names, classes_file
) -> tuple[list[int], list[str]]:
    if file_names is not None:
        index = {name: i for i, name in enumerate(file_names)}
        for line, _, _, text, _ in parsed:
            if text not in index:
                hint = did_you_mean(text, file_names)
                raise DataFormatError(
                    f"{path}:{line}",
                    f"class {text!r} is not in {classes_file}{hint}",
                    fix="correct the label or add the class to the classes file",
                )
        return [index[text] for _, _, _, text, _ in parsed], list(file_names)
    names: list[str] = []
    index = {}
    for _, _, _, text, _ in parsed:
        if text not in index:
            index[text] = len(names)
            names.append(text)
    if num_classes is not None:
        if len(names) > num_classes:
            raise DataFormatError(
                path,
                f"names {len(names)} classes, but --num-classes is {num_classes}",
                fix=f"pass --num-classes {len(names)} or correct the labels",
            )
        names += [f"class {i}" for i in range(len(names), num_classes)]
    return [index[text] for _, _, _, text, _ in parsed], names
