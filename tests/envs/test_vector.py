"""Vector environments: N envs a call, restarted where they end."""
import gymnasium as gym
import numpy as np
import tensorflow as tf
from tf_agents.environments import py_environment
from tf_agents.specs import array_spec
from tf_agents.trajectories import time_step as ts

from rigl_rl.envs import factory
from rigl_rl.envs import time_steps
from rigl_rl.envs import vector

FIRST, MID, LAST = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST


class _Counter(py_environment.PyEnvironment):
  """Observes [episode, step]; episodes of `length` steps, paying the
  action."""

  def __init__(self, length):
    super().__init__(handle_auto_reset=False)
    self._length, self._episode, self._step_count = length, -1, 0

  def observation_spec(self):
    return array_spec.ArraySpec((2,), np.float32)

  def action_spec(self):
    return array_spec.BoundedArraySpec((), np.int64, 0, 9)

  def _observation(self):
    return np.array([self._episode, self._step_count], np.float32)

  def _reset(self):
    self._episode += 1
    self._step_count = 0
    return time_steps.first(self._observation())

  def _step(self, action):
    self._step_count += 1
    return time_steps.step(self._observation(), float(action),
                           self._step_count == self._length)


def test_py_environments_restart_each_env_in_the_step_that_ends_it():
  envs = vector.PyEnvironments([_Counter(2), _Counter(3)])
  first = envs.reset()
  np.testing.assert_array_equal(first.step_type, [FIRST, FIRST])
  kinds = []
  for actions in ([1, 2], [3, 4], [5, 6]):
    last, following = envs.step(np.array(actions))
    kinds.append((last.step_type.tolist(), following.step_type.tolist(),
                  last.observation.tolist(), following.observation.tolist()))
    np.testing.assert_array_equal(last.reward, actions)
  # Env 0 ends at its 2nd step: the transition ends on its final
  # observation, and the next action sees episode 1's first.
  assert kinds[1] == ([LAST, MID], [FIRST, MID], [[0, 2], [0, 2]],
                      [[1, 0], [0, 2]])
  assert kinds[2] == ([MID, LAST], [MID, FIRST], [[1, 1], [0, 3]],
                      [[1, 1], [1, 0]])
  np.testing.assert_array_equal(envs.current_time_step().observation,
                                [[1, 1], [1, 0]])


def _single_env_steps(make, seed, actions):
  """(last, following) time steps of one GymnasiumEnvironment stepped as
  the run loop steps a single env: reset right after LAST."""
  env = factory.GymnasiumEnvironment(make(), seed)
  env.reset()
  steps = []
  for action in actions:
    last = env.step(action)
    steps.append((last, env.reset() if last.is_last() else last))
  return steps


def test_gymnasium_vector_steps_each_env_as_one_env_of_its_seed():
  make = lambda: gym.make('CartPole-v1', max_episode_steps=6)
  seeds = vector.env_seeds(3, 3)
  assert seeds == [3, 5, 7]  # The evaluation env takes 3 + 1.
  observation_spec, action_spec = factory.gymnasium_specs(make())
  envs = vector.GymnasiumVector([make() for _ in seeds], seeds,
                                observation_spec, action_spec)
  first = envs.reset()
  actions = np.random.default_rng(0).integers(0, 2, [20, 3])
  got = [envs.step(row) for row in actions]
  ends = 0
  for i, seed in enumerate(seeds):
    single = factory.GymnasiumEnvironment(make(), seed).reset()
    np.testing.assert_array_equal(first.observation[i], single.observation)
    for (last, following), (want_last, want_following) in zip(
        got, _single_env_steps(make, seed, actions[:, i])):
      for have, want in ((last, want_last), (following, want_following)):
        np.testing.assert_array_equal(have.observation[i], want.observation)
        assert have.step_type[i] == want.step_type
        assert have.reward[i] == want.reward
        assert have.discount[i] == want.discount
      ends += int(want_last.is_last())
  # Episodes ended, some by the 6-step limit (discount 1).
  discounts = np.array([last.discount for last, _ in got])
  types = np.array([last.step_type for last, _ in got])
  assert ends >= 3 and np.any((types == LAST) & (discounts == 1.0))


def test_in_graph_vector_environment_batches_n_envs_in_one_call():
  env = factory.make_vector_environment('CartPole-v1', seed=0, num_envs=4)
  assert env.time_step_spec().observation.shape == (4,)

  @tf.function
  def steps():
    time_step = env.reset()
    last, following = env.step(tf.constant([0, 1, 0, 1], tf.int64))
    return time_step, last, following

  time_step, last, following = steps()
  assert time_step.observation.shape == (4, 4)
  assert last.step_type.shape == (4,) and following.reward.shape == (4,)
  np.testing.assert_array_equal(last.reward, np.ones(4))
  # Env 0 is the single env of the run's seed.
  single = factory.GymnasiumEnvironment(gym.make('CartPole-v1'), 0)
  np.testing.assert_array_equal(time_step.observation[0],
                                single.reset().observation)
  np.testing.assert_array_equal(last.observation[0],
                                single.step(0).observation)
