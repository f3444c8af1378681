"""Calls/s of exported TFLite Q-policies: dense against sparse, in LiteRT.

For the CartPole MLP (512-512), the MinAtar network (Breakout's 10x10x4
input), the Nature CNN (84x84x4, Dopamine's 'same' padding) and the Nature
CNN's dense head alone (its 11x11x64 features -> 512 -> 6), it exports the
dense network and the network at each sparsity (ERK, as training allocates),
unstructured and in (4, 1) blocks, through `rigl_rl.export` (SavedModel ->
TFLite with EXPERIMENTAL_SPARSITY), and times each model in LiteRT with its
XNNPACK delegate on one thread, at batch 1 and batch 32. The networks are
built directly with random masks (`Static`), not trained: speed depends on
the masks' structure, not on their values. Every sparse model's greedy
actions are checked against its Keras network's on 64 random observations.

  pip install -e ".[export]"
  python benchmarks/export_speed.py [--sparsities=0.8,0.9,0.95] [--seconds=1]

Each number is the best of --repeats rounds that time every model of a
network for --seconds in turn (interleaved, so the machine's drift reaches
each model alike; the best, since other work only ever slows a timing
down). It prints a table; its last line is one JSON object.
"""
import json
import os
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import rigl_rl  # pylint: disable=g-import-not-at-top,unused-import  # Keras 2 first.
from absl import app
from absl import flags
import numpy as np
import tensorflow as tf
import tf_keras
from tf_agents.specs import tensor_spec

from rigl_rl import cli
from rigl_rl import export
from rigl_rl import sparsity
from rigl_rl.networks import build
from rigl_rl.networks import conv
from rigl_rl.networks import mlp
from rigl_rl.sparsity import masking

flags.DEFINE_list('sparsities', ['0.8', '0.9', '0.95'], 'Sparsities.')
flags.DEFINE_list('batches', ['1', '32'], 'Batch sizes.')
flags.DEFINE_float('seconds', 1.0, 'Length of one timing.')
flags.DEFINE_integer('repeats', 5, 'Rounds of timings per batch size.')
flags.DEFINE_list('networks', ['cartpole_mlp', 'minatar', 'nature_cnn',
                               'nature_cnn_head'], 'Networks to time.')
FLAGS = flags.FLAGS

BLOCK = (4, 1)


def _head_layers(num_outputs, wrap):
  # The Nature CNN's layers after its convs: flatten, Dense 512, output.
  return [tf_keras.layers.Flatten(),
          wrap(tf_keras.layers.Dense(512, activation='relu', name='hidden_0')),
          wrap(tf_keras.layers.Dense(num_outputs, name='output'))]


# name -> (layers of (num_outputs, wrap), observation spec, actions).
NETWORKS = {
    'cartpole_mlp': (mlp.mlp_layers,
                     tensor_spec.TensorSpec([4], tf.float32), 2),
    'minatar': (conv.minatar_layers,
                tensor_spec.TensorSpec([10, 10, 4], tf.float32), 3),
    'nature_cnn': (conv.nature_cnn_layers,
                   tensor_spec.BoundedTensorSpec([84, 84, 4], tf.uint8, 0,
                                                 255), 6),
    'nature_cnn_head': (_head_layers,
                        tensor_spec.TensorSpec([11, 11, 64], tf.float32), 6),
}


def network(name, sparse_config, seed=0):
  """The named network, built, with random masks when `sparse_config`."""
  layers_fn, spec, actions = NETWORKS[name]
  tf.random.set_seed(seed)
  net = build.sequential_network(
      layers_fn(actions, masking.layer_wrapper(sparse_config)), spec, name)
  if sparse_config is not None:
    sparse_config.attach('q', net, [], np.random.default_rng(seed))
  return net


def observations(name, batch, rng):
  spec = NETWORKS[name][1]
  if spec.dtype == tf.uint8:
    return rng.integers(0, 256, [batch] + list(spec.shape), np.uint8)
  return rng.standard_normal([batch] + list(spec.shape)).astype(np.float32)


def calls_per_second(policy, batch_observations):
  """Calls/s of one timing of FLAGS.seconds."""
  calls, start = 0, time.perf_counter()
  while time.perf_counter() - start < FLAGS.seconds:
    policy(batch_observations)
    calls += 1
  return calls / (time.perf_counter() - start)


def tflite(net, name, sparse, work_dir):
  saved_model_dir = tempfile.mkdtemp(dir=work_dir)
  export.save(export.policy_module(net, NETWORKS[name][1]), saved_model_dir)
  return export.tflite_model(saved_model_dir, sparse=sparse)


def models(name, sparsities, work_dir, rng):
  """The network's dense and sparse exports: rows without timings, and
  their TFLite policies."""
  rows = [{'network': name, 'sparsity': 0.0, 'blocks': '-',
           'sparse_tensors': 0, 'max_abs_q_difference': 0.0}]
  dense_model = tflite(network(name, None), name, False, work_dir)
  rows[0]['bytes'] = len(dense_model)
  policies = [export.TFLitePolicy(dense_model)]
  for s in sparsities:
    for block in (None, BLOCK):
      net = network(name, sparsity.SparseTraining(
          updater=sparsity.Static(), sparsity=s, block_shape=block))
      model = tflite(net, name, True, work_dir)
      policies.append(export.TFLitePolicy(model))
      # Raises if a greedy action differs from the Keras network's.
      difference = export.compare(observations(name, 64, rng), net,
                                  {'TFLite': policies[-1]})['TFLite']
      rows.append({'network': name, 'sparsity': s,
                   'blocks': 'x'.join(map(str, block)) if block else 'none',
                   **export.tflite_sparsity(model), 'bytes': len(model),
                   'max_abs_q_difference': difference})
  return rows, policies


def main(argv):
  del argv
  cli.quiet()
  batches = [int(b) for b in FLAGS.batches]
  rng = np.random.default_rng(0)
  rows = []
  with tempfile.TemporaryDirectory() as work_dir:
    for name in FLAGS.networks:
      network_rows, policies = models(
          name, [float(x) for x in FLAGS.sparsities], work_dir, rng)
      for b in batches:
        batch = observations(name, b, rng)
        for policy in policies:
          policy(batch)  # Resizes and warms up.
        # Rounds interleave the models, so that the machine's drift reaches
        # each alike; the best round is the least disturbed.
        best = np.max([[calls_per_second(policy, batch) for policy in policies]
                       for _ in range(FLAGS.repeats)], axis=0)
        for row, speed in zip(network_rows, best):
          row[f'calls_per_s_b{b}'] = float(speed)
          row[f'speedup_b{b}'] = float(speed / best[0])
      for row in network_rows:
        print(f'{name} {row["sparsity"]} {row["blocks"]}: ' + ', '.join(
            f'b{b} {row[f"calls_per_s_b{b}"]:.0f}/s '
            f'({row[f"speedup_b{b}"]:.2f}x)' for b in batches), flush=True)
      rows += network_rows
  header = ['network', 'sparsity', 'blocks', 'sparse tensors', 'KiB'] + [
      f'calls/s b{b} (x dense)' for b in batches] + ['max abs dQ']
  print('| ' + ' | '.join(header) + ' |')
  print('|' + '---|' * len(header))
  for row in rows:
    cells = [row['network'], f'{row["sparsity"]:.0%}' if row['sparsity']
             else 'dense', row['blocks'], str(row['sparse_tensors']),
             f'{row["bytes"] / 1024:.0f}']
    cells += [f'{row[f"calls_per_s_b{b}"]:.0f} ({row[f"speedup_b{b}"]:.2f})'
              for b in batches]
    cells.append(f'{row["max_abs_q_difference"]:.1e}')
    print('| ' + ' | '.join(cells) + ' |')
  print(json.dumps({'litert': export.litert_version(), 'rows': rows}))


if __name__ == '__main__':
  app.run(main)
