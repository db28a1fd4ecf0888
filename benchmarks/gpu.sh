#!/usr/bin/env bash
# GPU checks, <= 8 minutes on one GPU: the gpu-marked tests, then bare forward vs evaluate
# (fp32 / AMP, with and without --decode-cache) for a random-init ViT-B/32 and ResNet-50 on
# synthetic ImageNet-size JPEGs; img/s into benchmarks/results-gpu.md.
#
#   benchmarks/gpu.sh                 # on a machine with CUDA (run from anywhere)
#   benchmarks/gpu.sh --dry-run       # CPU, 8 images, tiny models: checks the script (no GPU needed)
#
# Needs the project's Python environment (PY=... or .venv/bin/python, else python3; the package
# is imported from lib/ when not installed) and the published label maps (data/ from an earlier
# fetch, or CLIPROBUST_DATA_MIRROR). Nothing is downloaded. Time limits: tests 180 s, bench 270 s.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$( [[ -x .venv/bin/python ]] && echo .venv/bin/python || command -v python3 )}
export PYTHONPATH="$PWD/lib${PYTHONPATH:+:$PYTHONPATH}"
DRY=""
[[ "${1:-}" == "--dry-run" ]] && DRY="--dry-run"
t0=$(date +%s)

echo "[gpu.sh] $("$PY" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")')"
if [[ -z "$DRY" ]]; then
  echo "[gpu.sh] 1/2 gpu-marked tests"
  timeout 180 "$PY" -m pytest tests -m gpu -q -p no:cacheprovider -o addopts="" ; tests_rc=$?
else
  echo "[gpu.sh] 1/2 gpu-marked tests: collected only (dry run)"
  timeout 120 "$PY" -m pytest tests -m gpu -q -p no:cacheprovider --collect-only -o addopts="" | tail -2; tests_rc=${PIPESTATUS[0]}
fi

echo "[gpu.sh] 2/2 throughput"
timeout 270 "$PY" benchmarks/gpu_bench.py $DRY; bench_rc=$?
echo "[gpu.sh] tests rc=$tests_rc, bench rc=$bench_rc, $(( $(date +%s) - t0 )) s"
[[ $tests_rc -eq 0 && $bench_rc -eq 0 ]]
