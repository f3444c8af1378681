"""000's L1-Reg topology end to end: an L1-penalised dense source run, then a
frozen fixed-topology run on its below-mean mask (the tiny end-to-end run of
a fixed-topology gin file), and the runs L1Mask refuses."""
import json
import os

import gin
import numpy as np
import pytest
import tensorflow as tf

from rigl_rl import config
from rigl_rl.baselines import l1_mask
from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import topologies
from rigl_rl.training import run_dir
from rigl_rl.training.loop import Runner
from tests import conftest

# MinAtar at smoke scale; 400 hidden units: one per input grouping.
BINDINGS = conftest.overridden(
    [b for b in conftest.MINATAR_SMOKE_BINDINGS
     if not b.startswith('UpdateSchedule')],
    'NUM_ENV_STEPS = 300', 'EVAL_INTERVAL = 300', 'EVAL_EPISODES = 1',
    'CHECKPOINT_INTERVAL = 300', 'FlatQNet.hidden_units = 400')


def _run(root, gin_file, *bindings):
  gin.clear_config()
  config.parse([conftest.gin_path(gin_file)], BINDINGS + list(bindings))
  runner = Runner(root, verbose=False)
  assert runner.run() == 'finished'
  return runner


def _kernels(root, which):
  reader = tf.train.load_checkpoint(os.path.join(root, which))
  return {key: reader.get_tensor(key)
          for key in reader.get_variable_to_shape_map()
          if key.endswith('/kernel/.ATTRIBUTES/VARIABLE_VALUE')}


@pytest.fixture(scope='module')
def source_run(tmp_path_factory):
  root = str(tmp_path_factory.mktemp('l1') / 'source')
  runner = _run(root, 'minatar_breakout_fixed_l1_source.gin')
  assert runner.bundle.method == 'dense'
  assert gin.query_parameter('FlatQNet.hidden_l1') == 2.5e-5
  return root


def test_frozen_l1_run_masks_the_source_and_never_moves_its_hidden_layer(
    source_run, tmp_path):
  root = str(tmp_path / 'l1_frozen')
  runner = _run(root, 'minatar_breakout_fixed_l1_frozen.gin',
                f'L1_SOURCE_RUN_DIR = "{source_run}"')
  (source_hidden,) = [kernel for kernel in _kernels(
      source_run, run_dir.FINAL_NETWORKS).values() if kernel.shape ==
                      (400, 400)]
  expected = topologies.below_mean_mask(source_hidden)
  (network,) = runner.bundle.sparse
  hidden, output = network.layers
  np.testing.assert_array_equal(hidden.mask.numpy(), expected)
  np.testing.assert_array_equal(output.mask.numpy(), np.ones((400, 3)))
  initial = _kernels(root, run_dir.INITIAL_NETWORKS)
  final = _kernels(root, run_dir.FINAL_NETWORKS)
  (hidden_key,) = [key for key in initial if initial[key].shape == (400, 400)]
  (output_key,) = [key for key in initial if initial[key].shape == (400, 3)]
  np.testing.assert_array_equal(final[hidden_key], initial[hidden_key])
  np.testing.assert_array_equal(initial[hidden_key] == 0, expected == 0)
  assert not np.array_equal(final[output_key], initial[output_key])
  with open(os.path.join(root, 'results.json')) as f:
    results = json.load(f)
  assert results['method'] == 'fixed_l1'
  assert results['sparsity'] == pytest.approx(1 - expected.mean())
  # Only the output layer trains: 400 x 3 weights and 3 biases.
  assert results['active_params'] == results['total_params'] == 1203
  tags = conftest.event_tags(os.path.join(root, 'train'))
  assert {'Diagnostics/q/mask/hidden_0',
          'Diagnostics/q/unit_masks/hidden_0'} <= tags


def test_l1_mask_refuses_sparse_and_missing_runs(source_run, tmp_path):
  root = str(tmp_path / 'spatial')
  _run(root, 'minatar_breakout_fixed_spatial_learned.gin')
  with pytest.raises(ConfigError, match="is 'fixed_spatial', not dense"):
    l1_mask.L1Mask(root)
  with pytest.raises(ConfigError, match='L1Mask.run_dir .* holds no '
                     'results.json'):
    l1_mask.L1Mask(str(tmp_path / 'nothing'))
  with pytest.raises(ConfigError, match='has 0 kernels of shape'):
    l1_mask.L1Mask(source_run).mask(topologies.MaskedLayer(
        'q', 'hidden_0', (600, 1800), (10, 10, 6)), None)
