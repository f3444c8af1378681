"""The environment factory and the in-graph stepping bridge."""
import os

import numpy as np
import pytest
import tensorflow as tf
from tf_agents.trajectories import time_step as ts

from rigl_rl.envs import factory
from rigl_rl.errors import ConfigError


@pytest.mark.parametrize('name,obs_dim,actions', [('CartPole-v1', 4, 2),
                                                   ('Acrobot-v1', 6, 3),
                                                   ('MountainCar-v0', 2, 3)])
def test_specs_shapes_and_dtypes(name, obs_dim, actions):
  env = factory.make_environment(name, seed=0)
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
    factory.make_py_environment('Pong', seed=0)


def test_termination_has_discount_zero_and_truncation_one():
  env = factory.make_py_environment('CartPole-v1', seed=0)
  env.reset()
  while True:  # Always pushing left topples the pole: termination.
    step = env.step(np.int64(0))
    if step.is_last():
      break
  assert float(step.discount) == 0.0
  env = factory.make_py_environment('MountainCar-v0', seed=0)
  env.reset()
  for _ in range(200):  # Doing nothing never reaches the flag: 200-step limit.
    step = env.step(np.int64(1))
  assert step.is_last() and float(step.discount) == 1.0


def test_same_seed_same_observations():
  first = factory.make_py_environment('Acrobot-v1', seed=3).reset().observation
  again = factory.make_py_environment('Acrobot-v1', seed=3).reset().observation
  other = factory.make_py_environment('Acrobot-v1', seed=4).reset().observation
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other)


@pytest.mark.parametrize('name,obs_dim,actions,bound', [
    ('Pendulum-v1', 3, 1, 2.0),
    ('HalfCheetah-v5', 17, 6, 1.0),
    ('Hopper-v5', 11, 3, 1.0),
    ('Walker2d-v5', 17, 6, 1.0),
    ('Ant-v5', 105, 8, 1.0),
    ('Humanoid-v5', 348, 17, 0.4),
])
def test_continuous_specs_shapes_and_dtypes(name, obs_dim, actions, bound):
  env = factory.make_environment(name, seed=0)
  assert env.time_step_spec().observation.shape == (obs_dim,)
  assert env.time_step_spec().observation.dtype == tf.float32
  spec = env.action_spec()
  assert spec.shape == (actions,) and spec.dtype == tf.float32
  np.testing.assert_allclose(spec.minimum, -bound)
  np.testing.assert_allclose(spec.maximum, bound)
  first = env.reset()
  assert first.observation.shape == (1, obs_dim)
  assert first.observation.dtype == tf.float32
  step = env.step(tf.zeros([1, actions]))
  assert int(step.step_type[0]) == ts.StepType.MID
  assert step.reward.dtype == tf.float32


def test_box_actions_are_clipped_to_their_bounds():
  # Pendulum's reward charges 0.001 * torque^2: a torque of 100 must cost
  # what the largest allowed torque, 2, costs.
  rewards = []
  for torque in (2.0, 100.0):
    env = factory.make_py_environment('Pendulum-v1', seed=0)
    env.reset()
    rewards.append(float(env.step(np.array([torque], np.float32)).reward))
  assert rewards[0] == rewards[1]


def test_videos_of_an_atari_episode_and_none_of_minatar(tmp_path):
  from rigl_rl.envs import video  # pylint: disable=g-import-not-at-top
  env = factory.make_py_environment(
      'atari:Pong', 0, video.Video(str(tmp_path / 'v'), 1))
  env.reset()
  for _ in range(5):
    env.step(np.int64(0))
  env.close()
  assert os.listdir(tmp_path / 'v') == ['rl-video-episode-0.mp4']
  assert os.path.getsize(tmp_path / 'v' / 'rl-video-episode-0.mp4') > 0
  with pytest.raises(ConfigError, match='MinAtar cannot record videos'):
    factory.make_py_environment('minatar:breakout', 0,
                                video.Video(str(tmp_path / 'm'), 1))
