"""The DQN bundle's losses are the loss DqnAgent trains on."""
import numpy as np
import pytest
import tensorflow as tf

from rigl_rl import config
from rigl_rl.training.loop import Runner
from tests import conftest


@pytest.mark.parametrize('td_loss', ['huber', 'mse'])
def test_per_example_and_rigl_losses_are_the_training_loss(tmp_path, td_loss):
  config.parse([conftest.gin_path('cartpole_rigl.gin')],
               conftest.smoke_bindings('rigl') +
               [f"dqn_agent.td_loss = '{td_loss}'"])
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
  # RigL grows by the gradient of that loss, regularisation included.
  (target,) = runner.bundle.sparse
  assert float(target.loss_fn(experience)) == pytest.approx(
      float(train_loss.loss), rel=1e-5)
  regularisation = tf.add_n(runner.bundle.networks['q'].losses)
  assert float(regularisation) > 0  # The base config's weight decay.


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
  (sparse,) = runner.bundle.sparse
  network = sparse.network
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
                                   sparse.optimizer, runner.rng)
  assert sum(change.replaced for change in changes.values()) > 0
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
