#!/usr/bin/env bash
# Reproduce everything: bootstrap the environment, fetch pinned data, execute every notebook.
#
#   ./run_all.sh                          # profile "published": every section from real published data (CPU, minutes)
#   ./run_all.sh --profile smoke          # engine with random-init tiny models on the shipped images, then all notebooks
#   ./run_all.sh --profile full --data-root /datasets   # the paper zoo x all test sets (GPU/Slurm), then all notebooks
#   ./run_all.sh --profile rehearsal --fraction 0.01     # the full profile on SYNTHETIC caches (no weights, no data)
#   ./run_all.sh --profile rehearsal --models 'open_clip:ViT-B-32/*' --only 01   # full/rehearsal: fewer models
#   ./run_all.sh --only 03                # one notebook
#   ./run_all.sh --tests                  # the whole test suite (fixpoint, smoke run, zoo rehearsal, pytest + nbval)
#   ./run_all.sh --data-mirror DIR            # offline: read data from a local mirror instead of downloading
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)

PROFILE=published
ONLY=""
MODE=notebooks
DATA_ROOT=""
SMOKE_MODELS="smoke"
FULL_MODELS="paper"
FULL_DATASETS="imagenet,imagenet-v2,imagenet-r,imagenet-sketch,objectnet,imagenet-a,imagenet-o,inaturalist,sun,places,textures,cue-conflict"
FRACTION=0.01   # rehearsal: share of each test set's images simulated
CI_FRACTION=0.0005  # --tests: whole-zoo rehearsal; every figure is drawn down to 0.0002, and below 0.0005 nothing gets faster
usage() { sed -n '2,11p' "$0"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --profile) PROFILE="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --data-mirror) export CLIPROBUST_DATA_MIRROR="$(cd "$2" && pwd)"; shift 2 ;;
    --data-root) DATA_ROOT="$2"; shift 2 ;;
    --fraction) FRACTION="$2"; shift 2 ;;
    --models) FULL_MODELS="$2"; shift 2 ;;
    --tests) MODE=tests; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_all.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n "${CLIPROBUST_DATA_MIRROR:-}" ]] && export CLIPROBUST_DATA_MIRROR="$(cd "$CLIPROBUST_DATA_MIRROR" && pwd)"
case "$PROFILE" in published|smoke|full|rehearsal) ;; *) echo "run_all.sh: unknown profile $PROFILE (published|smoke|full|rehearsal)" >&2; exit 2 ;; esac

# --- 1. environment: use the active venv/conda env, else create .venv with Python 3.11 -------------
if [[ -n "${VIRTUAL_ENV:-}" || -n "${CONDA_PREFIX:-}" ]]; then
  PY=$(command -v python)
else
  if [[ ! -x .venv/bin/python ]]; then
    PYTHON=$(command -v python3.11 || command -v python3)
    echo "[run_all] creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv .venv
  fi
  PY="$ROOT/.venv/bin/python"
fi
STAMP="$($PY -c 'import sys; print(sys.prefix)')/.cliprobust-install"
WANT="$(cat pyproject.toml | sha256sum | cut -c1-16)"
if [[ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]]; then
  echo "[run_all] installing cliprobust and its dependencies (first run: several minutes)"
  quiet() { grep -v -e "^WARNING: Location" -e "^$" || true; }  # this machine's pip config is chatty
  { "$PY" -m pip install -q --upgrade pip 2>&1; } | quiet
  { "$PY" -m pip install -q -e ".[dev]" 2>&1; } | quiet
  "$PY" -m ipykernel install --sys-prefix --name cliprobust --display-name "Python (cliprobust)" >/dev/null
  echo "$WANT" > "$STAMP"
fi
BIN=$(dirname "$PY")

# --- 2. data: pinned, sha256-verified copies into data/ (mirror or download) ------------------------
echo "[run_all] fetching published tables"
"$PY" -m cliprobust.fetch published/ imagenetx/ model-vs-human/ openood/

run_notebooks() {  # $1 = profile, $2 = output folder for executed notebooks
  # papermill on an IPC-transport kernel; each executed notebook is normalised (no timestamps, durations
  # or random ids), so re-running unchanged code leaves git status clean (cliprobust.notebook_run)
  "$PY" -m cliprobust.notebook_run run --profile "$1" --out "$2" --only "$ONLY" notebooks/[0-9][0-9]_*.ipynb
}

run_engine() {  # $1 = profile
  case "$1" in
    smoke) "$BIN/cliprobust" evaluate --models "$SMOKE_MODELS" --datasets imagenet-sample,cue-conflict ;;
    full)  [[ -n "$DATA_ROOT" ]] || { echo "run_all.sh: --profile full needs --data-root DIR" >&2; exit 2; }
           "$BIN/cliprobust" evaluate --models "$FULL_MODELS" --datasets "$FULL_DATASETS" --data-root "$DATA_ROOT" ;;
  esac
}

verify_cache() {  # every cache entry's arrays against the checksums in its meta.json, before notebooks read them
  "$BIN/cliprobust" cache verify
}

simulate() {  # rehearsal: SYNTHETIC entries of the full grid (drawn to match published numbers; never a result)
  echo "[run_all] rehearsal: SYNTHETIC outputs, fraction $FRACTION, cache $CLIPROBUST_CACHE_DIR (a rehearsal, never a result)"
  "$BIN/cliprobust" simulate --models "$FULL_MODELS" --datasets "$FULL_DATASETS" --fraction "$FRACTION"
}
rehearsal_env() { export CLIPROBUST_CACHE_DIR="$ROOT/data/synthetic-outputs"; }

# Smoke runs use one template ("a photo of a {}."): the 80-template head of a random ViT-B-32 costs
# ~14 CPU minutes and proves nothing more about the pipeline. Engine and notebooks read the same variable.
smoke_env() { export CLIPROBUST_CACHE_DIR="$ROOT/data/smoke-outputs" CLIPROBUST_PROMPT_SET=photo; }

if [[ "$MODE" == tests ]]; then
  # --- tests, two parts at a time (2 cores): (a) fixpoint of the published profile beside (b) the smoke
  # profile end to end; then (c) a rehearsal of the whole zoo at CI_FRACTION beside (d) unit tests + nbval
  # of the committed notebooks. A part in the background logs to the scratch folder, printed when it ends.
  SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/cliprobust-tests.XXXXXX")
  failed=()
  "$PY" -m cliprobust.fixpoint --keep "$SCRATCH/fixpoint" >"$SCRATCH/fixpoint.log" 2>&1 &
  bg=$!
  # (set -e does not reach into a tested subshell: each step is chained with &&)
  ( smoke_env && run_engine smoke && run_notebooks smoke "$ROOT/figures/smoke/notebooks" ) || failed+=("smoke profile")
  wait "$bg" || failed+=("fixpoint (committed outputs differ from what the code makes)")
  cat "$SCRATCH/fixpoint.log"
  ( export CLIPROBUST_CACHE_DIR="$SCRATCH/rehearsal-outputs" CLIPROBUST_FIGURES_DIR="$SCRATCH/rehearsal-figures"
    FRACTION=$CI_FRACTION && simulate && verify_cache && run_notebooks rehearsal "$SCRATCH/rehearsal-notebooks"
  ) >"$SCRATCH/rehearsal.log" 2>&1 &
  bg=$!
  set +e
  "$BIN/pytest" tests notebooks --nbval-lax --nbval-kernel-name cliprobust -p no:cacheprovider
  rc=$?
  set -e
  if [[ $rc -eq 5 ]]; then echo "run_all.sh: pytest collected no tests — failing" >&2; rc=1; fi
  [[ $rc -eq 0 ]] || failed+=("pytest")
  wait "$bg" || failed+=("whole-zoo rehearsal at fraction $CI_FRACTION")
  cat "$SCRATCH/rehearsal.log"
  if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'run_all.sh --tests FAILED: %s (outputs of this run: %s)\n' "$(IFS=';'; echo "${failed[*]}")" "$SCRATCH" >&2
    exit 1
  fi
  rm -rf "$SCRATCH"
  exit 0
fi

# --- 3. notebooks -----------------------------------------------------------------------------------
case "$PROFILE" in
  published) run_notebooks published notebooks ;;   # committed notebooks carry these outputs
  smoke)     smoke_env; run_engine smoke; run_notebooks smoke figures/smoke/notebooks ;;
  full)      run_engine full; verify_cache; run_notebooks full figures/full/notebooks ;;
  rehearsal) rehearsal_env; simulate; verify_cache; run_notebooks rehearsal figures/rehearsal/notebooks ;;
esac
echo "[run_all] done: figures in figures/$([[ $PROFILE == published ]] || echo "$PROFILE/")"
