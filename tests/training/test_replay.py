"""The uniform replay memory stores what it is given and wraps around."""
import numpy as np
import tensorflow as tf
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts

from rigl_rl.training import replay


def _step(value, step_type=ts.StepType.MID, discount=1.0):
  return ts.TimeStep(
      step_type=tf.constant([step_type], tf.int32),
      reward=tf.constant([value], tf.float32),
      discount=tf.constant([discount], tf.float32),
      observation=tf.fill([1, 3], float(value)))


def test_round_trip_and_ring_wrap():
  spec = ts.time_step_spec(tensor_spec.TensorSpec([3], tf.float32))
  action_spec = tensor_spec.BoundedTensorSpec([], tf.int64, 0, 1)
  memory = replay.UniformReplay(spec, action_spec, capacity=4)
  for i in range(6):  # Items 0 and 1 are overwritten by 4 and 5.
    last = i == 5
    memory.add(_step(i), tf.constant([i % 2], tf.int64),
               _step(i + 1, ts.StepType.LAST if last else ts.StepType.MID,
                     0.0 if last else 1.0))
  assert int(memory.size) == 4
  batch = memory.sample(256, tf.random.Generator.from_seed(0))
  observations = batch.time_step.observation.numpy()[:, 0]
  assert set(observations.astype(int)) == {2, 3, 4, 5}
  # Each sample is one stored transition, fields aligned.
  np.testing.assert_array_equal(batch.next_time_step.observation.numpy()[:, 0],
                                observations + 1)
  np.testing.assert_array_equal(batch.next_time_step.reward.numpy(),
                                observations + 1)
  np.testing.assert_array_equal(batch.action_step.action.numpy(),
                                observations.astype(int) % 2)
  terminal = observations == 5
  assert np.all(batch.next_time_step.discount.numpy()[terminal] == 0.0)
  assert np.all(batch.next_time_step.step_type.numpy()[terminal] ==
                ts.StepType.LAST)
  assert np.all(batch.next_time_step.discount.numpy()[~terminal] == 1.0)
