"""The per-example losses of losses.py against values worked out by hand."""
import math

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from rigl_rl.agents import losses

# ------------------------------------------------------------- DQN targets --


class _Values(tf.Module):
  """A 'network' whose Q-values for observation i are row i of a table."""

  def __init__(self, rows):
    super().__init__()
    self.table = tf.Variable(np.asarray(rows, np.float32))

  def __call__(self, observation, training=False):
    return tf.gather(self.table, observation[:, 0]), ()


def test_bootstrap_values_take_the_target_at_the_chooser_s_argmax():
  next_q = tf.constant([[1.0, 5.0, 3.0], [2.0, 0.0, -1.0]])
  online = tf.constant([[4.0, 0.0, 1.0], [0.0, 0.5, 3.0]])
  np.testing.assert_allclose(losses.bootstrap_values(next_q, online),
                             [1.0, -1.0])
  np.testing.assert_allclose(losses.bootstrap_values(next_q, next_q),
                             [5.0, 2.0])  # DQN: max_a' Q_target(s', a').


@pytest.mark.parametrize('double_q, bootstrap', [
    (False, 4.0),  # max of the target's [2, 1, 4] at s'
    (True, 1.0),   # the target's value of the online argmax at s' (1)
])
def test_td_loss_targets_by_hand(double_q, bootstrap):
  # Observation 0 is s, 1 is s'.
  online = _Values([[0.5, 2.0, 0.0], [1.0, 4.0, 2.0]])
  target = _Values([[9.0, 9.0, 9.0], [2.0, 1.0, 4.0]])
  experience = _transition([0.5], [1.0], [1])
  loss = losses.td_loss(online, target, experience, 0.9,
                        lambda y, q: (y - q)**2, double_q=double_q)
  # y = 0.5 + 0.9 * bootstrap; Q(s, 1) = 2.
  np.testing.assert_allclose(loss.numpy(), [(0.5 + 0.9 * bootstrap - 2.0)**2],
                             rtol=1e-6)


# ------------------------------------------------------- C51 (rainbow, der) --


def test_categorical_projection_by_hand():
  support = [0.0, 1.0, 2.0, 3.0, 4.0]  # v_min 0, v_max 4, spacing 1
  supports = [
      # Below v_min, between atoms, on an atom, between, above v_max.
      [-2.0, 0.5, 2.0, 3.25, 7.0],
      # Every atom on a target atom, in reverse order.
      [4.0, 3.0, 2.0, 1.0, 0.0],
  ]
  weights = [[0.1, 0.2, 0.3, 0.15, 0.25], [0.1, 0.2, 0.3, 0.15, 0.25]]
  projected = losses.categorical_projection(supports, weights, support)
  np.testing.assert_allclose(projected.numpy(), [
      # 0: 0.1 clipped + half of 0.2; 1: the other half; 2: all of 0.3;
      # 3: 3/4 of 0.15; 4: 1/4 of 0.15 + 0.25 clipped.
      [0.2, 0.1, 0.3, 0.1125, 0.2875],
      [0.25, 0.15, 0.3, 0.2, 0.1],
  ], atol=1e-6)
  np.testing.assert_allclose(projected.numpy().sum(axis=1), [1.0, 1.0],
                             atol=1e-6)


def test_categorical_projection_of_an_uneven_spacing():
  # Spacing 0.5 on [-1, 1]: 0.3 lies 3/5 of the way from 0 to 0.5.
  projected = losses.categorical_projection([[0.3, -1.2]], [[1.0, 2.0]],
                                            [-1.0, -0.5, 0.0, 0.5, 1.0])
  np.testing.assert_allclose(projected.numpy(), [[2.0, 0.0, 0.4, 0.6, 0.0]],
                             atol=1e-6)


class _Table(tf.Module):
  """A 'network' whose flat logits for observation i are row i of a table."""

  def __init__(self, rows):
    super().__init__()
    self.table = tf.Variable(np.log(np.asarray(rows, np.float32)))

  def __call__(self, observation, training=False):
    return tf.gather(self.table, observation[:, 0]), ()


def _transition(rewards, discounts, actions):
  batch = len(rewards)
  first = ts.TimeStep(step_type=tf.zeros([batch], tf.int32),
                      reward=tf.zeros([batch]), discount=tf.ones([batch]),
                      observation=tf.zeros([batch, 1], tf.int32))
  after = ts.TimeStep(step_type=tf.ones([batch], tf.int32),
                      reward=tf.constant(rewards, tf.float32),
                      discount=tf.constant(discounts, tf.float32),
                      observation=tf.ones([batch, 1], tf.int32))
  return trajectory.Transition(
      time_step=first,
      action_step=policy_step.PolicyStep(tf.constant(actions, tf.int64)),
      next_time_step=after)


SUPPORT = [-1.0, 0.0, 1.0]
# Observation 0 is s, 1 is s'. Two actions of 3 atoms, action-major.
ONLINE = [[0.25, 0.25, 0.5, 0.1, 0.3, 0.6],
          # At s' the online network prefers action 1 (mean 0.5 vs 0).
          [0.25, 0.5, 0.25, 0.1, 0.3, 0.6]]
# At s' the target network prefers action 0: means 0.1 and -0.4.
TARGET = [[1 / 3] * 6, [0.2, 0.5, 0.3, 0.6, 0.2, 0.2]]


@pytest.mark.parametrize('double_q, expected_target', [
    # Action 0's atoms -1, 0, 1 move to 0.5 + 0.9 z = -0.4, 0.5, 1.4:
    # -1 gets 0.4 * 0.2, 0 gets 0.6 * 0.2 + 0.5 * 0.5, 1 gets 0.5 * 0.5 + 0.3.
    (False, [0.08, 0.37, 0.55]),
    # Action 1's masses 0.6, 0.2, 0.2 on the same atoms.
    (True, [0.24, 0.46, 0.30]),
])
def test_categorical_td_loss_is_the_cross_entropy_to_the_projected_target(
    double_q, expected_target):
  online, target = _Table(ONLINE), _Table(TARGET)
  # Example 1 took action 0 and goes on; example 2 took action 1 and ended
  # (discount 0), so its target is all on the reward, 1.
  experience = _transition([0.5, 1.0], [1.0, 0.0], [0, 1])
  with tf.GradientTape() as tape:
    loss = losses.categorical_td_loss(online, target, experience, SUPPORT,
                                      gamma=0.9, num_actions=2,
                                      double_q=double_q)
  chosen = np.log([[0.25, 0.25, 0.5], [0.1, 0.3, 0.6]])
  expected = [-np.dot(expected_target, chosen[0]), -math.log(0.6)]
  np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-5)
  # The target is a constant: only the online network gets gradients.
  online_grad, target_grad = tape.gradient(loss,
                                           [online.table, target.table])
  assert target_grad is None
  # Only the taken actions' logits at s move.
  moved = np.abs(tf.convert_to_tensor(online_grad).numpy()) > 0
  np.testing.assert_array_equal(moved, [[True] * 6, [False] * 6])


def test_categorical_q_values_are_the_means():
  logits = tf.math.log([[[0.2, 0.5, 0.3], [0.6, 0.2, 0.2]]])
  np.testing.assert_allclose(
      losses.categorical_q_values(logits, tf.constant(SUPPORT)).numpy(),
      [[0.1, -0.4]], atol=1e-6)
