"""Mirrors a run's TensorBoard scalars to an experiment tracker.

  Runner.extra_hooks = [@Tracking()]
  Tracking.backend = @mlflow_backend()      # or @wandb_backend()
  mlflow_backend.tracking_uri = 'file:/tmp/mlruns'

The hook reads the run's own event files (train/ and eval/) as they grow, at
every `interval` env steps and at the end, and forwards each new scalar with
its train step: what TensorBoard shows is what the tracker gets, and nothing
in the run is patched. MLflow needs `pip install "rigl_rl[mlflow]"`, W&B
`pip install "rigl_rl[wandb]"`.
"""
import glob
import importlib
import os
from typing import Dict, List, Optional, Sequence, Tuple

import gin
import numpy as np
import tensorflow as tf
from tensorboard.backend.event_processing import event_file_loader

from rigl_rl.errors import ConfigError
from rigl_rl.training import hooks

# Where the run loop writes its summaries.
EVENT_DIRS = ('train', 'eval')
Scalar = Tuple[str, float, int]  # (tag, value, train step)


class Backend:
  """Where scalars go. Made when gin builds the hook (so a missing package
  stops the run before any work); `open` starts the tracker's run."""

  def open(self, run_name: str, root_dir: str) -> None:
    raise NotImplementedError

  def log(self, scalars: Sequence[Scalar]) -> None:
    raise NotImplementedError

  def close(self) -> None:
    raise NotImplementedError


def _import(module: str, extra: str):
  try:
    return importlib.import_module(module)
  except ImportError as e:
    raise ConfigError(f'Tracking.backend needs {module}: pip install '
                      f'"rigl_rl[{extra}]"') from e


@gin.configurable('mlflow_backend')
class MlflowBackend(Backend):
  """An MLflow run, through MlflowClient (no global active run)."""

  def __init__(self, tracking_uri: Optional[str] = None,
               experiment: str = 'rigl_rl'):
    """Args:
      tracking_uri: e.g. 'file:/tmp/mlruns' or 'http://host:5000'; default
        MLFLOW_TRACKING_URI, else ./mlruns.
      experiment: the MLflow experiment; made if missing.
    """
    self._mlflow = _import('mlflow', 'mlflow')
    self._tracking_uri = tracking_uri
    self._experiment = experiment
    self._client = self.run_id = None

  def open(self, run_name: str, root_dir: str) -> None:
    self._client = self._mlflow.tracking.MlflowClient(self._tracking_uri)
    found = self._client.get_experiment_by_name(self._experiment)
    experiment_id = (found.experiment_id if found else
                     self._client.create_experiment(self._experiment))
    self.run_id = self._client.create_run(
        experiment_id, run_name=run_name).info.run_id
    self._client.log_param(self.run_id, 'root_dir', root_dir)

  def log(self, scalars: Sequence[Scalar]) -> None:
    metrics = [self._mlflow.entities.Metric(tag, value, 0, step)
               for tag, value, step in scalars]
    for start in range(0, len(metrics), 1000):  # MLflow's batch limit.
      self._client.log_batch(self.run_id, metrics=metrics[start:start + 1000])

  def close(self) -> None:
    self._client.set_terminated(self.run_id)


@gin.configurable('wandb_backend')
class WandbBackend(Backend):
  """A Weights & Biases run; every metric is plotted against train_step."""

  def __init__(self, project: str = 'rigl_rl', entity: Optional[str] = None,
               mode: Optional[str] = None, directory: Optional[str] = None):
    """Args:
      project: the W&B project.
      entity: the W&B team or user; default yours.
      mode: 'online', 'offline' or None (W&B's default, e.g. WANDB_MODE).
      directory: where W&B keeps its files; default ./wandb.
    """
    self._wandb = _import('wandb', 'wandb')
    self._settings = dict(project=project, entity=entity, mode=mode,
                          dir=directory)
    self._run = None

  def open(self, run_name: str, root_dir: str) -> None:
    self._run = self._wandb.init(name=run_name, config={'root_dir': root_dir},
                                 reinit='create_new', **self._settings)
    # Train and eval scalars arrive out of step order, and W&B's own step
    # must rise: the train step is a metric of its own.
    self._run.define_metric('train_step')
    self._run.define_metric('*', step_metric='train_step')

  def log(self, scalars: Sequence[Scalar]) -> None:
    by_step: Dict[int, Dict[str, float]] = {}
    for tag, value, step in scalars:
      by_step.setdefault(step, {})[tag] = value
    for step, values in sorted(by_step.items()):
      self._run.log(dict(values, train_step=step))

  def close(self) -> None:
    self._run.finish()


def _scalars(event) -> List[Scalar]:
  """The scalar summaries of one event (tf.summary v2 writes tensors)."""
  found = []
  for value in event.summary.value:
    if value.HasField('simple_value'):
      found.append((value.tag, float(value.simple_value), int(event.step)))
    elif (value.metadata.plugin_data.plugin_name == 'scalars' and
          value.HasField('tensor')):
      found.append((value.tag, float(np.asarray(
          tf.make_ndarray(value.tensor)).reshape(())), int(event.step)))
  return found


@gin.configurable
class Tracking(hooks.EnvStepHook):
  """Forwards new TensorBoard scalars of the run to `backend`.

  A resumed run forwards only scalars past the train step each event
  directory had reached at its checkpoint, so a tracker gets each once
  (but for any written after that checkpoint and written again).
  """

  def __init__(self, backend: Backend = gin.REQUIRED,
               interval: int = 10_000, run_name: Optional[str] = None):
    """Args:
      backend: `@mlflow_backend()`, `@wandb_backend()` or another `Backend`.
      interval: env steps between reads of the event files.
      run_name: the tracker's run name; default the run directory's name.
    """
    super().__init__(interval)
    self._backend = backend
    self._run_name = run_name
    self._loaders: Dict[str, event_file_loader.EventFileLoader] = {}
    # Per event directory: the largest train step forwarded (checkpointed).
    self._forwarded = {name: tf.Variable(-1, dtype=tf.int64, trainable=False,
                                         name=f'tracking_{name}_step')
                       for name in EVENT_DIRS}
    self._skip_to: Dict[str, int] = {}

  def bind(self, run) -> Dict[str, object]:
    del run
    return {f'tracking_{name}': variable
            for name, variable in self._forwarded.items()}

  def start(self, run) -> None:
    super().start(run)
    root = os.path.abspath(run.root_dir)
    self._backend.open(self._run_name or os.path.basename(root), root)
    # What an earlier process forwarded before its checkpoint.
    self._skip_to = {name: int(v.numpy()) for name, v in self._forwarded.items()}

  def _new_scalars(self, run, name: str) -> List[Scalar]:
    found = []
    for path in sorted(glob.glob(os.path.join(run.root_dir, name,
                                              'events.out.tfevents.*'))):
      if path not in self._loaders:
        self._loaders[path] = event_file_loader.EventFileLoader(path)
      for event in self._loaders[path].Load():
        found += [s for s in _scalars(event) if s[2] > self._skip_to[name]]
    return found

  def forward(self, run) -> None:
    """Sends every scalar written since the last call."""
    run.train_writer.flush()
    run.eval_writer.flush()
    for name in EVENT_DIRS:
      scalars = self._new_scalars(run, name)
      if scalars:
        self._backend.log(scalars)
        self._forwarded[name].assign(max(
            int(self._forwarded[name].numpy()), max(s[2] for s in scalars)))

  def at_interval(self, run) -> None:
    self.forward(run)

  def finish(self, run) -> None:
    self.forward(run)
    self._backend.close()
