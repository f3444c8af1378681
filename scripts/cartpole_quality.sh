#!/usr/bin/env bash
# Quality check of issue 2: CartPole-v1, 100k env steps, dense and the four
# sparse methods at 90% ERK, seeds 0..2, one run after another (~15 min each
# on a 2-core CPU). Finished runs are skipped on a rerun (they resume as done).
#   scripts/cartpole_quality.sh /tmp/cartpole_quality [seeds...]
set -euo pipefail  # Logs are appended: a rerun never truncates a live run's log.
cd "$(dirname "$0")/.."
out=${1:-/tmp/cartpole_quality}
shift || true
seeds=${*:-0 1 2}
mkdir -p "$out"
# Dense and the sparse methods, as rigl_rl/methods.py names them.
core=$(python -c 'from rigl_rl import methods; print(*methods.CORE)')
for seed in $seeds; do
  for method in $core; do
    bin/train --root_dir="$out/${method}_seed$seed" \
      --gin_files="gin/dqn/cartpole_$method.gin" \
      --gin_bindings="SEED = $seed" >> "$out/${method}_seed$seed.log" 2>&1 ||
      echo "run $method seed $seed failed: see $out/${method}_seed$seed.log"
  done
done
python - "$out" <<'PY'
import glob, json, os, statistics, sys
scores = {}
for path in sorted(glob.glob(os.path.join(sys.argv[1], '*', 'results.json'))):
  r = json.load(open(path))
  if r['finished']:
    scores.setdefault(r['method'], []).append(r['final_score'])
for method, values in scores.items():
  spread = statistics.stdev(values) if len(values) > 1 else 0.0
  print(f'{method:7s} n={len(values)} final score {statistics.mean(values):6.1f} '
        f'+- {spread:5.1f}  {[round(v, 1) for v in values]}')
PY
