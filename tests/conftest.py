"""Shared fixtures: Keras 2 before TensorFlow, and a clean gin state per test."""
import contextlib
import glob
import hashlib
import logging
import os
import subprocess
import sys

import rigl_rl  # pylint: disable=unused-import  # Selects Keras 2 first.
import gin
import numpy as np
import pytest
import tensorflow as tf

from rigl_rl import methods

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GIN_DIR = os.path.join(REPO, 'gin')
TRAIN = os.path.join(REPO, 'bin', 'train')


@pytest.fixture(autouse=True)
def clear_gin():
  gin.clear_config()
  yield
  gin.clear_config()

# Small and short, but long enough for evaluations, checkpoints and mask
# updates (every 50 train steps) to happen.
SMOKE_BINDINGS = (
    'NUM_ENV_STEPS = 400',
    'EVAL_INTERVAL = 200',
    'EVAL_EPISODES = 2',
    'CHECKPOINT_INTERVAL = 200',
    'OffPolicy.initial_collect_steps = 100',
    'Runner.log_interval = 100',
    'OffPolicy.batch_size = 32',
    'mlp_layers.hidden_units = (64, 64)',
    'Diagnostics.interval = 100',
)
SPARSE_SMOKE_BINDINGS = ('UpdateSchedule.interval = 50',)
# SAC on Pendulum-v1 (200-step episodes), at the same scale.
SAC_SMOKE_BINDINGS = SMOKE_BINDINGS[:2] + (
    'EVAL_EPISODES = 1',
    'CHECKPOINT_INTERVAL = 200',
    'OffPolicy.initial_collect_steps = 100',
    'Runner.log_interval = 100',
    'OffPolicy.batch_size = 32',
    'mlp_layers.hidden_units = (32, 32)',
    'Diagnostics.interval = 100',
)


# PPO: rollouts of 128 steps, 2 epochs of 4 minibatches (8 train steps each).
PPO_SMOKE_BINDINGS = (
    'NUM_ENV_STEPS = 512',
    'EVAL_INTERVAL = 256',
    'EVAL_EPISODES = 1',
    'CHECKPOINT_INTERVAL = 256',
    'OnPolicy.rollout_length = 128',
    'OnPolicy.minibatch_size = 32',
    'OnPolicy.epochs = 2',
    'Runner.log_interval = 128',
    'mlp_layers.hidden_units = (32, 32)',
    'Diagnostics.interval = 8',
)
PPO_SPARSE_SMOKE_BINDINGS = ('UpdateSchedule.interval = 4',
                             'CosineDropFraction.initial = 0.3')


def smoke_bindings(method, agent='dqn'):
  if agent == 'ppo':
    return list(PPO_SMOKE_BINDINGS) + (
        list(PPO_SPARSE_SMOKE_BINDINGS) if method in methods.DYNAMIC else
        ['UpdateSchedule.interval = 4'] if method == 'prune' else [])
  base = {'dqn': SMOKE_BINDINGS, 'sac': SAC_SMOKE_BINDINGS}[agent]
  # Static masks never update: bin/train refuses a schedule nothing reads.
  return list(base) + (
      list(SPARSE_SMOKE_BINDINGS)
      if method in methods.DYNAMIC + ('prune',) else [])


def overridden(bindings, *overrides):
  """`bindings` with each of `overrides` in place of the one of its key.

  Parsing refuses two bindings that give one key different values.
  """
  key = lambda binding: binding.split('=', 1)[0].strip()
  replaced = {key(binding) for binding in overrides}
  return [b for b in bindings if key(b) not in replaced] + list(overrides)


def without_diagnostics(bindings):
  """`bindings` less those of `Diagnostics`, for a run that has none (bin/train
  refuses bindings nothing reads)."""
  return [b for b in bindings if not b.startswith('Diagnostics.')]


def gin_path(name, agent='dqn'):
  return os.path.join(GIN_DIR, agent, name)


# Pixel DQN: small replays, short Atari episodes, few train steps.
MINATAR_SMOKE_BINDINGS = (
    'NUM_ENV_STEPS = 400',
    'EVAL_INTERVAL = 200',
    'EVAL_EPISODES = 2',
    'CHECKPOINT_INTERVAL = 200',
    'OffPolicy.initial_collect_steps = 100',
    'OffPolicy.replay_capacity = 1000',
    'Runner.log_interval = 100',
    'Diagnostics.interval = 100',
    'Diagnostics.probe_batch_size = 64',
    'UpdateSchedule.interval = 50',
)
ATARI_SMOKE_BINDINGS = (
    'NUM_ENV_STEPS = 400',
    'EVAL_INTERVAL = 400',
    'EVAL_EPISODES = 1',
    'EVAL_MIN_STEPS = 0',  # Not Dopamine's 125k.
    'CHECKPOINT_INTERVAL = 300',
    'atari.max_episode_steps = 60',
    'OffPolicy.initial_collect_steps = 200',
    'OffPolicy.replay_capacity = 1000',
    'Runner.log_interval = 100',
    'Runner.diagnostics = None',  # Per-example conv gradients take minutes.
    'UpdateSchedule.interval = 10',
)


def train_in_process(root_dir, agent, gin_file, method, bindings=None):
  """Trains a smoke run of `gin/<agent>/<gin_file>` in this process.

  Args:
    root_dir: the run directory.
    agent: the gin subdirectory.
    gin_file: the gin file's name.
    method: picks the smoke bindings when `bindings` is None.
    bindings: the gin bindings; default `smoke_bindings(method, agent)`.

  Returns:
    The finished Runner.
  """
  # pylint: disable=g-import-not-at-top
  from rigl_rl import config
  from rigl_rl.training.loop import Runner
  gin.clear_config()
  config.parse([gin_path(gin_file, agent)],
               smoke_bindings(method, agent) if bindings is None else
               bindings)
  runner = Runner(str(root_dir), verbose=False)
  assert runner.run() == 'finished'
  gin.clear_config()
  return runner


def train_command(root_dir, gin_file, bindings):
  """The bin/train command line for a run."""
  return ([sys.executable, TRAIN, f'--root_dir={root_dir}',
           f'--gin_files={gin_file}'] +
          [f'--gin_bindings={binding}' for binding in bindings])


def run_evaluate(root_dir, *flags):
  """Runs bin/evaluate on a run directory; returns the CompletedProcess."""
  return subprocess.run(
      [sys.executable, os.path.join(REPO, 'bin', 'evaluate'),
       f'--root_dir={root_dir}', *flags],
      capture_output=True, text=True, timeout=600, cwd=REPO)


def run_train(root_dir, gin_file, bindings, timeout=600):
  """Runs bin/train to completion; returns the CompletedProcess."""
  return subprocess.run(
      train_command(root_dir, gin_file, bindings), capture_output=True,
      text=True, timeout=timeout, cwd=REPO)


def tree_digest(root):
  """A digest of every file's path and content under `root`."""
  digest = hashlib.sha256()
  for dirpath, _, files in sorted(os.walk(root)):
    for name in sorted(files):
      path = os.path.join(dirpath, name)
      digest.update(path.encode())
      with open(path, 'rb') as f:
        digest.update(f.read())
  return digest.hexdigest()


@contextlib.contextmanager
def logged_messages(logger):
  """Yields a list of the messages `logger` logs inside the block, whatever
  its handlers do with them (pytest's capture binds TF's handler to a stream
  capfd does not see)."""
  messages = []
  handler = logging.Handler()
  handler.emit = lambda record: messages.append(record.getMessage())
  logger.addHandler(handler)
  try:
    yield messages
  finally:
    logger.removeHandler(handler)


def summaries(directory):
  """(tag, step, description) of every summary in the TensorBoard event
  files of a directory, in the order written."""
  found = []
  for path in sorted(glob.glob(os.path.join(directory,
                                            'events.out.tfevents.*'))):
    for event in tf.compat.v1.train.summary_iterator(path):
      found.extend((value.tag, event.step, value.metadata.summary_description)
                   for value in event.summary.value)
  return found


def event_tags(directory):
  """Every summary tag in the TensorBoard event files of a directory."""
  return {tag for tag, _, _ in summaries(directory)}


def residual_network(output_units, pool=False):
  """stem (1x1 conv, linear) [-> max pool] -> residual block (two 1x1 convs)
  -> ReLU -> flatten -> output, on [3, 3, 2] inputs.

  Returns:
    The built network and its (stem, conv_0, conv_1, output) layers.
  """
  # pylint: disable=g-import-not-at-top
  import tf_keras
  from tf_agents.networks import sequential
  from tf_agents.specs import tensor_spec
  from rigl_rl.networks import conv
  stem = tf_keras.layers.Conv2D(2, 1, name='stem')
  conv_0 = tf_keras.layers.Conv2D(2, 1, name='conv_0')
  conv_1 = tf_keras.layers.Conv2D(2, 1, name='conv_1')
  output = tf_keras.layers.Dense(output_units, name='output')
  network = sequential.Sequential(
      [stem] + ([tf_keras.layers.MaxPool2D(2, 1)] if pool else []) +
      [conv.ResidualBlock(conv_0, conv_1, name='block'),
       tf_keras.layers.ReLU(), tf_keras.layers.Flatten(), output],
      input_spec=tensor_spec.TensorSpec([3, 3, 2], tf.float32))
  network.create_variables()
  return network, (stem, conv_0, conv_1, output)


@pytest.fixture(scope='session')
def minatar_rigl_run(tmp_path_factory):
  """A finished RigL smoke run on MinAtar Breakout (shared by test files)."""
  return train_in_process(tmp_path_factory.mktemp('minatar') / 'rigl', 'dqn',
                          'minatar_breakout_rigl.gin', 'rigl',
                          MINATAR_SMOKE_BINDINGS)


@pytest.fixture(scope='session')
def atari_rigl_run(tmp_path_factory):
  """A finished RigL smoke run on Atari Pong, Nature CNN."""
  return train_in_process(tmp_path_factory.mktemp('atari') / 'rigl', 'dqn',
                          'atari_nature_rigl.gin', 'rigl',
                          ATARI_SMOKE_BINDINGS)


def pytest_configure(config):
  config.addinivalue_line(
      'markers', 'install: builds and installs the wheel into a venv '
      '(about a minute); deselect with -m "not install"')


def assert_exactly_sparse(bundle):
  """Every masked kernel entry of the bundle's sparse networks is 0, and each
  layer has round(s * N) of them at its allocated sparsity s."""
  assert bundle.sparse
  for network in bundle.sparse:
    for layer in network.layers:
      mask = layer.mask.numpy()
      assert int((mask == 0).sum()) == round(
          network.sparsities[layer.layer.name] * mask.size)
      assert np.all(layer.kernel.numpy()[mask == 0] == 0)
