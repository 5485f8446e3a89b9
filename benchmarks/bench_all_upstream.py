"""Every model's CPU training step against upstream's own code, in one run and one table.

Runs the side-by-side scripts one after the other with the same settings and gathers their
results into one table:

* `bench_upstream.py` for the models whose upstream it imports directly (ST-GCN, CTR-GCN,
  Hyper-GCN, MS-G3D, SkateFormer, FreqMixFormer);
* `bench_protogcn.py`, `bench_degcn.py` and `bench_blockgcn.py`, whose upstream code needs its
  own start-up (PYSKL shims, DeGCN's graph module, BlockGCN's torch-topological site).

Each script keeps its own method (each side in its own process, sides alternated, order rotated
every round, medians of process CPU seconds with one thread per side); see their docstrings.
The table gives, per model, upstream's, before's and after's step, the ratios, the batch-1
eval latency where the script measures it, the largest logit difference from upstream, and the
host's load average when the model's measurement ended.

    .venv/bin/python benchmarks/bench_all_upstream.py --before /tmp/skelab_before/src \
        --before-commit <commit> --repeats 4 --tag all_s5

Results: benchmarks/results/upstream_<tag>.{json,md}; each script also leaves its own file.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from _sidebyside import SIDES, save_results

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DIRECT = ("stgcn", "ctrgcn", "hypergcn", "msg3d", "skateformer", "freqmixformer")
OWN_SCRIPT = ("protogcn", "degcn", "blockgcn")


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} / {five:.1f}"


def _run(cmd: list[str]) -> None:
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    subprocess.run(cmd, check=True, cwd=HERE.parent)


def _direct_rows(result: dict, load: str) -> list[dict]:
    rows = []
    for r in result["rows"]:
        med = r["median_s"]
        rows.append(
            {
                "model": r["model"],
                "step": {n: med[n]["step_cpu"] for n in SIDES if n in med},
                "latency": {n: med[n]["latency_cpu"] for n in SIDES if n in med},
                "dlogits": max(r["max_abs_dlogits"]["after"].values()),
                "load": load,
            }
        )
    return rows


def _script_row(model: str, result: dict, load: str) -> dict:
    if "median_step_s" in result:  # bench_blockgcn.py's layout
        steps, latency = result["median_step_s"], None
    else:  # _sidebyside.measure_model's layout
        steps, latency = result["median_s"]["step"], result["median_s"].get("latency")
    equiv = result["equivalence"].get("after", {})
    diffs = [v for k, v in equiv.items() if "logits" in k]
    return {
        "model": model,
        "step": {n: steps[n]["cpu"] for n in SIDES if n in steps},
        "latency": {n: latency[n]["cpu"] for n in SIDES if n in latency} if latency else {},
        "dlogits": max(diffs) if diffs else float("nan"),
        "dlogits_kind": "relative" if any(k.startswith("rel_") for k in equiv) else "abs",
        "load": load,
    }


def table(rows: list[dict], header: str) -> str:
    cols = [
        "model",
        "upstream s",
        "before s",
        "after s",
        "upstream / before",
        "upstream / after",
        "batch-1 upstream / after",
        "max Δ logits (after vs upstream)",
        "load at end",
    ]
    lines = [header, "", "| " + " | ".join(cols) + " |", "|---" + "|---:" * 7 + "|---|"]
    for r in sorted(rows, key=lambda r: -r["step"]["upstream"] / r["step"]["after"]):
        s, lat = r["step"], r["latency"]
        before = s.get("before")
        cells = [
            r["model"],
            f"{s['upstream']:.3f}",
            f"{before:.3f}" if before else "-",
            f"{s['after']:.3f}",
            f"{s['upstream'] / before:.2f}x" if before else "-",
            f"**{s['upstream'] / s['after']:.2f}x**",
            f"{lat['upstream'] / lat['after']:.2f}x" if lat else "-",
            f"{r['dlogits']:.1e}" + (" rel." if r.get("dlogits_kind") == "relative" else ""),
            r["load"],
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(DIRECT + OWN_SCRIPT))
    parser.add_argument("--before", default="", help="src/ folder of the earlier skelab commit")
    parser.add_argument("--before-commit", default="")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--latency-repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--upstream-root", default="/tmp/hup")
    parser.add_argument(
        "--upstream-path", action="append", default=None, help="default: ROOT/site, ROOT/shims"
    )
    parser.add_argument("--protogcn-upstream", default="/tmp/upstream_protogcn")
    parser.add_argument("--degcn-upstream", default="/tmp/upstream_degcn")
    parser.add_argument("--blockgcn-upstream", default="/tmp/upstream_blockgcn/repo")
    parser.add_argument("--blockgcn-site", default="/tmp/upstream_blockgcn/site")
    parser.add_argument("--tag", default="all")
    args = parser.parse_args(argv)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(DIRECT) - set(OWN_SCRIPT))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {', '.join(DIRECT + OWN_SCRIPT)}")
    py = sys.executable
    before = ["--before", args.before, "--before-commit", args.before_commit] if args.before else []
    common = ["--warmup", str(args.warmup), "--repeats", str(args.repeats)]
    common += ["--batch", str(args.batch), "--threads", str(args.threads)]
    rows: list[dict] = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_start = _load()
    direct = [m for m in models if m in DIRECT]
    if direct:
        paths = args.upstream_path or [f"{args.upstream_root}/site", f"{args.upstream_root}/shims"]
        tag = f"{args.tag}_direct"
        cmd = [py, "benchmarks/bench_upstream.py", "--models", ",".join(direct), "--tag", tag]
        cmd += ["--upstream-root", args.upstream_root, "--latency-repeats"]
        cmd += [str(args.latency_repeats), *common, *before]
        for p in paths:
            cmd += ["--upstream-path", p]
        _run(cmd)
        result = json.loads((RESULTS / f"upstream_{tag}.json").read_text())
        rows += _direct_rows(result, _load())
    for model in (m for m in OWN_SCRIPT if m in models):
        cmd = [py, f"benchmarks/bench_{model}.py", *common, *before]
        cmd += ["--upstream", getattr(args, f"{model}_upstream")]
        if model == "blockgcn":
            cmd += ["--site", args.blockgcn_site]
        else:
            cmd += ["--latency", str(args.latency_repeats)]
        _run(cmd)
        result = json.loads((RESULTS / f"{model}.json").read_text())
        rows.append(_script_row(model, result, _load()))
    import torch

    header = (
        f"Every model, upstream's code vs skelab · one run started {started} · batch "
        f"{args.batch} · T 64 · CPU · {args.threads} thread(s) per side · torch "
        f"{torch.__version__} · fp32 · process CPU seconds per training step (fwd + loss + bwd "
        f"+ SGD), median of {args.repeats} after {args.warmup} warm-up · each side its own "
        f"process, sides alternated · load average (1 / 5 min) at the start {load_start}"
        + (f" · before = skelab {args.before_commit}" if args.before_commit else "")
    )
    text = table(rows, header)
    print(text)
    save_results(f"upstream_{args.tag}", {"header": header, "rows": rows}, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
