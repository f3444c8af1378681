"""Stepping a PyEnvironment from inside tf.function.

TFPyEnvironment costs ~700 us per step here (batching, nest packing, locks,
two py_funcs per step with resets); the run loop collects inside one compiled
function, so it uses this bridge: one `numpy_function` per call, fixed dtypes
and shapes, a batch dimension of 1 as TF-Agents networks expect, and resets
left to the caller.
"""
import numpy as np
import tensorflow as tf
from tf_agents.environments import py_environment
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import time_step as ts


class InGraphEnvironment:
  """A PyEnvironment whose reset/step are TF ops returning batch-1 TimeSteps."""

  def __init__(self, py_env: py_environment.PyEnvironment):
    self.py_environment = py_env
    self._observation_spec = tensor_spec.from_spec(py_env.observation_spec())
    self._action_spec = tensor_spec.from_spec(py_env.action_spec())
    self._time_step_spec = ts.time_step_spec(self._observation_spec)

  def time_step_spec(self) -> ts.TimeStep:
    return self._time_step_spec

  def action_spec(self):
    return self._action_spec

  def reset(self) -> ts.TimeStep:
    return self._call(self._reset_py)

  def current_time_step(self) -> ts.TimeStep:
    return self._call(self._current_py)

  def step(self, action: tf.Tensor) -> ts.TimeStep:
    """Steps with a batch-1 action; the caller resets after a LAST step."""
    return self._call(self._step_py, action[0])

  def _call(self, fn, *args) -> ts.TimeStep:
    spec = self._observation_spec
    step_type, reward, discount, observation = tf.numpy_function(
        fn, list(args), [tf.int32, tf.float32, tf.float32, spec.dtype],
        stateful=True)
    fields = []
    for tensor, shape in ((step_type, []), (reward, []), (discount, []),
                          (observation, spec.shape)):
      tensor.set_shape(shape)
      fields.append(tensor[None])
    return ts.TimeStep(*fields)

  @staticmethod
  def _flat(time_step: ts.TimeStep):
    return (np.asarray(time_step.step_type, np.int32),
            np.asarray(time_step.reward, np.float32),
            np.asarray(time_step.discount, np.float32),
            np.asarray(time_step.observation))

  def _reset_py(self):
    return self._flat(self.py_environment.reset())

  def _current_py(self):
    return self._flat(self.py_environment.current_time_step())

  def _step_py(self, action):
    return self._flat(self.py_environment.step(action))
