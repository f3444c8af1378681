"""Writes tables and figures of every finished run under a sweep directory.

  rigl-report --sweep_dir=/tmp/sweeps/cc            # -> /tmp/sweeps/cc/report
  rigl-report --sweep_dir=/tmp/sweeps/cc --out_dir=docs/results/classic_control
"""
import os

from absl import flags

from rigl_rl import cli
from rigl_rl.analysis import scores

flags.DEFINE_string('sweep_dir', None, 'A sweep directory (or any directory '
                    'holding run directories).')
flags.DEFINE_string('out_dir', None, 'Where the report goes; default '
                    '<sweep_dir>/report.')
flags.DEFINE_enum('score', 'eval', list(scores.SCORES),
                  'What a run scores: eval, its evaluations (final_score, as '
                  '002 reports); training, its last iteration\'s training '
                  'returns (final_training_score, Dopamine\'s score as 004 '
                  'reports).')
flags.DEFINE_integer('bootstrap_reps', 2000,
                     'Bootstrap resamples per confidence interval.')
flags.DEFINE_string('keep_runs', None,
                    'Also copy every finished run\'s records (config, '
                    'results, log, TensorBoard events; not its checkpoints) '
                    'and every sweep\'s spec to this directory, at their '
                    'paths under --sweep_dir: the report can be made again '
                    'from it, and a sweep dir it is copied into skips those '
                    'runs. Files already there are never overwritten.')
flags.mark_flag_as_required('sweep_dir')
FLAGS = flags.FLAGS


def main():
  cli.quiet()
  with cli.user_errors():
    cli.existing_dir('sweep_dir', FLAGS.sweep_dir,
                     'a directory holding run directories')
    from rigl_rl.analysis import report_writer  # pylint: disable=g-import-not-at-top
    out_dir = FLAGS.out_dir or os.path.join(FLAGS.sweep_dir, 'report')
    index = report_writer.write(FLAGS.sweep_dir, out_dir, FLAGS.bootstrap_reps,
                                score=FLAGS.score)
    # After the report, which refuses an out_dir holding files other than
    # its own: the first --keep_runs may be a dir inside it.
    if FLAGS.keep_runs:
      from rigl_rl.analysis import archive  # pylint: disable=g-import-not-at-top
      kept, unfinished = archive.keep_runs(FLAGS.sweep_dir, FLAGS.keep_runs)
      print(f'Kept the records of {len(kept)} finished runs in '
            f'{FLAGS.keep_runs}' + (f' ({len(unfinished)} unfinished left '
                                    'out)' if unfinished else ''))
  print(f'Wrote {index}')


if __name__ == '__main__':
  cli.run(main)
