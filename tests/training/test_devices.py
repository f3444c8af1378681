"""Runner.strategy: MirroredStrategy matches one device, and a missing device
is refused before any work."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from rigl_rl import api
from rigl_rl.errors import ConfigError
from rigl_rl.errors import one_line
from rigl_rl.training import devices
from tests import conftest

TRAIN_STEPS = 10
# Mask updates at train steps 0, 4 and 8: two of them on a trained network's
# gradient.
MIRRORED_BINDINGS = conftest.overridden(conftest.smoke_bindings('rigl'),
                                        'UpdateSchedule.interval = 4')


def _train(strategy, out_dir):
  """Trains a RigL CartPole run to TRAIN_STEPS train steps under `strategy`
  and writes its checkpoint to `out_dir`; returns the Runner."""
  # pylint: disable=g-import-not-at-top
  import gin
  from rigl_rl import config
  from rigl_rl.training.loop import Runner
  gin.clear_config()
  config.parse([conftest.gin_path('cartpole_rigl.gin')], MIRRORED_BINDINGS)
  runner = Runner(os.path.join(out_dir, 'unused'), strategy=strategy,
                  verbose=False)
  gin.clear_config()
  runner.env.reset()
  while runner.train_step < TRAIN_STEPS:
    runner.advance(None if runner.collecting else
                   TRAIN_STEPS - runner.train_step)
  runner.checkpoint.write(os.path.join(out_dir, 'checkpoint'))
  return runner


def _replicas_disagree(runner):
  """Names of the mirrored variables whose replicas hold different values."""
  variables = list(runner.bundle.agent.variables)
  for trained in runner.bundle.trained:
    variables += trained.optimizer.variables()
  for network in runner.bundle.sparse:
    variables += list(network.state.variables) + [network.state.rng.state]
  local = runner.strategy.experimental_local_results
  return sorted({v.name for v in variables
                 if len({part.numpy().tobytes() for part in local(v)}) > 1})


def train_default_and_mirrored(out_dir):
  """In a fresh process: two logical CPUs, then the same run on the default
  device and mirrored over both; writes both checkpoints and what the
  mirrored run's replicas and mask updates show to out_dir/report.json."""
  cpu, = tf.config.list_physical_devices('CPU')
  tf.config.set_logical_device_configuration(
      cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
  default = _train(devices.default_device(),
                   os.path.join(out_dir, 'default'))
  strategy = devices.mirrored(['CPU:0', 'CPU:1'])
  mirrored = _train(strategy, os.path.join(out_dir, 'mirrored'))
  (network,) = mirrored.bundle.sparse
  step, changes = network.last_update()
  try:
    # pylint: disable=g-import-not-at-top
    import gin
    from rigl_rl import config
    from rigl_rl.training.loop import Runner
    config.parse([conftest.gin_path('cartpole_rigl.gin')],
                 conftest.overridden(MIRRORED_BINDINGS,
                                     'OffPolicy.batch_size = 33'))
    Runner(os.path.join(out_dir, 'odd'), strategy=strategy, verbose=False)
    odd_batch = None
  except ConfigError as e:
    odd_batch = one_line(e)
  with open(os.path.join(out_dir, 'report.json'), 'w') as f:
    json.dump({
        'replicas': strategy.num_replicas_in_sync,
        'disagree': _replicas_disagree(mirrored),
        'last_update': step,
        'replaced': sum(change.replaced for change in changes.values()),
        'losses': [default.last_losses['loss'],
                   mirrored.last_losses['loss']],
        'odd_batch': odd_batch,
    }, f)


@pytest.fixture(scope='module')
def mirrored_run(tmp_path_factory):
  """report.json and the two checkpoints' readers."""
  out_dir = str(tmp_path_factory.mktemp('devices'))
  result = subprocess.run(
      [sys.executable, '-c',
       'from tests.training import test_devices; '
       f'test_devices.train_default_and_mirrored({out_dir!r})'],
      capture_output=True, text=True, timeout=600, cwd=conftest.REPO)
  assert result.returncode == 0, result.stderr[-3000:]
  with open(os.path.join(out_dir, 'report.json')) as f:
    report = json.load(f)
  readers = {name: tf.train.load_checkpoint(
      os.path.join(out_dir, name, 'checkpoint'))
             for name in ('default', 'mirrored')}
  return report, readers


def test_mirrored_over_two_cpus_keeps_every_replica_identical(mirrored_run):
  report, _ = mirrored_run
  assert report['replicas'] == 2
  assert report['disagree'] == []
  # The last mask update was at train step 8, on a trained network's
  # gradient, and it moved connections.
  assert report['last_update'] == 8
  assert report['replaced'] > 0


def test_mirrored_over_two_cpus_matches_the_default_device(mirrored_run):
  report, readers = mirrored_run
  default, mirrored = readers['default'], readers['mirrored']
  keys = sorted(default.get_variable_to_shape_map())
  assert keys == sorted(mirrored.get_variable_to_shape_map())
  masks = [key for key in keys if '/mask/' in key and 'OPTIMIZER' not in key]
  assert len(masks) == 6  # Three layers of the Q-network and its target.
  for key in masks:
    np.testing.assert_array_equal(mirrored.get_tensor(key),
                                  default.get_tensor(key), err_msg=key)
  compared = 0
  for key in keys:
    value = default.get_tensor(key)
    if isinstance(value, np.ndarray) and value.dtype.kind == 'f':
      np.testing.assert_allclose(mirrored.get_tensor(key), value, rtol=1e-5,
                                 atol=1e-6, err_msg=key)
      compared += 1
  # Kernels, biases, masks, Adam slots, replay.
  assert compared > 20
  np.testing.assert_allclose(*report['losses'], rtol=1e-5)


def test_a_batch_that_does_not_split_over_the_replicas_is_refused(
    mirrored_run):
  report, _ = mirrored_run
  assert report['odd_batch'] == (
      'a batch of 33 does not split over the 2 replicas of Runner.strategy; '
      'make the batch size (OffPolicy.batch_size or '
      'OnPolicy.minibatch_size) a multiple of 2')


def test_a_missing_device_is_refused_before_any_work(tmp_path):
  root = tmp_path / 'run'
  with pytest.raises(ConfigError) as raised:
    api.train(str(root), [conftest.gin_path('cartpole_rigl.gin')],
              conftest.smoke_bindings('rigl') +
              ['Runner.strategy = @OneDevice()',
               "OneDevice.device = 'GPU:99'"])
  found = ', '.join(devices.found_devices())
  assert one_line(raised.value) == (
      "OneDevice.device = 'GPU:99' asks for GPU:99 but "
      f'this machine has: {found}; install the gpu extra (pip install -e '
      "'.[gpu]') on a machine with a GPU, or drop the Runner.strategy "
      'binding')
  assert not root.exists()


@pytest.mark.skipif(bool(tf.config.list_physical_devices('GPU')),
                    reason='this machine has a GPU')
def test_mirrored_over_every_gpu_is_refused_without_one():
  with pytest.raises(ConfigError, match=(
      r"^Runner.strategy = @Mirrored\(\) mirrors over every GPU but this "
      r'machine has: CPU:0; install the gpu extra')):
    devices.mirrored()


def test_a_device_name_without_an_index_is_refused():
  with pytest.raises(ConfigError, match=(
      r"^OneDevice.device = 'gpu' names the device "
      r"'gpu'; name one as 'TYPE:index'")):
    devices.one_device('gpu')


def test_one_device_and_the_default_device_are_strategies():
  assert isinstance(devices.one_device('CPU:0'),
                    tf.distribute.OneDeviceStrategy)
  assert devices.default_device() is tf.distribute.get_strategy()
  assert not tf.distribute.has_strategy()
