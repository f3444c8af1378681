"""One factory from an environment spec string to a TF-Agents environment.

Specs are gymnasium ids for the supported suites ('CartPole-v1',
'HalfCheetah-v5'). Later suites add prefixed specs ('minatar:breakout',
'atari:Pong') by registering a builder in `_SUITES`.
"""
from typing import Callable, Dict, Optional

import gymnasium as gym
import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

from rigl_rl.envs import in_graph
from rigl_rl.errors import ConfigError

CLASSIC_CONTROL = ('CartPole-v1', 'Acrobot-v1', 'MountainCar-v0',
                   'Pendulum-v1')
# Through gymnasium[mujoco]: the `mujoco` wheel, no mujoco-py.
MUJOCO = ('HalfCheetah-v5', 'Hopper-v5', 'Walker2d-v5', 'Ant-v5',
          'Humanoid-v5')


def _time_step(step_type, reward, discount, observation) -> ts.TimeStep:
  # ts.transition() and friends spend ~100 us in typing checks per call.
  return ts.TimeStep(
      step_type=np.asarray(step_type, np.int32),
      reward=np.asarray(reward, np.float32),
      discount=np.asarray(discount, np.float32),
      observation=np.asarray(observation, np.float32))


class GymnasiumEnvironment(py_environment.PyEnvironment):
  """A gymnasium env as a TF-Agents PyEnvironment.

  Termination ends with discount 0; truncation (time limits) ends the episode
  with discount 1, so value targets still bootstrap from the last state.
  Discrete actions are int64 scalars; Box actions are float32 vectors,
  clipped to their bounds before they reach the env (as gymnasium's
  ClipAction does), so a Gaussian policy may propose any value.
  """

  def __init__(self, env: gym.Env, seed: int, handle_auto_reset: bool = False):
    # The run loop resets explicitly after every LAST step; TF-Agents drivers
    # need handle_auto_reset=True instead.
    super().__init__(handle_auto_reset=handle_auto_reset)
    self._env = env
    self._seed: Optional[int] = seed
    self._observation_spec = array_spec.ArraySpec(
        env.observation_space.shape, np.float32, name='observation')
    space = env.action_space
    if isinstance(space, gym.spaces.Discrete):
      self._action_spec = array_spec.BoundedArraySpec(
          (), np.int64, 0, space.n - 1, name='action')
      self._to_env = int
    elif isinstance(space, gym.spaces.Box):
      self._action_spec = array_spec.BoundedArraySpec(
          space.shape, np.float32, space.low, space.high, name='action')
      self._to_env = lambda action: np.clip(action, space.low, space.high)
    else:
      raise ConfigError(f'{env.spec.id} has a {type(space).__name__} action '
                        'space; only Discrete and Box are supported')

  def observation_spec(self):
    return self._observation_spec

  def action_spec(self):
    return self._action_spec

  def _reset(self):
    # Seed once; later resets continue the env's own RNG stream.
    observation, _ = self._env.reset(seed=self._seed)
    self._seed = None
    return _time_step(ts.StepType.FIRST, 0.0, 1.0, observation)

  def _step(self, action):
    observation, reward, terminated, truncated, _ = self._env.step(
        self._to_env(action))
    if terminated:
      return _time_step(ts.StepType.LAST, reward, 0.0, observation)
    if truncated:
      return _time_step(ts.StepType.LAST, reward, 1.0, observation)
    return _time_step(ts.StepType.MID, reward, 1.0, observation)

  def close(self):
    self._env.close()


def _gymnasium(name: str, seed: int) -> py_environment.PyEnvironment:
  return GymnasiumEnvironment(gym.make(name), seed)


# Exact gymnasium ids, and prefixes such as 'minatar:' for suites added later.
_SUITES: Dict[str, Callable[[str, int], py_environment.PyEnvironment]] = {
    name: _gymnasium for name in CLASSIC_CONTROL + MUJOCO
}


def make_py_environment(spec: str, seed: int) -> py_environment.PyEnvironment:
  """Builds the environment named by `spec`, seeded with `seed`.

  Raises:
    ConfigError: if `spec` names no supported environment.
  """
  builder = _SUITES.get(spec) or _SUITES.get(spec.split(':')[0] + ':')
  if builder is None:
    raise ConfigError(f'unknown environment {spec!r}; supported: '
                      f'{", ".join(sorted(_SUITES))}')
  return builder(spec, seed)


def make_environment(spec: str, seed: int) -> in_graph.InGraphEnvironment:
  """`make_py_environment`, steppable inside tf.function."""
  return in_graph.InGraphEnvironment(make_py_environment(spec, seed))
