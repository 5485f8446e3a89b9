"""`train.compile=true` on the CPU: compile time and training step, compiled vs eager, per model.

What `skelab train` does with `train.compile=true` (engine/trainer.py): the forward pass runs
through `torch.compile(model)` and `skelab.engine.step.train_step` takes the step (its loss,
auxiliary losses included, backward and optimizer step). Here the optimizer is SGD (momentum
0.9, Nesterov, weight decay 4e-4), every model is built with its registry defaults (seed 0) and
reads a seeded random batch of its layout (batch 8, window 64).

Each model runs in its own worker process (a compile failure or a crash stays with its model).
The worker times the first compiled step (Dynamo tracing, AOTAutograd and Inductor codegen of
forward and backward, plus one step), takes one more compiled warm-up step and one eager one,
then alternates eager and compiled steps `--steps` times; figures are medians.
`compile_s` = first compiled step - median compiled step. A model whose compile fails gets its
error's first line in the table. Both paths run in the same process with the same thread count.

    .venv/bin/python benchmarks/bench_compile.py                  # every registered model
    .venv/bin/python benchmarks/bench_compile.py --models stgcn,msg3d --steps 3

Results: benchmarks/results/compile.{json,md} (`--tag X`: compile_X.{json,md}).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parents[1]
RESULTS = HERE.parent / "results"


def _worker(args: argparse.Namespace) -> int:
    import torch

    from skelab.bench.step import example_inputs
    from skelab.engine.step import make_scaler, train_step
    from skelab.models import build, get_card

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    name = args.worker
    card = get_card(name)
    model = build(name).train()
    inputs = example_inputs(name, batch=args.batch, window=args.window)
    torch.manual_seed(0)
    y = torch.randint(0, 60, (args.batch,))
    joint = inputs["x"].clone() if card.needs_joint else None
    opt = torch.optim.SGD(
        model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=4e-4
    )
    scaler = make_scaler(None, torch.device("cpu"))

    def step(runner: torch.nn.Module) -> float:
        start = time.perf_counter()
        train_step(
            model,
            opt,
            scaler,
            inputs["x"],
            y,
            index_t=inputs.get("index_t"),
            needs_index_t=card.needs_index_t,
            dtype=None,
            chunk_size=args.batch,
            label_smoothing=0.0,
            clip_grad=0.0,
            forward_model=runner,
            joint=joint,
        )
        return time.perf_counter() - start

    out: dict = {"model": name}
    compiled = torch.compile(model)
    try:
        first = step(compiled)
        step(compiled)  # warm-up: some graphs recompile on the second call (e.g. BN counters)
    except Exception as err:  # noqa: BLE001 - the failure is the result
        msg = str(err).strip().splitlines()
        out["error"] = f"{type(err).__name__}: {msg[0][:300] if msg else ''}"
        print(json.dumps(out), flush=True)
        return 0
    step(model)  # eager warm-up
    eager, comp = [], []
    for r in range(args.steps):
        pair = [(eager, model), (comp, compiled)]
        for times, runner in pair if r % 2 == 0 else pair[::-1]:
            times.append(step(runner))
    out.update(
        first_compiled_step_s=first,
        eager_step_s=statistics.median(eager),
        compiled_step_s=statistics.median(comp),
        eager_raw_s=eager,
        compiled_raw_s=comp,
    )
    out["compile_s"] = first - out["compiled_step_s"]
    out["speedup"] = out["eager_step_s"] / out["compiled_step_s"]
    print(json.dumps(out), flush=True)
    return 0


def run_model(name: str, args: argparse.Namespace) -> dict:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    env.update({k: str(args.threads) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    # Inductor compiles its C++ kernels in this process, not in a pool of worker processes
    # (each one importing torch), which is slower than the work itself on a busy 2-core host.
    env.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")
    cmd = [sys.executable, str(HERE), "--worker", name, "--threads", str(args.threads)]
    cmd += ["--batch", str(args.batch), "--window", str(args.window), "--steps", str(args.steps)]
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=args.timeout
        )
    except subprocess.TimeoutExpired:
        return {"model": name, "error": f"no result within {args.timeout} s (compile + steps)"}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        return {
            "model": name,
            "error": f"worker exit {proc.returncode}: {tail[-1] if tail else ''}",
        }
    row = json.loads(lines[-1])
    row["wall_s"] = time.perf_counter() - start
    return row


def table(rows: list[dict], header: str) -> str:
    lines = [
        header,
        "",
        "| model | compile s | eager s/step | compiled s/step | eager / compiled |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        if "error" in r:
            verdict = "timed out" if r["error"].startswith("no result within") else "fails"
            lines.append(f"| {r['model']} | {verdict}: {r['error']} | | | |")
            continue
        lines.append(
            f"| {r['model']} | {r['compile_s']:.1f} | {r['eager_step_s']:.3f} | "
            f"{r['compiled_step_s']:.3f} | {r['speedup']:.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="", help="comma list; default: every registered one")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--window", type=int, default=64)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per path")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per model")
    parser.add_argument("--tag", default="", help="results file name: compile_<tag>.{json,md}")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args)
    from skelab.models import list_models

    models = [m.strip() for m in args.models.split(",") if m.strip()] or list_models()
    rows: list[dict] = []
    for name in models:  # results are rewritten after every model: a long run keeps its rows
        rows.append(run_model(name, args))
        print(json.dumps({k: v for k, v in rows[-1].items() if "raw" not in k}), file=sys.stderr)
        save(rows, args)
    return 0


def save(rows: list[dict], args: argparse.Namespace) -> None:
    import torch

    from skelab.files import atomic_write_text

    header = (
        f"train.compile=true on the CPU · torch.compile (Inductor) · batch {args.batch} · T "
        f"{args.window} · {platform.machine()} · {args.threads} thread(s) · torch "
        f"{torch.__version__} · fp32 · step = skelab.engine.step.train_step with SGD · "
        f"compile s = first compiled step - median compiled step · eager and compiled "
        f"alternated in one process, median of {args.steps} after warm-up · shared, loaded "
        f"2-core machine: compare within a row"
    )
    text = table(rows, header)
    stem = f"compile_{args.tag}" if args.tag else "compile"
    result = {
        "header": header,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "rows": rows,
    }
    atomic_write_text(RESULTS / f"{stem}.json", json.dumps(result, indent=2) + "\n")
    atomic_write_text(RESULTS / f"{stem}.md", text + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
