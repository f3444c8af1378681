"""The DQN bundle's losses are the loss DqnAgent trains on, RigL grows by
its gradient, and the target keeps its masks until it syncs."""
import math

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.agents.dqn import dqn_agent as tfa_dqn

from rigl_rl import config
from rigl_rl.agents import dqn
from rigl_rl.training.loop import Runner
from tests import conftest


@pytest.mark.parametrize('td_loss, extra', [
    ('huber', []), ('mse', []),
    # DrQ(eps)'s head and targets (Dopamine's DrQ_eps.gin): DdqnAgent's
    # train step, the per-example loss's double_q.
    ('huber', ['dqn_agent.dueling = True', 'dqn_agent.double_q = True']),
])
def test_per_example_losses_are_the_training_loss(tmp_path, td_loss, extra):
  config.parse([conftest.gin_path('cartpole_rigl.gin')],
               conftest.smoke_bindings('rigl') +
               [f"dqn_agent.td_loss = '{td_loss}'"] + extra)
  runner = Runner(str(tmp_path / 'run'), verbose=False)
  runner.env.reset()
  while runner.train_step < 20:  # Q and target networks now differ.
    runner.advance()
  experience = runner.experience.sample(32, runner.rng)
  (trained,) = runner.bundle.trained
  losses = trained.per_example_loss(experience)
  assert losses.shape == (32,)
  agent = runner.bundle.agent
  # What DqnAgent's train step minimises (its public loss() would discount
  # with gamma = 1.0 instead of the agent's gamma).
  train_loss = agent._loss(  # pylint: disable=protected-access
      experience,
      td_errors_loss_fn=agent._td_errors_loss_fn,  # pylint: disable=protected-access
      gamma=agent._gamma,  # pylint: disable=protected-access
      training=True)
  np.testing.assert_allclose(losses, train_loss.extra.td_loss, rtol=1e-5)
  if extra:
    assert runner.bundle.sparse[0].layer_names == [
        'hidden_0', 'hidden_1', 'output_advantage', 'output_value']
    assert isinstance(agent, tfa_dqn.DdqnAgent)
  regularisation = tf.add_n(runner.bundle.networks['q'].losses)
  assert float(regularisation) > 0  # The base config's weight decay.


def test_rigl_grows_by_the_gradient_of_the_training_loss(tmp_path):
  config.parse([conftest.gin_path('cartpole_rigl.gin')],
               conftest.smoke_bindings('rigl'))
  runner = Runner(str(tmp_path / 'run'), verbose=False)
  runner.env.reset()
  while runner.train_step < 50:  # The smoke schedule's second update.
    runner.advance()
  assert runner.train_step == 50
  (network,) = runner.bundle.sparse
  agent = runner.bundle.agent
  experience = runner.experience.sample(32, runner.rng)
  # The gradient DqnAgent's train step computes, regularisation included.
  kernels = [layer.kernel for layer in network.layers]
  with tf.GradientTape() as tape:
    loss = agent._loss(  # pylint: disable=protected-access
        experience, td_errors_loss_fn=agent._td_errors_loss_fn,  # pylint: disable=protected-access
        gamma=agent._gamma, training=True).loss  # pylint: disable=protected-access
  grads = tape.gradient(loss, kernels)
  before = [(layer.mask.numpy() > 0, layer.kernel.numpy())
            for layer in network.layers]
  agent.train(experience)
  assert network.last_update()[0] == 50
  grown_checked = 0
  for layer, grad, (old_mask, old_kernel) in zip(network.layers, grads,
                                                 before):
    if network.sparsities[layer.layer.name] == 0.0:
      continue
    new_mask = layer.mask.numpy() > 0
    magnitude = np.abs(old_kernel)
    n_active = int(old_mask.sum())
    n_keep = n_active - math.floor(network.updater.amount(50) * n_active)
    kept_order = np.argsort(np.where(old_mask, -magnitude, np.inf), axis=None)
    kept = np.zeros(old_mask.size, bool)
    kept[kept_order[:n_keep]] = True
    kept = kept.reshape(old_mask.shape)
    grown = new_mask & ~kept
    assert np.all(new_mask[kept]) and grown.sum() > 0
    # Grown where that gradient is largest among all connections not kept.
    g = np.abs(grad.numpy())
    assert g[grown].min() >= g[~new_mask].max()
    grown_checked += int(grown.sum())
  assert grown_checked > 0


def _masks(layers):
  return [layer.mask.numpy().copy() for layer in layers]


def test_the_target_keeps_its_masks_until_the_next_sync(tmp_path):
  config.parse([conftest.gin_path('cartpole_set.gin')],
               conftest.smoke_bindings('set') +
               ['dqn_agent.target_update_period = 5'])
  runner = Runner(str(tmp_path / 'run'), verbose=False)
  runner.env.reset()
  while runner.train_step < 1:
    runner.advance()
  agent = runner.bundle.agent
  (network,) = runner.bundle.sparse
  (target_layers,) = network.target_layers

  def train_step():
    agent.train(runner.experience.sample(32, runner.rng))

  # DqnAgent's target update counts its calls and syncs on the 5th, 10th,
  # ...: after it the target holds the online masks and weights.
  while runner.train_step % 5 != 0:
    train_step()
  for online, target in zip(network.layers, target_layers):
    np.testing.assert_array_equal(target.mask.numpy(), online.mask.numpy())
    np.testing.assert_array_equal(target.kernel.numpy(), online.kernel.numpy())
  synced = _masks(target_layers)
  synced_kernels = [layer.kernel.numpy().copy() for layer in target_layers]
  changes = network.updater.update(runner.train_step, network,
                                   agent._optimizer, runner.rng)  # pylint: disable=protected-access
  assert sum(int(counts[1]) for counts in changes.values()) > 0
  updated = _masks(network.layers)
  for _ in range(4):  # No sync on the next 4 calls...
    train_step()
    for mask, kept in zip(_masks(target_layers), synced):
      np.testing.assert_array_equal(mask, kept)
    for layer, kernel in zip(target_layers, synced_kernels):
      np.testing.assert_array_equal(layer.kernel.numpy(), kernel)
  train_step()  # ...and the 5th brings the new masks.
  for mask, new, online in zip(_masks(target_layers), updated,
                               network.layers):
    np.testing.assert_array_equal(mask, new)
    np.testing.assert_array_equal(mask, online.mask.numpy())
  assert any(not np.array_equal(new, old) for new, old in zip(updated, synced))


def test_epsilon_follows_dopamines_schedule():
  # dopamine/tf/agents/dqn/configs/dqn.gin: warmup 20k, decay over 250k to
  # 0.01; linearly_decaying_epsilon gives 1 - 0.99 * 0.5 half way.
  at = lambda step: float(dqn.linear_epsilon(tf.constant(step, tf.int64), 1.0,
                                             0.01, 250_000, 20_000))
  assert at(0) == at(20_000) == 1.0
  assert at(145_000) == pytest.approx(0.505)
  assert at(270_000) == at(10_000_000) == pytest.approx(0.01)
  # The reference code's classic control: constant.
  assert float(dqn.linear_epsilon(tf.constant(5, tf.int64), 0.01, 0.01, 1)) \
      == pytest.approx(0.01)
