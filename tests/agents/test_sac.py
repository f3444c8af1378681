"""SAC: every method trains, and the actor's and critics' masks keep their
invariants (exact sparsity, independent critics, targets carrying masks)."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

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
  assert runner._last_losses.keys() == {  # pylint: disable=protected-access
      'loss', 'critic_loss', 'actor_loss', 'alpha_loss'}
  sparse = {target.network.name: target.network
            for target in runner.bundle.sparse}
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


def test_rigl_grows_by_each_networks_own_loss(finished):
  method, runner = finished
  if method != 'rigl':
    pytest.skip('RigL only')
  experience = runner.experience.sample(32, runner.rng)
  agent = runner.bundle.agent
  for target in runner.bundle.sparse:
    grads = target.dense_gradients(experience)
    assert sorted(grads) == ['hidden_0', 'hidden_1', 'output']
    # The gradient is dense: masked entries get gradients too.
    assert sum(
        np.count_nonzero(grads[layer.layer.name].numpy()[layer.mask.numpy() == 0])
        for layer in target.network.layers) > 0
  actor_target = next(t for t in runner.bundle.sparse
                      if t.network.name == 'actor')
  critic_target = next(t for t in runner.bundle.sparse
                       if t.network.name == 'critic1')
  assert actor_target.optimizer is agent._actor_optimizer  # pylint: disable=protected-access
  assert critic_target.optimizer is agent._critic_optimizer  # pylint: disable=protected-access
  # The critic's gradient source is SacAgent's critic loss on the batch
  # (the same seed: the loss samples next actions).
  tf.random.set_seed(5)
  got = float(critic_target.loss_fn(experience))
  tf.random.set_seed(5)
  expected = agent.critic_loss(
      experience.time_step, experience.action_step.action,
      experience.next_time_step,
      td_errors_loss_fn=agent._td_errors_loss_fn,  # pylint: disable=protected-access
      gamma=agent._gamma, training=False)  # pylint: disable=protected-access
  assert got == pytest.approx(float(expected), rel=1e-6)


def test_discrete_actions_are_refused(tmp_path):
  from rigl_rl.errors import ConfigError  # pylint: disable=g-import-not-at-top
  config.parse([conftest.gin_path('pendulum_dense.gin', 'sac')],
               ["Runner.env_name = 'CartPole-v1'"])
  with pytest.raises(ConfigError, match='sac_agent needs continuous'):
    Runner(str(tmp_path / 'run'), verbose=False)
