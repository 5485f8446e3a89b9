"""Batch-1 inference latency per model: `model.eval()` under `torch.no_grad()`, window 64.

The latency a live predictor sees: one clip (batch 1, T 64, the model's joint layout, two
persons), the model in eval mode built with its registry defaults (seed 0). Each model runs in
its own worker process; `--warmup` untimed passes, then `--repeats` timed ones, figures are the
median and the 90th percentile.

Before/after: for the models named in `--before-models` whose model file differs between
`--before-commit` and the working tree, a second worker imports skelab from that commit
(`git archive <commit> src`, unpacked into a temporary folder, first on its PYTHONPATH). The
two workers of a model are asked in turn, one pass each, the order swapped every round, so
that both see the same host load; same thread count on both sides.

    .venv/bin/python benchmarks/bench_latency.py                      # every registered model
    .venv/bin/python benchmarks/bench_latency.py --models msg3d,stgcn --repeats 20

Results: benchmarks/results/latency.{json,md} (`--tag X`: latency_X.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
RESULTS = HERE.parent / "results"
# The session's first commit's parent: the code before issue 18's speed work.
DEFAULT_BEFORE = "075e7e8^"
DEFAULT_BEFORE_MODELS = "skateformer,ctrgcn,hypergcn,msg3d,stgcn,freqmixformer"


def _worker(args: argparse.Namespace) -> int:
    reply = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # whatever the model code prints goes to stderr, not into the replies
    import torch

    from skelab.models import build, get_card

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    card = get_card(args.worker)
    model = build(args.worker).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, args.window, getattr(card, "input_joints", 25), 2, generator=g)
    kwargs = {}
    if card.needs_index_t:
        kwargs["index_t"] = torch.linspace(-1, 1, args.window).expand(1, -1).contiguous()
    if getattr(card, "needs_joint", False):
        kwargs["joint"] = x.clone()
    for line in sys.stdin:
        if json.loads(line)["op"] != "pass":
            break
        start = time.perf_counter()
        with torch.no_grad():
            model(x, **kwargs)
        reply.write(json.dumps({"s": time.perf_counter() - start}) + "\n")
    return 0


class Worker:
    """One process running one model's passes on request."""

    def __init__(self, model: str, src: str | None, args: argparse.Namespace) -> None:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        env.update({k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
        if src:
            env["PYTHONPATH"] = src
        cmd = [sys.executable, str(HERE), "--worker", model, "--threads", str(args.threads)]
        cmd += ["--window", str(args.window)]
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write('{"op": "pass"}\n')
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("worker died (its traceback is above)")
        return json.loads(line)["s"]

    def close(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.write('{"op": "quit"}\n')
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        self.proc.wait(timeout=60)


def _model_file(model: str) -> str:
    from skelab.models import build

    module = type(build(model)).__module__
    return "src/" + module.replace(".", "/") + ".py"


def _changed(path: str, commit: str) -> bool:
    diff = subprocess.run(
        ["git", "diff", "--quiet", commit, "--", path], cwd=REPO, capture_output=True
    )
    return diff.returncode != 0


def measure(model: str, before_src: str | None, args: argparse.Namespace) -> dict:
    sides = {"after": Worker(model, None, args)}
    if before_src:
        sides["before"] = Worker(model, before_src, args)
    times: dict[str, list[float]] = {n: [] for n in sides}
    try:
        names = list(sides)
        for r in range(args.warmup + args.repeats):
            for n in names if r % 2 == 0 else names[::-1]:
                t = sides[n].ask()
                if r >= args.warmup:
                    times[n].append(t)
    except RuntimeError as err:
        return {"model": model, "error": str(err)}
    finally:
        for w in sides.values():
            w.close()
    row: dict = {"model": model, "raw_s": times}
    for n, ts in times.items():
        q = statistics.quantiles(ts, n=10) if len(ts) > 1 else ts
        row[f"{n}_median_ms"] = 1000 * statistics.median(ts)
        row[f"{n}_p90_ms"] = 1000 * q[-1]
    if "before" in times:
        row["speedup"] = row["before_median_ms"] / row["after_median_ms"]
    return row


def table(rows: list[dict], header: str) -> str:
    lines = [
        header,
        "",
        "| model | batch-1 ms, median (p90) | before ms, median (p90) | before / after |",
        "|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | fails: {r['error']} | | |")
            continue
        after = f"{r['after_median_ms']:.1f} ({r['after_p90_ms']:.1f})"
        before = (
            f"{r['before_median_ms']:.1f} ({r['before_p90_ms']:.1f})"
            if "speedup" in r
            else "same code"
        )
        ratio = f"{r['speedup']:.2f}x" if "speedup" in r else ""
        lines.append(f"| {r['model']} | {after} | {before} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="", help="comma list; default: every registered one")
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--before-commit", default=DEFAULT_BEFORE)
    parser.add_argument("--before-models", default=DEFAULT_BEFORE_MODELS)
    parser.add_argument("--tag", default="", help="results file name: latency_<tag>.{json,md}")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args)
    import torch

    from skelab.files import atomic_write_text
    from skelab.models import list_models

    models = [m.strip() for m in args.models.split(",") if m.strip()] or list_models()
    wanted = {m.strip() for m in args.before_models.split(",") if m.strip()}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", args.before_commit],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory(prefix="skelab_before_") as tmp:
        archive = subprocess.run(
            ["git", "archive", commit, "src"], cwd=REPO, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        for model in models:
            changed = model in wanted and _changed(_model_file(model), commit)
            rows.append(measure(model, f"{tmp}/src" if changed else None, args))
            print(json.dumps({k: v for k, v in rows[-1].items() if k != "raw_s"}), file=sys.stderr)
    header = (
        f"batch-1 latency · model.eval() + torch.no_grad() · T {args.window} · 2 persons · CPU "
        f"{platform.machine()} · {args.threads} thread(s) per side · torch {torch.__version__} · "
        f"fp32 · median (p90) of {args.repeats} after {args.warmup} warm-up · before = skelab "
        f"{commit} (own process, passes alternated) where the model file changed since · "
        "shared, loaded 2-core machine: compare within a row"
    )
    text = table(rows, header)
    print(text)
    stem = f"latency_{args.tag}" if args.tag else "latency"
    result = {
        "header": header,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "before_commit": commit,
        "rows": rows,
    }
    atomic_write_text(RESULTS / f"{stem}.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(RESULTS / f"{stem}.md", text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
