"""A uniform replay memory that lives in TF variables.

Adding and sampling run inside the loop's compiled function, the contents are
checkpointed with the run, and sampling draws from the run's checkpointed
generator so a resumed run samples as the original would have.
"""
import tensorflow as tf
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory


class UniformReplay(tf.Module):
  """Ring buffer of single transitions (s, a, r, discount, s')."""

  def __init__(self, time_step_spec, action_spec, capacity: int):
    super().__init__(name='replay')
    self.capacity = int(capacity)
    obs_spec = time_step_spec.observation

    def buffer(shape, dtype, name):
      return tf.Variable(
          tf.zeros([self.capacity] + list(shape), dtype), name=name)

    self._observation = buffer(obs_spec.shape, obs_spec.dtype, 'observation')
    self._next_observation = buffer(obs_spec.shape, obs_spec.dtype,
                                    'next_observation')
    self._action = buffer(action_spec.shape, action_spec.dtype, 'action')
    self._reward = buffer([], tf.float32, 'reward')
    self._discount = buffer([], tf.float32, 'discount')
    self._next_step_type = buffer([], tf.int32, 'next_step_type')
    self.num_added = tf.Variable(0, dtype=tf.int64, name='num_added')

  @property
  def size(self) -> tf.Tensor:
    return tf.minimum(self.num_added, self.capacity)

  def add(self, time_step, action, next_time_step) -> None:
    """Stores one transition from batch-1 tensors."""
    # Scatters, not sliced assigns: inside a loop of adds alone, TF copied
    # the whole buffer at every sliced assign (65 ms an add at 1M x 17).
    index = [[self.num_added % self.capacity]]
    self._observation.scatter_nd_update(index, time_step.observation)
    self._next_observation.scatter_nd_update(index,
                                             next_time_step.observation)
    self._action.scatter_nd_update(index, action)
    self._reward.scatter_nd_update(index, next_time_step.reward)
    self._discount.scatter_nd_update(index, next_time_step.discount)
    self._next_step_type.scatter_nd_update(index, next_time_step.step_type)
    self.num_added.assign_add(1)

  def sample(self, batch_size: int,
             rng: tf.random.Generator) -> trajectory.Transition:
    """A uniform batch as a TF-Agents Transition (no time dimension)."""
    return self.gather(
        rng.uniform([batch_size], 0, self.size, dtype=tf.int64))

  def gather(self, index: tf.Tensor) -> trajectory.Transition:
    """The transitions at `index` (positions in the ring) as a Transition."""
    reward = tf.gather(self._reward, index)
    discount = tf.gather(self._discount, index)
    # Boundary transitions are never stored, so every start is FIRST or MID;
    # MID is what matters to DQN (only LAST starts are masked out).
    time_step = ts.TimeStep(
        step_type=tf.fill(tf.shape(index), ts.StepType.MID),
        reward=tf.zeros_like(reward),
        discount=tf.ones_like(discount),
        observation=tf.gather(self._observation, index))
    next_time_step = ts.TimeStep(
        step_type=tf.gather(self._next_step_type, index),
        reward=reward,
        discount=discount,
        observation=tf.gather(self._next_observation, index))
    return trajectory.Transition(
        time_step=time_step,
        action_step=policy_step.PolicyStep(
            action=tf.gather(self._action, index), state=(), info=()),
        next_time_step=next_time_step)
