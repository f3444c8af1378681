"""bin/evaluate: returns under pixel noise from a run's checkpoint."""
import json

import pytest

from rigl_rl.analysis import robustness
from rigl_rl.errors import ConfigError
from tests import conftest


def test_noise_evaluation_of_a_tiny_checkpoint(minatar_rigl_run, tmp_path):
  out_dir = tmp_path / 'robustness'
  proc = conftest.run_evaluate(minatar_rigl_run.root_dir, '--sigmas=0,1,3',
                   '--episodes=2', f'--out_dir={out_dir}')
  assert proc.returncode == 0, proc.stderr
  assert 'sigma 3: mean return' in proc.stdout
  results = json.loads((out_dir / robustness.RESULTS_FILE).read_text())
  assert results['env'] == 'minatar:breakout'
  assert results['method'] == 'rigl'
  assert results['checkpoint'].endswith('ckpt-400')
  assert [row['sigma'] for row in results['noise']] == [0.0, 1.0, 3.0]
  for row in results['noise']:
    assert len(row['returns']) == 2
    assert row['mean_return'] == pytest.approx(sum(row['returns']) / 2)
  assert (out_dir / robustness.PLOT_FILE).stat().st_size > 1000
  # Nothing on disk is overwritten (bin/evaluate checks before evaluating).
  with pytest.raises(ConfigError, match='exists; pass another --out_dir'):
    robustness.output_paths(str(out_dir))


def test_a_directory_without_a_run_is_refused(tmp_path):
  with pytest.raises(ConfigError, match='holds no run'):
    robustness.evaluate(str(tmp_path), [0.0], episodes=1)


def test_bad_sigmas_are_refused(minatar_rigl_run):
  with pytest.raises(ConfigError, match='non-negative'):
    robustness.evaluate(minatar_rigl_run.root_dir, [-1.0], episodes=1)
