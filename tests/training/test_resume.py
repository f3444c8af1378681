"""A killed run resumes from its checkpoint with identical state."""
import json
import os
import signal
import subprocess
import time

import numpy as np
import tensorflow as tf

from rigl_rl import config
from rigl_rl.training.loop import Runner
from tests import conftest

BINDINGS = conftest.smoke_bindings('rigl') + [
    'NUM_ENV_STEPS = 2000',
    'CHECKPOINT_INTERVAL = 300',
    'EVAL_INTERVAL = 300',
]


def _checkpoint_tensors(path):
  reader = tf.train.load_checkpoint(path)
  return {
      key: reader.get_tensor(key)
      for key in reader.get_variable_to_shape_map()
      if 'OBJECT_GRAPH' not in key and 'save_counter' not in key
  }


def test_killed_run_resumes_from_its_checkpoint(tmp_path):
  root = str(tmp_path / 'run')
  gin_file = conftest.gin_path('cartpole_rigl.gin')
  process = subprocess.Popen(
      conftest.train_command(root, gin_file, BINDINGS), cwd=conftest.REPO,
      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  index = os.path.join(root, 'checkpoints', 'checkpoint')
  deadline = time.time() + 300
  while not os.path.exists(index):
    assert process.poll() is None, 'bin/train ended before a checkpoint'
    assert time.time() < deadline, 'no checkpoint within 300 s'
    time.sleep(0.05)
  process.send_signal(signal.SIGKILL)
  process.wait()
  latest = tf.train.latest_checkpoint(os.path.dirname(index))
  saved_step = int(latest.rsplit('-', 1)[1])
  assert 0 < saved_step < 1900  # Killed mid-run.

  config.parse([gin_file], BINDINGS)
  runner = Runner(root, verbose=False)
  runner.prepare()
  # Continues from the checkpointed step...
  assert runner.train_step == saved_step
  assert int(runner.env_steps.numpy()) == 100 + saved_step
  # ...with every variable (masks, weights, Adam slots, replay, generator,
  # counters) equal to the checkpoint: saving again reproduces it exactly.
  # Keras creates optimizer variables at the first step and TF restores them
  # then; create them now so they are compared too.
  q_network = runner.bundle.networks['q']
  optimizer = runner.bundle.sparse[0].optimizer
  optimizer._create_all_weights(q_network.trainable_variables)  # pylint: disable=protected-access
  resaved = runner.checkpoint.save(str(tmp_path / 'resaved' / 'ckpt'))
  original, again = _checkpoint_tensors(latest), _checkpoint_tensors(resaved)
  assert sorted(set(original) ^ set(again)) == []
  assert any('mask' in key for key in original)
  for key, value in original.items():
    np.testing.assert_array_equal(value, again[key], err_msg=key)
  masks = [layer.mask.numpy() for layer in runner.bundle.sparse[0].network.layers]

  assert runner.run() == 'finished'
  with open(os.path.join(root, 'results.json')) as f:
    results = json.load(f)
  assert results['finished'] and results['train_steps_done'] == 1900
  steps = [step for step, _ in results['eval']]
  assert steps == list(range(300, 2000, 300))  # No eval lost or repeated.
  # RigL kept changing the topology after the resume, at constant counts.
  for layer, before in zip(runner.bundle.sparse[0].network.layers, masks):
    after = layer.mask.numpy()
    assert after.sum() == before.sum()
  assert any(not np.array_equal(layer.mask.numpy(), before) for layer, before
             in zip(runner.bundle.sparse[0].network.layers, masks))
