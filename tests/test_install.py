"""A non-editable install of the wheel works from any directory.

Builds the wheel from a copy of the checkout (so the checkout gets no
build/ or egg-info), installs it into a venv that reuses this Python's
packages (no download), and trains a few steps from a directory outside
the checkout, naming the experiment by its shipped name. Deselect with
`-m 'not install'`.
"""
import json
import os
import shutil
import subprocess
import sys

import pytest

from tests import conftest

pytestmark = pytest.mark.install

BINARIES = ('rigl-train', 'rigl-evaluate', 'rigl-sweep', 'rigl-report',
            'rigl-export')


def _run(command, cwd, env, timeout=300):
  proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True,
                        text=True, timeout=timeout)
  assert proc.returncode == 0, (command, proc.stdout[-2000:],
                                proc.stderr[-3000:])
  return proc


@pytest.fixture(scope='module')
def venv(tmp_path_factory):
  """(the venv's bin directory, an environment without the checkout)."""
  tmp = tmp_path_factory.mktemp('install')
  source = tmp / 'source'
  source.mkdir()
  for name in ('setup.py', 'README.md'):
    shutil.copy(os.path.join(conftest.REPO, name), source)
  for name in ('rigl_rl', 'gin'):  # rigl_rl/gin links to ../gin.
    shutil.copytree(os.path.join(conftest.REPO, name), source / name,
                    symlinks=True,
                    ignore=shutil.ignore_patterns('__pycache__'))
  env = {key: value for key, value in os.environ.items()
         if key != 'PYTHONPATH'}
  _run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
        '--no-build-isolation', '-q', '-w', str(tmp / 'wheel'), '.'],
       source, env)
  (wheel,) = (tmp / 'wheel').iterdir()
  _run([sys.executable, '-m', 'venv', '--system-site-packages',
        str(tmp / 'venv')], tmp, env)
  bin_dir = tmp / 'venv' / 'bin'
  _run([str(bin_dir / 'python'), '-m', 'pip', 'install', '--no-deps',
        '--no-build-isolation', '-q', str(wheel)], tmp, env)
  return bin_dir, env


def test_the_installed_package_is_the_wheel_not_the_checkout(venv,
                                                              tmp_path):
  bin_dir, env = venv
  proc = _run([str(bin_dir / 'python'), '-c',
               'import rigl_rl, sys; print(rigl_rl.__file__); '
               'print("tensorflow" in sys.modules)'], tmp_path, env)
  path, tensorflow = proc.stdout.split()
  assert path.startswith(str(bin_dir.parent)), path
  assert tensorflow == 'False'  # import rigl_rl stays light.
  # The generic names of the old scripts= no longer land on PATH.
  for name in ('train', 'evaluate', 'sweep', 'report', 'export'):
    assert not (bin_dir / name).exists()


@pytest.mark.parametrize('binary', BINARIES)
def test_each_binary_prints_help_and_exits_0(venv, tmp_path, binary):
  bin_dir, env = venv
  proc = _run([str(bin_dir / binary), '--help'], tmp_path, env)
  assert '--' in proc.stdout and 'flags' in proc.stdout


def test_list_names_the_shipped_experiments(venv, tmp_path):
  bin_dir, env = venv
  proc = _run([str(bin_dir / 'rigl-train'), '--list'], tmp_path, env)
  lines = proc.stdout.splitlines()
  assert 'dqn:' in lines and 'sac:' in lines and 'ppo:' in lines
  cartpole = lines[lines.index('dqn:') + 1:lines.index('ppo:')]
  assert any(line.split()[0] == 'cartpole' and 'rigl' in line.split()
             for line in cartpole)


def test_trains_a_shipped_experiment_from_outside_the_checkout(venv,
                                                               tmp_path):
  bin_dir, env = venv
  root = tmp_path / 'run'
  # A method file, whose includes (its dense base, common/) resolve inside
  # the installed package.
  command = ([str(bin_dir / 'rigl-train'), f'--root_dir={root}',
              '--gin_files=dqn/cartpole_rigl.gin'] +
             [f'--gin_bindings={b}' for b in conftest.overridden(
                 conftest.smoke_bindings('rigl'), 'NUM_ENV_STEPS = 200',
                 'EVAL_INTERVAL = 200', 'CHECKPOINT_INTERVAL = 200')])
  _run(command, tmp_path, env)
  with open(root / 'results.json') as f:
    results = json.load(f)
  assert results['finished'] is True
  assert results['method'] == 'rigl'
  assert results['env_steps_done'] == 200
