"""A run's checkpoints: recovered from their files, never lost to a bad
index, a damaged newest checkpoint, a failed write or a diverged loss."""
import errno
import gc
import json
import os
import signal

import gin
import pytest
import tensorflow as tf

from rigl_rl import config
from rigl_rl.errors import ConfigError
from rigl_rl.training import checkpoints
from rigl_rl.training import run_dir
from rigl_rl.training.loop import Runner
from tests import conftest

# Checkpoints at env steps 200 and 400 (the end: train step 300).
GIN_FILE = 'cartpole_rigl.gin'


def _runner(root, extra=()):
  gin.clear_config()
  config.parse([conftest.gin_path(GIN_FILE)],
               conftest.overridden(conftest.smoke_bindings('rigl'), *extra))
  return Runner(str(root), verbose=False)


@pytest.fixture
def finished_run(tmp_path):
  root = tmp_path / 'run'
  conftest.train_in_process(root, 'dqn', GIN_FILE, 'rigl')
  return root


def _damage(path):
  """Truncates a checkpoint's data file, as a failing disk might."""
  data, = [name for name in os.listdir(os.path.dirname(path))
           if name.startswith(os.path.basename(path) + '.data')]
  with open(os.path.join(os.path.dirname(path), data), 'r+b') as f:
    f.truncate(10)


def test_a_finished_run_is_left_as_it_is(finished_run):
  before = conftest.tree_digest(finished_run)
  with conftest.logged_messages(tf.get_logger()) as messages:
    runner = _runner(finished_run)
    assert runner.run() == 'finished'
    runner.save_startup_log('more start-up output\n')
    assert runner.already_finished
    # Adam's hyper-parameters are restored by the first train step, which a
    # finished run never takes: no warning about them when the restore goes.
    del runner
    gc.collect()
  assert not [m for m in messages if 'unrestored values' in m], messages
  assert conftest.tree_digest(finished_run) == before


def test_a_lost_or_garbled_index_is_rebuilt_from_the_files(finished_run):
  directory = finished_run / 'checkpoints'
  index = directory / checkpoints.INDEX_FILE
  original = index.read_text()
  assert original.startswith('model_checkpoint_path: "ckpt-400"')
  for damage in (index.unlink, lambda: index.write_text('garbage {{')):
    damage()
    (directory / 'ckpt-500_temp').mkdir()  # A write a kill interrupted.
    runner = _runner(finished_run)
    runner.prepare()
    assert (runner.env_step, runner.train_step) == (400, 300)
    assert runner.already_finished
    assert index.read_text() == original
    assert not (directory / 'ckpt-500_temp').exists()
    assert tf.train.latest_checkpoint(str(directory)).endswith('ckpt-400')


def test_an_unreadable_newest_checkpoint_falls_back_to_the_one_before(
    finished_run, capfd):
  directory = finished_run / 'checkpoints'
  _damage(str(directory / 'ckpt-400'))
  runner = _runner(finished_run)
  runner.prepare()
  assert runner.env_step == 200
  assert 'ckpt-400 cannot be read' in capfd.readouterr().err
  aside = sorted(os.listdir(directory / checkpoints.UNREADABLE_DIR))
  assert aside == ['ckpt-400.data-00000-of-00001', 'ckpt-400.index']
  assert runner.run() == 'finished'
  results = json.loads((finished_run / 'results.json').read_text())
  assert results['finished']
  assert [step for step, _ in results['eval']] == [200, 400]
  assert runner.checkpoints.numbers() == [200, 400]


def test_no_readable_checkpoint_is_refused_and_nothing_moves(finished_run):
  for number in (200, 400):
    _damage(str(finished_run / 'checkpoints' / f'ckpt-{number}'))
  before = conftest.tree_digest(finished_run)
  runner = _runner(finished_run)
  with pytest.raises(ConfigError, match='none of the 2 checkpoints'):
    runner.prepare()
  assert conftest.tree_digest(finished_run) == before


def test_checkpoints_of_the_initial_collect_keep_their_env_step(tmp_path):
  runner = _runner(tmp_path / 'run', [
      'OffPolicy.initial_collect_steps = 300', 'CHECKPOINT_INTERVAL = 100',
      'Runner.max_checkpoints = 10'])
  assert runner.run() == 'finished'
  assert runner.checkpoints.numbers() == [100, 200, 300, 400]


def test_a_failed_write_leaves_the_previous_checkpoint(tmp_path,
                                                       monkeypatch):
  runner = _runner(tmp_path / 'run')
  write = tf.train.Checkpoint.write

  def full_disk(checkpoint, path, *args, **kwargs):
    if path.endswith('ckpt-400'):  # The disk fills after the first one.
      raise OSError(errno.ENOSPC, 'No space left on device')
    return write(checkpoint, path, *args, **kwargs)

  monkeypatch.setattr(tf.train.Checkpoint, 'write', full_disk)
  with pytest.raises(ConfigError, match=r'could not write checkpoint .*'
                     r'ckpt-400 \(.*No space left.*ckpt-200 is intact'):
    runner.run()
  monkeypatch.undo()
  directory = str(tmp_path / 'run' / 'checkpoints')
  assert runner.checkpoints.numbers() == [200]
  assert tf.train.latest_checkpoint(directory).endswith('ckpt-200')
  # The corrected run resumes from it.
  resumed = _runner(tmp_path / 'run')
  resumed.prepare()
  assert resumed.env_step == 200


def test_a_diverging_loss_stops_before_it_is_checkpointed(tmp_path):
  runner = _runner(tmp_path / 'run', ['dqn_agent.learning_rate = 1e30',
                                      'CHECKPOINT_INTERVAL = 100'])
  with pytest.raises(ConfigError, match=r'training diverged by train step '
                     r'\d+ \(Loss is inf or nan\); .*ckpt-100 is the last'):
    runner.run()
  for number in runner.checkpoints.numbers():
    reader = tf.train.load_checkpoint(runner.checkpoints.path(number))
    for key in reader.get_variable_to_shape_map():
      value = reader.get_tensor(key)
      if hasattr(value, 'dtype') and value.dtype.kind == 'f':
        assert tf.reduce_all(tf.math.is_finite(value)), key


def test_a_stop_signal_while_the_end_is_written_still_finishes(tmp_path,
                                                               monkeypatch):
  runner = _runner(tmp_path / 'run')
  write = runner._write_networks  # pylint: disable=protected-access

  def interrupted_write(which):
    if which == run_dir.FINAL_NETWORKS:
      os.kill(os.getpid(), signal.SIGTERM)
    write(which)

  monkeypatch.setattr(runner, '_write_networks', interrupted_write)
  assert runner.run() == 'finished'
  assert runner.interrupted == signal.SIGTERM
  assert run_dir.finished(str(tmp_path / 'run'))
  assert os.path.exists(tmp_path / 'run' / (run_dir.FINAL_NETWORKS +
                                            '.index'))


def test_a_run_killed_after_its_last_checkpoint_is_completed(finished_run):
  # As if killed after the final checkpoint, before results.json said so.
  results_path = finished_run / 'results.json'
  results = json.loads(results_path.read_text())
  results_path.write_text(json.dumps(dict(results, finished=False,
                                          diagnostics={})))
  runner = _runner(finished_run)
  assert runner.run() == 'finished'
  assert not runner.already_finished
  completed = json.loads(results_path.read_text())
  assert completed['finished']
  assert completed['eval'] == results['eval']
  assert completed['diagnostics'] == results['diagnostics'] != {}


def test_train_steps_after_the_last_env_step_are_checkpointed(tmp_path):
  # PPO's last rollout reaches env step 512 at train step 25, where a
  # checkpoint is due; its other 7 train steps come at the same env step.
  root = tmp_path / 'run'
  conftest.train_in_process(root, 'ppo', 'cartpole_rigl.gin', 'rigl')
  gin.clear_config()
  config.parse([conftest.gin_path('cartpole_rigl.gin', 'ppo')],
               conftest.smoke_bindings('rigl', 'ppo'))
  again = Runner(str(root), verbose=False)
  again.prepare()
  assert (again.env_step, again.train_step) == (512, 32)
  assert again.already_finished
  assert not [name for name in os.listdir(root / 'checkpoints')
              if 'replaced' in name or '_temp' in name]
