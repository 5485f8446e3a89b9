#!/usr/bin/env bash
# The one device check: every model's training step in fp32 and bf16 with its measured peak
# memory next to `skelab fit`'s estimate, then upstream's code side by side (issue 18's GPU
# rows). Prepared to run in one call of the device tool, well inside its 10-minute limit:
#
#   bash benchmarks/gpu_bundle.sh                       # here, once: fills .upstream/
#   device run, carry [".upstream"], timeout_s 560:
#       bash benchmarks/gpu_check.sh
#
# Figures land in $OUT (the device tool brings them back, at most 8 files): gpu.txt, log.txt,
# bench_fp32.jsonl, bench_bf16.jsonl (one `skelab bench --json` row per line), summary.md,
# upstream_fp32.md and upstream_bf16.md. DEVICE=cpu MODELS="mlp" BATCH=2 tries the plumbing here.
# Every stage has its own time limit, so one slow stage cannot cost the others their results.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu_check}
PY=${PY:-python3}
BATCH=${BATCH:-16}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
start=$(date +%s)
stamp() { echo "[gpu_check +$(($(date +%s) - start)) s] $*"; }

nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv >"$OUT/gpu.txt" 2>&1
$PY -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA device')" >>"$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"

DEVICE=${DEVICE:-cuda}
MODELS=${MODELS:-$($PY -c "from skelab.models import list_models; print(' '.join(list_models()))")}
for precision in fp32 bf16; do
    stamp "skelab bench, $precision, batch $BATCH: $MODELS"
    : >"$OUT/bench_$precision.jsonl"
    for model in $MODELS; do  # one process per model: a failure or a time-out costs one row
        timeout 60 $PY -m skelab bench "$model" --device "$DEVICE" --precision "$precision" \
            --batch "$BATCH" --steps 10 --warmup 3 --no-progress --json - \
            >"$OUT/row.json" 2>>"$OUT/log.txt" \
            && $PY -c "import json,sys; [print(json.dumps(r)) for r in json.load(open(sys.argv[1]))]" \
                "$OUT/row.json" >>"$OUT/bench_$precision.jsonl" \
            || stamp "$model $precision: failed or timed out (see log.txt)" | tee -a "$OUT/log.txt"
    done
done
rm -f "$OUT/row.json"
$PY benchmarks/gpu_summary.py "$OUT" | tee "$OUT/summary.md"

UPSTREAM_MODELS=${UPSTREAM_MODELS-skateformer,ctrgcn,hypergcn,msg3d,freqmixformer,stgcn}
if [ -z "$UPSTREAM_MODELS" ]; then
    stamp "UPSTREAM_MODELS is empty: upstream rows skipped"
elif [ -d .upstream/repos ]; then
    for precision in fp32 bf16; do
        stamp "upstream side by side, $precision"
        timeout 100 $PY benchmarks/bench_upstream.py --device "$DEVICE" --precision "$precision" \
            --models "$UPSTREAM_MODELS" \
            --upstream-root .upstream/repos --upstream-path .upstream/site \
            --golden .upstream/golden --threads 4 --warmup 3 --repeats 10 --latency-repeats 10 \
            --no-save >"$OUT/upstream_$precision.md" || stamp "upstream $precision stopped with status $?"
        cat "$OUT/upstream_$precision.md"
    done
else
    stamp "no .upstream/ carried: upstream rows skipped (bash benchmarks/gpu_bundle.sh here first)"
fi
stamp done
