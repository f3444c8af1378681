"""One factory from an environment spec to a TF-Agents environment.

Specs are gymnasium ids for classic control and MuJoCo ('CartPole-v1',
'HalfCheetah-v5'), prefixed strings for the pixel suites ('minatar:breakout',
'atari:Pong'), or a configured `pixels.Game` (`@atari()` in gin), whose
preprocessing settings come from gin.
"""
from typing import Callable, Dict, Optional, Union

import gymnasium as gym
import numpy as np
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec

from rigl_rl.envs import in_graph
from rigl_rl.envs import mujoco_log
from rigl_rl.envs import names
from rigl_rl.envs import pixels
from rigl_rl.envs import time_steps
from rigl_rl.envs import vector
from rigl_rl.envs import video as video_lib
from rigl_rl.errors import ConfigError


def gymnasium_specs(env: gym.Env):
  """The TF-Agents (observation, action) specs of a gymnasium env: float32
  observations; int64 scalar actions for Discrete, float32 vectors for Box.

  Raises:
    ConfigError: for any other action space.
  """
  observation_spec = array_spec.ArraySpec(
      env.observation_space.shape, np.float32, name='observation')
  space = env.action_space
  if isinstance(space, gym.spaces.Discrete):
    return observation_spec, array_spec.BoundedArraySpec(
        (), np.int64, 0, space.n - 1, name='action')
  if isinstance(space, gym.spaces.Box):
    return observation_spec, array_spec.BoundedArraySpec(
        space.shape, np.float32, space.low, space.high, name='action')
  raise ConfigError(f'{env.spec.id} has a {type(space).__name__} action '
                    'space; only Discrete and Box are supported')


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
    self._observation_spec, self._action_spec = gymnasium_specs(env)
    if self._action_spec.dtype.kind == 'i':
      self._to_env = int
    else:
      space = env.action_space
      self._to_env = lambda action: np.clip(action, space.low, space.high)

  def observation_spec(self):
    return self._observation_spec

  def action_spec(self):
    return self._action_spec

  def _reset(self):
    # Seed once; later resets continue the env's own RNG stream.
    observation, _ = self._env.reset(seed=self._seed)
    self._seed = None
    return time_steps.first(np.asarray(observation, np.float32))

  def _step(self, action):
    observation, reward, terminated, truncated, _ = self._env.step(
        self._to_env(action))
    return time_steps.step(np.asarray(observation, np.float32), reward,
                           terminated, truncated)

  def close(self):
    self._env.close()


# The pixel suites, by the prefix of their specs ('atari:<Game>').
_SUITES: Dict[str, Callable[[str], pixels.Game]] = {
    names.MINATAR: lambda game: pixels.MinAtar(game=game),
    names.ATARI: lambda game: pixels.Atari(game=game),
}

Spec = Union[str, pixels.Game]


def spec_name(spec: Spec) -> str:
  """The name a run records for its environment, e.g. 'atari:Pong'."""
  return spec.name if isinstance(spec, pixels.Game) else spec


def make_py_environment(spec: Spec, seed: int, video: Optional[video_lib.Video] = None
                        ) -> py_environment.PyEnvironment:
  """Builds the environment named by `spec`, seeded with `seed`.

  Args:
    spec: an environment name or a configured game.
    seed: seeds the environment.
    video: records its first episodes (gymnasium envs and Atari).

  Raises:
    ConfigError: if `spec` names no supported environment, or `video` is
      asked of one that cannot record (MinAtar).
  """
  if isinstance(spec, str) and spec in names.GYMNASIUM:
    # MuJoCo's warnings (gymnasium's HalfCheetah uses an attribute MuJoCo 4
    # deprecates) go to stderr, which bin/train keeps in startup.log.
    with mujoco_log.written_for(spec, None):
      env = gym.make(spec, render_mode='rgb_array' if video else None)
    return GymnasiumEnvironment(video_lib.recorded(env, video), seed)
  if isinstance(spec, str):
    spec = _game(spec)
  if isinstance(spec, pixels.Game):
    return spec.make(seed, video)
  raise ConfigError(
      f'an environment is a name such as {names.GYMNASIUM[0]!r} or a game '
      f'such as @atari(), got {spec!r}; fix Runner.env_name')


def _game(spec: str) -> pixels.Game:
  """The pixel game a spec string such as 'atari:Pong' names.

  Raises:
    ConfigError: if it names none.
  """
  suite, _, game = spec.partition(':')
  if suite not in _SUITES:
    raise ConfigError(
        f'unknown environment {spec!r}; supported: '
        f'{", ".join(names.GYMNASIUM)}, and '
        f'{", ".join(names.pixel_spec(s, "<game>") for s in _SUITES)}')
  return _SUITES[suite](game)


def make_environment(spec: Spec, seed: int) -> in_graph.InGraphEnvironment:
  """`make_py_environment`, steppable inside tf.function."""
  return in_graph.InGraphEnvironment(make_py_environment(spec, seed))


def make_vector_environment(spec: Spec, seed: int, num_envs: int
                            ) -> in_graph.InGraphVectorEnvironment:
  """`num_envs` environments of `spec`, stepped together inside tf.function.

  Env i is seeded with `vector.env_seeds(seed, num_envs)[i]`, so env 0 is
  `make_environment(spec, seed)`'s. gymnasium ids run on gymnasium's
  SyncVectorEnv; the pixel games are stepped one after the other.

  Raises:
    ConfigError: if `spec` names no supported environment.
  """
  seeds = vector.env_seeds(seed, num_envs)
  if isinstance(spec, str) and spec in names.GYMNASIUM:
    with mujoco_log.written_for(spec, None):
      envs = [gym.make(spec) for _ in seeds]
    return in_graph.InGraphVectorEnvironment(
        vector.GymnasiumVector(envs, seeds, *gymnasium_specs(envs[0])))
  return in_graph.InGraphVectorEnvironment(vector.PyEnvironments(
      [make_py_environment(spec, s) for s in seeds]))
