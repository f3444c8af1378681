"""PPO: every method trains on discrete and continuous actions, masks keep
their invariants, and advantages are GAE computed by hand."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from rigl_rl import config
from rigl_rl import methods
from rigl_rl.agents import losses
from rigl_rl.errors import ConfigError
from rigl_rl.training.loop import Runner
from tests import conftest


@pytest.fixture(scope='module', params=methods.CORE)
def finished(request, tmp_path_factory):
  """A finished CartPole smoke run of each method, shared by the tests."""
  method = request.param
  return method, conftest.train_in_process(
      tmp_path_factory.mktemp('ppo') / method, 'ppo',
      f'cartpole_{method}.gin', method)


def test_each_method_trains_on_discrete_cartpole(finished):
  method, runner = finished
  with open(os.path.join(runner.root_dir, 'results.json')) as f:
    results = json.load(f)
  assert results['agent'] == 'ppo' and results['env'] == 'CartPole-v1'
  assert results['method'] == method
  # 4 rollouts of 128 env steps, 8 train steps on each.
  assert results['finished'] and results['train_steps_done'] == 32
  assert results['env_steps_done'] == 512
  assert [step for step, _ in results['eval']] == [256, 512]
  assert set(runner.last_losses) >= {
      'loss', 'policy_gradient_loss', 'value_estimation_loss'}
  sparse = {network.name: network for network in runner.bundle.sparse}
  if method == 'dense':
    assert not sparse
    return
  assert sorted(sparse) == ['actor', 'value']
  for network in sparse.values():
    for layer in network.layers:
      mask = layer.mask.numpy()
      assert set(np.unique(mask)) <= {0.0, 1.0}
      assert np.all(layer.kernel.numpy()[mask == 0] == 0)
    # Each network meets its own ERK budget at the end of training.
    assert network.masked_counts()[0] == network.target_counts()[0]
  if method in methods.DYNAMIC:
    for network in sparse.values():
      assert network.ever_active_fraction() > 1 - network.target_sparsity


def test_continuous_actions_train_a_gaussian_actor(tmp_path):
  runner = conftest.train_in_process(tmp_path / 'run', 'ppo', 'pendulum_rigl.gin',
                                     'rigl')
  experience = runner.experience.sample(16, runner.rng)
  params = experience.policy_info['dist_params']
  assert sorted(params) == ['loc', 'scale_diag']
  assert params['loc'].shape == (16, 1, 1)
  # Means stay inside the action bounds [-2, 2] (tanh-scaled).
  assert np.all(np.abs(params['loc'].numpy()) <= 2.0)


def test_gae_by_hand():
  # Two transitions of one episode cut by a time limit (discount 1, episode
  # end), then one of the next episode, which ends the rollout.
  rewards = tf.constant([1.0, 2.0, 3.0])
  values = tf.constant([0.5, 1.0, 2.0])
  next_values = tf.constant([1.0, 4.0, 10.0])
  discounts = tf.constant([1.0, 1.0, 0.0])  # The last one terminated.
  ends = tf.constant([False, True, True])
  gamma, lam = 0.9, 0.5
  # delta = r + gamma * discount * V(s') - V(s):
  d0 = 1.0 + 0.9 * 1.0 - 0.5    # 1.4
  d1 = 2.0 + 0.9 * 4.0 - 1.0    # 4.6: bootstraps from its own next state
  d2 = 3.0 + 0.0 - 2.0          # 1.0
  expected = [d0 + 0.9 * 0.5 * d1, d1, d2]  # The sum stops at episode ends.
  got = losses.generalized_advantages(rewards, values, next_values, discounts,
                                   ends, gamma, lam)
  np.testing.assert_allclose(got.numpy(), expected, rtol=1e-6)


def test_gae_of_several_envs_runs_down_each_column():
  rng = np.random.default_rng(0)
  rewards, values, next_values = (
      tf.constant(rng.normal(size=(6, 3)), tf.float32) for _ in range(3))
  discounts = tf.constant(rng.integers(0, 2, size=(6, 3)), tf.float32)
  ends = tf.constant(rng.random((6, 3)) < 0.3) | (discounts == 0.0)
  together = losses.generalized_advantages(rewards, values, next_values,
                                           discounts, ends, 0.9, 0.5)
  for env in range(3):
    alone = losses.generalized_advantages(
        rewards[:, env], values[:, env], next_values[:, env],
        discounts[:, env], ends[:, env], 0.9, 0.5)
    np.testing.assert_array_equal(together[:, env].numpy(), alone.numpy())
    # One env as a column of one is the same arithmetic as a vector.
    column = losses.generalized_advantages(
        rewards[:, env:env + 1], values[:, env:env + 1],
        next_values[:, env:env + 1], discounts[:, env:env + 1],
        ends[:, env:env + 1], 0.9, 0.5)
    np.testing.assert_array_equal(column[:, 0].numpy(), alone.numpy())


def test_rollout_is_prepared_with_gae_and_trained_by_each_networks_loss(
    finished):
  method, runner = finished
  if method != 'rigl':
    pytest.skip('RigL only')
  experience = runner.experience.sample(32, runner.rng)
  info = experience.policy_info
  # TD(lambda) returns: advantage plus the value prediction.
  np.testing.assert_allclose(info['return'].numpy(),
                             (info['advantage'] + info['value_prediction']).numpy(),
                             rtol=1e-6)
  agent = runner.bundle.agent
  trained = {t.name: t for t in runner.bundle.trained}
  # The value network's per-example losses (what the diagnostics use) average
  # to PPOAgent's value loss, which its train step minimises with L2.
  flat = tf.nest.map_structure(lambda t: t[:, 0], experience)
  value_loss = agent.value_estimation_loss(
      ts.TimeStep(flat.step_type, flat.reward, flat.discount,
                  flat.observation), flat.policy_info['return'],
      tf.ones_like(flat.reward))
  assert float(tf.reduce_mean(trained['value'].per_example_loss(
      experience))) == pytest.approx(float(value_loss), rel=1e-5)


def test_keras_weight_decay_is_refused(tmp_path):
  config.parse([conftest.gin_path('cartpole_dense.gin', 'ppo')],
               ['mlp_layers.weight_decay = 1e-4'])
  with pytest.raises(ConfigError, match='ppo_agent.weight_decay'):
    Runner(str(tmp_path / 'run'), verbose=False)
