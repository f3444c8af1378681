"""Runs a grid of training runs on Ray; rerun the same command to go on.

  rigl-sweep --sweep_dir=/tmp/sweeps/cc --spec=sweeps/classic_control.yaml
  rigl-sweep ... --ray_address=ray://head:10001   # an existing Ray cluster

Finished runs are skipped, half-done ones resume from their checkpoints, and
a failed run is recorded in <sweep_dir>/sweep_status.json without stopping
the others.
"""
import os
import sys

from absl import flags

from rigl_rl import cli

flags.DEFINE_string('sweep_dir', None, 'Directory holding one dir per run.')
flags.DEFINE_string('spec', None, 'Sweep spec (YAML); see sweeps/.')
flags.DEFINE_string('ray_address', None,
                    'Address of a running Ray cluster; empty starts a local '
                    'Ray on this machine\'s cores. Every node needs rigl_rl '
                    'installed in a Python at the same path as this one\'s, '
                    'and the sweep dir shared.')
flags.DEFINE_integer('progress_interval', 60,
                     'Seconds between progress lines.')
flags.mark_flags_as_required(['sweep_dir', 'spec'])
FLAGS = flags.FLAGS


def main():
  with cli.user_errors():
    cli.writable_dir('sweep_dir', FLAGS.sweep_dir)
    # pylint: disable=g-import-not-at-top
    from rigl_rl.sweep import launch
    from rigl_rl.sweep import matching
    from rigl_rl.sweep import spec as spec_lib
    from rigl_rl.training import run_dir
    spec = spec_lib.load(FLAGS.spec)
    spec_lib.check_bindings(spec.runs)
    widths = {}
    for request in spec.matches:
      widths[request] = matching.matched_dense_width(
          request.sparse_files, request.dense_file, request.bindings,
          request.width_parameter)
      print(f'matched dense: {os.path.basename(request.dense_file)} at '
            f'{dict(request.grid_point)}: {request.width_parameter} = '
            f'{widths[request]:.4f}', flush=True)
    matched = spec.matched_runs(widths)
    spec_lib.check_bindings(matched)
    os.makedirs(FLAGS.sweep_dir, exist_ok=True)
    run_dir.lock(FLAGS.sweep_dir)  # One driver per sweep: no duplicate runs.
    sweep = launch.Sweep(FLAGS.sweep_dir, spec.runs + matched,
                         spec.cpus_per_run, FLAGS.ray_address,
                         FLAGS.progress_interval, spec_path=FLAGS.spec,
                         gpus_per_run=spec.gpus_per_run)
    status = sweep.run()
  sys.exit({'finished': 0, 'failed': 1, 'interrupted': 130}[status])


if __name__ == '__main__':
  cli.run(main)
