"""bin/export: a DQN run's greedy policy as a SavedModel and sparse TFLite."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import rigl_rl
from rigl_rl import export
from rigl_rl.errors import ConfigError
from rigl_rl.errors import ExportMismatch
from tests import conftest

pytest.importorskip('ai_edge_litert')


@pytest.fixture(scope='module')
def rigl_run(tmp_path_factory):
  """A finished RigL smoke run on CartPole-v0, in (4, 1) blocks."""
  return conftest.train_in_process(
      tmp_path_factory.mktemp('cartpole') / 'rigl', 'dqn', 'cartpole_rigl.gin',
      'rigl', conftest.smoke_bindings('rigl') +
      ['SparseTraining.block_shape = (4, 1)'])


def test_export_matches_the_trained_network_and_is_sparse(rigl_run, tmp_path):
  out_dir = tmp_path / 'export'
  lines = []
  results = rigl_rl.export_policy(rigl_run.root_dir, str(out_dir),
                                  observations=64, progress=lines.append)
  assert sorted(os.listdir(out_dir)) == [
      'export.json', 'policy.tflite', 'saved_model']
  with open(out_dir / 'export.json') as f:
    assert json.load(f) == results
  assert results['method'] == 'rigl' and results['actions_match']
  differences = results['max_abs_q_difference']
  assert set(differences) == {'SavedModel', 'TFLite'}
  assert max(differences.values()) < 1e-4
  # The three Dense kernels of the 90% network are stored sparse.
  assert results['tflite']['sparse_tensors'] >= 2
  assert any('TFLite: greedy actions match' in line for line in lines)
  # The exported model runs on its own, at any batch size.
  with open(out_dir / 'policy.tflite', 'rb') as f:
    policy = export.TFLitePolicy(f.read())
  observations = np.zeros([5, 4], np.float32)
  assert policy(observations)['q_values'].shape == (5, 2)


def test_a_mismatch_fails_loudly():
  class Network:

    def __call__(self, observations, training=False):
      del training
      return tf.constant([[1.0, 0.0], [0.0, 1.0]]), ()

  flipped = lambda x: {'q_values': np.array([[0.0, 1.0], [0.0, 1.0]]),
                       'action': np.array([1, 1])}
  with pytest.raises(ExportMismatch, match='other actions.*1 of 2'):
    export.compare(np.zeros([2, 4]), Network(), {'TFLite': flipped})


def test_bin_export_refuses_an_existing_out_dir(rigl_run, tmp_path):
  out_dir = tmp_path / 'taken'
  out_dir.mkdir()
  (out_dir / 'keep.txt').write_text('mine')
  completed = subprocess.run(
      [sys.executable, os.path.join(conftest.REPO, 'bin', 'export'),
       f'--root_dir={rigl_run.root_dir}', f'--out_dir={out_dir}'],
      capture_output=True, text=True, timeout=600, cwd=conftest.REPO)
  assert completed.returncode != 0
  assert completed.stderr.strip().splitlines()[-1].startswith(
      f'error: {out_dir} exists')
  assert os.listdir(out_dir) == ['keep.txt']
  assert (out_dir / 'keep.txt').read_text() == 'mine'


def test_a_run_that_is_not_dqn_is_refused(tmp_path):
  run = conftest.train_in_process(tmp_path / 'ppo', 'ppo', 'cartpole_dense.gin',
                                  'dense')
  with pytest.raises(ConfigError, match='ppo run; only DQN'):
    rigl_rl.export_policy(run.root_dir, str(tmp_path / 'export'))
  assert not (tmp_path / 'export').exists()
