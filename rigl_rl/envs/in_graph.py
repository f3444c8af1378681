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


class _InGraph:
  """The specs of a stepped environment, one env's (no batch dimension)."""

  def __init__(self, py_env: py_environment.PyEnvironment):
    self.py_environment = py_env
    self._observation_spec = tensor_spec.from_spec(py_env.observation_spec())
    self._action_spec = tensor_spec.from_spec(py_env.action_spec())
    self._time_step_spec = ts.time_step_spec(self._observation_spec)

  def time_step_spec(self) -> ts.TimeStep:
    """One env's time step spec."""
    return self._time_step_spec

  def action_spec(self):
    """One env's action spec."""
    return self._action_spec


class InGraphEnvironment(_InGraph):
  """A PyEnvironment whose reset/step are TF ops returning batch-1 TimeSteps."""

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


class InGraphVectorEnvironment(_InGraph):
  """A `vector.VectorEnvironment` whose reset/step are TF ops on batched
  [num_envs] TimeSteps: one `numpy_function` per call for all N envs.

  An env that ends is restarted inside the step that ends it, so the caller
  never resets; `step` returns both what the transitions end with and what
  the next actions see.
  """

  def __init__(self, vector_env):
    super().__init__(vector_env)
    self.num_envs = vector_env.num_envs

  def reset(self) -> ts.TimeStep:
    (time_step,) = self._call(self._reset_py, 1)
    return time_step

  def current_time_step(self) -> ts.TimeStep:
    (time_step,) = self._call(self._current_py, 1)
    return time_step

  def step(self, action: tf.Tensor):
    """Steps env i with action[i].

    Returns:
      (what the transitions end with: LAST with each ended episode's final
      observation; what the next actions see: FIRST where one ended).
    """
    return self._call(self._step_py, 2, action)

  def _call(self, fn, count, *args):
    spec = self._observation_spec
    dtypes = [tf.int32, tf.float32, tf.float32, spec.dtype] * count
    tensors = tf.numpy_function(fn, list(args), dtypes, stateful=True)
    shapes = [[self.num_envs]] * 3 + [[self.num_envs] + spec.shape.as_list()]
    for tensor, shape in zip(tensors, shapes * count):
      tensor.set_shape(shape)
    return [ts.TimeStep(*tensors[4 * i:4 * i + 4]) for i in range(count)]

  def _reset_py(self):
    return InGraphEnvironment._flat(self.py_environment.reset())

  def _current_py(self):
    return InGraphEnvironment._flat(self.py_environment.current_time_step())

  def _step_py(self, action):
    last, following = self.py_environment.step(action)
    return (InGraphEnvironment._flat(last) +
            InGraphEnvironment._flat(following))
