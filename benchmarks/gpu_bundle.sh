#!/usr/bin/env bash
# Pack what benchmarks/gpu_check.sh needs beside the repo into .upstream/ (git-ignored), for the
# device tool's `carry`: upstream's model code (its .py files only), torch-dct (the one upstream
# dependency the device image lacks) and the golden fixtures' JSON (constructor arguments; the
# weights are drawn there, see bench_upstream.py). About 2 MB.
#
#   bash benchmarks/gpu_bundle.sh [UPSTREAM_ROOT=/tmp/hup] [GOLDEN=../shared/golden]
#
# UPSTREAM_ROOT holds `git archive` checkouts named <owner>+<repo> and site/torch_dct, as
# benchmarks/results/speed_vs_upstream.md describes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${1:-/tmp/hup}
golden=${2:-../shared/golden}
dest=.upstream
rm -rf "$dest"
mkdir -p "$dest/repos" "$dest/site" "$dest/golden"
for repo in "$root"/*+*/; do
    name=$(basename "$repo")
    (cd "$repo" && find . -name '*.py' -print0 | tar --null -cf - -T -) | tar -xf - -C "$dest/repos" --one-top-level="$name"
done
cp -r "$root/site/torch_dct" "$dest/site/"
for f in skateformer_ntu60 ctrgcn_ntu60 hypergcn_base_ntu60 msg3d_ntu60 freqmixformer_ntu60 stgcn_ntu60; do
    cp "$golden/$f.json" "$dest/golden/"
done
du -sh "$dest"
