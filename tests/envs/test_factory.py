"""The environment factory and the in-graph stepping bridge."""
import numpy as np
import pytest
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from rigl_rl import envs
from rigl_rl.errors import ConfigError


@pytest.mark.parametrize('name,obs_dim,actions', [('CartPole-v1', 4, 2),
                                                   ('Acrobot-v1', 6, 3),
                                                   ('MountainCar-v0', 2, 3)])
def test_specs_shapes_and_dtypes(name, obs_dim, actions):
  env = envs.make_environment(name, seed=0)
  spec = env.time_step_spec()
  assert spec.observation.shape == (obs_dim,)
  assert spec.observation.dtype == tf.float32
  assert env.action_spec().dtype == tf.int64
  assert int(env.action_spec().maximum) == actions - 1
  first = env.reset()
  assert first.observation.shape == (1, obs_dim)
  assert first.observation.dtype == tf.float32
  assert int(first.step_type[0]) == ts.StepType.FIRST
  step = env.step(tf.constant([0], tf.int64))
  assert int(step.step_type[0]) == ts.StepType.MID
  assert step.reward.dtype == tf.float32


def test_unknown_environment_is_a_config_error():
  with pytest.raises(ConfigError, match="unknown environment 'Pong'"):
    envs.make_py_environment('Pong', seed=0)


def test_termination_has_discount_zero_and_truncation_one():
  env = envs.make_py_environment('CartPole-v1', seed=0)
  env.reset()
  while True:  # Always pushing left topples the pole: termination.
    step = env.step(np.int64(0))
    if step.is_last():
      break
  assert float(step.discount) == 0.0
  env = envs.make_py_environment('MountainCar-v0', seed=0)
  env.reset()
  for _ in range(200):  # Doing nothing never reaches the flag: 200-step limit.
    step = env.step(np.int64(1))
  assert step.is_last() and float(step.discount) == 1.0


def test_same_seed_same_observations():
  first = envs.make_py_environment('Acrobot-v1', seed=3).reset().observation
  again = envs.make_py_environment('Acrobot-v1', seed=3).reset().observation
  other = envs.make_py_environment('Acrobot-v1', seed=4).reset().observation
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other)
