"""MuJoCo's warnings stay out of the current directory."""
import gymnasium as gym
import mujoco

from rigl_rl.envs import factory
from rigl_rl.envs import mujoco_log

# What MuJoCo 4 says when it compiles gymnasium's HalfCheetah model.
WARNING = "compiler attribute 'settotalmass' is deprecated"


def test_the_factory_keeps_mujoco_warnings_on_stderr_only(tmp_path,
                                                          monkeypatch, capfd):
  monkeypatch.chdir(tmp_path)
  factory.make_py_environment('HalfCheetah-v5', seed=0)
  assert WARNING in capfd.readouterr().err
  assert not list(tmp_path.iterdir())  # No MUJOCO_LOG.TXT.


def test_warnings_go_to_the_file_given_for_the_block(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  before = mujoco.MjLogConfig.get()
  log = tmp_path / 'run' / mujoco_log.LOG_FILE
  log.parent.mkdir()
  with mujoco_log.written_to(str(log)):
    gym.make('HalfCheetah-v5').close()
  assert WARNING in log.read_text()
  assert sorted(path.name for path in tmp_path.iterdir()) == ['run']
  after = mujoco.MjLogConfig.get()
  assert (after.logfile, after.logto_file) == (before.logfile,
                                               before.logto_file)
