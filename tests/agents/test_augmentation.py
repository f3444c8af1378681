"""DrQ's random shift by hand, and the draws the DQN loss gives each
observation."""
import json

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from rigl_rl import config
from rigl_rl.agents import augmentation
from rigl_rl.agents import dqn
from rigl_rl.errors import ConfigError
from rigl_rl.networks import conv
from rigl_rl.training.loop import Runner
from tests import conftest


def test_shift_pads_with_edges_and_crops_at_the_offsets():
  image = np.arange(9, dtype=np.uint8).reshape(1, 3, 3, 1)
  # Offsets into the 1-padded 5x5 image: rows from 0 (up one), columns
  # from 2 (left one): output (i, j) = input (clip(i - 1), clip(j + 1)).
  shifted = augmentation.shift(tf.constant(image), tf.constant([0]),
                               tf.constant([2]), pad=1)
  np.testing.assert_array_equal(shifted[0, :, :, 0],
                                [[1, 2, 2], [1, 2, 2], [4, 5, 5]])
  assert shifted.dtype == tf.uint8
  # The centre offset (pad, pad) leaves the image as it is.
  np.testing.assert_array_equal(
      augmentation.shift(tf.constant(image), tf.constant([1]),
                         tf.constant([1]), pad=1), image)


def test_offsets_cover_0_to_2_pad_minus_1_as_dopamine():
  rows, columns = augmentation.shift_offsets(
      20000, 4, tf.random.Generator.from_seed(0))
  for offsets in (rows.numpy(), columns.numpy()):
    assert sorted(set(offsets)) == list(range(8))  # randint's max excluded
  assert not np.array_equal(rows, columns)


def test_augmentation_is_the_shift_at_the_seeded_offsets_then_intensity():
  images = tf.constant(
      np.random.default_rng(0).integers(0, 256, (5, 6, 7, 2)), tf.uint8)
  out = augmentation.DrQAugmentation(pad=2, intensity_scale=0.05)(
      images, tf.random.Generator.from_seed(3))
  rng = tf.random.Generator.from_seed(3)
  rows, columns = augmentation.shift_offsets(5, 2, rng)
  factors = 1 + 0.05 * np.clip(rng.normal([5, 1, 1, 1]), -2, 2)
  expected = augmentation.shift(images, rows, columns, 2).numpy() * factors
  np.testing.assert_allclose(out, expected, rtol=1e-6)
  assert out.dtype == tf.float32


@pytest.mark.parametrize('binding', [dict(pad=0), dict(pad=1.5),
                                     dict(intensity_scale=-0.1)])
def test_bad_values_are_refused(binding):
  with pytest.raises(ConfigError, match='DrQAugmentation'):
    augmentation.DrQAugmentation(**binding)


@pytest.mark.parametrize('double_q', [False, True])
def test_observation_and_next_observation_get_draws_of_their_own(double_q):
  spec = ts.time_step_spec(tensor_spec.BoundedTensorSpec(
      (10, 10, 4), tf.uint8, 0, 255))
  action_spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 2)
  seen = []

  drq = augmentation.DrQAugmentation()

  def spy(observations, rng):
    out = drq(observations, rng)
    seen.append((observations, out))
    return out

  bundle = dqn.dqn_agent(spec, action_spec, seed=7,
                         network_fn=conv.minatar_layers, augmentation=spy,
                         algorithm='drqe', double_q=double_q, dueling=True)
  assert bundle.algorithm == 'drqe'
  image = tf.constant(np.random.default_rng(1).integers(
      0, 256, (4, 10, 10, 4)), tf.uint8)
  step = ts.TimeStep(tf.ones([4], tf.int32), tf.ones([4]), tf.ones([4]),
                     image)
  experience = trajectory.Transition(
      step, policy_step.PolicyStep(tf.zeros([4], tf.int64), (), ()), step)
  agent = bundle.agent
  online = bundle.trained[0].network
  target = agent._target_q_network  # pylint: disable=protected-access
  # One generator, seeded by the agent's seed, drawn for the observation
  # first and then, again, for the next one: Dopamine's rng1 and rng2.
  rng = tf.random.Generator.from_seed(7)
  first, second = drq(image, rng), drq(image, rng)
  # A target unlike the online network, redrawn until their argmaxes on s'
  # differ, so that the bootstrap tells double Q-learning from plain.
  online_choice = online.call(second)[0].numpy().argmax(-1)
  for seed in range(100):
    perturb = np.random.default_rng(seed)
    for variable in target.trainable_variables:
      variable.assign(perturb.normal(size=variable.shape).astype(np.float32))
    next_q = target.call(second)[0].numpy()
    if np.any(next_q.argmax(-1) != online_choice):
      break
  assert np.any(next_q.argmax(-1) != online_choice)
  loss_info = agent._loss(experience, td_errors_loss_fn=agent._td_errors_loss_fn,  # pylint: disable=protected-access
                          gamma=0.99, training=True)
  # Observation, then next observation: with double Q-learning the online
  # and target networks see the same draw of s', as in Dopamine.
  assert len(seen) == 2
  np.testing.assert_allclose(seen[0][1], first)
  np.testing.assert_allclose(seen[1][1], second)
  assert not np.allclose(first, second)
  chosen = online_choice if double_q else next_q.argmax(-1)
  bootstrap = next_q[np.arange(4), chosen]
  error = 1.0 + 0.99 * bootstrap - online.call(first)[0].numpy()[:, 0]
  huber = np.where(np.abs(error) <= 1, 0.5 * error**2, np.abs(error) - 0.5)
  np.testing.assert_allclose(loss_info.extra.td_loss, huber, rtol=1e-4)


def test_drqe_smoke_run_with_rigl_on_minatar_keeps_masks_sparse(tmp_path):
  config.parse([conftest.gin_path('minatar_breakout_rigl.gin')],
               list(conftest.MINATAR_SMOKE_BINDINGS) + [
                   'dqn_agent.augmentation = @DrQAugmentation()',
                   "dqn_agent.algorithm = 'drqe'"])
  runner = Runner(str(tmp_path / 'run'), verbose=False)
  runner.run()
  with open(tmp_path / 'run' / 'results.json') as f:
    results = json.load(f)
  assert results['agent'] == 'drqe'
  assert runner.train_step == 300  # 400 steps, 100 collected first.
  (network,) = runner.bundle.sparse
  assert network.last_update()[0] > 0  # RigL has moved the masks.
  conftest.assert_exactly_sparse(runner.bundle)
  # The checkpoint carries the agent's generator, so a resumed run draws on.
  checkpoint = runner.checkpoints.path(runner.checkpoints.numbers()[-1])
  keys = tf.train.load_checkpoint(checkpoint).get_variable_to_shape_map()
  assert any(key.startswith('agent/augmentation_rng/') for key in keys)
