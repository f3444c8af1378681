"""Every gin file under gin/ parses, and every run config builds."""
import glob
import os

import gin
import pytest

from rigl_rl import config
from rigl_rl import training
from tests.conftest import GIN_DIR

ALL_FILES = sorted(glob.glob(os.path.join(GIN_DIR, '**', '*.gin'),
                             recursive=True))
RUN_FILES = [path for path in ALL_FILES
             if os.path.basename(os.path.dirname(path)) != 'common']


def test_there_are_fifteen_classic_control_configs():
  names = {os.path.basename(path) for path in RUN_FILES}
  for env in ('cartpole', 'acrobot', 'mountaincar'):
    for method in ('dense', 'prune', 'static', 'set', 'rigl'):
      assert f'{env}_{method}.gin' in names


@pytest.mark.parametrize('path', ALL_FILES,
                         ids=[os.path.relpath(p, GIN_DIR) for p in ALL_FILES])
def test_gin_file_parses(path):
  config.parse([path], [])


@pytest.mark.parametrize('path', RUN_FILES,
                         ids=[os.path.relpath(p, GIN_DIR) for p in RUN_FILES])
def test_run_config_names_method_and_macros(path):
  config.parse([path], [])
  for macro in ('NUM_ENV_STEPS', 'EVAL_INTERVAL', 'EVAL_EPISODES',
                'CHECKPOINT_INTERVAL', 'SEED'):
    assert gin.query_parameter(f'%{macro}') is not None
  method = os.path.basename(path)[:-len('.gin')].split('_')[-1]
  if method == 'dense':
    with pytest.raises(ValueError):
      gin.query_parameter('dqn_agent.sparse')
  else:
    assert gin.query_parameter('%SPARSITY') == 0.9


@pytest.mark.parametrize('path', RUN_FILES,
                         ids=[os.path.relpath(p, GIN_DIR) for p in RUN_FILES])
def test_run_config_builds(path, tmp_path):
  config.parse([path], [])
  runner = training.Runner(str(tmp_path / 'run'), verbose=False)
  method = os.path.basename(path)[:-len('.gin')].split('_')[-1]
  assert runner.bundle.method == method
  active, total = runner.bundle.param_counts()['q']
  if method in ('dense', 'prune'):  # Pruning starts dense.
    assert active == total
  else:
    assert active < 0.2 * total
  assert not os.path.exists(tmp_path / 'run')  # Building writes nothing.
