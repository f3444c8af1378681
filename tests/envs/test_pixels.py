"""MinAtar and Atari environments: specs, dtypes, frame stacks, and the
pixel-noise wrapper."""
import numpy as np
import pytest
from tf_agents.trajectories import time_step as ts

from rigl_rl.envs import factory
from rigl_rl.envs import noise
from rigl_rl.envs import pixels
from rigl_rl.errors import ConfigError


@pytest.mark.parametrize('spec,shape,maximum,actions', [
    ('minatar:breakout', (10, 10, 4), 1, 6),
    ('minatar:space_invaders', (10, 10, 6), 1, 6),
    ('atari:Pong', (84, 84, 4), 255, 6),
    ('atari:Breakout', (84, 84, 4), 255, 4),
])
def test_observation_shapes_and_dtypes(spec, shape, maximum, actions):
  env = factory.make_py_environment(spec, seed=0)
  observation_spec = env.observation_spec()
  assert observation_spec.shape == shape
  assert observation_spec.dtype == np.uint8
  assert (observation_spec.minimum, observation_spec.maximum) == (0, maximum)
  assert env.action_spec().dtype == np.int64
  assert env.action_spec().maximum == actions - 1
  time_step = env.reset()
  for _ in range(20):
    assert time_step.observation.shape == shape
    assert time_step.observation.dtype == np.uint8
    assert time_step.observation.max() <= maximum
    time_step = env.step(np.int64(0))
    if time_step.is_last():
      time_step = env.reset()
  # The in-graph bridge keeps the dtype and adds the batch dimension.
  in_graph = factory.make_environment(spec, seed=0)
  assert in_graph.reset().observation.shape == (1,) + shape
  assert in_graph.reset().observation.dtype.name == 'uint8'


def test_atari_stack_starts_with_zeros_and_shifts():
  env = factory.make_py_environment('atari:Pong', seed=0)
  first = env.reset().observation
  assert not first[..., :3].any()  # Nothing before the first frame.
  assert first[..., 3].any()
  second = env.step(np.int64(0)).observation
  np.testing.assert_array_equal(second[..., :3], first[..., 1:])


def test_atari_time_limit_ends_with_discount_one():
  env = pixels.Atari(game='Pong', max_episode_steps=5).make(seed=0)
  env.reset()
  steps = [env.step(np.int64(0)) for _ in range(5)]
  assert [s.step_type for s in steps] == [ts.StepType.MID] * 4 + [
      ts.StepType.LAST]
  assert steps[-1].discount == 1.0


def test_minatar_terminal_ends_with_discount_zero():
  env = factory.make_py_environment('minatar:breakout', seed=0)
  env.reset()
  for _ in range(10_000):
    time_step = env.step(np.int64(0))  # No-op: the ball is soon lost.
    if time_step.is_last():
      break
  assert time_step.is_last() and time_step.discount == 0.0


def test_configured_game_names_itself():
  assert factory.spec_name(pixels.Atari(game='Qbert')) == 'atari:Qbert'
  assert factory.spec_name(pixels.MinAtar(game='freeway')) == (
      'minatar:freeway')
  assert factory.spec_name('CartPole-v1') == 'CartPole-v1'


@pytest.mark.parametrize('spec,fragment', [
    ('minatar:pong', 'unknown MinAtar game'),
    ('atari:NotAGame', 'unknown Atari game'),
    ('doom:e1m1', 'minatar:<game>'),
])
def test_unknown_games_are_refused(spec, fragment):
  with pytest.raises(ConfigError, match=fragment):
    factory.make_py_environment(spec, seed=0)


def test_pixel_noise_is_integer_bounded_and_seeded():
  base = factory.make_py_environment('atari:Pong', seed=0)
  clean = base.reset().observation
  noisy_env = noise.GaussianPixelNoise(
      factory.make_py_environment('atari:Pong', seed=0), sigma=8.0, seed=1)
  noisy = noisy_env.reset().observation
  assert noisy.dtype == np.uint8 and noisy.shape == clean.shape
  difference = noisy.astype(int) - clean.astype(int)
  assert difference.any()
  # Away from the clipping bounds the noise is N(0, 8), rounded.
  inside = (clean > 40) & (clean < 215)
  assert abs(difference[inside].std() - 8.0) < 0.5
  assert abs(difference[inside].mean()) < 0.2
  silent = noise.GaussianPixelNoise(
      factory.make_py_environment('atari:Pong', seed=0), sigma=0.0, seed=1)
  np.testing.assert_array_equal(silent.reset().observation, clean)


def test_pixel_noise_keeps_minatar_channels_binary():
  env = noise.GaussianPixelNoise(
      factory.make_py_environment('minatar:breakout', seed=0), 1.0, seed=0)
  observation = env.reset().observation
  assert set(np.unique(observation)) <= {0, 1}


def test_pixel_noise_refuses_float_observations():
  with pytest.raises(ValueError, match='integer'):
    noise.GaussianPixelNoise(factory.make_py_environment('CartPole-v1', 0),
                             1.0, seed=0)
