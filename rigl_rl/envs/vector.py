"""N environments stepped in one host call, for vectorised collection.

Each step returns two batched TimeSteps: the one each transition ends with
(LAST, with the episode's final observation, where an episode ended) and
the one each env's next action sees (FIRST of its next episode there, else
the same). An env that ends is reset inside that call, as the run loop
resets a single env right after its LAST step, so every call is N real env
steps. Fields are [num_envs] arrays in env order 0..N-1.

gymnasium's ids run on its `SyncVectorEnv` in SAME_STEP autoreset mode. The
pixel suites have no vector engine serving Dopamine's preprocessing (MinAtar
is plain Python; ale-py's vector env preprocesses frames its own way), so
their N environments are stepped one after the other in the same call.
"""
from typing import List, Optional, Sequence, Tuple

import gymnasium as gym
import numpy as np
from tf_agents.environments import py_environment
from tf_agents.trajectories import time_step as ts


def env_seeds(seed: int, num_envs: int) -> List[int]:
  """The seed of each of `num_envs` training envs: `seed` for env 0 (as a
  single env), then even offsets, since the evaluation env takes seed + 1."""
  return [seed + 2 * i for i in range(num_envs)]


def _stacked(steps: Sequence[ts.TimeStep]) -> ts.TimeStep:
  return ts.TimeStep(*(np.stack(field) for field in zip(*steps)))


class VectorEnvironment:
  """What the in-graph bridge steps: N envs, restarted where they end."""

  num_envs: int

  def observation_spec(self):
    """The spec of one env's observation."""
    raise NotImplementedError

  def action_spec(self):
    """The spec of one env's action."""
    raise NotImplementedError

  def reset(self) -> ts.TimeStep:
    """Starts an episode in every env; the batched FIRST time step."""
    raise NotImplementedError

  def current_time_step(self) -> ts.TimeStep:
    """What the next actions see (resets first if nothing was stepped)."""
    raise NotImplementedError

  def step(self, actions: np.ndarray) -> Tuple[ts.TimeStep, ts.TimeStep]:
    """Steps env i with actions[i]: (what the transitions end with, what
    the next actions see)."""
    raise NotImplementedError

  def close(self) -> None:
    raise NotImplementedError


class PyEnvironments(VectorEnvironment):
  """TF-Agents PyEnvironments stepped one after the other."""

  def __init__(self, envs: Sequence[py_environment.PyEnvironment]):
    self._envs = list(envs)
    self.num_envs = len(self._envs)
    self._current: Optional[ts.TimeStep] = None

  def observation_spec(self):
    return self._envs[0].observation_spec()

  def action_spec(self):
    return self._envs[0].action_spec()

  def reset(self) -> ts.TimeStep:
    self._current = _stacked([env.reset() for env in self._envs])
    return self._current

  def current_time_step(self) -> ts.TimeStep:
    return self.reset() if self._current is None else self._current

  def step(self, actions: np.ndarray) -> Tuple[ts.TimeStep, ts.TimeStep]:
    ended, following = [], []
    for env, action in zip(self._envs, actions):
      time_step = env.step(action)
      ended.append(time_step)
      following.append(env.reset() if time_step.is_last() else time_step)
    self._current = _stacked(following)
    return _stacked(ended), self._current

  def close(self) -> None:
    for env in self._envs:
      env.close()


class GymnasiumVector(VectorEnvironment):
  """gymnasium's SyncVectorEnv with the TimeSteps of `GymnasiumEnvironment`
  (the same specs, action conversion and discounts)."""

  def __init__(self, envs: Sequence[gym.Env], seeds: Sequence[int],
               observation_spec, action_spec):
    """Wraps already made envs.

    Args:
      envs: one gymnasium env per slot.
      seeds: the seed of each, used at the first reset only.
      observation_spec: one env's float32 observation spec.
      action_spec: one env's action spec: int64 scalars, or float32 vectors
        that are clipped to its bounds before they reach the envs.
    """
    self.num_envs = len(envs)
    self._observation_spec = observation_spec
    self._action_spec = action_spec
    if action_spec.dtype.kind == 'i':
      self._to_env = lambda actions: np.asarray(actions, np.int64)
    else:
      self._to_env = lambda actions: np.clip(actions, action_spec.minimum,
                                             action_spec.maximum)
    self._env = gym.vector.SyncVectorEnv(
        [lambda env=env: env for env in envs],
        autoreset_mode=gym.vector.AutoresetMode.SAME_STEP)
    self._seeds: Optional[List[int]] = list(seeds)
    self._current: Optional[ts.TimeStep] = None

  def observation_spec(self):
    return self._observation_spec

  def action_spec(self):
    return self._action_spec

  def reset(self) -> ts.TimeStep:
    # Seed once; later resets continue each env's own RNG stream.
    observation, _ = self._env.reset(seed=self._seeds)
    self._seeds = None
    n = self.num_envs
    self._current = ts.TimeStep(
        step_type=np.full([n], ts.StepType.FIRST, np.int32),
        reward=np.zeros([n], np.float32),
        discount=np.ones([n], np.float32),
        observation=np.asarray(observation, np.float32))
    return self._current

  def current_time_step(self) -> ts.TimeStep:
    return self.reset() if self._current is None else self._current

  def step(self, actions: np.ndarray) -> Tuple[ts.TimeStep, ts.TimeStep]:
    observation, reward, terminated, truncated, info = self._env.step(
        self._to_env(actions))
    observation = np.asarray(observation, np.float32)
    ended = terminated | truncated
    final = observation.copy()
    for i in np.flatnonzero(ended):
      final[i] = info['final_obs'][i]
    reward = np.asarray(reward, np.float32)
    # Termination ends with discount 0, a time limit with 1.
    discount = np.where(terminated, 0.0, 1.0).astype(np.float32)
    last = ts.TimeStep(
        step_type=np.where(ended, ts.StepType.LAST,
                           ts.StepType.MID).astype(np.int32),
        reward=reward, discount=discount, observation=final)
    self._current = ts.TimeStep(
        step_type=np.where(ended, ts.StepType.FIRST,
                           ts.StepType.MID).astype(np.int32),
        reward=np.where(ended, 0.0, reward).astype(np.float32),
        discount=np.where(ended, 1.0, discount).astype(np.float32),
        observation=observation)
    return last, self._current

  def close(self) -> None:
    self._env.close()
