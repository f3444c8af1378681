"""Where each train step's batch comes from: replay (off-policy) or the
latest rollout (on-policy).

The run loop counts in train steps and asks the strategy how env steps and
train steps relate, so evaluations, checkpoints and mask updates land on the
same boundaries for DQN, SAC and PPO. Inside the loop's compiled function a
strategy is handed `collect(time_step, n)`, which steps the environment n
times with the agent's collect policy and `add`s every transition here.
"""
import fractions
import math
from typing import Callable, Optional, Tuple

import gin
import tensorflow as tf

from rigl_rl import checks
from rigl_rl.errors import ConfigError
from rigl_rl.training import replay as replay_lib

# (time_step, iterations) -> time_step after collecting `iterations` steps of
# every env.
CollectFn = Callable[[object, int], object]


@gin.configurable
class OffPolicy:
  """A replay memory sampled at `replay_ratio` train steps per env step.

  Training starts after `initial_collect_steps` env steps of uniform random
  actions. Train step k (k = 1, 2, ...) comes once ceil(k / replay_ratio)
  env steps follow the initial collect, so the counts are exact over a run
  and a resume (they follow from the checkpointed train step).

  With N envs collecting (`Runner.num_envs`) env steps come N at a time:
  train step k comes after the fewest collect iterations of N that reach
  ceil(k / replay_ratio), so several train steps may follow one iteration
  (at ratio 1 and N = 8, train steps 1-8 all follow env step 8), and a run
  takes the same train steps as with one env.
  """

  def __init__(self,
               initial_collect_steps: int = 1000,
               replay_ratio: float = 1.0,
               batch_size: int = 128,
               replay_capacity: int = 100_000,
               replay=replay_lib.UniformReplay,
               update_horizon: int = 1,
               reward_clip: Optional[float] = None):
    """Checks and stores the configuration.

    Args:
      initial_collect_steps: env steps of uniform random actions before
        training starts.
      replay_ratio: train steps (gradient steps) per env step once
        training starts: 0.25 trains every 4 env steps (Dopamine's
        update_period 4), 2 twice after each env step. It is read as the
        nearest fraction with a denominator up to 10^6.
      batch_size: transitions per train step.
      replay_capacity: transitions the replay memory holds.
      replay: the memory's class, called with (time_step_spec, action_spec,
        capacity): `@UniformReplay` stores whole transitions in TF
        variables, `@PrioritizedReplay` samples them by priority,
        `@FrameReplay` stores one frame per step (Atari), and
        `@PrioritizedFrameReplay` samples those by priority.
      update_horizon: n of n-step returns (Dopamine's update_horizon): each
        sampled transition sums up to n rewards, discounted by the agent's
        gamma, stopping at an episode's end, and bootstraps gamma^n later.
      reward_clip: stored rewards are clipped to [-reward_clip,
        reward_clip] (Atari's 1.0); returns are reported unclipped. None
        stores them as they are.

    Raises:
      ConfigError: for a replay_ratio or reward_clip that is not a positive
        number, a batch_size, capacity or update_horizon that is not a
        positive integer, a negative or fractional initial_collect_steps, or
        one shorter than update_horizon.
    """
    checks.positive_numbers('OffPolicy', replay_ratio=replay_ratio)
    checks.ints('OffPolicy', batch_size=batch_size,
                replay_capacity=replay_capacity,
                update_horizon=update_horizon)
    checks.ints('OffPolicy', minimum=0,
                initial_collect_steps=initial_collect_steps)
    if initial_collect_steps < update_horizon:
      raise ConfigError(
          f'OffPolicy.initial_collect_steps={initial_collect_steps} is fewer '
          f'than update_horizon={update_horizon}: the first batch would have '
          'no complete n-step transition; collect at least n steps first')
    if reward_clip is not None:
      checks.positive_numbers('OffPolicy', reward_clip=reward_clip)
    self.initial_collect_steps = initial_collect_steps
    self.replay_ratio = fractions.Fraction(replay_ratio).limit_denominator(
        10**6)
    self.batch_size = batch_size
    self.replay_capacity = replay_capacity
    self._replay = replay
    self.update_horizon = update_horizon
    self.reward_clip = reward_clip
    self.memory = None
    self.num_envs = 1

  def build(self, time_step_spec, action_spec, bundle,
            num_envs: int = 1) -> None:
    """Creates the replay memory (before a checkpoint restores it).

    Args:
      time_step_spec: one env's time step spec.
      action_spec: one env's action spec.
      bundle: the agent's `AgentBundle`.
      num_envs: envs collecting, each `add` one transition of each.

    Raises:
      ConfigError: for an agent that can only learn on-policy, a memory
        larger than the memory available, or one that takes a single env.
    """
    if bundle.prepare_rollout is not None:
      raise ConfigError(f'{bundle.algorithm} learns on-policy; set '
                        'Runner.experience = @OnPolicy()')
    replay_lib.check_fits(
        f'a replay of {self.replay_capacity} transitions',
        self._replay.nbytes(time_step_spec, action_spec,
                            self.replay_capacity),
        'OffPolicy.replay_capacity')
    self.num_envs = num_envs
    self.memory = self._replay(time_step_spec, action_spec,
                               self.replay_capacity,
                               update_horizon=self.update_horizon,
                               gamma=bundle.gamma, num_envs=num_envs)
    if self.memory.prioritized and bundle.example_losses is None:
      raise ConfigError(
          f'{bundle.algorithm} does not report per-example losses, which '
          f'prioritized replay sets its priorities from; use '
          'OffPolicy.replay = @UniformReplay')
    self._example_losses = bundle.example_losses
    self._train_step = bundle.agent.train_step_counter

  def total_train_steps(self, num_env_steps: int) -> int:
    """Train steps in a run of `num_env_steps`.

    Raises:
      ConfigError: if the run leaves no training.
    """
    steps = math.floor(
        (num_env_steps - self.initial_collect_steps) * self.replay_ratio)
    if steps < 1:
      raise ConfigError(
          f'num_env_steps={num_env_steps} leaves no training after '
          f'OffPolicy.initial_collect_steps={self.initial_collect_steps}; '
          'raise NUM_ENV_STEPS')
    return steps

  def env_steps_after(self, train_steps):
    """Env steps after the initial collect once `train_steps` are done:
    ceil(train_steps / replay_ratio), for ints or integer tensors."""
    ratio = self.replay_ratio
    return (train_steps * ratio.denominator + ratio.numerator - 1
            ) // ratio.numerator

  def iterations_after(self, train_steps):
    """Collect iterations (of `num_envs` env steps) after the initial
    collect once `train_steps` are done: the fewest whose env steps reach
    `env_steps_after(train_steps)`."""
    return (self.env_steps_after(train_steps) + self.num_envs - 1
            ) // self.num_envs

  def train_steps_until(self, env_steps: int) -> int:
    """The fewest train steps after which `env_steps` env steps are done."""
    after_collect = env_steps - self.initial_collect_steps
    if after_collect <= 0:
      return 0
    # The least k with iterations_after(k) >= m, the iterations that reach
    # after_collect: ceil(k / ratio) > N (m - 1), so k > N (m - 1) ratio.
    iterations = -(-after_collect // self.num_envs)
    return math.floor(
        self.num_envs * (iterations - 1) * self.replay_ratio) + 1

  def add(self, time_step, action, next_time_step) -> None:
    """Stores one transition of each env (batch-`num_envs` tensors)."""
    if self.reward_clip is not None:
      next_time_step = next_time_step._replace(reward=tf.clip_by_value(
          next_time_step.reward, -self.reward_clip, self.reward_clip))
    self.memory.add(time_step, action, next_time_step)

  def batch(self, collect: CollectFn, time_step,
            rng: tf.random.Generator) -> Tuple[object, replay_lib.Batch]:
    """In graph: collects the env steps the next train step follows (in
    iterations of `num_envs`, none when the last iteration reached them),
    then samples its batch (with importance weights from a prioritized
    memory)."""
    ratio = self.replay_ratio
    if ratio.numerator == 1 and ratio.denominator % self.num_envs == 0:
      # The same count before every train step.
      iterations = ratio.denominator // self.num_envs
    else:
      done = tf.cast(self._train_step, tf.int64)
      iterations = self.iterations_after(done + 1) - self.iterations_after(
          done)
    time_step = collect(time_step, iterations)
    return time_step, self.memory.training_batch(self.batch_size, rng)

  def learned(self, batch: replay_lib.Batch, loss_info) -> None:
    """In graph, after the train step on `batch`: a prioritized memory sets
    the priorities of its examples from their losses in that step.

    This happens here, inside each compiled train step, not in a hook:
    hooks act only between chunks of train steps.
    """
    if self.memory.prioritized:
      self.memory.update_priorities(batch.indices,
                                    self._example_losses(loss_info))

  def sample(self, batch_size: int, rng: tf.random.Generator):
    """A uniform batch of replay (diagnostics' probe)."""
    return self.memory.sample(batch_size, rng)


@gin.configurable
class OnPolicy:
  """Rollouts: `rollout_length` env steps with the current policy, then
  `epochs` passes over them in shuffled minibatches, one per train step.

  The agent's `prepare_rollout` turns the rollout into its training batch
  once (for PPO: action-distribution parameters, values, advantages and
  returns) before the first minibatch.

  With N envs collecting (`Runner.num_envs`) a rollout is rollout_length / N
  steps of each env, stored interleaved (env n's step t at t * N + n); the
  agent's advantages run along each env's own steps.
  """

  initial_collect_steps = 0

  def __init__(self,
               rollout_length: int = 2048,
               epochs: int = 10,
               minibatch_size: int = 64):
    """Checks and stores the configuration.

    Args:
      rollout_length: env steps collected per rollout.
      epochs: passes over each rollout.
      minibatch_size: transitions per train step; a remainder of the rollout
        smaller than this is left out of each (shuffled) epoch.

    Raises:
      ConfigError: for values that are not positive integers, or a
        minibatch longer than the rollout.
    """
    checks.ints('OnPolicy', rollout_length=rollout_length, epochs=epochs,
                minibatch_size=minibatch_size)
    if minibatch_size > rollout_length:
      raise ConfigError(
          f'OnPolicy.minibatch_size={minibatch_size} exceeds '
          f'OnPolicy.rollout_length={rollout_length}; lower it')
    self.rollout_length = rollout_length
    self.epochs = epochs
    self.batch_size = minibatch_size
    self.minibatches = rollout_length // minibatch_size
    self.cycle = epochs * self.minibatches  # Train steps per rollout.
    self.memory = None
    self.num_envs = 1

  def build(self, time_step_spec, action_spec, bundle,
            num_envs: int = 1) -> None:
    """Creates the rollout and its prepared copy (checkpointed, so a run
    stopped mid-epoch resumes on the same rollout and minibatch order).

    Args:
      time_step_spec: the env's time step spec.
      action_spec: its action spec.
      bundle: the agent's `AgentBundle`.
      num_envs: envs collecting, each rollout_length / num_envs steps of
        each rollout.

    Raises:
      ConfigError: for an agent without `prepare_rollout`, a rollout length
        that is not a multiple of num_envs, or a rollout larger than the
        memory available.
    """
    if self.rollout_length % num_envs:
      raise ConfigError(
          f'OnPolicy.rollout_length={self.rollout_length} does not split '
          f'equally between Runner.num_envs={num_envs} envs; make it a '
          'multiple of num_envs')
    if bundle.prepare_rollout is None:
      raise ConfigError(f'{bundle.algorithm} learns off-policy from replay; '
                        'set Runner.experience = @OffPolicy()')
    replay_lib.check_fits(
        f'a rollout of {self.rollout_length} steps',
        replay_lib.UniformReplay.nbytes(time_step_spec, action_spec,
                                        self.rollout_length),
        'OnPolicy.rollout_length')
    self._prepare = lambda rollout: bundle.prepare_rollout(rollout, num_envs)
    self.num_envs = num_envs
    self.memory = replay_lib.Memory(name='rollout')
    self.memory.raw = replay_lib.UniformReplay(
        time_step_spec, action_spec, self.rollout_length, num_envs=num_envs)
    everything = tf.range(self.rollout_length, dtype=tf.int64)
    self._structure = tf.function(
        lambda: self._prepare(self.memory.raw.gather(everything))
    ).get_concrete_function().structured_outputs
    self.memory.prepared = [
        tf.Variable(tf.zeros(t.shape, t.dtype), trainable=False)
        for t in tf.nest.flatten(self._structure)
    ]
    self.memory.order = tf.Variable(everything, name='order')
    # Train steps taken on the current rollout, modulo `cycle`.
    self.memory.position = tf.Variable(0, dtype=tf.int64, name='position')

  def total_train_steps(self, num_env_steps: int) -> int:
    """Train steps in a run of `num_env_steps` (whole rollouts only).

    Raises:
      ConfigError: if the run is shorter than one rollout.
    """
    if num_env_steps < self.rollout_length:
      raise ConfigError(
          f'num_env_steps={num_env_steps} is shorter than one rollout '
          f'(OnPolicy.rollout_length={self.rollout_length}); raise '
          'NUM_ENV_STEPS')
    return (num_env_steps // self.rollout_length) * self.cycle

  def train_steps_until(self, env_steps: int) -> int:
    """The fewest train steps after which `env_steps` env steps are done.

    Each rollout is collected just before the first train step on it.
    """
    rollouts = math.ceil(env_steps / self.rollout_length)
    return 0 if rollouts <= 0 else (rollouts - 1) * self.cycle + 1

  def add(self, time_step, action, next_time_step) -> None:
    self.memory.raw.add(time_step, action, next_time_step)

  def _prepared(self, index: tf.Tensor):
    return tf.nest.pack_sequence_as(
        self._structure,
        [tf.gather(v, index) for v in self.memory.prepared])

  def prepared_rollout(self):
    """The current rollout as the agent prepared it, in collection order."""
    return self._prepared(tf.range(self.rollout_length, dtype=tf.int64))

  def batch(self, collect: CollectFn, time_step,
            rng: tf.random.Generator) -> Tuple[object, object]:
    """In graph: a new rollout when the last is used up, then a minibatch."""
    memory = self.memory
    position = memory.position.read_value()
    if position == 0:
      memory.raw.num_added.assign(0)
      time_step = collect(time_step, self.rollout_length // self.num_envs)
      everything = tf.range(self.rollout_length, dtype=tf.int64)
      prepared = self._prepare(memory.raw.gather(everything))
      for variable, value in zip(memory.prepared, tf.nest.flatten(prepared)):
        variable.assign(value)
    within = position % self.minibatches
    if within == 0:  # A new epoch: a new order.
      memory.order.assign(tf.cast(
          tf.argsort(rng.uniform([self.rollout_length])), tf.int64))
    index = tf.gather(memory.order, within * self.batch_size +
                      tf.range(self.batch_size, dtype=tf.int64))
    memory.position.assign((position + 1) % self.cycle)
    return time_step, replay_lib.Batch(self._prepared(index))

  def learned(self, batch: replay_lib.Batch, loss_info) -> None:
    """Nothing: a rollout has no priorities."""
    del batch, loss_info

  def sample(self, batch_size: int, rng: tf.random.Generator):
    """A uniform batch of the prepared rollout (diagnostics' probe)."""
    return self._prepared(
        rng.uniform([batch_size], 0, self.rollout_length, dtype=tf.int64))
