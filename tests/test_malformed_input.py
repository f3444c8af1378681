"""Malformed invocations of the binaries: each ends in one `error:` line,
before any work, and leaves the disk as it was.

Most cases go through what bin/train runs before its first write
(`cli.writable_dir`, then `config.build_runner`) in this process; a few go
through the real binaries, whose start-up costs several seconds each.
"""
import hashlib
import os
import subprocess
import sys

import gin
import pytest

from rigl_rl import cli
from rigl_rl import config
from rigl_rl import errors
from rigl_rl.errors import ConfigError
from tests import conftest

DQN = conftest.gin_path('cartpole_rigl.gin')
DENSE = conftest.gin_path('cartpole_dense.gin')
SAC = conftest.gin_path('pendulum_rigl.gin', 'sac')
PPO = conftest.gin_path('cartpole_rigl.gin', 'ppo')

# id -> (gin file, bindings, a fragment of the error line).
BINDING_CASES = {
    'misspelt-macro': (DQN, ['SPARSTY = 0.95'], 'did you mean SPARSITY?'),
    'macro-dense-file-lacks': (DENSE, ['SPARSITY = 0.95'],
                               'no binding of this configuration reads it'),
    'configurable-never-called': (DENSE, ['SparseTraining.sparsity = 0.5'],
                                  'never calls SparseTraining'),
    'network-never-called': (DENSE, ['NatureCNN.width = 2.0'],
                             'did you mean mlp_layers.width?'),
    'conflicting-bindings': (DQN, ['SPARSITY = 0.9', 'SPARSITY = 0.95'],
                             'SPARSITY twice'),
    'fractional-steps': (DQN, ['NUM_ENV_STEPS = 2500.5'],
                         'Runner.num_env_steps (set by NUM_ENV_STEPS) must be '
                         'an integer >= 1, got 2500.5'),
    'fractional-episodes': (DQN, ['EVAL_EPISODES = 2.5'], 'EVAL_EPISODES'),
    'string-steps': (DQN, ["NUM_ENV_STEPS = 'abc'"], "got 'abc'"),
    'zero-interval': (DQN, ['CHECKPOINT_INTERVAL = 0'],
                      'Runner.checkpoint_interval'),
    'negative-interval': (DQN, ['EVAL_INTERVAL = -5'], 'Runner.eval_interval'),
    'no-training-left': (DQN, ['NUM_ENV_STEPS = 10'], 'leaves no training'),
    'negative-seed': (DQN, ['SEED = -1'], 'integer >= 0, got -1'),
    'fractional-seed': (DQN, ['SEED = 1.5'], 'Runner.seed'),
    'zero-width': (DQN, ['mlp_layers.width = 0'], 'mlp_layers.width'),
    'zero-hidden-units': (DQN, ['mlp_layers.hidden_units = (64, 0)'],
                          'mlp_layers.hidden_units[1]'),
    'string-learning-rate': (DQN, ['dqn_agent.learning_rate = "fast"'],
                             'dqn_agent.learning_rate must be a number > 0'),
    'sac-negative-learning-rate': (SAC, ['sac_agent.actor_learning_rate = -1'],
                                   'sac_agent.actor_learning_rate'),
    'ppo-zero-learning-rate': (PPO, ['ppo_agent.learning_rate = 0'],
                               'ppo_agent.learning_rate'),
    'ppo-string-minibatch': (PPO, ["OnPolicy.minibatch_size = 'big'"],
                             'OnPolicy.minibatch_size'),
    'string-sparsity': (DQN, ["SPARSITY = 'high'"], '[0, 1)'),
    'sparsity-one': (DQN, ['SPARSITY = 1.0'], '[0, 1)'),
    'string-batch-size': (DQN, ["OffPolicy.batch_size = '32'"],
                          'OffPolicy.batch_size'),
    'numeric-env-name': (DQN, ['Runner.env_name = 5'], 'Runner.env_name'),
    'unknown-env-name': (DQN, ["Runner.env_name = 'Pong-v0'"],
                         "unknown environment 'Pong-v0'"),
    'replay-beyond-memory': (DQN, ['OffPolicy.replay_capacity = '
                                   '1000000000000'],
                             'lower OffPolicy.replay_capacity'),
    'misspelt-parameter': (DQN, ['dqn_agent.learning_rat = 0.1'],
                           'did you mean learning_rate?'),
    'unknown-configurable': (DQN, ['SparseTrainin.sparsity = 0.1'],
                             'did you mean SparseTraining?'),
    'no-value': (DQN, ['SPARSITY = '], 'gin:'),
}


def _digest(root):
  """A hash of every path and byte under `root`, or None if it is absent."""
  if not os.path.exists(root):
    return None
  digest = hashlib.sha256()
  for dirpath, dirnames, files in sorted(os.walk(root)):
    dirnames.sort()
    for name in sorted(files) + dirnames:
      path = os.path.join(dirpath, name)
      digest.update(path.encode())
      if os.path.isfile(path):
        with open(path, 'rb') as f:
          digest.update(f.read())
  return digest.hexdigest()


@pytest.fixture(scope='module')
def finished_run(tmp_path_factory):
  """A finished dense smoke run: the corrected command's directory."""
  root = tmp_path_factory.mktemp('finished') / 'run'
  conftest.train_in_process(root, 'dqn', 'cartpole_dense.gin', 'dense')
  return str(root)


def _start(root_dir, gin_files, bindings):
  """What bin/train does before it first writes; returns the line it would
  print (gin appends where in the configuration the error was raised)."""
  with pytest.raises(ConfigError) as error:
    cli.writable_dir('root_dir', root_dir)
    config.build_runner(root_dir, gin_files, bindings, verbose=False)
  gin.clear_config()  # For the next attempt in the same test.
  return errors.one_line(error.value)


@pytest.mark.parametrize('case', sorted(BINDING_CASES))
def test_a_bad_binding_stops_before_any_work(case, tmp_path, finished_run):
  gin_file, bindings, fragment = BINDING_CASES[case]
  new = str(tmp_path / 'new_run')
  assert fragment in _start(new, [gin_file], bindings)
  assert not os.path.exists(new)
  before = _digest(finished_run)
  assert fragment in _start(finished_run, [gin_file], bindings)
  assert _digest(finished_run) == before


def _gin_file(tmp_path, name, text):
  path = tmp_path / name
  path.write_text(text)
  return str(path)


@pytest.mark.parametrize('case', ['empty', 'self-including', 'no-run',
                                  'missing', 'none'])
def test_a_bad_gin_file_stops_before_any_work(case, tmp_path):
  files = {
      'empty': lambda: [_gin_file(tmp_path, 'empty.gin', '# a comment\n')],
      'self-including': lambda: [_gin_file(tmp_path, 'self.gin',
                                           "include 'self.gin'\n")],
      'no-run': lambda: [conftest.gin_path('common/classic_control_rigl.gin')],
      'missing': lambda: [str(tmp_path / 'nope.gin')],
      'none': lambda: [],
  }[case]()
  fragment = {'empty': 'binds nothing', 'self-including': 'cycle',
              'no-run': 'bind no Runner.env_name', 'missing': 'not found',
              'none': 'no --gin_files'}[case]
  root = str(tmp_path / 'run')
  assert fragment in _start(root, files, [])
  assert not os.path.exists(root)


def test_bad_root_dirs_stop_before_any_work(tmp_path, monkeypatch):
  a_file = tmp_path / 'a_file'
  a_file.write_text('mine')
  assert 'is empty' in _start('', [DQN], [])
  assert 'is a file' in _start(str(a_file), [DQN], [])
  assert 'is a file' in _start(str(a_file / 'run'), [DQN], [])
  assert a_file.read_text() == 'mine'
  read_only = tmp_path / 'read_only'
  read_only.mkdir()
  # root may write anywhere: ask os.access what a user who may not would get.
  monkeypatch.setattr(os, 'access', lambda path, mode: False)
  assert 'is not writable' in _start(str(read_only / 'run'), [DQN], [])
  assert os.listdir(read_only) == []


@pytest.mark.skipif(os.geteuid() == 0, reason='root may write anywhere')
def test_a_read_only_root_dir_is_refused(tmp_path):
  read_only = tmp_path / 'read_only'
  read_only.mkdir()
  read_only.chmod(0o500)
  assert 'is not writable' in _start(str(read_only / 'run'), [DQN], [])


# Through the binaries themselves: id -> (command-line arguments, root dir
# that must stay as it was, a fragment of the error line). 'FINISHED' and
# 'TMP' stand for the finished run and a fresh temporary directory.
BINARY_CASES = {
    'train-fractional-steps-on-a-finished-run': (
        ['train', '--root_dir=FINISHED', f'--gin_files={DENSE}',
         '--gin_bindings=NUM_ENV_STEPS = 2500.5'], 'FINISHED',
        'got 2500.5'),
    'train-configurable-never-called': (
        ['train', '--root_dir=TMP/run', f'--gin_files={DENSE}',
         '--gin_bindings=SparseTraining.sparsity = 0.5'], 'TMP/run',
        'never calls SparseTraining'),
    'train-empty-root-dir': (
        ['train', '--root_dir=', f'--gin_files={DQN}'], 'TMP', 'is empty'),
    'evaluate-missing-root-dir': (
        ['evaluate', '--root_dir=TMP/nope'], 'TMP', 'does not exist'),
    'evaluate-file-root-dir': (
        ['evaluate', f'--root_dir={DQN}'], 'TMP', 'is a file'),
    'report-missing-sweep-dir': (
        ['report', '--sweep_dir=TMP/nope'], 'TMP', 'does not exist'),
    'report-file-sweep-dir': (
        ['report', f'--sweep_dir={DQN}'], 'TMP', 'is a file'),
    'sweep-file-sweep-dir': (
        ['sweep', f'--sweep_dir={DQN}/sweep', f'--spec={DQN}'], 'TMP',
        'is a file'),
}


def test_the_binaries_end_bad_input_in_one_line(tmp_path, finished_run):
  """All cases run at once: each binary's start-up is most of its time."""
  processes, digests = {}, {}
  for case, (arguments, root, _) in BINARY_CASES.items():
    scratch = tmp_path / case
    scratch.mkdir()
    fill = lambda text: text.replace('FINISHED', finished_run).replace(
        'TMP', str(scratch))
    digests[case] = (fill(root), _digest(fill(root)))
    binary, *flags = arguments
    processes[case] = subprocess.Popen(
        [sys.executable, os.path.join(conftest.REPO, 'bin', binary)] +
        [fill(flag) for flag in flags], cwd=conftest.REPO, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
  for case, process in processes.items():
    _, stderr = process.communicate(timeout=300)
    lines = stderr.strip().splitlines()
    assert process.returncode != 0, case
    assert 'Traceback' not in stderr, (case, stderr)
    assert len(lines) == 1 and lines[0].startswith('error: '), (case, stderr)
    assert BINARY_CASES[case][2] in lines[0], (case, lines[0])
    root, digest = digests[case]
    assert _digest(root) == digest, case
