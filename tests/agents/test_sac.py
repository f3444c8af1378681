"""SAC: every method trains, and the actor's and critics' masks keep their
invariants (exact sparsity, independent critics, targets carrying masks)."""
import json
import os

import numpy as np
import pytest

from rigl_rl import config
from rigl_rl import methods
from rigl_rl.training.loop import Runner
from tests import conftest


@pytest.fixture(scope='module', params=methods.CORE)
def finished(request, tmp_path_factory):
  """A finished Pendulum smoke run of each method, shared by the tests."""
  method = request.param
  return method, conftest.train_in_process(
      tmp_path_factory.mktemp('sac') / method, 'sac',
      f'pendulum_{method}.gin', method)


def _assert_exactly_sparse(network):
  for layer in network.layers:
    mask = layer.mask.numpy()
    assert set(np.unique(mask)) <= {0.0, 1.0}
    assert np.all(layer.kernel.numpy()[mask == 0] == 0)


def test_each_method_trains_with_sparse_actor_and_critics(finished):
  method, runner = finished
  with open(os.path.join(runner.root_dir, 'results.json')) as f:
    results = json.load(f)
  assert results['agent'] == 'sac' and results['env'] == 'Pendulum-v1'
  assert results['method'] == method
  assert results['finished'] and results['train_steps_done'] == 300
  assert [step for step, _ in results['eval']] == [200, 400]
  assert runner.last_losses.keys() == {
      'loss', 'critic_loss', 'actor_loss', 'alpha_loss'}
  sparse = {network.name: network for network in runner.bundle.sparse}
  if method == 'dense':
    assert not sparse
    assert results['active_params'] == results['total_params']
    return
  assert sorted(sparse) == ['actor', 'critic1', 'critic2']
  for network in sparse.values():
    _assert_exactly_sparse(network)
    # Each network meets its own 90% ERK budget at the end of training
    # (pruning too: its schedule ends at 80% of the run).
    assert network.masked_counts()[0] == network.target_counts()[0]
    assert network.masked_counts()[0] < 0.11 * network.masked_counts()[1]
    # Target critics carry their online critic's masks, exactly sparse.
    for target_layers in network.target_layers:
      for layer, target in zip(network.layers, target_layers):
        np.testing.assert_array_equal(layer.mask.numpy(), target.mask.numpy())
        assert np.all(target.kernel.numpy()[layer.mask.numpy() == 0] == 0)
  assert len(sparse['critic1'].target_layers) == 1
  assert not sparse['actor'].target_layers
  # The two critics have independent masks.
  assert any(not np.array_equal(a.mask.numpy(), b.mask.numpy())
             for a, b in zip(sparse['critic1'].layers, sparse['critic2'].layers))
  if method in methods.DYNAMIC:
    # Updates happened: some connections were active only for a while.
    assert all(network.ever_active_fraction() >
               1 - network.target_sparsity + 1e-3
               for network in sparse.values())


def test_each_networks_optimizer_updates_its_masks(finished):
  method, runner = finished
  if method not in ('set', 'rigl', 'prune'):
    pytest.skip('methods with mask updates only')
  agent = runner.bundle.agent
  trained = {t.name: t for t in runner.bundle.trained}
  assert trained['actor'].optimizer is agent._actor_optimizer  # pylint: disable=protected-access
  assert trained['critic1'].optimizer is agent._critic_optimizer  # pylint: disable=protected-access
  for network in runner.bundle.sparse:
    # The optimizer of each network ran its last scheduled update, inside
    # the train step, and counted that step as the schedule does.
    step, changes = network.last_update()
    assert step == network.updater.window.update_steps()[-1]
    assert sorted(changes) == ['hidden_0', 'hidden_1', 'output']
  assert int(agent._actor_optimizer.iterations.numpy()) == runner.train_step  # pylint: disable=protected-access
  assert int(agent._critic_optimizer.iterations.numpy()) == runner.train_step  # pylint: disable=protected-access


def test_discrete_actions_are_refused(tmp_path):
  from rigl_rl.errors import ConfigError  # pylint: disable=g-import-not-at-top
  config.parse([conftest.gin_path('pendulum_dense.gin', 'sac')],
               ["Runner.env_name = 'CartPole-v1'"])
  with pytest.raises(ConfigError, match='sac_agent needs continuous'):
    Runner(str(tmp_path / 'run'), verbose=False)
