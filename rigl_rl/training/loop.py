"""The run loop every agent trains through.

Collecting and training run in one compiled function for many iterations per
call, because each Python->TF call costs about as much as a small network's
train step. Chunks stop exactly at the events handled in Python: mask updates,
logging, evaluation, checkpoints and the end of the run. A mask update at
train step t comes first in the chunk that starts at t, on the batch that
gradient step t then trains on (t = 0 included), as in google-research/rigl.
"""
import json
import math
import os
import shutil
import signal
import sys
import time
from typing import Callable, Dict, List, Optional, Sequence

import gin
import numpy as np
import tensorflow as tf

from rigl_rl.agents import base
from rigl_rl.analysis import diagnostics as diagnostics_lib
from rigl_rl.baselines import plasticity
from rigl_rl.envs import factory
from rigl_rl.errors import ConfigError
from rigl_rl.sparsity import flops
from rigl_rl.training import replay as replay_lib
from rigl_rl.training import run_dir


def _crossed(before: int, after: int, interval: int) -> bool:
  return after // interval > before // interval


def _steps_to_boundary(value: int, interval: int) -> int:
  """Units from `value` up to the next multiple of `interval`."""
  return interval - value % interval


def evaluate_episodes(env, eval_action, episodes, rng: tf.random.Generator):
  """In graph: returns of `episodes` full episodes of a policy.

  Args:
    env: an `InGraphEnvironment`; it is reset first.
    eval_action: (time_step, rng) -> batch-1 action.
    episodes: a scalar int tensor.
    rng: the generator the policy draws from.

  Returns:
    A [episodes] float32 tensor of undiscounted returns.
  """
  returns = tf.TensorArray(tf.float32, size=episodes)
  time_step = env.reset()
  episode_return = tf.constant(0.0)
  done = tf.constant(0)
  while done < episodes:
    action = eval_action(time_step, rng)
    with tf.control_dependencies(tf.nest.flatten(time_step)):
      time_step = env.step(action)
    episode_return += time_step.reward[0]
    if time_step.is_last()[0]:
      returns = returns.write(done, episode_return)
      done += 1
      episode_return = tf.constant(0.0)
      time_step = env.reset()
  return returns.stack()


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
               checkpoint_interval: int = gin.REQUIRED,
               experience=gin.REQUIRED,
               seed: int = 0,
               log_interval: int = 1000,
               max_checkpoints: int = 3,
               max_chunk: int = 1000,
               diagnostics: Optional[diagnostics_lib.Diagnostics] = None,
               plasticity_baselines: Sequence[plasticity.Intervention] = (),
               verbose: bool = True):
    """Builds environments, agent, experience and checkpointing.

    Args:
      root_dir: the run directory.
      env_name: an environment spec for `envs.make_py_environment`: a
        name such as 'CartPole-v1' or 'atari:Pong', or a configured game
        such as `@atari()`.
      agent_fn: (time_step_spec, action_spec, seed=...) -> AgentBundle.
      num_env_steps: length of the run in environment steps.
      eval_interval: env steps between evaluations.
      eval_episodes: episodes per evaluation.
      checkpoint_interval: env steps between checkpoints.
      experience: where train batches come from, `@OffPolicy()` (replay)
        or `@OnPolicy()` (rollouts).
      seed: seeds TensorFlow, masks, environments and the run's generator.
      log_interval: env steps between progress lines and train summaries.
      max_checkpoints: checkpoints kept on disk; older ones are deleted.
      max_chunk: most iterations per compiled call (bounds Ctrl-C latency).
      diagnostics: what to compute inside the networks, and how often; None
        computes nothing.
      plasticity_baselines: interventions such as `@Reset()` or `@ReDo()`
        applied to every trained network on their schedule.
      verbose: print progress lines.

    Raises:
      ConfigError: for run lengths that leave no training.
    """
    for name, value in (('num_env_steps', num_env_steps),
                        ('eval_interval', eval_interval),
                        ('eval_episodes', eval_episodes),
                        ('checkpoint_interval', checkpoint_interval),
                        ('log_interval', log_interval),
                        ('max_chunk', max_chunk)):
      if value < 1:
        raise ConfigError(f'Runner.{name} must be >= 1, got {value}')
    self.experience = experience
    self.total_train_steps = experience.total_train_steps(num_env_steps)
    self.root_dir = root_dir
    self.env_name = factory.spec_name(env_name)
    self.num_env_steps = num_env_steps
    self.eval_interval = eval_interval
    self.eval_episodes = eval_episodes
    self.checkpoint_interval = checkpoint_interval
    self.log_interval = log_interval
    self.max_chunk = max_chunk
    self.seed = seed
    self.diagnostics = diagnostics
    self.plasticity_baselines = list(plasticity_baselines)
    self.verbose = verbose

    tf.random.set_seed(seed)
    self.env = factory.make_environment(env_name, seed)
    self.eval_env = factory.make_environment(env_name, seed + 1)
    self.bundle = agent_fn(
        self.env.time_step_spec(), self.env.action_spec(), seed=seed)
    for target in self.bundle.sparse:
      target.network.updater.bind(self.total_train_steps)
    experience.build(self.env.time_step_spec(), self.env.action_spec(),
                     self.bundle)
    self.rng = tf.random.Generator.from_seed(seed)
    self.env_steps = tf.Variable(0, dtype=tf.int64, name='env_steps')
    self._episode_return = tf.Variable(0.0, name='episode_return')
    self._finished_return_sum = tf.Variable(0.0, name='finished_return_sum')
    self._finished_episodes = tf.Variable(0, dtype=tf.int64,
                                          name='finished_episodes')
    # JSON of the evaluations so far, so results survive a resume.
    self._history = tf.Variable('[]', dtype=tf.string, name='eval_history')
    self._train_flops = tf.Variable(0.0, dtype=tf.float64, name='train_flops')
    self._layer_costs = {
        trained.name: flops.layer_costs(trained.network)
        for trained in self.bundle.trained
    }
    # What each network would cost with no masks (RigL's dense gradient).
    self._dense_flops = {
        name: flops.inference_flops(costs)
        for name, costs in self._layer_costs.items()
    }
    extra = {}
    if diagnostics is not None:
      diagnostics.bind(experience, self.rng)
      extra['diagnostics'] = diagnostics.state
    self.checkpoint = tf.train.Checkpoint(
        agent=self.bundle.agent,
        replay=experience.memory,
        rng=self.rng,
        env_steps=self.env_steps,
        episode_return=self._episode_return,
        finished_return_sum=self._finished_return_sum,
        finished_episodes=self._finished_episodes,
        history=self._history,
        train_flops=self._train_flops,
        ever_active={
            target.network.name: target.network.ever_active
            for target in self.bundle.sparse
        },
        **extra)
    self.checkpoint_manager = tf.train.CheckpointManager(
        self.checkpoint,
        os.path.join(root_dir, 'checkpoints'),
        max_to_keep=max_checkpoints)
    self.evals: List[List[float]] = []
    self._last_losses: Dict[str, float] = {}
    self._last_diagnostics: Dict[str, float] = {}
    self._train_writer = None
    self._interrupted = False
    self._saved_step: Optional[int] = None
    self._prepared = False
    self._resumed = False

  @property
  def train_step(self) -> int:
    return int(self.bundle.agent.train_step_counter.numpy())

  # ---------------------------------------------------------------- graph --

  def _collect_step(self, time_step, action):
    # Orders the env's py_func ops: an action need not read the time step.
    with tf.control_dependencies(tf.nest.flatten(time_step)):
      next_time_step = self.env.step(action)
    self.experience.add(time_step, action, next_time_step)
    ended = next_time_step.is_last()[0]
    episode_return = self._episode_return + next_time_step.reward[0]
    self._finished_return_sum.assign_add(
        tf.where(ended, episode_return, 0.0))
    self._finished_episodes.assign_add(tf.cast(ended, tf.int64))
    self._episode_return.assign(tf.where(ended, 0.0, episode_return))
    self.env_steps.assign_add(1)
    # Reset right away so every iteration is one real environment step.
    return tf.cond(ended, self.env.reset, lambda: next_time_step)

  def _collect(self, time_step, steps, act):
    """In graph: `steps` env steps of `act(time_step)` into experience.

    Args:
      time_step: the current batch-1 time step.
      steps: a Python int, or a scalar tensor.
      act: time_step -> batch-1 action.

    Returns:
      The time step after the last env step.
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

  def _train_on(self, experience):
    """In graph: one train step on `experience`; its scalar losses."""
    loss_info = self.bundle.agent.train(experience)
    losses = {'loss': loss_info.loss}
    losses.update({name: getattr(loss_info.extra, name)
                   for name in self.bundle.logged_losses})
    return losses

  @tf.function
  def _next_batch(self):
    """The batch of the next train step (collected now, trained on later)."""
    return self._next_batch_in_graph(self.env.current_time_step())[1]

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
      time_step, experience = self._next_batch_in_graph(time_step)
      losses = self._train_on(experience)
    return losses, experience

  @tf.function
  def _train_step_on(self, experience):
    """One train step on a batch `_next_batch` gave."""
    return self._train_on(experience)

  @tf.function
  def _evaluate(self, episodes):
    return evaluate_episodes(self.eval_env, self.bundle.eval_action,
                             episodes, self.rng)

  # --------------------------------------------------------------- python --

  def _iterations_to_next_event(self) -> int:
    """Loop iterations until the next event, at least 1.

    An iteration is one env step while collecting initially, and one train
    step (with the env steps the experience strategy collects for it) after
    that.
    """
    env, t = int(self.env_steps.numpy()), self.train_step
    initial = self.experience.initial_collect_steps
    collecting = env < initial
    limits = [
        self.max_chunk,
        (initial - env) if collecting else (self.total_train_steps - t),
    ]
    for interval in (self.log_interval, self.eval_interval,
                     self.checkpoint_interval):
      boundary = env + _steps_to_boundary(env, interval)
      limits.append(boundary - env if collecting else
                    self.experience.train_steps_until(boundary) - t)
    for target in [] if collecting else self.bundle.sparse:
      window = target.network.updater.window
      next_update = window and window.next_update_step(t)
      if next_update is not None:
        limits.append(next_update - t)
    if self.diagnostics is not None and not collecting:
      limits.append(_steps_to_boundary(t, self.diagnostics.interval))
    for baseline in [] if collecting else self.plasticity_baselines:
      limits.append(_steps_to_boundary(t, baseline.interval))
    return max(1, min(limits))

  def inference_flops(self) -> Dict[str, float]:
    """name -> per-example forward FLOPs of each network with its masks."""
    densities = {
        target.network.name: target.network.layer_density()
        for target in self.bundle.sparse
    }
    return {
        name: flops.inference_flops(costs, densities.get(name))
        for name, costs in self._layer_costs.items()
    }

  def _update_masks(self, due: Sequence[base.SparseTarget],
                    experience) -> None:
    """Updates the masks of `due` networks at this train step, before its
    gradient step, on the batch that step trains on."""
    t = self.train_step
    for target in due:
      network = target.network
      if network.updater.needs_gradients:
        grads = target.dense_gradients(experience)
        self._train_flops.assign_add(flops.dense_gradient_extra_flops(
            self.inference_flops()[network.name],
            self._dense_flops[network.name], self.experience.batch_size))
      else:
        grads = None
      changes = network.updater.update(t, network, target.optimizer, self.rng,
                                       grads)
      self._write_mask_changes(network, changes)

  def _write_mask_changes(self, network, changes) -> None:
    """Logs the fraction of active connections each update replaced, and of
    the grown connections those that were just dropped."""
    if self._train_writer is None:
      return
    prefix = f'Diagnostics/{network.name}'
    replaced = sum(change.replaced for change in changes.values())
    regrown = sum(change.regrown for change in changes.values())
    active = sum(change.active for change in changes.values())
    with self._train_writer.as_default(step=self.train_step):
      for name, change in changes.items():
        tf.summary.scalar(f'{prefix}/mask_churn/{name}', change.churn)
      tf.summary.scalar(f'{prefix}/mask_churn/total', replaced / max(active, 1))
      tf.summary.scalar(f'{prefix}/mask_replaced/total', replaced)
      tf.summary.scalar(f'{prefix}/mask_regrown/total',
                        regrown / max(regrown + replaced, 1))

  def _apply_baselines(self, experience) -> None:
    t = self.train_step
    for baseline in self.plasticity_baselines:
      if not baseline.is_due(t, self.total_train_steps):
        continue
      for trained in self.bundle.trained:
        logged = baseline.apply(trained, experience, self.rng)
        if self._train_writer is None:
          continue
        with self._train_writer.as_default(step=t):
          for key, value in logged.items():
            tf.summary.scalar(f'Plasticity/{baseline.name}/{trained.name}/{key}',
                              value)

  def _diagnose(self) -> None:
    """Computes the diagnostics now and logs them."""
    scalars, images = self.diagnostics.compute(
        self.bundle.trained, [target.network for target in self.bundle.sparse])
    self._last_diagnostics = scalars
    if self._train_writer is None:
      return
    with self._train_writer.as_default(step=self.train_step):
      for tag, value in scalars.items():
        tf.summary.scalar(tag, value)
      for tag, image in images.items():
        tf.summary.image(tag, image)

  def _print(self, message: str) -> None:
    if self.verbose:
      print(message, flush=True)

  def _write_train_summaries(self, writer, rate: float) -> None:
    t = self.train_step
    with writer.as_default(step=t):
      count = int(self._finished_episodes.numpy())
      if count:
        tf.summary.scalar('Train/AverageReturn',
                          self._finished_return_sum.numpy() / count)
        self._finished_return_sum.assign(0.0)
        self._finished_episodes.assign(0)
      for name, value in self._last_losses.items():
        tf.summary.scalar(f'Losses/{name}', value)
      for name, (active, _) in self.bundle.param_counts().items():
        tf.summary.scalar(f'Params/{name}/active', active)
      for name, value in self.inference_flops().items():
        tf.summary.scalar(f'FLOPs/{name}/inference', value)
      tf.summary.scalar('FLOPs/train_total', self._train_flops.numpy())
      for target in self.bundle.sparse:
        network = target.network
        for layer, sparsity in network.layer_sparsity().items():
          tf.summary.scalar(f'Sparsity/{network.name}/{layer}', sparsity)
        active, total = network.masked_counts()
        tf.summary.scalar(f'Sparsity/{network.name}/total', 1 - active / total)
        updater = network.updater
        tf.summary.scalar(f'SparseTraining/{updater.amount_tag}',
                          updater.amount(t))
      tf.summary.scalar('Speed/env_steps_per_second', rate)

  def _run_eval(self, writer) -> None:
    returns = self._evaluate(tf.constant(self.eval_episodes)).numpy()
    average = float(np.mean(returns))
    env = int(self.env_steps.numpy())
    self.evals.append([env, average])
    with writer.as_default(step=self.train_step):
      tf.summary.scalar('Eval/AverageReturn', average)
    self._write_results(finished=False)

  def results(self, finished: bool) -> dict:
    """The content of results.json (DESIGN section 5)."""
    counts = self.bundle.param_counts()
    networks = [target.network for target in self.bundle.sparse]
    tail = max(1, math.ceil(0.1 * len(self.evals)))
    scores = [value for _, value in self.evals[-tail:]]
    return {
        'agent': self.bundle.algorithm,
        'env': self.env_name,
        'method': self.bundle.method,
        'sparsity': (max(n.target_sparsity for n in networks)
                     if networks else 0.0),
        'seed': self.seed,
        'num_env_steps': self.num_env_steps,
        'env_steps_done': int(self.env_steps.numpy()),
        'train_steps_done': self.train_step,
        'finished': finished,
        'active_params': sum(active for active, _ in counts.values()),
        'total_params': sum(total for _, total in counts.values()),
        'layer_sparsity': {n.name: n.layer_sparsity() for n in networks},
        'flops': {
            'inference': self.inference_flops(),
            'train_total': float(self._train_flops.numpy()),
            'train_per_step': (float(self._train_flops.numpy()) /
                               max(self.train_step, 1)),
        },
        'diagnostics': self._last_diagnostics,
        'eval': self.evals,
        'final_score': float(np.mean(scores)) if scores else None,
    }

  def _write_results(self, finished: bool) -> None:
    run_dir.write_json(
        os.path.join(self.root_dir, run_dir.RESULTS_FILE),
        self.results(finished))

  def _replay_files(self, checkpoint_number: int) -> str:
    return os.path.join(self.checkpoint_manager.directory,
                        f'replay-{checkpoint_number}')

  def _replay_files_of(self, checkpoint_path: str) -> str:
    """The replay directory beside a checkpoint ('.../ckpt-<number>')."""
    return self._replay_files(int(checkpoint_path.rsplit('-', 1)[1]))

  def _save(self) -> None:
    if self._saved_step == self.train_step:
      return
    self._saved_step = self.train_step
    self._history.assign(json.dumps(self.evals))
    memory = self.experience.memory
    if isinstance(memory, replay_lib.FrameReplay):
      # Replay first: a checkpoint on disk always has its replay beside it.
      self._print(f'Saving the replay memory ({memory.buffer.add_count} '
                  'frames added) beside the checkpoint...')
      memory.save_files(self._replay_files(self.train_step))
    self.checkpoint_manager.save(checkpoint_number=self.train_step)
    if isinstance(memory, replay_lib.FrameReplay):
      kept = {os.path.basename(self._replay_files_of(path))
              for path in self.checkpoint_manager.checkpoints}
      for name in os.listdir(self.checkpoint_manager.directory):
        if name.startswith('replay-') and name not in kept:
          shutil.rmtree(os.path.join(self.checkpoint_manager.directory, name))

  def restore(self) -> bool:
    """Restores the latest checkpoint, if any. Returns whether it did.

    Raises:
      ConfigError: if a frame replay's files are missing beside it.
    """
    path = self.checkpoint_manager.latest_checkpoint
    if path is None:
      return False
    memory = self.experience.memory
    if isinstance(memory, replay_lib.FrameReplay):
      files = self._replay_files_of(path)
      if not os.path.isdir(files):
        raise ConfigError(
            f'{path} has no replay memory beside it ({files} is missing); '
            'restore that directory or start the run in a new --root_dir')
      memory.load_files(files)
    self.checkpoint.restore(path).assert_existing_objects_matched()
    self.evals = json.loads(self._history.numpy().decode())
    self._saved_step = self.train_step
    return True

  def _on_sigint(self, signum, frame):
    del signum, frame
    if self._interrupted:
      raise KeyboardInterrupt
    self._interrupted = True
    print('Interrupt: saving a checkpoint after this chunk '
          '(press Ctrl-C again to stop at once).', file=sys.stderr, flush=True)

  def prepare(self) -> None:
    """Claims the run directory and restores its latest checkpoint, if any.

    Raises:
      ConfigError: if the run directory holds a run of another config.
    """
    if self._prepared:
      return
    self._resumed = (run_dir.claim(self.root_dir, gin.operative_config_str())
                     and self.restore())
    if not self._resumed:
      self._write_networks(run_dir.INITIAL_NETWORKS)
    self._prepared = True

  def _write_networks(self, which: str) -> None:
    """Saves the online networks alone (what a lottery ticket rewinds to)."""
    tf.train.Checkpoint(**self.bundle.networks).write(
        os.path.join(self.root_dir, which))

  def save_startup_log(self, text: str) -> None:
    """Appends what libraries printed while the run was built."""
    with open(os.path.join(self.root_dir, 'startup.log'), 'a') as f:
      f.write(text)

  def run(self) -> str:
    """Trains to `num_env_steps`, resuming from the run directory.

    Returns:
      'finished', or 'interrupted' after Ctrl-C (a checkpoint is saved).

    Raises:
      ConfigError: if the run directory holds a run of another config.
    """
    self.prepare()
    if self._resumed:
      self._print(f'Resumed {self.root_dir} at env step '
                  f'{int(self.env_steps.numpy())}, train step {self.train_step}.')
    else:
      self._print(f'Starting {self.bundle.algorithm} ({self.bundle.method}) on '
                  f'{self.env_name} in {self.root_dir}.')
    train_writer = tf.summary.create_file_writer(
        os.path.join(self.root_dir, 'train'))
    self._train_writer = train_writer
    eval_writer = tf.summary.create_file_writer(
        os.path.join(self.root_dir, 'eval'))
    previous_handler = signal.signal(signal.SIGINT, self._on_sigint)
    # Processes inherit a blocked SIGINT from parents such as Ray's workers.
    previous_mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])
    try:
      status = self._loop(train_writer, eval_writer)
    finally:
      signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
      signal.signal(signal.SIGINT, previous_handler)
      train_writer.flush()
      eval_writer.flush()
    return status

  @property
  def done(self) -> bool:
    return self.train_step >= self.total_train_steps

  def advance(self) -> None:
    """Runs any mask updates due now, then one compiled chunk up to the next
    event."""
    iterations = self._iterations_to_next_event()
    if int(self.env_steps.numpy()) < self.experience.initial_collect_steps:
      self._collect_chunk(tf.constant(iterations))
      return
    t = self.train_step
    for target in self.bundle.sparse:
      target.network.set_pruning_step(t)
    due = [target for target in self.bundle.sparse
           if target.network.updater.is_update_step(t)]
    first = None
    if due:
      first = self._next_batch()
      self._update_masks(due, first)
    # Masks only change between chunks, so the chunk's cost is known now.
    self._train_flops.assign_add(
        iterations * sum(
            flops.training_flops_per_step(value, self.experience.batch_size)
            for value in self.inference_flops().values()))
    if first is not None:
      losses, experience = self._train_step_on(first), first
      iterations -= 1
    if iterations:
      losses, experience = self._train_chunk(tf.constant(iterations))
    self._last_losses = {name: float(value) for name, value in losses.items()}
    self._apply_baselines(experience)
    if self.diagnostics is not None and (
        self.diagnostics.is_due(self.train_step) or self.done):
      self._diagnose()

  def _loop(self, train_writer, eval_writer) -> str:
    window_start, window_env = time.time(), int(self.env_steps.numpy())
    # Episodes in flight are not checkpointed: a resumed run starts a new one.
    self.env.reset()
    self._episode_return.assign(0.0)
    while not self.done:
      before = int(self.env_steps.numpy())
      self.advance()
      after = int(self.env_steps.numpy())
      if _crossed(before, after, self.log_interval):
        rate = (after - window_env) / max(time.time() - window_start, 1e-9)
        self._write_train_summaries(train_writer, rate)
        last = f'{self.evals[-1][1]:.1f}' if self.evals else 'n/a'
        self._print(
            f'env step {after}/{self.num_env_steps} '
            f'({100 * after / self.num_env_steps:.0f}%)  train step '
            f'{self.train_step}  {rate:.0f} env steps/s  last eval return '
            f'{last}')
        window_start, window_env = time.time(), after
      if _crossed(before, after, self.eval_interval):
        self._run_eval(eval_writer)
      if _crossed(before, after, self.checkpoint_interval):
        self._save()
      if self._interrupted:
        self._save()
        self._write_results(finished=False)
        self._print(f'Stopped at env step {after}; checkpoint saved. Run the '
                    'same command to resume.')
        return 'interrupted'
    self._save()
    self._write_networks(run_dir.FINAL_NETWORKS)
    self._write_results(finished=True)
    results = self.results(finished=True)
    score = results['final_score']
    self._print(f'Finished {self.root_dir}: final score '
                f'{"n/a" if score is None else f"{score:.1f}"}, active params '
                f'{results["active_params"]}/{results["total_params"]}.')
    return 'finished'
