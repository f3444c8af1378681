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
