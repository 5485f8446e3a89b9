"""Side-by-side CPU timing of model code, each side in its own worker process.

Shared by bench_degcn.py, bench_protogcn.py and bench_blockgcn.py. The sides are `upstream`
(the upstream repository's own model code), `before` (skelab's model code from an earlier
commit, unpacked outside the repo: `git archive <commit> src | tar -x -C DIR`, then `--before
DIR/src`) and `after` (this working tree). Each worker builds its model once, then answers
one JSON command per line on stdin (`check`, `step`, `latency`, `quit`) with one JSON line on
a private copy of its stdout (whatever the model code prints goes to stderr). The coordinator
asks the workers in turn, one command each, rotating the order every round, so that all sides
see the same host load; every timed command reports its wall time and the worker's process
CPU time (the steadier figure on a shared host), and the figures are medians.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
SIDES = ("upstream", "before", "after")


def reply_channel() -> TextIO:
    """A private copy of stdout for the replies; fd 1 then points at stderr. Call it first."""
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return reply


def timed(fn: Callable[[], object]) -> dict[str, float]:
    """Wall and process CPU seconds of one call."""
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return {"s": time.perf_counter() - start, "cpu": time.process_time() - cpu}


def serve(reply: TextIO, ops: dict[str, Callable[[], dict]]) -> int:
    """Answer commands from stdin until `quit` (or end of input)."""
    for line in sys.stdin:
        op = json.loads(line)["op"]
        if op == "quit":
            break
        reply.write(json.dumps(ops[op]()) + "\n")
    return 0


def serve_model(
    reply: TextIO,
    model,
    *,
    check: Callable[[], dict],
    step: Callable[[], object],
    title: str,
    latency: Callable[[], object] | None = None,
) -> int:
    """`serve` with the usual commands of a model worker: `check`, then `step`, `profile` and
    `flops` of a training step (model in train mode) and `latency` (eval mode), if given."""
    ops: dict[str, Callable[[], dict]] = {
        "check": check,
        "step": lambda: (model.train(), timed(step))[1],
        "profile": lambda: (model.train(), profile_step(step, title))[1],
        "flops": lambda: (model.train(), count_flops(step))[1],
    }
    if latency is not None:
        ops["latency"] = lambda: (model.eval(), timed(latency))[1]
    return serve(reply, ops)


def skelab_pythonpath(name: str, before: str) -> str:
    """PYTHONPATH of a skelab side: the earlier commit's src/ for `before`, none for `after`."""
    return str(Path(before).resolve()) if name == "before" else ""


class Side:
    """One worker process."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        self.name = name
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **env)
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, op: str) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps({"op": op}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.name} worker died (see its stderr above)")
        return json.loads(line)

    def close(self) -> None:
        try:
            self.ask("quit")
        except (RuntimeError, BrokenPipeError, ValueError):
            pass
        self.proc.wait(timeout=120)


def alternate(sides: list[Side], op: str, warmup: int, repeats: int) -> dict[str, dict]:
    """`op` on every side, `warmup + repeats` rounds, the order rotated each round; the timed
    rounds' wall (`s`) and process CPU (`cpu`) seconds per side, and any other figure the
    replies carry (e.g. `peak_mib`)."""
    times: dict[str, dict[str, list[float]]] = {s.name: {"s": [], "cpu": []} for s in sides}
    for r in range(warmup + repeats):
        k = r % len(sides)
        for side in sides[k:] + sides[:k]:
            got = side.ask(op)
            if r >= warmup:
                for key, value in got.items():
                    times[side.name].setdefault(key, []).append(value)
        print(f"  {op} {r + 1}/{warmup + repeats}: {times}", file=sys.stderr, flush=True)
    return times


def medians(times: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    return {n: {k: statistics.median(v) for k, v in d.items()} for n, d in times.items()}


def max_abs(a: list, b: list) -> float:
    """Largest |a - b| of two (N, K) nested lists."""
    return max(abs(p - q) for ra, rb in zip(a, b, strict=True) for p, q in zip(ra, rb, strict=True))


def speed_rows(label: str, med: dict[str, dict[str, float]], scale: float = 1.0) -> list[str]:
    """Markdown rows (process CPU, wall) of one timed op: each side's median and the ratios
    upstream/side (> 1: faster than upstream) and before/after."""
    names = [n for n in SIDES if n in med]
    unit = "s" if scale == 1.0 else "ms"
    rows = []
    for key, what in (("cpu", "process CPU"), ("s", "wall")):
        cells = [f"{scale * med[n][key]:.3f}" for n in names]
        ratios = [f"**{med['upstream'][key] / med[n][key]:.2f}x**" for n in names[1:]]
        if "before" in med:
            ratios.append(f"{med['before'][key] / med['after'][key]:.2f}x")
        rows.append(f"| {label}, {what} {unit} | " + " | ".join(cells + ratios) + " |")
    return rows


def speed_header(med: dict[str, dict[str, float]]) -> list[str]:
    names = [n for n in SIDES if n in med]
    cols = names + [f"upstream/{n}" for n in names[1:]]
    if "before" in med:
        cols.append("before/after")
    return ["| measure | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]


def save_results(stem: str, record: dict, text: str) -> None:
    """benchmarks/results/<stem>.json (the record plus the command that made it) and
    <stem>.md (the table), each written atomically."""
    from skelab.files import atomic_write_text

    RESULTS.mkdir(parents=True, exist_ok=True)
    record = {**record, "command": " ".join([Path(sys.executable).name, *sys.argv])}
    atomic_write_text(RESULTS / f"{stem}.json", json.dumps(record, indent=2) + "\n")
    atomic_write_text(RESULTS / f"{stem}.md", text + "\n")


def load_line() -> str:
    """The host's load averages (1, 5, 15 min), for the record."""
    one, five, fifteen = os.getloadavg()
    return f"host load average {one:.1f} / {five:.1f} / {fifteen:.1f} (1 / 5 / 15 min, 2 cores)"


# Kernels every side must run: convolutions (forward and backward) and matrix products.
DENSE_OPS = (
    "aten::mkldnn_convolution",
    "aten::convolution_backward",
    "aten::_slow_conv2d_forward",
    "aten::_slow_conv2d_backward",
    "aten::slow_conv_dilated2d",
    "aten::mm",
    "aten::bmm",
    "aten::addmm",
    "aten::baddbmm",
    "aten::_convolution_depthwise2d",
)


def profile_step(step: Callable[[], object], title: str, top: int = 30) -> dict:
    """One step under `torch.profiler` (after one warm-up step): the operator table by self CPU
    time, the step's total, the dense kernels' (DENSE_OPS) share, and the forward FLOPs the
    profiler counts for convolutions and matrix products."""
    from torch.profiler import ProfilerActivity, profile

    step()
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        step()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events) / 1e6
    dense = sum(e.self_cpu_time_total for e in events if e.key in DENSE_OPS) / 1e6
    flops = sum(e.flops for e in events if e.flops)
    lines = [
        title,
        f"total self CPU time of the step: {total:.3f} s (profiler on)",
        f"convolutions and matrix products ({', '.join(DENSE_OPS)}): {dense:.3f} s "
        f"({dense / total:.0%}); forward FLOPs counted by the profiler: {flops / 1e9:.2f} G",
        f"{load_line()}",
        "",
        events.table(sort_by="self_cpu_time_total", row_limit=top),
    ]
    return {"text": "\n".join(lines), "total_s": total, "dense_s": dense, "fwd_flops": flops}


def write_profiles(sides: list[Side], model: str, tags: dict[str, str], results: Path) -> dict:
    """Ask every side for a profile; write results/profile_<model>_<tags[side]>.txt."""
    out = {}
    for side in sides:
        got = side.ask("profile")
        path = results / f"profile_{model}_{tags[side.name]}.txt"
        path.write_text(got["text"] + "\n")
        out[side.name] = {k: got[k] for k in ("total_s", "dense_s", "fwd_flops")}
        print(f"wrote {path} ({got['total_s']:.2f} s, dense {got['dense_s']:.2f} s)")
    return out


def profile_tags(after: str, before: str) -> dict[str, str]:
    """File tags of the sides' profiles: upstream, the earlier commit, this working tree."""
    return {"upstream": "upstream", "before": before, "after": after}


def count_flops(step: Callable[[], object]) -> dict:
    """FLOPs of the convolutions and matrix products of one step, forward and backward
    (`torch.utils.flop_counter.FlopCounterMode`), by operator; `error` if it cannot trace it."""
    from torch.utils.flop_counter import FlopCounterMode

    try:
        with FlopCounterMode(display=False) as counter:
            step()
    except Exception as err:  # noqa: BLE001 - upstream code the counter cannot trace
        return {"flops": None, "by_op": {}, "error": f"{type(err).__name__}: {err}"[:200]}
    by_op = {str(k): v for k, v in counter.get_flop_counts()["Global"].items()}
    return {"flops": counter.get_total_flops(), "by_op": by_op}


def sgemm_rate(size: int = 1024, repeats: int = 10) -> float:
    """FLOP/s of a square float32 matrix product on this process's threads (process CPU time,
    the best of `repeats`): the rate a dense kernel reaches on this core. The best, not the
    median, since a floor needs the peak and a shared host only ever slows a product down."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    out = a @ b
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        torch.mm(a, b, out=out)
        best = min(best, time.process_time() - start)
    return 2 * size**3 / best


def write_flops(sides: list[Side], model: str, results: Path, extra: dict) -> dict:
    """Ask every side for its dense FLOPs per step; write results/flops_<model>.json."""
    out = {side.name: side.ask("flops") for side in sides}
    rate = sgemm_rate()
    record = {**extra, "sgemm_flop_per_s_1024": rate, "load": load_line(), "sides": out}
    (results / f"flops_{model}.json").write_text(json.dumps(record, indent=2) + "\n")
    for name, got in out.items():
        flops = got["flops"]
        text = "not counted: " + got.get("error", "") if flops is None else f"{flops / 1e9:.1f} G"
        extra_s = "" if flops is None else f" ({flops / rate:.2f} s at the sgemm rate)"
        print(f"{model} {name}: dense FLOPs per step {text}{extra_s}")
    print(f"sgemm rate on this core: {rate / 1e9:.1f} GFLOP/s")
    return record


def add_common_arguments(parser, *, repeats: int = 5) -> None:
    """The options of every side-by-side script: the before side, batch, rounds, threads."""
    parser.add_argument("--before", default="", help="src/ folder of an earlier skelab commit")
    parser.add_argument("--before-commit", default="", help="recorded in the results")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-save", action="store_true", help="print only; write no results")


def add_model_arguments(parser, *, upstream: str) -> None:
    """The options every upstream-vs-skelab model script takes."""
    parser.add_argument("--upstream", default=upstream, help="upstream checkout")
    add_common_arguments(parser)
    parser.add_argument("--golden", default=str(REPO.parent / "shared" / "golden"))
    parser.add_argument("--latency", type=int, default=5, help="timed batch-1 forwards (0: none)")
    parser.add_argument(
        "--profile", default="", help="only profile one step per side: tag of after"
    )
    parser.add_argument("--profile-before", default="before", help="profile tag of before")
    parser.add_argument("--flops", action="store_true", help="only count dense FLOPs per side")
    parser.add_argument("--worker", help=argparse.SUPPRESS)


def measure_model(model: str, args, start: Callable[[str], Side], frames: int) -> dict:
    """Start the sides (`start(name)`), compare their `check` answers with upstream's, then
    either write FLOPs (`--flops`) or profiles (`--profile`), or time steps and latency."""
    names = ["upstream"] + (["before"] if args.before else []) + ["after"]
    sides = [start(n) for n in names]
    try:
        checks = {s.name: s.ask("check") for s in sides}
        up = checks["upstream"]
        equivalence = {n: _equivalence(c, up) for n, c in checks.items() if n != "upstream"}
        if args.flops:
            extra = {"batch": args.batch, "frames": frames}
            return {"profiles": write_flops(sides, model, RESULTS, extra)}
        if args.profile:
            tags = profile_tags(args.profile, args.profile_before)
            return {"profiles": write_profiles(sides, model, tags, RESULTS)}
        times = {"step": alternate(sides, "step", args.warmup, args.repeats)}
        if args.latency:
            times["latency"] = alternate(sides, "latency", 2, args.latency)
    finally:
        for s in sides:
            s.close()
    return {
        "median_s": {op: medians(t) for op, t in times.items()},
        "raw_s": times,
        "equivalence": equivalence,
        "load": load_line(),
    }


def _equivalence(check: dict, up: dict) -> dict[str, float]:
    """Largest logit differences (eval, train) and the loss differences both sides report."""
    out = {f"max_abs_dlogits_{m}": max_abs(check[m], up[m]) for m in ("eval", "train")}
    for m in ("eval", "train"):
        if f"loss_{m}" in check and f"loss_{m}" in up:
            out[f"abs_dloss_{m}"] = abs(check[f"loss_{m}"] - up[f"loss_{m}"])
    return out


def model_table(row: dict, header: str) -> str:
    """Markdown of `measure_model`'s timings and equivalence."""
    med = row["median_s"]
    lines = [header, "", *speed_header(med["step"]), *speed_rows("train step", med["step"])]
    if "latency" in med:
        lines += speed_rows("batch-1 eval latency", med["latency"], 1000.0)
    lines += ["", f"At the end of the run: {row['load']}.", ""]
    for name, eq in row["equivalence"].items():
        losses = ", ".join(
            f"{m} {eq[f'abs_dloss_{m}']:.1e}" for m in ("eval", "train") if f"abs_dloss_{m}" in eq
        )
        lines.append(
            f"Same weights, {name} vs upstream: max |Δ logits| eval "
            f"{eq['max_abs_dlogits_eval']:.1e}, train {eq['max_abs_dlogits_train']:.1e}"
            + (f"; |Δ loss| {losses}." if losses else ".")
        )
    return "\n".join(lines)
