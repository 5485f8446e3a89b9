"""Raw NTU `.skeleton` files to a prepared folder: parallel, streamed, resumable.

    report = prepare_raw("nturgb+d_skeletons/", "data/ntu60-xsub", dataset="ntu60", split="xsub")

Steps: find the files (recursively, so both NTU120 archives may sit under one folder), leave
out the official missing-skeleton samples, order the rest as upstream's `seq_transformation.py`
does (train then test; within each, by performer / camera / setup in the order the split lists
them, then by name), run each file through `read_skeleton` and the upstream preprocessing in
worker processes, and write each result into a memory-mapped staging array in a work folder
beside OUT_DIR. A status array there records every finished file; it is saved after each batch,
after the staged rows, so a killed run resumes with the files it had not recorded and ends with
the same bytes as an uninterrupted one. At the end the good rows are copied, in order, into
the prepared folder (and, on request, the Kaggle-layout NPZ), and the work folder is removed.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skelab.data.denoise import MAX_FRAMES, SampleSkipped, preprocess
from skelab.data.ntu_missing import missing_samples
from skelab.data.raw import SkeletonFileError, read_skeleton
from skelab.data.writer import SplitStream, check_exists, write_prepared
from skelab.errors import ConfigError, DataFormatError
from skelab.files import atomic_write, atomic_write_text
from skelab.skeletons import NTU25, SampleName, class_names, is_train

BENCHMARKS = {"ntu60": ("xsub", "xview"), "ntu120": ("xsub", "xset")}
SAMPLE_SHAPE = (MAX_FRAMES, 3, 25, 2)  # (T, C, V, M), the prepared folder's per-sample layout
BATCH = 64  # files between two saves of the status array
PENDING, DONE, SKIPPED = 0, 1, 2


@dataclass
class RawReport:
    """What `prepare_raw` read, wrote and skipped."""

    files_found: int = 0
    files_read: int = 0
    listed_missing: int = 0
    not_in_dataset: int = 0
    samples: dict[str, int] = field(default_factory=dict)
    skipped: list[dict] = field(default_factory=list)  # {"file", "line" (0: none), "reason"}
    out_dir: str = ""
    kaggle_npz: str | None = None

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def to_text(self) -> str:
        lines = [
            f"files found: {self.files_found:,} (.skeleton)",
            f"on the official missing-skeleton list, not read: {self.listed_missing:,}",
            f"outside the dataset (setup/action range), not read: {self.not_in_dataset:,}",
            f"files read: {self.files_read:,}",
            f"skipped after reading: {len(self.skipped):,}",
        ]
        for s in self.skipped:
            where = f"{s['file']}:{s['line']}" if s["line"] else s["file"]
            lines.append(f"  {where}: {s['reason']}")
        for split, n in self.samples.items():
            lines.append(f"{split}: {n:,} samples")
        lines.append(f"wrote {self.out_dir}")
        if self.kaggle_npz:
            lines.append(f"wrote {self.kaggle_npz} (Kaggle layout)")
        return "\n".join(lines)


def _split_key(name: SampleName, split: str) -> int:
    """The ID that orders samples inside a split (upstream concatenates per listed ID)."""
    if split == "xview":
        return name.camera
    if split == "xset":
        return name.setup
    return name.performer


def plan_files(skeleton_dir: Path, dataset: str, split: str) -> tuple[dict, RawReport]:
    """The files to read, in output order, with their split and label; and the first counts."""
    if dataset not in BENCHMARKS or split not in BENCHMARKS[dataset]:
        pairs = ", ".join(f"{d} {s}" for d, ss in BENCHMARKS.items() for s in ss)
        raise ConfigError(
            "split", f"{dataset} {split} is not an official benchmark", fix=f"use one of: {pairs}"
        )
    if not skeleton_dir.is_dir():
        raise DataFormatError(
            skeleton_dir, "is not a folder", fix="pass the folder the archives were unpacked into"
        )
    report = RawReport()
    missing = missing_samples(dataset)
    max_setup, max_action = (17, 60) if dataset == "ntu60" else (32, 120)
    found: dict[str, Path] = {}
    for path in sorted(skeleton_dir.rglob("*.skeleton")):
        stem = path.name[: -len(".skeleton")]
        report.files_found += 1
        if stem in found:
            raise DataFormatError(
                path, f"duplicates {found[stem]}", fix="keep one copy of each sample file"
            )
        found[stem] = path
    if not found:
        raise DataFormatError(
            skeleton_dir,
            "holds no .skeleton files",
            fix="unpack nturgbd_skeletons_s001_to_s017.zip (and s018_to_s032 for NTU120) here",
        )
    rows = []
    benchmark = f"{dataset}-{split}"
    for stem, path in found.items():
        name = SampleName.parse(stem)
        if name is None or name.setup > max_setup or not 1 <= name.action <= max_action:
            report.not_in_dataset += 1
        elif stem in missing:
            report.listed_missing += 1
        else:
            train = is_train(name, benchmark)
            order = (0 if train else 1, _split_key(name, split), stem)
            rows.append((order, stem, str(path), "train" if train else "test", name.label))
    rows.sort()
    plan = {
        "dataset": dataset,
        "split": split,
        "input": str(skeleton_dir.resolve()),
        "names": [r[1] for r in rows],
        "paths": [r[2] for r in rows],
        "splits": [r[3] for r in rows],
        "labels": [r[4] for r in rows],
    }
    return plan, report


def _work_one(job: tuple[int, str, str]) -> tuple[int, np.ndarray | None, dict | None]:
    """Worker: one file to its (T, C, V, M) sample, or the reason it is skipped."""
    index, path, second_person = job
    try:
        seq = preprocess(read_skeleton(path), second_person=second_person)
    except SkeletonFileError as err:
        return index, None, {"file": path, "line": err.line, "reason": err.problem}
    except SampleSkipped as err:
        return index, None, {"file": path, "line": 0, "reason": err.problem}
    return index, seq.reshape(MAX_FRAMES, 2, 25, 3).transpose(0, 3, 2, 1), None


class _Work:
    """The work folder: plan, staging arrays per split, status, skip log."""

    def __init__(self, folder: Path, plan: dict) -> None:
        self.folder = folder
        self.plan = plan
        splits = np.asarray(plan["splits"])
        self.row = np.zeros(len(splits), dtype=np.int64)  # row in its split's staging array
        self.stage = {}
        fresh = not (folder / "plan.json").is_file()
        if fresh:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
        elif json.loads((folder / "plan.json").read_text()) != plan:
            raise DataFormatError(
                folder,
                "holds an interrupted run with other arguments or other input files",
                fix=f"re-run with the same arguments, or delete {folder} to start over",
            )
        for split in ("train", "test"):
            idx = np.flatnonzero(splits == split)
            self.row[idx] = np.arange(idx.size)
            self.stage[split] = np.lib.format.open_memmap(
                folder / f"{split}_stage.npy",
                mode="w+" if fresh else "r+",
                dtype=np.float32,
                shape=(int(idx.size), *SAMPLE_SHAPE),
            )
        if fresh:
            self.status = np.zeros(len(splits), dtype=np.int8)
            self._save_status()
            (folder / "skipped.jsonl").write_text("")
            atomic_write_text(folder / "plan.json", json.dumps(plan))  # last: marks it resumable
        else:
            self.status = np.load(folder / "status.npy")

    def _save_status(self) -> None:
        atomic_write(self.folder / "status.npy", lambda fh: np.save(fh, self.status))

    def commit(self, results: list[tuple[int, np.ndarray | None, dict | None]]) -> None:
        """Stage the rows, then log the skips, then record all of them as finished."""
        for index, sample, _ in results:
            if sample is not None:
                self.stage[self.plan["splits"][index]][self.row[index]] = sample
        for stage in self.stage.values():
            stage.flush()
        skips = [dict(s, index=i) for i, _, s in results if s is not None]
        if skips:
            with open(self.folder / "skipped.jsonl", "a") as fh:
                fh.writelines(json.dumps(s) + "\n" for s in skips)
                fh.flush()
                os.fsync(fh.fileno())
        for index, sample, _ in results:
            self.status[index] = DONE if sample is not None else SKIPPED
        self._save_status()

    def skipped(self) -> list[dict]:
        by_index = {}
        for line in (self.folder / "skipped.jsonl").read_text().splitlines():
            s = json.loads(line)
            by_index[s.pop("index")] = s
        return [by_index[i] for i in sorted(by_index) if self.status[i] == SKIPPED]


def _results(jobs: list, workers: int) -> Iterator[tuple[int, np.ndarray | None, dict | None]]:
    if workers <= 1:
        yield from map(_work_one, jobs)
        return
    ctx = multiprocessing.get_context("spawn" if os.name == "nt" else "fork")
    with ctx.Pool(workers) as pool:
        yield from pool.imap(_work_one, jobs, chunksize=4)


def prepare_raw(
    skeleton_dir: str | Path,
    out_dir: str | Path,
    *,
    dataset: str = "ntu60",
    split: str = "xsub",
    workers: int = 1,
    strict: bool = False,
    kaggle_npz: str | Path | None = None,
    overwrite: bool = False,
    progress: Callable[[int], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
) -> RawReport:
    """Parse, denoise, centre and pad every usable file into a prepared folder (see module doc).

    `on_plan(total, already_done)` is called once the files are listed; `progress(n)` after
    each batch of n finished files. With `strict`, the first malformed file raises.
    """
    skeleton_dir, out_dir = Path(skeleton_dir), Path(out_dir)
    check_exists(out_dir, overwrite)
    plan, report = plan_files(skeleton_dir, dataset, split)
    work = _Work(out_dir.with_name(f".{out_dir.name}.raw-work"), plan)
    second = "zeros" if dataset == "ntu60" else "copy"
    todo = np.flatnonzero(work.status == PENDING)
    if on_plan is not None:
        on_plan(len(plan["names"]), len(plan["names"]) - todo.size)
    jobs = [(int(i), plan["paths"][i], second) for i in todo]
    batch = []
    for result in _results(jobs, workers):
        skip = result[2]
        if strict and skip is not None and skip["line"]:
            raise SkeletonFileError(skip["file"], skip["line"], skip["reason"])
        batch.append(result)
        if len(batch) >= BATCH:
            work.commit(batch)
            if progress is not None:
                progress(len(batch))
            batch = []
    if batch:
        work.commit(batch)
        if progress is not None:
            progress(len(batch))
    report.files_read = len(plan["names"])
    report.skipped = work.skipped()
    _finish(work, out_dir, report, kaggle_npz, overwrite)
    shutil.rmtree(work.folder, ignore_errors=True)
    return report


def _good_rows(work: _Work, split: str) -> np.ndarray:
    idx = np.flatnonzero(np.asarray(work.plan["splits"]) == split)
    return work.row[idx[work.status[idx] == DONE]]


def _chunks(stage: np.ndarray, rows: np.ndarray, size: int = 256) -> Iterator[np.ndarray]:
    for k in range(0, rows.size, size):
        yield np.asarray(stage[rows[k : k + size]])


def _finish(
    work: _Work, out_dir: Path, report: RawReport, kaggle_npz: str | Path | None, overwrite: bool
) -> None:
    plan = work.plan
    num_classes = 60 if plan["dataset"] == "ntu60" else 120
    labels = np.asarray(plan["labels"], dtype=np.int64)
    splits_arr = np.asarray(plan["splits"])
    streams, rows_of = {}, {}
    for split in ("train", "test"):
        rows = _good_rows(work, split)
        idx = np.flatnonzero(splits_arr == split)
        rows_of[split] = rows
        report.samples[split] = int(rows.size)
        streams[split] = SplitStream(
            shape=(int(rows.size), *SAMPLE_SHAPE),
            chunks=_chunks(work.stage[split], rows),
            labels=labels[idx][rows],
        )
    source = {
        "kind": "ntu-skeleton",
        "path": plan["input"],
        "benchmark": f"{plan['dataset']}-{plan['split']}",
        "files_read": report.files_read,
        "skipped": len(report.skipped),
    }
    write_prepared(
        out_dir,
        streams,
        num_classes=num_classes,
        class_names=list(class_names(num_classes)),
        skeleton=NTU25,
        source=source,
        overwrite=overwrite,
        created=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    )
    report.out_dir = str(out_dir)
    if kaggle_npz is not None:
        _write_kaggle(work, Path(kaggle_npz), rows_of, labels, num_classes)
        report.kaggle_npz = str(kaggle_npz)


def _write_kaggle(
    work: _Work, path: Path, rows_of: dict, labels: np.ndarray, num_classes: int
) -> None:
    """CTR-GCN's `seq_transformation.py` NPZ: x_train, y_train, x_test, y_test, uncompressed;
    x (N, 300, 150) float32 with columns 75·m + 3·(j−1) + c; y one-hot float64."""
    from skelab.data.npzwrite import NpzWriter, one_hot

    splits_arr = np.asarray(work.plan["splits"])
    with NpzWriter(path) as w:
        for split in ("train", "test"):
            rows = rows_of[split]
            with w.begin(f"x_{split}", (rows.size, MAX_FRAMES, 150), np.float32) as out:
                for chunk in _chunks(work.stage[split], rows):
                    out.write(np.ascontiguousarray(chunk.transpose(0, 1, 4, 3, 2)))
            split_labels = labels[np.flatnonzero(splits_arr == split)][rows]
            w.write(f"y_{split}", one_hot(split_labels, num_classes, np.dtype(np.float64)))
