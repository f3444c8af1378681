#!/usr/bin/env python3
"""Prints the initial weight std per layer under each sparsity-aware init.

  python scripts/init_std.py --gin_files=gin/dqn/cartpole_rigl.gin

Builds the run of the gin files (in a temporary directory) once per
initializer and prints, per masked layer, the std of its active entries.
"""
import tempfile

from absl import app
from absl import flags
import gin
import numpy as np

from rigl_rl import config
from rigl_rl.training.loop import Runner

flags.DEFINE_multi_string('gin_files', [], 'Gin files of a sparse run.')
flags.DEFINE_multi_string('gin_bindings', [], 'Extra gin bindings.')
FLAGS = flags.FLAGS

INITIALIZERS = ('@density_scaled_init', '@unit_scaled_init', 'None')


def main(argv):
  del argv
  for initializer in INITIALIZERS:
    gin.clear_config()
    config.parse(FLAGS.gin_files, list(FLAGS.gin_bindings) +
                 [f'SparseTraining.initializer = {initializer}'])
    with tempfile.TemporaryDirectory() as root:
      runner = Runner(root, verbose=False)
      for network in runner.bundle.sparse:
        stds = {layer.layer.name: float(np.std(
                    layer.kernel.numpy()[layer.mask.numpy() > 0]))
                for layer in network.layers}
        print(f'{initializer:22s} {network.name}: ' + '  '.join(
            f'{name} {std:.4f}' for name, std in stds.items()))


if __name__ == '__main__':
  app.run(main)
