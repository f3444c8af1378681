"""What the run loop does between chunks, each as a hook.

The protocol is TF-Agents' triggers turned around so the loop can run many
steps per compiled call: a hook says whether it is due now and how many loop
iterations remain until its next point after now. The loop lets the due hooks
act, advances to the nearest next point and knows no hook by name. An iteration is one env step while the
initial collect runs, and one train step (with the env steps it collects)
after it; `Runner.iterations_to_env_step` and `iterations_to_train_step`
convert.

Hooks due at one point act in list order; the Runner puts checkpointing last,
so a checkpoint holds what the other hooks did there and a resumed run does
not repeat it.
"""
import collections
import json
import math
import time
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np
import tensorflow as tf

from rigl_rl.sparsity import flops


class Hook:
  """Base of the hooks: by default it never acts and holds no state."""

  def bind(self, run) -> Dict[str, object]:
    """Called once while the run is built, before any checkpoint is read.

    Returns:
      name -> trackable state this hook adds to the run's checkpoint.
    """
    del run
    return {}

  def start(self, run) -> None:
    """Called when `run.run()` begins (after a resume's restore)."""
    del run

  def due(self, run) -> bool:
    """Whether the hook acts at this point of the run."""
    del run
    return False

  def next_in(self, run) -> Optional[int]:
    """Loop iterations (>= 1) to the hook's next point after this one; None
    when it has none before the end of the run."""
    del run
    return None

  def act(self, run) -> None:
    """Does what the hook is for, at a point where it is due."""
    del run

  def finish(self, run) -> None:
    """Called at the end of a finished run, after the last `act`."""
    del run

  def results(self) -> Dict[str, object]:
    """Entries this hook adds to results.json."""
    return {}


class EnvStepHook(Hook):
  """Acts each time the env step count passes a multiple of `interval`."""

  def __init__(self, interval: int):
    self.interval = interval
    self._next: Optional[int] = None

  def _following(self, run) -> int:
    return (run.env_step // self.interval + 1) * self.interval

  def start(self, run) -> None:
    self._next = self._following(run)

  def due(self, run) -> bool:
    if self._next is None:
      self._next = self._following(run)
    return run.env_step >= self._next

  def next_in(self, run) -> Optional[int]:
    return run.iterations_to_env_step(self._following(run))

  def act(self, run) -> None:
    self._next = self._following(run)
    self.at_interval(run)

  def at_interval(self, run) -> None:
    raise NotImplementedError


class ReturnsSince:
  """The average return of the training episodes finished since a mark.

  The mark is a pair of variables, which a hook that resumes from it puts
  in the run's checkpoint (`variables`).
  """

  def __init__(self, run=None):
    """Args:
      run: the Runner, to mark now; None marks the run's start."""
    total, count = run.finished_episodes() if run is not None else (0.0, 0)
    self._total = tf.Variable(total, dtype=tf.float64, trainable=False)
    self._count = tf.Variable(count, dtype=tf.int64, trainable=False)

  def variables(self, prefix: str) -> Dict[str, tf.Variable]:
    """The mark's variables, named for a checkpoint."""
    return {f'{prefix}_total': self._total, f'{prefix}_count': self._count}

  def read(self, run) -> Tuple[Optional[float], int]:
    """The average return since the mark (None if no episode finished) and
    the number of episodes; moves the mark to now."""
    total, count = run.finished_episodes()
    then_total, then_count = float(self._total.numpy()), int(
        self._count.numpy())
    self._total.assign(total)
    self._count.assign(count)
    episodes = count - then_count
    return ((total - then_total) / episodes if episodes else None), episodes


def log_return(run, kind: str, value: float, episodes: str) -> None:
  """Logs an average return as `<kind>/AverageReturn` against the train step
  and as `<kind>/AverageReturnVsEnvironmentSteps` against the env step
  (TF-Agents' names), into the writer in use.

  Args:
    run: the Runner.
    kind: 'Eval' or 'Train'.
    value: the average return.
    episodes: which episodes it averages, for the descriptions.
  """
  what = f'Mean undiscounted return of {episodes}'
  tf.summary.scalar(f'{kind}/AverageReturn', value, step=run.train_step,
                    description=f'{what}; x: train step.')
  tf.summary.scalar(f'{kind}/AverageReturnVsEnvironmentSteps', value,
                    step=run.env_step, description=f'{what}; x: env step.')


class Evaluation(EnvStepHook):
  """Evaluates the policy every `interval` env steps.

  Logs `Eval/AverageReturn` (and the same against env steps), keeps the
  history in the checkpoint and gives results.json its `eval` list and
  `final_score` (the mean of the last 10% of the evaluations).
  """

  def __init__(self, interval: int, episodes: int, min_steps: int = 0):
    super().__init__(interval)
    self.episodes = episodes
    self.min_steps = min_steps
    self.evals: List[List[float]] = []

  def bind(self, run) -> Dict[str, object]:
    # JSON of the evaluations so far, so results survive a resume.
    self._history = tf.Variable('[]', dtype=tf.string, name='eval_history')
    return {'history': self._history}

  def start(self, run) -> None:
    super().start(run)
    self.evals = json.loads(self._history.numpy().decode())

  def at_interval(self, run) -> None:
    average = float(np.mean(run.evaluate(self.episodes, self.min_steps)))
    self.evals.append([run.env_step, average])
    self._history.assign(json.dumps(self.evals))
    with run.eval_writer.as_default():
      log_return(run, 'Eval', average, 'the evaluation episodes')
    run.write_results(finished=False)

  def results(self) -> Dict[str, object]:
    tail = max(1, math.ceil(0.1 * len(self.evals)))
    scores = [value for _, value in self.evals[-tail:]]
    return {'eval': self.evals,
            'final_score': float(np.mean(scores)) if scores else None}


class TrainingReturns(EnvStepHook):
  """The average return of the training episodes that finished in each
  iteration of `interval` env steps, as Dopamine scores its iterations
  (004 reports these). An episode counts in the iteration it ends in.

  Gives results.json `train_returns` ([env_step, average, episodes]; the
  average is null for an iteration in which no episode ended) and
  `final_training_score`, the last iteration's average.
  """

  def __init__(self, interval: int):
    super().__init__(interval)
    self.iterations: List[List[Optional[float]]] = []

  def bind(self, run) -> Dict[str, object]:
    self._history = tf.Variable('[]', dtype=tf.string,
                                name='train_return_history')
    self._since = ReturnsSince()
    return {'train_return_history': self._history,
            **self._since.variables('train_return_mark')}

  def start(self, run) -> None:
    super().start(run)
    self.iterations = json.loads(self._history.numpy().decode())

  def at_interval(self, run) -> None:
    average, episodes = self._since.read(run)
    self.iterations.append([run.env_step, average, episodes])
    self._history.assign(json.dumps(self.iterations))

  def results(self) -> Dict[str, object]:
    return {'train_returns': self.iterations,
            'final_training_score': (self.iterations[-1][1]
                                     if self.iterations else None)}


def duration(seconds: float) -> str:
  """A short duration: '42s', '3m05s', '2h11m' or '4d03h'."""
  seconds = max(0, int(round(seconds)))
  minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
  if seconds < 60:
    return f'{seconds}s'
  if seconds < 3600:
    return f'{minutes}m{seconds % 60:02d}s'
  if seconds < 86400:
    return f'{hours}h{minutes % 60:02d}m'
  return f'{days}d{hours % 24:02d}h'


class StepRate:
  """Env steps per second over the last `window` intervals, the time
  elapsed and the time left, counted from `start` on an injected clock.

  Only steps done after `start` count, so a resumed run's rate and ETA are
  its own. A rate over several intervals averages out what falls in some of
  them only (evaluations, checkpoints).
  """

  def __init__(self, window: int = 10,
               clock: Callable[[], float] = time.monotonic):
    """Args:
      window: intervals the rate is taken over.
      clock: seconds, as `time.monotonic`.
    """
    self._clock = clock
    self._points = collections.deque(maxlen=window + 1)

  def start(self, step: int) -> None:
    """Starts counting at env step `step`, now."""
    self._points.clear()
    self._points.append((self._clock(), step))
    self._began = self._points[0][0]

  @property
  def last_step(self) -> int:
    return self._points[-1][1]

  def mark(self, step: int) -> float:
    """Records that env step `step` is reached now.

    Returns:
      The rate over the interval since the previous mark.
    """
    then, before = self._points[-1]
    now = self._clock()
    self._points.append((now, step))
    return (step - before) / max(now - then, 1e-9)

  def rate(self) -> float:
    """Env steps per second over the last `window` intervals."""
    (first, begin), (last, end) = self._points[0], self._points[-1]
    return (end - begin) / max(last - first, 1e-9)

  def elapsed(self) -> float:
    """Seconds from `start` to the last mark."""
    return self._points[-1][0] - self._began

  def left(self, total: int) -> Optional[float]:
    """Seconds to env step `total` at `rate()`; None if no step was made."""
    rate = self.rate()
    return (total - self.last_step) / rate if rate > 0 else None


class Progress(EnvStepHook):
  """A progress line and the train summaries, every `interval` env steps
  and at the end: training returns, losses, active parameters, sparsity,
  the updaters' drop or prune amounts and speed.

  The line's env steps/s is over the last 10 lines and its ETA at that rate;
  `Speed/env_steps_per_second` logs the rate of each interval.
  """

  def __init__(self, interval: int, evaluation: Optional[Evaluation] = None,
               clock: Callable[[], float] = time.monotonic):
    """Args:
      interval: env steps between lines.
      evaluation: the run's Evaluation, whose last return the line shows.
      clock: seconds, as `time.monotonic` (tests pass a fake one).
    """
    super().__init__(interval)
    self._evaluation = evaluation
    self._speed = StepRate(clock=clock)

  def start(self, run) -> None:
    super().start(run)
    self._speed.start(run.env_step)
    self._returns = ReturnsSince(run)

  def finish(self, run) -> None:
    # A run's last step always has its summaries, however short the run.
    if self._speed.last_step < run.env_step:
      self.at_interval(run)

  def at_interval(self, run) -> None:
    env = run.env_step
    self._summaries(run, self._speed.mark(env))
    evals = self._evaluation.evals if self._evaluation else []
    last = f'{evals[-1][1]:.1f}' if evals else 'n/a'
    left = self._speed.left(run.num_env_steps)
    eta = (f'  ETA {duration(left)}'
           if left is not None and env < run.num_env_steps else '')
    run.print(f'env step {env}/{run.num_env_steps} '
              f'({100 * env / run.num_env_steps:.0f}%)  train step '
              f'{run.train_step}  {self._speed.rate():.0f} env steps/s  '
              f'last eval {last}  elapsed {duration(self._speed.elapsed())}'
              f'{eta}')

  def _summaries(self, run, rate: float) -> None:
    t = run.train_step
    with run.train_writer.as_default(step=t):
      train_return, _ = self._returns.read(run)
      if train_return is not None:
        log_return(run, 'Train', train_return, 'the training episodes that '
                   'ended since the last point')
      for name, value in run.last_losses.items():
        tf.summary.scalar(f'Losses/{name}', value,
                          description=f'The agent\'s {name} at the last '
                          'train step before this point.')
      for name, (active, _) in run.bundle.param_counts().items():
        tf.summary.scalar(f'Params/{name}/active', active,
                          description='Trainable parameters not masked.')
      for network in run.bundle.sparse:
        for layer, sparsity in network.layer_sparsity().items():
          tf.summary.scalar(f'Sparsity/{network.name}/{layer}', sparsity,
                            description='Fraction of the layer\'s kernel '
                            'masked.')
        active, total = network.masked_counts()
        tf.summary.scalar(f'Sparsity/{network.name}/total', 1 - active / total,
                          description='Fraction of the network\'s Dense and '
                          'Conv2D kernels masked.')
        updater = network.updater
        tf.summary.scalar(f'SparseTraining/{updater.amount_tag}',
                          updater.amount(t),
                          description=updater.amount_description)
      tf.summary.scalar('Speed/env_steps_per_second', rate,
                        description='Env steps per second of wall time over '
                        'the last interval, evaluations included.')


class Checkpointing(EnvStepHook):
  """Saves the run every `interval` env steps and at its end."""

  def at_interval(self, run) -> None:
    run.save()

  def finish(self, run) -> None:
    run.save()


def _to_next_mask_update(run) -> Optional[int]:
  """Train steps to the first mask update of any network after this step;
  None while collecting or when no update is left."""
  if run.collecting:
    return None
  t = run.train_step
  upcoming = [network.updater.window.next_update_step(t)
              for network in run.bundle.sparse
              if network.updater.window is not None]
  steps = [step - t for step in upcoming if step is not None]
  return min(steps) if steps else None


class MaskChanges(Hook):
  """Logs what each mask update changed, right after the train step that
  made it (the sparse optimizer updates masks inside the train step).

  Per network: `Diagnostics/<net>/mask_churn/<layer>` and `/total` (the
  fraction of active connections replaced), `mask_replaced/total` (a count)
  and `mask_regrown/total` (the share of the grown connections that were
  just dropped).
  """

  def __init__(self):
    self._logged: Dict[str, int] = {}

  def start(self, run) -> None:
    self._logged = {network.name: network.last_update_step
                    for network in run.bundle.sparse}

  def due(self, run) -> bool:
    return any(network.last_update_step > self._logged.get(network.name, -1)
               for network in run.bundle.sparse)

  def next_in(self, run) -> Optional[int]:
    t = run.train_step
    if not run.collecting and any(
        network.updater.window is not None and
        network.updater.window.is_update_step(t)
        for network in run.bundle.sparse):
      return 1  # Stop right after the update to log it.
    return _to_next_mask_update(run)

  def act(self, run) -> None:
    for network in run.bundle.sparse:
      step, changes = network.last_update()
      if step <= self._logged.get(network.name, -1):
        continue
      self._logged[network.name] = step
      if run.train_writer is None:
        continue
      prefix = f'Diagnostics/{network.name}'
      replaced = sum(change.replaced for change in changes.values())
      regrown = sum(change.regrown for change in changes.values())
      active = sum(change.active for change in changes.values())
      with run.train_writer.as_default(step=step):
        churn = ('Fraction of the active connections the mask update at this '
                 'train step replaced.')
        for name, change in changes.items():
          tf.summary.scalar(f'{prefix}/mask_churn/{name}', change.churn,
                            description=churn)
        tf.summary.scalar(f'{prefix}/mask_churn/total',
                          replaced / max(active, 1), description=churn)
        tf.summary.scalar(f'{prefix}/mask_replaced/total', replaced,
                          description='Connections the mask update at this '
                          'train step replaced.')
        tf.summary.scalar(f'{prefix}/mask_regrown/total',
                          regrown / max(regrown + replaced, 1),
                          description='Share of the grown connections that '
                          'the same update had just dropped.')


class FlopCounter(EnvStepHook):
  """Counts training FLOPs (Evci et al.) and logs them every `interval` env
  steps.

  Masks change only at the first train step of a chunk (this hook ends
  chunks there), so each chunk's cost is its steps at the masks after it.
  RigL's update steps add the dense gradient's extra cost.
  """

  def __init__(self, interval: int):
    super().__init__(interval)
    self._counted: Optional[int] = None

  def bind(self, run) -> Dict[str, object]:
    self._costs = {trained.name: flops.layer_costs(trained.network)
                   for trained in run.bundle.trained}
    # What each network would cost with no masks (RigL's dense gradient).
    self._dense = {name: flops.inference_flops(costs)
                   for name, costs in self._costs.items()}
    self._batch_size = run.experience.batch_size
    self._sparse = run.bundle.sparse
    self.train_flops = tf.Variable(0.0, dtype=tf.float64, name='train_flops')
    return {'train_flops': self.train_flops}

  def start(self, run) -> None:
    super().start(run)
    self._counted = run.train_step

  def inference(self) -> Dict[str, float]:
    """name -> per-example forward FLOPs of each network with its masks."""
    densities = {network.name: network.layer_density()
                 for network in self._sparse}
    return {name: flops.inference_flops(costs, densities.get(name))
            for name, costs in self._costs.items()}

  def due(self, run) -> bool:
    if self._counted is None:
      self._counted = run.train_step
    return run.train_step > self._counted or super().due(run)

  def next_in(self, run) -> Optional[int]:
    bounds = [super().next_in(run), _to_next_mask_update(run)]
    return min(bound for bound in bounds if bound is not None)

  def act(self, run) -> None:
    t = run.train_step
    if t > self._counted:
      inference = self.inference()
      self.train_flops.assign_add((t - self._counted) * sum(
          flops.training_flops_per_step(value, self._batch_size)
          for value in inference.values()))
      for network in self._sparse:
        step = network.last_update_step
        if network.updater.needs_gradients and self._counted <= step < t:
          self.train_flops.assign_add(flops.dense_gradient_extra_flops(
              inference[network.name], self._dense[network.name],
              self._batch_size))
      self._counted = t
    if EnvStepHook.due(self, run):
      super().act(run)

  def at_interval(self, run) -> None:
    if run.train_writer is None:
      return
    with run.train_writer.as_default(step=run.train_step):
      for name, value in self.inference().items():
        tf.summary.scalar(f'FLOPs/{name}/inference', value,
                          description='FLOPs of one forward pass of one '
                          'example at the current masks.')
      tf.summary.scalar('FLOPs/train_total', self.train_flops.numpy(),
                        description='Training FLOPs so far (Evci et al.).')

  def results(self) -> Dict[str, object]:
    total = float(self.train_flops.numpy())
    return {'flops': {
        'inference': self.inference(),
        'train_total': total,
        'train_per_step': total / max(self._counted or 0, 1),
    }}


class TrainStepHook(Hook):
  """Acts at every train step t > 0 that is a multiple of `interval`."""

  def __init__(self, interval: int):
    self.interval = interval
    self._acted: Optional[int] = None

  def due(self, run) -> bool:
    t = run.train_step
    return (not run.collecting and t > 0 and t % self.interval == 0 and
            t != self._acted)

  def next_in(self, run) -> Optional[int]:
    if run.collecting:
      return None
    return self.interval - run.train_step % self.interval

  def act(self, run) -> None:
    self._acted = run.train_step
    self.at_interval(run)

  def at_interval(self, run) -> None:
    raise NotImplementedError
