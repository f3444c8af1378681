"""TF-Agents TimeSteps from an environment's step results, cheaply.

ts.transition() and friends spend ~100 us in typing checks per call; these
build the TimeStep directly. Termination ends an episode with discount 0;
truncation (a time limit) with discount 1, so value targets still bootstrap
from the last state.
"""
import numpy as np
from tf_agents.trajectories import time_step as ts


def _time_step(step_type, reward, discount, observation) -> ts.TimeStep:
  return ts.TimeStep(
      step_type=np.asarray(step_type, np.int32),
      reward=np.asarray(reward, np.float32),
      discount=np.asarray(discount, np.float32),
      observation=observation)


def first(observation: np.ndarray) -> ts.TimeStep:
  """The first step of an episode."""
  return _time_step(ts.StepType.FIRST, 0.0, 1.0, observation)


def step(observation: np.ndarray, reward: float, terminated: bool,
         truncated: bool = False) -> ts.TimeStep:
  """The step after an action."""
  if terminated:
    return _time_step(ts.StepType.LAST, reward, 0.0, observation)
  if truncated:
    return _time_step(ts.StepType.LAST, reward, 1.0, observation)
  return _time_step(ts.StepType.MID, reward, 1.0, observation)
