"""The run directory guard never overwrites another run."""
import os
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


def test_a_run_in_use_by_a_live_process_is_refused(tmp_path):
  root = str(tmp_path / 'run')
  run_dir.claim(root, 'A = 1\n')
  other = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])
  try:
    (tmp_path / 'run' / run_dir.LOCK_FILE).write_text(str(other.pid))
    with pytest.raises(ConfigError, match=f'in use by process {other.pid}'):
      run_dir.claim(root, 'A = 1\n')
  finally:
    other.kill()
    other.wait()
  # The holder is dead now (as after a SIGKILL): its lock is taken over.
  assert run_dir.claim(root, 'A = 1\n') is True
  assert (tmp_path / 'run' / run_dir.LOCK_FILE).read_text() == str(os.getpid())
