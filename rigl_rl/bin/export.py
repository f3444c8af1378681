"""Exports a DQN run's greedy policy: a SavedModel and a sparse TFLite model.

  rigl-export --root_dir=/tmp/runs/cp_rigl --out_dir=/tmp/exports/cp_rigl
      # -> saved_model/, policy.tflite, export.json; needs
      #    pip install "rigl_rl[export]"

Both models are checked against the trained network on observations
recorded from the environment: the max abs Q-value difference is printed,
and any greedy action that differs fails the export (nothing is written).
"""
import sys

from absl import flags

from rigl_rl import api
from rigl_rl import cli
from rigl_rl.errors import ExportMismatch

cli.define_root_dir('A DQN run directory written by rigl-train.')
flags.DEFINE_string('out_dir', None, 'A new directory for the exported '
                    'models; one that exists is refused.')
flags.DEFINE_integer('observations', 256, 'Observations recorded from the '
                     'environment to check the models on.')
flags.DEFINE_integer('seed', 0, 'Seeds the environment and the recording.')
flags.mark_flag_as_required('out_dir')
FLAGS = flags.FLAGS


def main():
  cli.quiet()
  with cli.user_errors():
    try:
      api.export_policy(FLAGS.root_dir, FLAGS.out_dir, FLAGS.observations,
                        FLAGS.seed)
    except ExportMismatch as e:
      sys.exit(f'error: {e}')


if __name__ == '__main__':
  cli.run(main)
