"""Replay memories: whole transitions in TF variables, or Dopamine's
frame-storing memory for stacked-frame (Atari) observations.

Adding and sampling run inside the loop's compiled function, and sampling
draws from the run's checkpointed generator so a resumed run samples as the
original would have.
"""
import gzip
import os
import shutil
from typing import Any, NamedTuple, Optional

# Dopamine registers its own gin configurables on import, which gin refuses
# once a config is locked: it is imported with this module, before parsing.
from dopamine.tf.replay_memory import circular_replay_buffer
import gin
import numpy as np
import tensorflow as tf
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from rigl_rl.errors import ConfigError
from rigl_rl.training import priorities


class Batch(NamedTuple):
  """What one train step learns from.

  Attributes:
    experience: what the agent's `train` takes (a Transition for replay).
    weights: [batch] importance weights the agent's loss is weighted by;
      None for an unweighted mean.
    indices: [batch] where the memory keeps each example, for priority
      updates; None for a memory without priorities.
  """
  experience: Any
  weights: Optional[tf.Tensor] = None
  indices: Optional[tf.Tensor] = None


class Memory(tf.Module):
  """Where experience is kept. The run's TF checkpoint holds its variables;
  a memory with state outside TensorFlow writes it beside each checkpoint.
  """

  # Whether the memory wants `update_priorities` after each train step.
  prioritized = False

  def training_batch(self, batch_size: int,
                     rng: tf.random.Generator) -> Batch:
    """In graph: a train step's batch (uniform and unweighted here)."""
    return Batch(self.sample(batch_size, rng))

  def write_beside(self, checkpoint_path: str, report) -> None:
    """Writes what the checkpoint at `checkpoint_path` does not hold.

    Called before the checkpoint itself is written.

    Args:
      checkpoint_path: '<directory>/ckpt-<number>'.
      report: prints a progress line.
    """
    del checkpoint_path, report

  def read_beside(self, checkpoint_path: str) -> None:
    """Reads back what `write_beside` wrote for that checkpoint."""
    del checkpoint_path

  def keep_beside(self, checkpoint_paths) -> None:
    """Deletes what was written beside checkpoints no longer kept."""
    del checkpoint_paths

  def close_episode(self) -> None:
    """Ends the episode of the newest stored transition, which a resumed
    run does not continue (it starts a new one), so that multi-step returns
    stop there. A memory that closes it when it reads its files back
    (FrameReplay), or that holds whole rollouts, needs nothing more."""


def available_memory_bytes() -> int:
  """Memory the system can give this process now, without swapping."""
  try:
    with open('/proc/meminfo') as f:
      for line in f:
        if line.startswith('MemAvailable:'):
          return int(line.split()[1]) * 1024
  except OSError:
    pass  # Not Linux: the free pages, which leave out reclaimable cache.
  return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')


def check_fits(what: str, nbytes: int, fix: str) -> None:
  """Raises ConfigError if `nbytes` exceed the memory available now.

  Args:
    what: what needs the memory, e.g. 'a replay of 1000000 transitions'.
    nbytes: its estimated size.
    fix: the setting that shrinks it, e.g. 'OffPolicy.replay_capacity'.
  """
  available = available_memory_bytes()
  if nbytes > available:
    raise ConfigError(
        f'{what} needs about {nbytes / 2**30:.1f} GiB, more than the '
        f'{available / 2**30:.1f} GiB of memory available; lower {fix}')


def _spec_bytes(spec) -> int:
  return int(np.prod(spec.shape.as_list(), dtype=np.int64)) * spec.dtype.size


def _files_beside(checkpoint_path: str) -> str:
  """The directory beside a checkpoint ('.../ckpt-<number>')."""
  directory, name = os.path.split(checkpoint_path)
  return os.path.join(directory, 'replay-' + name.rsplit('-', 1)[1])


@gin.configurable
class UniformReplay(Memory):
  """Ring buffer of single transitions (s, a, r, discount, s').

  With an `update_horizon` n > 1 a sampled transition is n-step: its reward
  is sum_j gamma^j r_j over up to n stored transitions, stopping after the
  first that ends an episode (terminal or time limit); its next observation
  is that last transition's, and its discount gamma^(m-1) times the last
  one's, for m transitions summed, so that a learner's
  r + gamma * discount * V(s') bootstraps with gamma^m, or not at all after
  a terminal.

  With `num_envs` N > 1 each add stores one transition of each env, env 0
  first, so transition t of env e is the (t * N + e)-th added: an n-step
  window steps N entries at a time and never chains two envs' transitions.
  """

  @staticmethod
  def nbytes(time_step_spec, action_spec, capacity: int) -> int:
    """The bytes a memory of `capacity` transitions allocates."""
    # Two observations, an action, reward, discount and step type each.
    return capacity * (2 * _spec_bytes(time_step_spec.observation) +
                       _spec_bytes(action_spec) + 3 * 4)

  def __init__(self, time_step_spec, action_spec, capacity: int,
               update_horizon: int = 1, gamma: float = 0.99,
               num_envs: int = 1):
    super().__init__(name='replay')
    self.capacity = int(capacity)
    self.update_horizon = int(update_horizon)
    self.gamma = float(gamma)
    self.num_envs = int(num_envs)
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
    """Stores one transition of each env from batch-`num_envs` tensors."""
    # Scatters, not sliced assigns: inside a loop of adds alone, TF copied
    # the whole buffer at every sliced assign (65 ms an add at 1M x 17).
    index = self._newest(self.num_added)[:, None]
    self._observation.scatter_nd_update(index, time_step.observation)
    self._next_observation.scatter_nd_update(index,
                                             next_time_step.observation)
    self._action.scatter_nd_update(index, action)
    self._reward.scatter_nd_update(index, next_time_step.reward)
    self._discount.scatter_nd_update(index, next_time_step.discount)
    self._next_step_type.scatter_nd_update(index, next_time_step.step_type)
    self.num_added.assign_add(self.num_envs)

  def _newest(self, added) -> tf.Tensor:
    """The ring positions an add after `added` transitions writes."""
    return (added + tf.range(self.num_envs, dtype=tf.int64)) % self.capacity

  def close_episode(self) -> None:
    if self.num_added.numpy() > 0:
      newest = self._newest(self.num_added - self.num_envs)
      self._next_step_type.scatter_nd_update(
          newest[:, None], tf.fill([self.num_envs], ts.StepType.LAST))

  def sample(self, batch_size: int,
             rng: tf.random.Generator) -> trajectory.Transition:
    """A uniform batch as a TF-Agents Transition (no time dimension)."""
    if self.update_horizon == 1:
      return self.gather(
          rng.uniform([batch_size], 0, self.size, dtype=tf.int64))
    # Starts (counted from the first add) whose n transitions are stored.
    oldest = self.num_added - self.size
    starts = oldest + rng.uniform(
        [batch_size], 0, self.size - self._window_span, dtype=tf.int64)
    return self._multi_step(starts)

  @property
  def _window_span(self) -> int:
    """Entries from an n-step window's first transition to its last."""
    return (self.update_horizon - 1) * self.num_envs

  def _multi_step(self, starts: tf.Tensor) -> trajectory.Transition:
    n = self.update_horizon
    # The same env's next n - 1 transitions.
    window = starts[:, None] + self.num_envs * tf.range(
        n, dtype=tf.int64)[None, :]
    positions = window % self.capacity
    ends = tf.equal(tf.gather(self._next_step_type, positions),
                    ts.StepType.LAST)
    # Transition j counts unless an earlier one of the window ended.
    counted = tf.equal(
        tf.cumsum(tf.cast(ends, tf.int32), axis=1, exclusive=True), 0)
    weights = tf.where(counted, self.gamma**tf.range(n, dtype=tf.float32),
                       0.0)
    summed = tf.reduce_sum(tf.cast(counted, tf.int64), axis=1)
    last = (starts + self.num_envs * (summed - 1)) % self.capacity
    transition = self.gather(last)
    first = self.gather(starts % self.capacity)
    reward = tf.reduce_sum(
        weights * tf.gather(self._reward, positions), axis=1)
    discount = (self.gamma**tf.cast(summed - 1, tf.float32) *
                transition.next_time_step.discount)
    return first._replace(next_time_step=transition.next_time_step._replace(
        reward=reward, discount=discount))

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


@gin.configurable
class PrioritizedReplay(UniformReplay):
  """UniformReplay's ring, sampled in proportion to priorities (Schaul et
  al. 2016), as Dopamine's prioritized memory and its agents use it.

  Each start that may be sampled (one whose `update_horizon` transitions
  are stored) holds a priority in a sum tree; a start enters at the largest
  priority ever set (1 before any) and leaves when it is overwritten. See
  `priorities.Priorities` for the draws, weights and updates.
  """

  prioritized = True

  @staticmethod
  def nbytes(time_step_spec, action_spec, capacity: int) -> int:
    """The bytes a memory of `capacity` transitions allocates."""
    return (UniformReplay.nbytes(time_step_spec, action_spec, capacity) +
            priorities.SumTree.nbytes(capacity))

  def __init__(self, time_step_spec, action_spec, capacity: int,
               update_horizon: int = 1, gamma: float = 0.99,
               num_envs: int = 1,
               priority_exponent: float = 0.5,
               importance_exponent: float = 0.5,
               priority_epsilon: float = 1e-10):
    """Allocates the memory and its sum tree.

    Args:
      time_step_spec: the environment's time step spec.
      action_spec: the action spec.
      capacity: transitions held.
      update_horizon: transitions summed into each sampled return.
      gamma: their discount.
      num_envs: envs whose transitions each add stores (UniformReplay).
      priority_exponent: alpha, p_i = (loss_i + priority_epsilon)^alpha;
        Dopamine's agents take the square root (0.5).
      importance_exponent: beta of the importance weights; Dopamine's
        agents use 0.5 throughout (no annealing).
      priority_epsilon: added to each loss so no start falls to priority 0
        (Dopamine's 1e-10).

    Raises:
      ConfigError: for exponents or an epsilon that are not positive
        numbers.
    """
    super().__init__(time_step_spec, action_spec, capacity,
                     update_horizon=update_horizon, gamma=gamma,
                     num_envs=num_envs)
    self.sampler = priorities.Priorities(
        self.capacity, priority_exponent=priority_exponent,
        importance_exponent=importance_exponent,
        priority_epsilon=priority_epsilon, owner='PrioritizedReplay')

  def add(self, time_step, action, next_time_step) -> None:
    added = self.num_added.read_value()
    super().add(time_step, action, next_time_step)
    tree = self.sampler.tree
    newest = self._newest(added)
    top = tf.fill([self.num_envs], tree.max_priority)
    if self.update_horizon == 1:
      tree.set(newest, top)
      return
    # The overwritten starts leave; the starts whose n-th transitions these
    # are enter (none in the first n - 1 adds, when leaf 0 stays 0).
    start = added - self._window_span + tf.range(self.num_envs,
                                                 dtype=tf.int64)
    tree.set(
        tf.concat([newest, tf.maximum(start, 0) % self.capacity], 0),
        tf.concat([tf.zeros([self.num_envs], tf.float64),
                   tf.where(start >= 0, top, tf.zeros_like(top))], 0))

  def training_batch(self, batch_size: int,
                     rng: tf.random.Generator) -> Batch:
    """In graph: starts drawn in proportion to their priorities, with their
    importance weights."""
    indices = self.sampler.tree.stratified_sample(batch_size, rng)
    if self.update_horizon == 1:
      experience = self.gather(indices)
    else:
      experience = self._multi_step(indices)
    return Batch(experience, self.sampler.weights(indices), indices)

  def update_priorities(self, indices: tf.Tensor, losses: tf.Tensor) -> None:
    """Sets the priorities of the starts at `indices` from their [batch]
    unweighted losses."""
    self.sampler.update(indices, losses)


class _FrameMemory(circular_replay_buffer.OutOfGraphReplayBuffer):
  """Dopamine's memory, with stacks never reaching across an episode end,
  checked and sampled a whole batch of indices at a time.

  Dopamine rejects a stack holding an earlier frame flagged terminal. An
  episode cut by a time limit (or by a resume) ends without that flag, so
  its following padding and stacks would mix two episodes: a stack holding
  any earlier episode end is rejected too.

  Dopamine checks and gathers one index at a time in Python (9 ms for a
  batch of 32 Atari stacks); `valid` and `sample_transition_batch` do the
  same for the whole batch in numpy, with the same results.
  """

  def __init__(self, **kwargs):
    super().__init__(**kwargs)
    # `episode_end_indices` as a flag per index, for batched look-ups.
    self._episode_end = np.zeros(self._replay_capacity, bool)

  def add(self, *args, **kwargs):
    first, before = self.cursor(), int(self.add_count)
    super().add(*args, **kwargs)
    # An add changes the set only where it writes (padding, transition).
    written = [(first + i) % self._replay_capacity
               for i in range(int(self.add_count) - before)]
    self._episode_end[written] = [i in self.episode_end_indices
                                  for i in written]

  def set_episode_ends(self, indices) -> None:
    """Replaces `episode_end_indices` (as a load does)."""
    self.episode_end_indices = {int(i) for i in indices}
    self._episode_end[:] = False
    self._episode_end[list(self.episode_end_indices)] = True

  def is_valid_transition(self, index):
    return bool(self.valid(np.array([index]))[0])

  def valid(self, indices) -> np.ndarray:
    """Whether each index holds a transition that may be sampled: Dopamine's
    `is_valid_transition`, with no episode end among the stack's earlier
    frames.

    Args:
      indices: [batch] ints.

    Returns:
      [batch] bools.
    """
    indices = np.asarray(indices, np.int64)
    capacity = self._replay_capacity
    valid = (indices >= 0) & (indices < capacity)
    if not self.is_full():
      # Past the first episode's padding, with all n steps and the next
      # frame stored.
      valid &= ((indices >= self._stack_size - 1) &
                (indices < self.cursor() - self._update_horizon))
    # Not straddling the cursor.
    valid &= ~np.isin(indices, self.invalid_range)
    earlier = self._window(indices, 1 - self._stack_size, 0)
    valid &= ~self._store['terminal'][earlier].any(axis=1)
    valid &= ~self._episode_end[earlier].any(axis=1)
    # No step of the n-step window ending its episode without a terminal.
    steps = self._window(indices, 0, self._update_horizon)
    valid &= ~(self._episode_end[steps] &
               (self._store['terminal'][steps] == 0)).any(axis=1)
    return valid

  def sample_transition_batch(self, batch_size=None, indices=None):
    """Dopamine's batch (a tuple of arrays as `get_transition_elements`
    names them) for `indices`, or for uniform draws of Dopamine's."""
    if batch_size is None:
      batch_size = self._batch_size
    if indices is None:
      indices = self.sample_index_batch(batch_size)
    indices = np.asarray(indices, np.int64)
    if indices.shape != (batch_size,):
      raise ValueError(f'sample_transition_batch: {indices.shape[0]} indices '
                       f'for a batch of {batch_size}; pass one per example')
    horizon = self._update_horizon
    steps = self._window(indices, 0, horizon)
    terminals = self._store['terminal'][steps] != 0
    terminal = terminals.any(axis=1)
    # Steps up to and including the first terminal; argmax finds it.
    length = np.where(terminal, np.argmax(terminals, axis=1) + 1, horizon)
    next_indices = (indices + length) % self._replay_capacity
    counted = np.arange(horizon) < length[:, None]
    discounted = self._cumulative_discount_vector * self._store['reward'][steps]
    values = {
        'reward': np.sum(np.where(counted, discounted, 0), axis=1),
        'next_action': self._store['action'][next_indices],
        'next_reward': self._store['reward'][next_indices],
        'terminal': terminal,
        'indices': indices,
    }
    elements = self.get_transition_elements(batch_size)
    arrays = self._create_batch_arrays(batch_size)
    for element, array in zip(elements, arrays):
      if element.name == 'state':
        self._stack_into(array, indices)
      elif element.name == 'next_state':
        self._stack_into(array, next_indices)
      elif element.name in values:
        array[...] = values[element.name]
      elif element.name in self._store:
        array[...] = self._store[element.name][indices]
    return arrays

  def _window(self, indices, start, stop) -> np.ndarray:
    """[batch, stop - start] ring positions index + start ... index + stop
    - 1."""
    return (indices[:, None] + np.arange(start, stop)) % self._replay_capacity

  def _stack_into(self, array, indices) -> None:
    """Writes the frame stacks ending at `indices` into [batch, ..., stack]
    `array`."""
    frames = self._store['observation']
    stacks = self._window(indices, 1 - self._stack_size, 1)
    # A frame per stack slot: numpy's transposing copy of whole [batch,
    # stack, ...] gathers onto the last axis is about 8 times slower.
    for slot in range(self._stack_size):
      array[..., slot] = frames[stacks[:, slot]]


@gin.configurable
class FrameReplay(Memory):
  """Dopamine's frame-storing replay memory behind the loop's interface.

  Observations are stacks of frames on the last axis (Atari's 84x84x4). The
  memory keeps one frame per env step, the newest of each stack, and
  rebuilds stacks when it samples, zero-padded before an episode's first
  frame as the environment pads them: a 1M-transition Atari memory holds 7 GB
  of frames instead of 56 GB of stacked pairs. It lives in numpy, outside
  the TF checkpoint, in files beside each checkpoint (`write_beside`).

  Transitions that end an episode by time limit (LAST, discount 1) have no
  stored next frame and are never sampled. With an `update_horizon` n > 1,
  Dopamine's memory sums n-step returns itself (stopping at a terminal) and
  never samples a start whose n steps reach a time-limit end; the discount
  it gives is gamma^(n-1), or 0 after a terminal, as UniformReplay's.

  With N envs collecting (`Runner.num_envs`) each env has a Dopamine memory
  of its own, of `capacity / N` frames, so a stack or an n-step window never
  joins two envs' episodes; together they hold the newest `capacity`
  frames. Index `i` names frame `i % (capacity / N)` of env
  `i // (capacity / N)`, and a batch draws uniformly over the positions of
  all of them, as one memory draws over its own.
  """

  @staticmethod
  def nbytes(time_step_spec, action_spec, capacity: int) -> int:
    """The bytes a full memory of `capacity` frames takes."""
    observation = time_step_spec.observation
    frame = _spec_bytes(observation) // max(1, observation.shape[-1])
    # Dopamine's arrays: frame, action, float32 reward, uint8 terminal.
    return capacity * (frame + _spec_bytes(action_spec) + 4 + 1)

  def __init__(self, time_step_spec, action_spec, capacity: int,
               update_horizon: int = 1, gamma: float = 0.99,
               num_envs: int = 1,
               max_sample_attempts: int = 1000):
    """Allocates the memory (lazily: pages are touched as frames arrive).

    Args:
      time_step_spec: the environment's time step spec; observations are
        [..., stack] frame stacks.
      action_spec: a scalar action spec.
      capacity: transitions (frames) held.
      update_horizon: transitions summed into each sampled return.
      gamma: their discount.
      num_envs: envs collecting, each with a memory of `capacity /
        num_envs` frames.
      max_sample_attempts: invalid draws tolerated per batch before sampling
        gives up (only a nearly empty memory gets near it).

    Raises:
      ConfigError: for an observation without a stack axis, or a capacity
        that is not a multiple of `num_envs`.
    """
    super().__init__(name='frame_replay')
    if int(capacity) % int(num_envs):
      raise ConfigError(
          f'FrameReplay splits OffPolicy.replay_capacity ({capacity}) '
          f'equally between Runner.num_envs={num_envs} envs; make it a '
          'multiple of num_envs')
    observation = time_step_spec.observation
    if observation.shape.rank < 2:
      raise ConfigError(
          f'FrameReplay stores frame stacks [..., stack]; observations of '
          f'shape {observation.shape} have none: use '
          'OffPolicy.replay = @UniformReplay')
    self._observation_spec = observation
    self._action_spec = action_spec
    self.stack_size = int(observation.shape[-1])
    self._frame_shape = tuple(observation.shape[:-1])
    self._max_sample_attempts = max_sample_attempts
    self.num_envs = int(num_envs)
    self.env_capacity = int(capacity) // self.num_envs
    self.buffers = [
        _FrameMemory(
            observation_shape=self._frame_shape,
            stack_size=self.stack_size,
            replay_capacity=self.env_capacity,
            batch_size=1,
            update_horizon=int(update_horizon),
            gamma=float(gamma),
            observation_dtype=observation.dtype.as_numpy_dtype,
            action_dtype=action_spec.dtype.as_numpy_dtype)
        for _ in range(self.num_envs)
    ]
    self.capacity = int(capacity)
    self._bootstrap_discount = float(gamma)**(int(update_horizon) - 1)

  # ------------------------------------------------------------ in graph --

  def add(self, time_step, action, next_time_step) -> None:
    """Stores one transition of each env from batch-`num_envs` tensors (the
    newest frame of its starting observation, the action, reward and end
    flags), in one host call."""
    tf.numpy_function(
        self._add_all, [
            time_step.observation[..., -1], action, next_time_step.reward,
            next_time_step.step_type, next_time_step.discount
        ], [], stateful=True)

  def sample(self, batch_size: int,
             rng: tf.random.Generator) -> trajectory.Transition:
    """A uniform batch of valid transitions as a TF-Agents Transition."""
    seed = rng.uniform_full_int([], tf.int64)
    return self._transition(
        batch_size, self._host_batch(batch_size, self._sample,
                                     [batch_size, seed]))

  def _host_batch(self, batch_size: int, function, inputs,
                  leading_types=()) -> list:
    """The tensors of one host call, numpy's `function(*inputs)` -> (...
    [batch] arrays of `leading_types`, state, action, reward, next_state,
    terminal), their shapes set."""
    obs = self._observation_spec
    outputs = tf.numpy_function(
        function, inputs, list(leading_types) + [
            obs.dtype, self._action_spec.dtype, tf.float32, obs.dtype,
            tf.bool
        ], stateful=True)
    stack = [batch_size] + obs.shape.as_list()
    shapes = [[batch_size]] * len(leading_types) + [
        stack, [batch_size] + self._action_spec.shape.as_list(),
        [batch_size], stack, [batch_size]]
    for output, shape in zip(outputs, shapes):
      output.set_shape(shape)
    return outputs

  def _transition(self, batch_size: int, arrays) -> trajectory.Transition:
    """The Transition of (state, action, reward, next_state, terminal)."""
    state, action, reward, next_state, terminal = arrays
    time_step = ts.TimeStep(
        step_type=tf.fill([batch_size], ts.StepType.MID),
        reward=tf.zeros([batch_size]),
        discount=tf.ones([batch_size]),
        observation=state)
    next_time_step = ts.TimeStep(
        step_type=tf.where(terminal, ts.StepType.LAST, ts.StepType.MID),
        reward=reward,
        discount=self._bootstrap_discount *
        (1.0 - tf.cast(terminal, tf.float32)),
        observation=next_state)
    return trajectory.Transition(
        time_step=time_step,
        action_step=policy_step.PolicyStep(action=action, state=(), info=()),
        next_time_step=next_time_step)

  # -------------------------------------------------------------- numpy --

  def _add_all(self, frames, actions, rewards, step_types, discounts) -> None:
    """Adds env i's transition to env i's memory, for every env."""
    for env in range(self.num_envs):
      self._add(frames[env], actions[env], rewards[env], step_types[env],
                discounts[env], env=env)

  def _add(self, frame, action, reward, step_type, discount,
           env: int = 0) -> None:
    last = step_type == ts.StepType.LAST
    self.buffers[env].add(frame, action, reward,
                          np.uint8(last and discount == 0),
                          episode_end=bool(last))

  def _ranges(self) -> np.ndarray:
    """[num_envs, 2]: each env's Dopamine draw range [low, high), unwrapped."""
    ranges = []
    for buffer in self.buffers:
      cursor = buffer.cursor()
      if buffer.is_full():
        low = cursor - self.env_capacity + self.stack_size - 1
      else:
        low = self.stack_size - 1
      ranges.append((low, max(low, cursor - 1)))
    return np.array(ranges, np.int64)

  def valid(self, indices) -> np.ndarray:
    """[batch] whether each index holds a transition that may be sampled
    (`_FrameMemory.valid` in its env's memory)."""
    indices = np.asarray(indices, np.int64)
    envs, local = np.divmod(indices, self.env_capacity)
    valid = np.zeros(indices.shape, bool)
    for env, buffer in enumerate(self.buffers):
      mine = envs == env
      valid[mine] = buffer.valid(local[mine])
    return valid

  def _sample_indices(self, batch_size: int,
                      generator: np.random.Generator) -> np.ndarray:
    # Dopamine's own sampler draws from numpy's global generator; drawing
    # from the run's generator keeps a resumed run on the same batches.
    ranges = self._ranges()
    sizes = ranges[:, 1] - ranges[:, 0]
    if not sizes.sum():
      raise RuntimeError('FrameReplay.sample: the memory holds no complete '
                         'transition yet')
    # The envs' ranges laid end to end; with one env a draw in [0, size)
    # plus low is numpy's draw in [low, high).
    ends = np.cumsum(sizes)
    # As many draws as are missing, each round: the indices one draw at a
    # time would give, in their order.
    indices, misses = np.zeros([0], np.int64), 0
    while len(indices) < batch_size:
      position = generator.integers(0, ends[-1],
                                    size=batch_size - len(indices))
      envs = np.searchsorted(ends, position, side='right')
      local = (ranges[envs, 0] + position - (ends[envs] - sizes[envs])
               ) % self.env_capacity
      drawn = envs * self.env_capacity + local
      valid = self.valid(drawn)
      indices = np.concatenate([indices, drawn[valid]])
      misses += int(np.sum(~valid))
      if misses > self._max_sample_attempts:
        raise RuntimeError(
            f'FrameReplay.sample: {misses} invalid draws for a batch of '
            f'{batch_size}; the memory holds too few valid transitions')
    return indices

  def _sample(self, batch_size, seed):
    generator = np.random.default_rng(int(seed) & (2**63 - 1))
    return self._gather(self._sample_indices(int(batch_size), generator))

  def _gather(self, indices):
    """(state, action, reward, next_state, terminal) [batch] arrays of the
    transitions at `indices`, each from its env's memory."""
    indices = np.asarray(indices, np.int64)
    envs, local = np.divmod(indices, self.env_capacity)
    names = ('state', 'action', 'reward', 'next_state', 'terminal')
    gathered = None
    for env, buffer in enumerate(self.buffers):
      mine = envs == env
      if not mine.any():
        continue
      count = int(mine.sum())
      batch = dict(
          zip((e.name for e in buffer.get_transition_elements(count)),
              buffer.sample_transition_batch(count, local[mine])))
      if gathered is None:
        gathered = [np.empty((len(indices),) + batch[name].shape[1:],
                             batch[name].dtype) for name in names]
      for array, name in zip(gathered, names):
        array[mine] = batch[name]
    state, action, reward, next_state, terminal = gathered
    return state, action, reward, next_state, terminal.astype(bool)

  # -------------------------------------------------------------- files --

  def write_beside(self, checkpoint_path, report):
    added = sum(int(buffer.add_count) for buffer in self.buffers)
    report(f'Saving the replay memory ({added} frames added) '
           'beside the checkpoint...')
    self.save_files(_files_beside(checkpoint_path))

  def read_beside(self, checkpoint_path):
    """Raises ConfigError if the files are missing."""
    files = _files_beside(checkpoint_path)
    if not os.path.isdir(files):
      raise ConfigError(
          f'{checkpoint_path} has no replay memory beside it ({files} is '
          'missing); restore that directory or start the run in a new '
          '--root_dir')
    self.load_files(files)

  def keep_beside(self, checkpoint_paths):
    if not checkpoint_paths:
      return
    directory = os.path.dirname(checkpoint_paths[0])
    kept = {os.path.basename(_files_beside(path)) for path in checkpoint_paths}
    for name in os.listdir(directory):
      if name.startswith('replay-') and name not in kept:
        shutil.rmtree(os.path.join(directory, name))

  _STATE = ('add_count', 'invalid_range', 'episode_end_indices')

  def save_files(self, directory: str) -> None:
    """Writes the memory into `directory` (created or replaced; written
    atomically).

    One gzipped .npy per array, at gzip level 1: Dopamine's own `save`
    compresses at level 9, about 10 times slower (9 minutes for a full
    1M-frame memory here). Env 0's arrays are `<name>.npy.gz`, env i's
    `env<i>.<name>.npy.gz`.
    """
    partial = directory + '.partial'
    if os.path.exists(partial):
      shutil.rmtree(partial)
    os.makedirs(partial)
    for env, buffer in enumerate(self.buffers):
      arrays = dict(buffer._store)  # pylint: disable=protected-access
      arrays.update(
          add_count=np.asarray(buffer.add_count),
          invalid_range=np.asarray(buffer.invalid_range),
          episode_end_indices=np.array(sorted(buffer.episode_end_indices),
                                       np.int64))
      for name, array in arrays.items():
        with gzip.open(os.path.join(partial, _env_file(env, name)), 'wb',
                       compresslevel=1) as f:
          np.save(f, array, allow_pickle=False)
    # A checkpoint rewritten at the same env step replaces its files.
    replaced = directory + '.replaced'
    if os.path.exists(directory):
      os.replace(directory, replaced)
    os.replace(partial, directory)
    if os.path.exists(replaced):
      shutil.rmtree(replaced)

  def load_files(self, directory: str) -> None:
    """Reads a memory written by `save_files`.

    The episode in flight when it was saved is closed in every env: the
    loop starts new episodes on resume, so the last stored transition has
    no next frame.

    Raises:
      ConfigError: if a file is missing, or the memory was saved with more
        envs or another capacity than this one has.
    """
    extra = os.path.join(directory, _env_file(self.num_envs, 'add_count'))
    if os.path.isfile(extra):
      raise ConfigError(
          f'the replay memory in {directory} was saved by more than '
          f'Runner.num_envs={self.num_envs} envs ({extra} exists); resume '
          'with the num_envs it ran with')
    names = list(self.buffers[0]._store) + list(self._STATE)  # pylint: disable=protected-access
    paths = [{name: os.path.join(directory, _env_file(env, name))
              for name in names} for env in range(self.num_envs)]
    missing = [path for env_paths in paths for path in env_paths.values()
               if not os.path.isfile(path)]
    if missing:
      raise ConfigError(f'replay file {missing[0]} is missing; restore it or '
                        'start the run in a new --root_dir')
    # Every env's arrays are read and checked before any memory changes.
    loaded = []
    for env_paths in paths:
      arrays = {}
      for name, path in env_paths.items():
        with gzip.open(path, 'rb') as f:
          arrays[name] = np.load(f, allow_pickle=False)
      if len(arrays['observation']) != self.env_capacity:
        raise ConfigError(
            f'the replay memory in {directory} holds '
            f'{len(arrays["observation"])} frames per env, this one '
            f'{self.env_capacity}; resume with the OffPolicy.replay_capacity '
            'and Runner.num_envs it ran with')
      loaded.append(arrays)
    for buffer, arrays in zip(self.buffers, loaded):
      for name in buffer._store:  # pylint: disable=protected-access
        buffer._store[name] = arrays[name]  # pylint: disable=protected-access
      buffer.add_count = arrays['add_count']
      buffer.invalid_range = arrays['invalid_range']
      ends = set(arrays['episode_end_indices'].tolist())
      if buffer.add_count > 0:
        ends.add((buffer.cursor() - 1) % self.env_capacity)
        buffer._next_experience_is_episode_start = True  # pylint: disable=protected-access
      buffer.set_episode_ends(ends)


def _env_file(env: int, name: str) -> str:
  """The file of env `env`'s array `name` in a FrameReplay's directory (env
  0's names are those of one-env memories, which runs on disk hold)."""
  return f'{name}.npy.gz' if env == 0 else f'env{env}.{name}.npy.gz'


@gin.configurable
class PrioritizedFrameReplay(FrameReplay):
  """FrameReplay sampled in proportion to priorities, as PrioritizedReplay.

  The sum tree has a leaf per stored frame: Dopamine's padding frames enter
  at 0, each transition at the largest priority ever set. Draws that land on
  a start that cannot be sampled (its stack or n-step window reaches an
  episode's end or the cursor) are drawn again from the whole tree,
  unstratified, as Dopamine's prioritized memory does. The tree is a TF
  variable, so the run's checkpoint holds it beside the frames' files.
  """

  prioritized = True

  @staticmethod
  def nbytes(time_step_spec, action_spec, capacity: int) -> int:
    """The bytes a full memory of `capacity` frames takes."""
    return (FrameReplay.nbytes(time_step_spec, action_spec, capacity) +
            priorities.SumTree.nbytes(capacity))

  def __init__(self, time_step_spec, action_spec, capacity: int,
               update_horizon: int = 1, gamma: float = 0.99,
               num_envs: int = 1,
               max_sample_attempts: int = 1000,
               priority_exponent: float = 0.5,
               importance_exponent: float = 0.5,
               priority_epsilon: float = 1e-10):
    """Allocates the memory and its sum tree.

    Args:
      time_step_spec: the environment's time step spec; observations are
        [..., stack] frame stacks.
      action_spec: a scalar action spec.
      capacity: transitions (frames) held.
      update_horizon: transitions summed into each sampled return.
      gamma: their discount.
      num_envs: envs collecting, each with a memory of `capacity /
        num_envs` frames (a leaf each).
      max_sample_attempts: redraws tolerated per batch before sampling
        gives up.
      priority_exponent: alpha (Dopamine's square root: 0.5).
      importance_exponent: beta (Dopamine's 0.5).
      priority_epsilon: added to each loss (Dopamine's 1e-10).

    Raises:
      ConfigError: for an observation without a stack axis, a capacity that
        is not a multiple of `num_envs`, or exponents or an epsilon that are
        not positive numbers.
    """
    super().__init__(time_step_spec, action_spec, capacity,
                     update_horizon=update_horizon, gamma=gamma,
                     num_envs=num_envs,
                     max_sample_attempts=max_sample_attempts)
    self.sampler = priorities.Priorities(
        capacity, priority_exponent=priority_exponent,
        importance_exponent=importance_exponent,
        priority_epsilon=priority_epsilon, owner='PrioritizedFrameReplay')

  def add(self, time_step, action, next_time_step) -> None:
    """Stores one transition of each env (as FrameReplay) and enters its
    leaves: padding frames at 0, each transition at the max."""
    written, transition = tf.numpy_function(
        self._add_where, [
            time_step.observation[..., -1], action, next_time_step.reward,
            next_time_step.step_type, next_time_step.discount
        ], [tf.int64, tf.bool], stateful=True)
    self.sampler.tree.set(
        written,
        tf.where(transition, self.sampler.tree.max_priority,
                 tf.constant(0.0, tf.float64)))

  def _add_where(self, frames, actions, rewards, step_types, discounts):
    """Adds each env's transition, and says where: ([written] indices,
    [written] whether each is a transition rather than padding)."""
    written, transition = [], []
    for env, buffer in enumerate(self.buffers):
      before = int(buffer.add_count)  # An array Dopamine adds to in place.
      first = int(buffer.cursor())
      self._add(frames[env], actions[env], rewards[env], step_types[env],
                discounts[env], env=env)
      count = int(buffer.add_count) - before
      written.append(env * self.env_capacity +
                     (first + np.arange(count)) % self.env_capacity)
      transition.append(np.arange(count) == count - 1)
    return np.concatenate(written), np.concatenate(transition)

  def training_batch(self, batch_size: int,
                     rng: tf.random.Generator) -> Batch:
    """In graph: valid starts drawn in proportion to their priorities, with
    their importance weights."""
    tree = self.sampler.tree
    indices = tree.stratified_sample(batch_size, rng)
    # One host call checks and gathers the batch; another only for redraws.
    valid, arrays = self._checked_batch(batch_size, indices)
    attempts = tf.constant(0, tf.int64)
    while not tf.reduce_all(valid):
      missing = tf.reduce_sum(tf.cast(~valid, tf.int64))
      attempts += missing
      tf.debugging.assert_less_equal(
          attempts, tf.constant(self._max_sample_attempts, tf.int64),
          'PrioritizedFrameReplay: too many invalid draws for a batch; the '
          'memory holds too few valid transitions')
      redrawn = tree.find(rng.uniform([batch_size], dtype=tf.float64) *
                          tree.total)
      indices = tf.where(valid, indices, redrawn)
      valid, arrays = self._checked_batch(batch_size, indices)
    experience = self._transition(batch_size, arrays)
    return Batch(experience, self.sampler.weights(indices), indices)

  def _checked_batch(self, batch_size: int, indices: tf.Tensor):
    """[batch] valid and (state, action, reward, next_state, terminal) at
    `indices`; the examples of invalid ones are not transitions."""
    valid, *arrays = self._host_batch(
        batch_size,
        lambda batch: (self.valid(batch),) + self._gather(batch),
        [indices], [tf.bool])
    return valid, tuple(arrays)

  def update_priorities(self, indices: tf.Tensor, losses: tf.Tensor) -> None:
    """Sets the priorities of the starts at `indices` from their [batch]
    unweighted losses."""
    self.sampler.update(indices, losses)
