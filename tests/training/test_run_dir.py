"""The run directory guard never overwrites another run."""
import os
import socket
import subprocess
import sys

import pytest

from rigl_rl.errors import ConfigError
from rigl_rl.training import run_dir


def test_claim_new_then_same_config(tmp_path):
  root = str(tmp_path / 'run')
  assert run_dir.claim(root, 'A = 1\n') is False
  path = os.path.join(root, 'config.gin')
  with open(path) as f:
    assert f.read() == 'A = 1\n'
  umask = os.umask(0)
  os.umask(umask)
  assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask
  assert run_dir.claim(root, 'A = 1\n') is True


def test_claim_other_config_refused_untouched(tmp_path):
  root = str(tmp_path / 'run')
  run_dir.claim(root, 'A = 1\n')
  with pytest.raises(ConfigError, match='different configuration'):
    run_dir.claim(root, 'A = 2\n')
  with open(os.path.join(root, 'config.gin')) as f:
    assert f.read() == 'A = 1\n'


def test_claim_refuses_run_files_without_config(tmp_path):
  os.makedirs(tmp_path / 'checkpoints')
  with pytest.raises(ConfigError, match='no config.gin'):
    run_dir.claim(str(tmp_path), 'A = 1\n')
  assert not os.path.exists(tmp_path / 'config.gin')


def test_claim_accepts_a_directory_of_other_files(tmp_path):
  (tmp_path / 'notes.txt').write_text('mine')
  assert run_dir.claim(str(tmp_path), 'A = 1\n') is False
  assert (tmp_path / 'notes.txt').read_text() == 'mine'


def test_claim_refuses_a_file(tmp_path):
  path = tmp_path / 'run'
  path.write_text('mine')
  with pytest.raises(ConfigError, match='is a file'):
    run_dir.claim(str(path), 'A = 1\n')
  assert path.read_text() == 'mine'


def _lock_text(pid, host=None):
  return f'{pid} {host or socket.gethostname()}\n'


def test_a_run_in_use_by_a_live_process_is_refused(tmp_path):
  root = str(tmp_path / 'run')
  run_dir.claim(root, 'A = 1\n')
  lock = tmp_path / 'run' / run_dir.LOCK_FILE
  assert lock.read_text() == _lock_text(os.getpid())
  other = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
  try:
    lock.write_text(_lock_text(other.pid))
    with pytest.raises(ConfigError, match=f'in use by process {other.pid}'):
      run_dir.claim(root, 'A = 1\n')
  finally:
    other.kill()
    other.wait()
  # The holder is dead now (as after a SIGKILL): its lock is taken over.
  assert run_dir.claim(root, 'A = 1\n') is True
  assert lock.read_text() == _lock_text(os.getpid())


def test_a_lock_of_another_host_is_never_taken_over(tmp_path):
  root = str(tmp_path / 'run')
  run_dir.claim(root, 'A = 1\n')
  lock = tmp_path / 'run' / run_dir.LOCK_FILE
  # A PID that is dead here says nothing about a process on another host.
  dead = subprocess.Popen([sys.executable, '-c', 'pass'])
  dead.wait()
  lock.write_text(_lock_text(dead.pid, 'other-host'))
  with pytest.raises(ConfigError, match=f'{dead.pid} on other-host'):
    run_dir.claim(root, 'A = 1\n')
  assert lock.read_text() == _lock_text(dead.pid, 'other-host')


def test_check_lock_rewrites_a_deleted_lock_and_stops_for_a_new_holder(
    tmp_path):
  root = str(tmp_path / 'run')
  run_dir.claim(root, 'A = 1\n')
  lock = tmp_path / 'run' / run_dir.LOCK_FILE
  lock.unlink()
  run_dir.check_lock(root)
  assert lock.read_text() == _lock_text(os.getpid())
  lock.write_text(_lock_text(1, 'other-host'))
  with pytest.raises(ConfigError, match='took this run over'):
    run_dir.check_lock(root)


def test_finished_reads_results_and_survives_a_truncated_file(tmp_path):
  assert not run_dir.finished(str(tmp_path))
  results = tmp_path / run_dir.RESULTS_FILE
  results.write_text('{"finished": true}')
  assert run_dir.finished(str(tmp_path))
  results.write_text('{"finished": tr')
  assert not run_dir.finished(str(tmp_path))


def test_earlier_sweep_specs_are_numbered_copies():
  assert run_dir.is_earlier_sweep_spec('sweep_spec.1.yaml')
  assert run_dir.is_earlier_sweep_spec('sweep_spec.12.yaml')
  for name in ('sweep_spec.yaml', 'sweep_spec.frozen.yaml', 'sweep_spec..yaml',
               'other.1.yaml'):
    assert not run_dir.is_earlier_sweep_spec(name), name
