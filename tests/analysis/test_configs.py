"""A run's configuration from its files, and the names of groups."""
import json
import os

import pytest

from rigl_rl.analysis import configs
from rigl_rl.training import run_dir

OPERATIVE = """# Macros:
# ==============================================================================
SEED = 3
SPARSITY = 0.9

# Parameters for mlp_layers:
# ==============================================================================
mlp_layers.hidden_units = (512, 512)
mlp_layers.width = 0.5

# Parameters for Runner:
# ==============================================================================
Runner.plasticity_baselines = [@ReDo()]
Runner.seed = %SEED
train/Runner.something = \\
    [1,
     2]
"""


def _run(tmp_path, name, config=None, record=None):
  root = tmp_path / name
  root.mkdir()
  if config is not None:
    (root / 'config.gin').write_text(config)
  if record is not None:
    (root / 'sweep_run.json').write_text(json.dumps(record))
  return str(root)


def test_operative_config_without_seed(tmp_path):
  config = configs.read(_run(tmp_path, 'a', OPERATIVE))
  assert config.source == run_dir.CONFIG_FILE
  assert dict(config.values) == {
      'SPARSITY': '0.9', 'mlp_layers.hidden_units': '(512, 512)',
      'mlp_layers.width': '0.5',
      'Runner.plasticity_baselines': '[@ReDo()]',
      'train/Runner.something': '[1, 2]'}
  assert configs.baseline(config) == 'redo'
  other_seed = configs.read(_run(tmp_path, 'b',
                                 OPERATIVE.replace('SEED = 3', 'SEED = 4')))
  assert other_seed == config


def test_sweep_record_is_preferred(tmp_path):
  record = {'gin_files': ['/x/gin/dqn/cartpole_weight_decay.gin'],
            'bindings': ['NUM_ENV_STEPS = 100', 'mlp_layers.width=0.5',
                         'mlp_layers.width = 0.25', 'SEED = 1'],
            'labels': {}}
  config = configs.read(_run(tmp_path, 'a', OPERATIVE, record))
  assert config.source == run_dir.SWEEP_RUN_FILE
  assert config.values == (('NUM_ENV_STEPS', '100'),
                           ('gin', 'cartpole_weight_decay.gin'),
                           ('mlp_layers.width', '0.25'))
  assert configs.baseline(config) == 'weight_decay'
  # Labels alone (no files, no bindings): config.gin says.
  labelled = configs.read(_run(tmp_path, 'b', OPERATIVE,
                               {'labels': {'matched_sparsity': 0.9}}))
  assert labelled.source == run_dir.CONFIG_FILE


@pytest.mark.parametrize('config,record,message', [
    (None, None, 'no config.gin'),
    ('# only comments\n', None, 'holds no bindings'),
    (None, '[1]', 'not a JSON object'),
    (None, '{"gin_files": [', 'Expecting value'),
])
def test_unknown_configs_raise(tmp_path, config, record, message):
  root = _run(tmp_path, 'a', config)
  if record is not None:
    with open(os.path.join(root, 'sweep_run.json'), 'w') as f:
      f.write(record)
  with pytest.raises((OSError, ValueError, TypeError), match=message):
    configs.read(root)


def _config(source, **values):
  return configs.RunConfig(tuple(sorted(values.items())), source)


def test_variants_name_what_differs_within_a_base():
  rigl_9, rigl_8 = ('dqn', 'C', 'rigl', 0.9), ('dqn', 'C', 'rigl', 0.8)
  dense, other_env = ('dqn', 'C', 'dense', 0.0), ('dqn', 'A', 'rigl', 0.9)
  sweep = run_dir.SWEEP_RUN_FILE
  found = configs.variants({
      'narrow': (rigl_9, _config(sweep, gin='c_rigl.gin', SPARSITY='0.9',
                                 **{'mlp_layers.width': '0.5'})),
      'wide': (rigl_9, _config(sweep, gin='c_rigl.gin', SPARSITY='0.9',
                               **{'mlp_layers.width': '1.0'})),
      'unset': (rigl_9, _config(sweep, gin='c_rigl.gin', SPARSITY='0.9')),
      'at_8': (rigl_8, _config(sweep, gin='c_rigl.gin', SPARSITY='0.8',
                               **{'mlp_layers.width': '1.0'})),
      'dense': (dense, _config(sweep, gin='c_dense.gin')),
      'by_hand': (dense, _config(run_dir.CONFIG_FILE,
                                 **{'mlp_layers.width': '1.0', 'x.y': '2'})),
      'other_env': (other_env, _config(sweep, **{'mlp_layers.width': '2'})),
  })
  assert found == {
      'narrow': (('mlp_layers.width', '0.5'),),
      'wide': (('mlp_layers.width', '1.0'),),
      'unset': (),
      # Not swept at 0.8, but named as at 0.9; gin files and SPARSITY differ
      # only between bases, which already name them.
      'at_8': (('mlp_layers.width', '1.0'),),
      'dense': (),
      'by_hand': (('mlp_layers.width', '1.0'), ('from', 'config.gin')),
      'other_env': (),  # Its own environment sweeps nothing.
  }
  assert configs.label(found['by_hand']) == (
      'mlp_layers.width=1.0 · from=config.gin')


def test_swept_keys_are_numeric_and_vary():
  assert configs.swept([
      (('OffPolicy.replay_ratio', '1.0'), ('act', "'relu'")),
      (('OffPolicy.replay_ratio', '0.25'), ('act', "'tanh'")),
      (('mlp_layers.width', '0.5'),),
  ]) == ['OffPolicy.replay_ratio']
  assert configs.numeric('1e-5') == 1e-5
  assert configs.numeric('@RigL()') is None
