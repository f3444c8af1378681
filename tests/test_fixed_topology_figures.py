"""scripts/fixed_topology_figures.py on synthetic runs whose scores are known."""
import json
import os
import subprocess
import sys

from tests.conftest import REPO

SCRIPT = os.path.join(REPO, 'scripts', 'fixed_topology_figures.py')


def _run(root, gin_file, seed, returns):
  os.makedirs(root)
  steps = [1000 * (i + 1) for i in range(len(returns))]
  with open(os.path.join(root, 'results.json'), 'w') as f:
    json.dump({'agent': 'dqn', 'env': 'minatar:breakout', 'method': 'dense',
               'sparsity': 0.0, 'seed': seed, 'finished': True,
               'active_params': 10, 'total_params': 10,
               'train_returns': [[s, r, 5] for s, r in zip(steps, returns)],
               'final_training_score': returns[-1],
               'eval': [[s, 0.0] for s in steps], 'final_score': 0.0}, f)
  with open(os.path.join(root, 'sweep_run.json'), 'w') as f:
    json.dump({'name': os.path.basename(root),
               'gin_files': [f'/repo/gin/dqn/{gin_file}'],
               'bindings': [f'SEED = {seed}'], 'labels': {}}, f)


def test_the_table_gives_each_topologys_finals_frozen_and_learned(tmp_path):
  sweep = tmp_path / 'study'
  for seed, (frozen, learned) in enumerate(((2.0, 5.0), (4.0, 7.0))):
    _run(str(sweep / 'f' / f'd{seed}'),
         'minatar_breakout_fixed_dense_frozen.gin', seed, [1.0, frozen])
    _run(str(sweep / 'l' / f'd{seed}'),
         'minatar_breakout_fixed_dense_learned.gin', seed, [1.0, learned])
  _run(str(sweep / 'f' / 'r0'), 'minatar_breakout_fixed_random_frozen.gin', 0,
       [1.0, 1.5])
  _run(str(sweep / 's' / 'l1'), 'minatar_breakout_fixed_l1_source.gin', 0,
       [1.0, 9.0])
  _run(str(sweep / 'other'), 'minatar_breakout_dense.gin', 0, [1.0, 99.0])
  out = tmp_path / 'out'
  process = subprocess.run(
      [sys.executable, SCRIPT, f'--sweep_dir={sweep}', f'--out_dir={out}'],
      capture_output=True, text=True, timeout=300, cwd=REPO)
  assert process.returncode == 0, process.stderr
  table = (out / 'topologies_breakout.md').read_text().splitlines()
  # Dense: frozen 2 and 4 (mean 3, std 1), learned 5 and 7 (6 ± 1): 2x.
  assert table[2:] == [
      '| Dense | 2 | 3.00 ± 1.00 | 2 | 6.00 ± 1.00 | 2.00 |',
      '| Random | 1 | 1.50 ± 0.00 | 0 | not run |  |',
      '| Dense + L1 penalty (L1-Reg source) | 0 | not run | 1 | 9.00 ± 0.00 |'
      '  |']
  assert (out / 'figures_breakout.png').stat().st_size > 0
