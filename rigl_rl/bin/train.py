"""Trains an agent described by gin files, resuming from its run directory.

  rigl-train --root_dir=/tmp/runs/cp_rigl --gin_files=dqn/cartpole_rigl.gin \\
             --gin_bindings='SPARSITY = 0.95'
  rigl-train --list    # the shipped experiments

A gin file is a path, or where none exists, a shipped experiment's name.
"""
import sys

from absl import flags

from rigl_rl import api
from rigl_rl import cli
from rigl_rl import experiments
from rigl_rl.errors import Interrupted

flags.DEFINE_bool('list', False, 'List the shipped experiments and exit.')
cli.define_root_dir('Run directory; rerun to resume.', unless='list')
cli.define_gin_flags()
FLAGS = flags.FLAGS


def main():
  if FLAGS.list:
    print(experiments.listing())
    return
  cli.quiet()
  with cli.user_errors():
    try:
      api.train(FLAGS.root_dir, FLAGS.gin_files, FLAGS.gin_bindings)
    except Interrupted as e:
      # 128 + the signal, as a shell reports a process the signal ended.
      sys.exit(128 + e.signal)


if __name__ == '__main__':
  cli.run(main)
