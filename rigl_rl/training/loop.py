"""The run loop every agent trains through.

Collecting and training run in one compiled function for many iterations per
call, because each Python->TF call costs about as much as a small network's
train step. Everything else is a hook (`training/hooks.py`): the loop runs to
the nearest point where a hook acts, lets the hooks due there act, and knows
none of them by name. Mask updates happen inside the train step, in the
sparse optimizer (`sparsity/optimizer.py`).
"""
import math
import os
import re
import signal
import sys
from typing import Callable, List, Optional, Sequence, Tuple

import gin
import numpy as np
import tensorflow as tf
import tf_keras

from rigl_rl import checks
from rigl_rl.agents import base
from rigl_rl.envs import factory
from rigl_rl.envs import mujoco_log
from rigl_rl.errors import ConfigError
from rigl_rl.training import checkpoints as checkpoints_lib
from rigl_rl.training import devices
from rigl_rl.training import hooks as hooks_lib
from rigl_rl.training import run_dir


def evaluate_episodes(env, eval_action, episodes, rng: tf.random.Generator,
                      min_steps=0):
  """In graph: returns of whole episodes of a policy.

  Episodes run until at least `episodes` of them and `min_steps` env steps
  are done; the last one always runs to its end, as in Dopamine's
  `Runner._run_one_phase`.

  Args:
    env: an `InGraphEnvironment`; it is reset before each episode.
    eval_action: (time_step, rng) -> batch-1 action.
    episodes: a scalar int tensor, the fewest episodes.
    rng: the generator the policy draws from.
    min_steps: a scalar int tensor, the fewest env steps.

  Returns:
    A float32 tensor of the undiscounted returns, one per episode.
  """
  returns = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
  done = tf.constant(0)
  steps = tf.constant(0)
  while done < episodes or steps < min_steps:
    time_step = env.reset()
    episode_return = tf.constant(0.0)
    ended = tf.constant(False)
    while not ended:
      action = eval_action(time_step, rng)
      with tf.control_dependencies(tf.nest.flatten(time_step)):
        time_step = env.step(action)
      steps += 1
      episode_return += time_step.reward[0]
      ended = time_step.is_last()[0]
    returns = returns.write(done, episode_return)
    done += 1
  return returns.stack()


def chunk_length(run, hooks: Sequence[hooks_lib.Hook]) -> int:
  """Iterations to the nearest next point of any hook, at most a chunk."""
  bounds = [hook.next_in(run) for hook in hooks]
  return min([bound for bound in bounds if bound is not None] +
             [run.max_chunk, run.iterations_to_phase_end()])


def train(run, hooks: Sequence[hooks_lib.Hook]) -> str:
  """Advances `run` to its end, letting each hook act when it is due; each
  chunk ends at the nearest next point of any hook.

  Returns:
    'finished', or 'interrupted' when `run.interrupted` became true.
  """
  for hook in hooks:
    hook.start(run)
  while True:
    for hook in hooks:
      if hook.due(run):
        hook.act(run)
    if run.done:
      break
    if run.interrupted:
      return 'interrupted'
    run.advance(chunk_length(run, hooks))
  for hook in hooks:
    hook.finish(run)
  return 'finished'


# root_dir and verbose say where and how loudly, not what: out of the config.
@gin.configurable(denylist=['root_dir', 'verbose'])
class Runner:
  """Builds a run from gin and trains it, resuming from its checkpoints."""

  def __init__(self,
               root_dir: str,
               env_name: factory.Spec = gin.REQUIRED,
               agent_fn: Callable[..., base.AgentBundle] = gin.REQUIRED,
               num_env_steps: int = gin.REQUIRED,
               eval_interval: int = gin.REQUIRED,
               eval_episodes: int = gin.REQUIRED,
               eval_min_steps: int = 0,
               checkpoint_interval: int = gin.REQUIRED,
               experience=gin.REQUIRED,
               num_envs: int = 1,
               seed: int = 0,
               log_interval: int = 1000,
               max_checkpoints: int = 3,
               max_chunk: int = 1000,
               diagnostics: Optional[hooks_lib.Hook] = None,
               plasticity_baselines: Sequence[hooks_lib.Hook] = (),
               extra_hooks: Sequence[hooks_lib.Hook] = (),
               strategy: Optional[tf.distribute.Strategy] = None,
               verbose: bool = True):
    """Builds environments, agent, experience, hooks and checkpointing.

    Args:
      root_dir: the run directory.
      env_name: an environment spec for `factory.make_py_environment`: a
        name such as 'CartPole-v1' or 'atari:Pong', or a configured game
        such as `@atari()`.
      agent_fn: (time_step_spec, action_spec, seed=...) -> AgentBundle.
      num_env_steps: length of the run in environment steps.
      eval_interval: env steps between evaluations.
      eval_episodes: the fewest whole episodes per evaluation.
      eval_min_steps: the fewest env steps per evaluation: whole episodes
        run until both counts are reached (Dopamine's `evaluation_steps`).
      checkpoint_interval: env steps between checkpoints.
      experience: where train batches come from, `@OffPolicy()` (replay)
        or `@OnPolicy()` (rollouts).
      num_envs: training envs collecting together, each loop iteration one
        step of every one (`envs/vector.py`), their transitions added env
        0 first. Env steps count all of them: epsilon schedules, intervals
        and replay ratios are per env step, as with one env; the env-step
        counts above and the initial collect must be multiples of it.
        Evaluation stays on one env.
      seed: seeds TensorFlow, masks, environments and the run's generator.
      log_interval: env steps between progress lines and train summaries.
      max_checkpoints: checkpoints kept on disk; older ones are deleted.
      max_chunk: most iterations per compiled call (bounds Ctrl-C latency).
      diagnostics: a hook computing what happens inside the networks, such
        as `@Diagnostics()`; None computes nothing.
      plasticity_baselines: hooks such as `@Reset()` or `@ReDo()` that
        change every trained network on their schedule.
      extra_hooks: any further hooks (`training/hooks.py`); they act after
        the ones above and before progress, evaluation and checkpointing.
      strategy: where the agent trains (`training/devices.py`):
        `@OneDevice()`, `@Mirrored()` or `@TPU()`, each refusing a device
        this machine does not have. The agent is built under
        its scope and each train step runs through it, every replica on an
        equal share of the batch; environments and replay stay on the host.
        None: TensorFlow's own placement (`@DefaultDevice()`).
      verbose: print progress lines.

    Raises:
      ConfigError: for an empty root_dir, counts that are not positive
        integers, a negative seed, run lengths that leave no training,
        env-step counts that are not multiples of num_envs, or a batch that
        does not split evenly over the strategy's replicas.
    """
    if not root_dir:  # os.path.join('', ...) would write into the cwd.
      raise ConfigError('the run directory is empty; pass --root_dir=DIR')
    checks.ints('Runner', num_env_steps=num_env_steps,
                eval_interval=eval_interval, eval_episodes=eval_episodes,
                checkpoint_interval=checkpoint_interval,
                log_interval=log_interval, max_chunk=max_chunk,
                max_checkpoints=max_checkpoints, num_envs=num_envs)
    checks.ints('Runner', minimum=0, seed=seed, eval_min_steps=eval_min_steps)
    self.strategy = (devices.default_device() if strategy is None else
                     strategy)
    replicas = self.strategy.num_replicas_in_sync
    if experience.batch_size % replicas:
      raise ConfigError(
          f'a batch of {experience.batch_size} does not split over the '
          f'{replicas} replicas of Runner.strategy; make the batch size '
          f'(OffPolicy.batch_size or OnPolicy.minibatch_size) a multiple of '
          f'{replicas}')
    self.experience = experience
    self.total_train_steps = experience.total_train_steps(num_env_steps)
    self.root_dir = root_dir
    self.env_name = factory.spec_name(env_name)
    self.num_env_steps = num_env_steps
    self.max_chunk = max_chunk
    self.num_envs = num_envs
    self.seed = seed
    self.diagnostics = diagnostics
    self.plasticity_baselines = list(plasticity_baselines)
    self.verbose = verbose

    # TF, NumPy and Python's generator: tf_keras initialisers without a
    # seed draw theirs from Python's.
    tf_keras.utils.set_random_seed(seed)
    self.env = factory.make_vector_environment(env_name, seed, num_envs)
    self.eval_env = factory.make_environment(env_name, seed + 1)
    with self.strategy.scope():
      self.bundle = agent_fn(
          self.env.time_step_spec(), self.env.action_spec(), seed=seed)
    for network in self.bundle.sparse:
      network.updater.bind(self.total_train_steps)
    experience.build(self.env.time_step_spec(), self.env.action_spec(),
                     self.bundle, num_envs)
    self.rng = tf.random.Generator.from_seed(seed)
    self.env_steps = tf.Variable(0, dtype=tf.int64, name='env_steps')
    # Each env's episode in flight; not checkpointed, since a resumed run
    # starts new episodes.
    self._episode_return = tf.Variable(tf.zeros([num_envs]),
                                       name='episode_return')
    # Running totals over the whole run; each hook that reports training
    # returns keeps its own mark of where it last read them.
    self._returns_total = tf.Variable(0.0, dtype=tf.float64,
                                      name='returns_total')
    self._episodes_total = tf.Variable(0, dtype=tf.int64,
                                       name='episodes_total')
    evaluation = hooks_lib.Evaluation(eval_interval, eval_episodes,
                                      eval_min_steps)
    # Checkpointing last: a checkpoint holds what the others did there.
    self.hooks: List[hooks_lib.Hook] = [
        hooks_lib.MaskChanges(), hooks_lib.FlopCounter(log_interval),
        *self.plasticity_baselines,
        *([diagnostics] if diagnostics is not None else []),
        *extra_hooks,
        hooks_lib.Progress(log_interval, evaluation),
        hooks_lib.TrainingReturns(eval_interval),
        evaluation,
        hooks_lib.Checkpointing(checkpoint_interval),
    ]
    self._check_multiples_of_num_envs({
        'Runner.num_env_steps': num_env_steps,
        'Runner.eval_interval': eval_interval,
        'Runner.checkpoint_interval': checkpoint_interval,
        'Runner.log_interval': log_interval,
        'OffPolicy.initial_collect_steps': experience.initial_collect_steps,
    })
    hook_state = {}
    for hook in self.hooks:
      state = hook.bind(self)
      taken = sorted(set(state) & set(hook_state))
      if taken:
        raise ValueError(f'{type(hook).__name__} checkpoints under names '
                         f'another hook took: {taken}')
      hook_state.update(state)
    self.checkpoint = tf.train.Checkpoint(
        agent=self.bundle.agent,
        replay=experience.memory,
        rng=self.rng,
        env_steps=self.env_steps,
        returns_total=self._returns_total,
        episodes_total=self._episodes_total,
        sparse={network.name: network.state for network in self.bundle.sparse},
        **hook_state)
    self.checkpoints = checkpoints_lib.CheckpointStore(
        os.path.join(root_dir, 'checkpoints'), self.checkpoint,
        experience.memory, max_checkpoints, self.print)
    self.last_losses = {}
    self.last_batch = None
    self.train_writer = self.eval_writer = None
    # The signal (SIGINT or SIGTERM) that asked the run to stop, if any.
    self.interrupted: Optional[int] = None
    self.already_finished = False
    # (env step, train step) of the newest checkpoint on disk.
    self._saved: Optional[Tuple[int, int]] = None
    self._prepared = False
    self._resumed = False

  def _check_multiples_of_num_envs(self, settings) -> None:
    """Raises ConfigError unless every env-step count the run stops at (the
    `settings`, by gin name, and the hooks' intervals) is a multiple of
    num_envs, which collect iterations advance by."""
    counts = list(settings.items()) + [
        (f'the interval of {type(hook).__name__}', hook.interval)
        for hook in self.hooks if isinstance(hook, hooks_lib.EnvStepHook)]
    for name, count in counts:
      if count % self.num_envs:
        raise ConfigError(
            f'{name} ({count}) is not a multiple of Runner.num_envs='
            f'{self.num_envs}, whose envs step together; make it one')

  # ------------------------------------------------------------ position --

  @property
  def train_step(self) -> int:
    return int(self.bundle.agent.train_step_counter.numpy())

  @property
  def env_step(self) -> int:
    return int(self.env_steps.numpy())

  @property
  def collecting(self) -> bool:
    """Whether the initial collect (uniform random actions) is running."""
    return self.env_step < self.experience.initial_collect_steps

  @property
  def done(self) -> bool:
    return self.train_step >= self.total_train_steps

  def iterations_to_env_step(self, env_step: int) -> int:
    """Loop iterations until `env_step` env steps are done (0 if they are)."""
    if self.collecting:
      return max(0, -(-(env_step - self.env_step) // self.num_envs))
    return max(0, self.experience.train_steps_until(env_step) -
               self.train_step)

  def iterations_to_phase_end(self) -> int:
    """Iterations to the end of the initial collect, or of the run."""
    if self.collecting:
      return (self.experience.initial_collect_steps -
              self.env_step) // self.num_envs
    return self.total_train_steps - self.train_step


  # ---------------------------------------------------------------- graph --

  def _collect_step(self, time_step, action):
    # Orders the env's py_func ops: an action need not read the time step.
    with tf.control_dependencies(tf.nest.flatten(time_step)):
      # Ended envs restart inside the step, so every iteration is one real
      # step of every env.
      next_time_step, following = self.env.step(action)
    self.experience.add(time_step, action, next_time_step)
    ended = next_time_step.is_last()
    episode_return = self._episode_return + next_time_step.reward
    self._returns_total.assign_add(tf.reduce_sum(
        tf.cast(tf.where(ended, episode_return, 0.0), tf.float64)))
    self._episodes_total.assign_add(
        tf.reduce_sum(tf.cast(ended, tf.int64)))
    self._episode_return.assign(tf.where(ended, 0.0, episode_return))
    self.env_steps.assign_add(self.num_envs)
    return following

  def _collect(self, time_step, steps, act):
    """In graph: `steps` iterations of `act(time_step)` into experience,
    each one env step of every env.

    Args:
      time_step: the current batch-`num_envs` time step.
      steps: a Python int, or a scalar tensor.
      act: time_step -> batch-`num_envs` actions.

    Returns:
      The time step after the last iteration.
    """
    if isinstance(steps, int) and steps <= 4:
      # Unrolled: a loop costs more than a few env steps.
      for _ in range(steps):
        time_step = self._collect_step(time_step, act(time_step))
    else:
      for _ in tf.range(steps):
        time_step = self._collect_step(time_step, act(time_step))
    return time_step

  @tf.function
  def _collect_chunk(self, iterations):
    """Uniform random actions, no training (the initial collect)."""
    self._collect(self.env.current_time_step(), iterations,
                  lambda time_step: self.bundle.random_action(time_step,
                                                              self.rng))

  def _next_batch_in_graph(self, time_step):
    """In graph: collects what the next train step needs, and its batch."""
    explore = lambda time_step: self.bundle.collect_action(
        time_step, self.env_steps, self.rng)
    collect = lambda time_step, steps: self._collect(time_step, steps, explore)
    return self.experience.batch(collect, time_step, self.rng)

  def _train_on(self, batch):
    """In graph: one train step on a `replay.Batch`; its scalar losses.

    Each replica of the strategy trains on its slice of the batch. The
    agents' losses average over the whole batch (`tf.nn.compute_average_loss`,
    which TF-Agents' losses use), so the replicas' summed gradients, and
    their summed losses, are the single-device ones.
    """
    replicas = self.strategy.num_replicas_in_sync

    def train_replica(experience, weights):
      if replicas > 1:
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        size = self.experience.batch_size // replicas
        experience, weights = tf.nest.map_structure(
            lambda t: None if t is None else
            t[replica * size:(replica + 1) * size],
            (experience, weights))
      return self.bundle.agent.train(experience, weights=weights)

    loss_info = self._whole_batch(self.strategy.run(
        train_replica, args=(batch.experience, batch.weights)))
    self.experience.learned(batch, loss_info)
    losses = {'loss': loss_info.loss}
    losses.update({name: getattr(loss_info.extra, name)
                   for name in self.bundle.logged_losses})
    return losses

  def _whole_batch(self, per_replica):
    """In graph: a train step's results over the whole batch: scalars (the
    replicas' shares of a loss) summed, per-example values concatenated in
    batch order."""

    def whole(value):
      if value is None:
        return None
      parts = self.strategy.experimental_local_results(value)
      if parts[0].shape.rank == 0:
        return self.strategy.reduce(tf.distribute.ReduceOp.SUM, value,
                                    axis=None)
      return tf.concat(parts, axis=0) if len(parts) > 1 else parts[0]

    return tf.nest.map_structure(whole, per_replica)

  @tf.function
  def _train_chunk(self, iterations):
    """`iterations` train steps, each on a batch from the experience
    strategy, which collects the env steps it needs first.

    Returns:
      The last train step's scalar losses and the batch it trained on.
    """
    time_step = self.env.current_time_step()
    experience = self.experience.sample(self.experience.batch_size, self.rng)
    names = ('loss',) + tuple(self.bundle.logged_losses)
    losses = {name: tf.constant(0.0) for name in names}
    for _ in tf.range(iterations):
      time_step, batch = self._next_batch_in_graph(time_step)
      losses = self._train_on(batch)
      experience = batch.experience
    return losses, experience

  @tf.function
  def _evaluate(self, episodes, min_steps):
    return evaluate_episodes(self.eval_env, self.bundle.eval_action,
                             episodes, self.rng, min_steps)

  # --------------------------------------------------------------- python --

  def advance(self, iterations: Optional[int] = None) -> None:
    """Runs one compiled chunk of `iterations` loop iterations.

    Args:
      iterations: None runs to the nearest point where a hook acts.
    """
    if iterations is None:
      iterations = chunk_length(self, self.hooks)
    if self.collecting:
      self._collect_chunk(tf.constant(iterations))
      return
    try:
      losses, self.last_batch = self._train_chunk(tf.constant(iterations))
    except tf.errors.InvalidArgumentError as e:
      # DQN's and SAC's train steps check their losses themselves.
      check = re.search(r'([\w ]+ is inf or nan)', str(e))
      if check is None:
        raise
      self._diverged(check.group(1).strip())
    self.last_losses = {name: float(value) for name, value in losses.items()}
    diverged = sorted(name for name, value in self.last_losses.items()
                      if not math.isfinite(value))
    if diverged:
      self._diverged(f'{", ".join(diverged)} is not finite')

  def _diverged(self, what: str) -> None:
    numbers = self.checkpoints.numbers()
    kept = (f'{self.checkpoints.path(numbers[-1])} is the last checkpoint'
            if numbers else 'no checkpoint was written')
    raise ConfigError(
        f'training diverged by train step {self.train_step} ({what}); {kept}: '
        'change the configuration (a lower learning rate, clipped rewards) '
        'and start in a new --root_dir')

  def print(self, message: str) -> None:
    if self.verbose:
      print(message, flush=True)

  def finished_episodes(self) -> Tuple[float, int]:
    """The sum of the returns of the training episodes finished so far in
    the run, and their count."""
    return (float(self._returns_total.numpy()),
            int(self._episodes_total.numpy()))

  def evaluate(self, episodes: int, min_steps: int = 0) -> np.ndarray:
    """The returns of whole episodes of the evaluation policy: at least
    `episodes` of them and `min_steps` env steps."""
    return self._evaluate(tf.constant(episodes), tf.constant(min_steps)).numpy()

  def results(self, finished: bool) -> dict:
    """The content of results.json (DESIGN section 5)."""
    counts = self.bundle.param_counts()
    networks = self.bundle.sparse
    results = {
        'agent': self.bundle.algorithm,
        'env': self.env_name,
        'method': self.bundle.method,
        'sparsity': (max(n.target_sparsity for n in networks)
                     if networks else 0.0),
        'seed': self.seed,
        'num_env_steps': self.num_env_steps,
        'env_steps_done': self.env_step,
        'train_steps_done': self.train_step,
        'finished': finished,
        'active_params': sum(active for active, _ in counts.values()),
        'total_params': sum(total for _, total in counts.values()),
        'layer_sparsity': {n.name: n.layer_sparsity() for n in networks},
        'diagnostics': {},
    }
    for hook in self.hooks:
      results.update(hook.results())
    return results

  def write_results(self, finished: bool) -> None:
    """Writes results.json, replacing the last one.

    Raises:
      ConfigError: if another process took the run over, or the file cannot
        be written.
    """
    run_dir.check_lock(self.root_dir)
    path = os.path.join(self.root_dir, run_dir.RESULTS_FILE)
    try:
      run_dir.write_json(path, self.results(finished))
    except OSError as e:
      raise ConfigError(f'could not write {path} ({e}); the checkpoints are '
                        'intact: free disk space, then run the same command '
                        'to resume') from e

  def save(self) -> None:
    """Checkpoints the run, numbered by its env step.

    Train steps taken since a checkpoint at this env step (the rest of a
    rollout's epochs, or a replay ratio above 1) replace that checkpoint.

    Raises:
      ConfigError: if another process took the run over, or the checkpoint
        cannot be written.
    """
    if self._saved == (self.env_step, self.train_step):
      return
    run_dir.check_lock(self.root_dir)
    self.checkpoints.save(self.env_step)
    self._saved = (self.env_step, self.train_step)

  def restore(self, finished: bool = False) -> bool:
    """Restores the newest readable checkpoint, if any. Returns whether it
    did.

    Args:
      finished: results.json says the run finished. Its replay memory (for
        Atari, minutes to read) is then read only if the checkpoint says
        otherwise.

    Raises:
      ConfigError: if no checkpoint can be read, or they do not match the
        run's objects.
    """

    def restore(path):
      # Optimizer hyper-parameters are restored when the first train step
      # creates them; a finished run never does, and need not warn.
      self.checkpoint.restore(path).assert_existing_objects_matched(
      ).expect_partial()
      if not (finished and self.done):
        self.experience.memory.read_beside(path)

    try:
      path = self.checkpoints.restore_latest(restore)
    except AssertionError as e:
      raise ConfigError(
          f'the checkpoints in {self.checkpoints.directory} do not hold this '
          'run\'s state (they were written by another rigl_rl version or '
          'config); resume with the version that wrote them, or start the '
          'run in a new --root_dir') from e
    if path is None:
      return False
    self._saved = (self.env_step, self.train_step)
    return True

  def _on_signal(self, signum, frame):
    del frame
    if self.interrupted:
      raise KeyboardInterrupt
    self.interrupted = signum
    print(f'{signal.Signals(signum).name}: saving a checkpoint after this '
          'chunk (send it again to stop at once).', file=sys.stderr,
          flush=True)

  def prepare(self) -> None:
    """Claims the run directory and restores its newest readable
    checkpoint, if any.

    Raises:
      ConfigError: if the run directory holds a run of another config, or
        checkpoints none of which can be read.
    """
    if self._prepared:
      return
    resuming = run_dir.claim(self.root_dir, gin.operative_config_str())
    self.checkpoints.remove_leftovers()
    finished = resuming and run_dir.finished(self.root_dir)
    self._resumed = resuming and self.restore(finished)
    self.already_finished = self._resumed and self.done and finished
    # A run killed before its first checkpoint restarts with the networks
    # it wrote then: the same seed draws them again.
    if not os.path.exists(os.path.join(self.root_dir,
                                       run_dir.INITIAL_NETWORKS + '.index')):
      self._write_networks(run_dir.INITIAL_NETWORKS)
    self._prepared = True

  def _write_networks(self, which: str) -> None:
    """Saves the online networks alone (what a lottery ticket rewinds to)."""
    tf.train.Checkpoint(**self.bundle.networks).write(
        os.path.join(self.root_dir, which))

  def save_startup_log(self, text: str) -> None:
    """Appends what libraries printed while the run was built (not for a
    finished run, which is left as it is)."""
    if self.already_finished:
      return
    with open(os.path.join(self.root_dir, 'startup.log'), 'a') as f:
      f.write(text)

  def run(self) -> str:
    """Trains to `num_env_steps`, resuming from the run directory.

    SIGINT and SIGTERM stop it after the current chunk with a checkpoint; a
    run already finished is left untouched.

    Returns:
      'finished', or 'interrupted' after SIGINT or SIGTERM (a checkpoint is
      saved; `interrupted` holds the signal).

    Raises:
      ConfigError: if the run directory holds a run of another config, a
        loss diverges, or a file cannot be written.
    """
    self.prepare()
    if self.already_finished:
      self.print(f'{self.root_dir} holds a finished run (env step '
                 f'{self.env_step}); nothing to do. Pass a new --root_dir to '
                 'train again.')
      return 'finished'
    if self._resumed:
      self.print(f'Resumed {self.root_dir} at env step {self.env_step}, '
                 f'train step {self.train_step}.')
    else:
      self.print(f'Starting {self.bundle.algorithm} ({self.bundle.method}) on '
                 f'{self.env_name} in {self.root_dir}.')
    self.train_writer = tf.summary.create_file_writer(
        os.path.join(self.root_dir, 'train'))
    self.eval_writer = tf.summary.create_file_writer(
        os.path.join(self.root_dir, 'eval'))
    stops = (signal.SIGINT, signal.SIGTERM)
    previous_handlers = {s: signal.signal(s, self._on_signal) for s in stops}
    # Processes inherit blocked signals from parents such as Ray's workers.
    previous_mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)
    # Episodes in flight are not checkpointed: a resumed run starts a new one.
    self.env.reset()
    self._episode_return.assign(tf.zeros([self.num_envs]))
    self.experience.memory.close_episode()
    try:
      # A MuJoCo run's simulation warnings go to its run directory.
      with mujoco_log.written_for(
          self.env_name, os.path.join(self.root_dir, mujoco_log.LOG_FILE)):
        status = train(self, self.hooks)
      if status == 'interrupted':
        self.save()
        self.write_results(finished=False)
        self.print(f'Stopped at env step {self.env_step}; checkpoint saved. '
                   'Run the same command to resume.')
      else:
        # The handlers stay: a signal now waits for the run to be complete.
        self._write_networks(run_dir.FINAL_NETWORKS)
        self.write_results(finished=True)
    finally:
      signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
      for stop, handler in previous_handlers.items():
        signal.signal(stop, handler)
      self.train_writer.flush()
      self.eval_writer.flush()
    if status == 'finished':
      results = self.results(finished=True)
      score = results['final_score']
      self.print(f'Finished: final score '
                 f'{"n/a" if score is None else f"{score:.1f}"}, active '
                 f'params {results["active_params"]}/'
                 f'{results["total_params"]}. Results: '
                 f'{os.path.join(self.root_dir, run_dir.RESULTS_FILE)}; '
                 f'TensorBoard: tensorboard --logdir {self.root_dir}')
    return status
