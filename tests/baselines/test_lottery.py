"""A lottery ticket retrains a pruning run's final masks from its initial
weights, and refuses runs it cannot use."""
import json
import os
import shutil

import gin
import numpy as np
import pytest

from rigl_rl import config
from rigl_rl.training.loop import Runner
from rigl_rl.errors import ConfigError
from tests import conftest


@pytest.fixture(scope='module')
def pruned_run(tmp_path_factory):
  """A finished tiny pruning run, with its initial and final weights."""
  root = str(tmp_path_factory.mktemp('prune') / 'run')
  config.parse([conftest.gin_path('cartpole_prune.gin')],
               conftest.smoke_bindings('prune'))
  runner = Runner(root, verbose=False)
  network = runner.bundle.networks['q']
  initial = [v.numpy() for v in network.trainable_variables]
  assert runner.run() == 'finished'
  masks = [layer.mask.numpy() for layer in runner.bundle.sparse[0].layers]
  return root, initial, masks


def _lottery_runner(root, ticket, tmp_path, bindings=()):
  gin.clear_config()  # Parsing locks the config; some tests parse again.
  config.parse([conftest.gin_path('cartpole_lottery.gin')],
               conftest.overridden(conftest.smoke_bindings('dense'),
                                   f'TICKET_RUN_DIR = "{ticket}"', *bindings))
  return Runner(str(tmp_path / root), verbose=False)


def test_ticket_starts_from_the_initial_weights_under_the_final_masks(
    pruned_run, tmp_path):
  ticket, initial, final_masks = pruned_run
  runner = _lottery_runner('lottery', ticket, tmp_path)
  assert runner.bundle.method == 'lottery'
  (target,) = runner.bundle.sparse
  layers = target.layers
  for layer, mask in zip(layers, final_masks):
    np.testing.assert_array_equal(layer.mask.numpy(), mask)
  assert 0.85 < 1 - sum(m.sum() for m in final_masks) / sum(
      m.size for m in final_masks) < 0.95  # The pruning run's 90%.
  # Variables in order: (kernel, bias) per layer.
  network = runner.bundle.networks['q']
  for index, variable in enumerate(network.trainable_variables):
    expected = initial[index]
    if index % 2 == 0:
      expected = expected * final_masks[index // 2]
    np.testing.assert_array_equal(variable.numpy(), expected)
  # The target network starts identical, masks included.
  target_network = runner.bundle.agent._target_q_network  # pylint: disable=protected-access
  for online, copy in zip(network.variables, target_network.variables):
    np.testing.assert_array_equal(online.numpy(), copy.numpy())
  # The masks stay fixed while training.
  assert runner.run() == 'finished'
  for layer, mask in zip(layers, final_masks):
    np.testing.assert_array_equal(layer.mask.numpy(), mask)
  with open(os.path.join(str(tmp_path / 'lottery'), 'results.json')) as f:
    results = json.load(f)
  assert results['method'] == 'lottery' and results['sparsity'] == 0.9


def test_unusable_runs_are_refused(pruned_run, tmp_path):
  ticket, _, _ = pruned_run
  unfinished = str(tmp_path / 'unfinished')
  shutil.copytree(ticket, unfinished)
  with open(os.path.join(unfinished, 'results.json')) as f:
    results = json.load(f)
  results['finished'] = False
  with open(os.path.join(unfinished, 'results.json'), 'w') as f:
    json.dump(results, f)
  with pytest.raises(ConfigError, match='has not finished'):
    _lottery_runner('a', unfinished, tmp_path)
  with pytest.raises(ConfigError, match='holds no results.json'):
    _lottery_runner('b', str(tmp_path / 'nothing'), tmp_path)
  with pytest.raises(ConfigError, match='does not match'):
    _lottery_runner('c', ticket, tmp_path,
                    ['mlp_layers.hidden_units = (32, 32)'])
