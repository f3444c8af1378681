"""Tracking: a run's TensorBoard scalars mirrored to MLflow and W&B."""
import glob
import json
import os

import pytest
import tensorflow as tf

from rigl_rl.training import tracking
from tests import conftest


def _scalar_tags(root_dir):
  tags = set()
  for name in tracking.EVENT_DIRS:
    for path in glob.glob(os.path.join(root_dir, name, 'events.*')):
      for event in tf.compat.v1.train.summary_iterator(path):
        tags.update(tag for tag, _, _ in tracking._scalars(event))  # pylint: disable=protected-access
  return tags


def _train(root_dir, *bindings):
  return conftest.train_in_process(
      root_dir, 'dqn', 'cartpole_dense.gin', 'dense',
      conftest.smoke_bindings('dense') + [
          'Runner.extra_hooks = [@Tracking()]', 'Tracking.interval = 200',
          *bindings])


def _eval_returns(root_dir):
  with open(os.path.join(root_dir, 'results.json')) as f:
    return [value for _, value in json.load(f)['eval']]


def test_mlflow_gets_every_scalar_with_its_step(tmp_path, monkeypatch):
  pytest.importorskip('mlflow', reason='pip install "rigl_rl[mlflow]"')
  # MLflow 3 keeps its file store only on request; a server needs none.
  monkeypatch.setenv('MLFLOW_ALLOW_FILE_STORE', 'true')
  from mlflow.tracking import MlflowClient  # pylint: disable=g-import-not-at-top
  uri = f'file:{tmp_path / "mlruns"}'
  root = tmp_path / 'run'
  _train(root, 'Tracking.backend = @mlflow_backend()',
         f"mlflow_backend.tracking_uri = '{uri}'",
         "mlflow_backend.experiment = 'smoke'")
  client = MlflowClient(uri)
  (run,) = client.search_runs(
      [client.get_experiment_by_name('smoke').experiment_id])
  assert run.info.run_name == 'run' and run.info.status == 'FINISHED'
  assert run.data.params['root_dir'] == str(root)
  tags = _scalar_tags(str(root))
  assert 'Eval/AverageReturn' in tags and 'Losses/loss' in tags
  assert set(run.data.metrics) == tags
  history = sorted(client.get_metric_history(run.info.run_id,
                                             'Eval/AverageReturn'),
                   key=lambda m: m.step)
  # Two evaluations (env steps 200, 400), each sent once, at its train step.
  assert [m.value for m in history] == pytest.approx(_eval_returns(str(root)))
  assert len({m.step for m in history}) == 2


def test_wandb_offline_run(tmp_path, monkeypatch):
  pytest.importorskip('wandb', reason='pip install "rigl_rl[wandb]"')
  monkeypatch.setenv('WANDB_MODE', 'offline')
  monkeypatch.setenv('WANDB_SILENT', 'true')
  root = tmp_path / 'run'
  _train(root, 'Tracking.backend = @wandb_backend()',
         f"wandb_backend.directory = '{tmp_path}'")
  # An offline run keeps its records in one protobuf log; every tag sent is
  # in it by name (wandb 0.31 ships no public reader of that file).
  (log,) = glob.glob(str(tmp_path / 'wandb' / 'offline-run-*' / '*.wandb'))
  with open(log, 'rb') as f:
    records = f.read()
  tags = _scalar_tags(str(root))
  assert 'Eval/AverageReturn' in tags
  for tag in tags | {'train_step'}:
    assert tag.encode() in records, tag
  assert str(root).encode() in records  # The root_dir in its config.
