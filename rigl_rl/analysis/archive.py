"""Keeps a sweep's run records beside its report, without their checkpoints.

A sweep's run dirs hold gigabytes of checkpoints and replay, and live where
the machine that ran them does. What a report reads of a run is small: its
config, results.json (scores and learning curves), sweep_run.json, its log
and its TensorBoard events. `keep_runs` copies those of every finished run,
and every sweep's specs, to another tree at the same relative paths. The
report can be made again from that tree (`bin/report --sweep_dir=<it>`),
and a later sweep that has it copied into its sweep dir skips those runs as
finished, so a study can be finished in parts on machines that do not keep
their files.
"""
import filecmp
import os
import shutil
from typing import List, Tuple

from rigl_rl.errors import ConfigError
from rigl_rl.sweep import launch
from rigl_rl.training import run_dir

# What a report and a later sweep read of a run; dirs are copied whole.
RUN_RECORDS = (run_dir.CONFIG_FILE, run_dir.RESULTS_FILE,
               run_dir.SWEEP_RUN_FILE, launch.LOG_FILE, 'train', 'eval')


def _files(path: str) -> List[str]:
  """`path` if a file, else every file below it, sorted."""
  if os.path.isfile(path):
    return [path]
  found = []
  for root, dirs, files in os.walk(path):
    dirs.sort()
    found += [os.path.join(root, name) for name in sorted(files)]
  return found


def keep_runs(sweep_dir: str, out_dir: str) -> Tuple[List[str], List[str]]:
  """Copies the records of every finished run under `sweep_dir` to `out_dir`.

  Files already in `out_dir` with the same contents are left as they are,
  so keeping the same sweep twice, or a tree into itself, changes nothing.

  Args:
    sweep_dir: a sweep dir, or any tree of sweep and run dirs.
    out_dir: where the records go, at their paths relative to `sweep_dir`.

  Returns:
    The relative paths of the finished runs kept, and of the unfinished
    runs left out.

  Raises:
    ConfigError: if `out_dir` is inside `sweep_dir` (each keeping would copy
      the last one's copies again), or a file in `out_dir` differs from the
      one it would be copied from; nothing is copied then.
  """
  top, below = os.path.abspath(sweep_dir), os.path.abspath(out_dir)
  if below != top and os.path.commonpath([top, below]) == top:
    raise ConfigError(f'{out_dir} is inside {sweep_dir}; keep the runs '
                      'outside the sweep dir')
  copies, kept, unfinished = [], [], []
  for root, dirs, files in os.walk(sweep_dir):
    dirs.sort()
    rel = os.path.relpath(root, sweep_dir)
    if run_dir.RESULTS_FILE in files:
      dirs[:] = []  # A run's subdirectories hold no other runs.
      if not launch.finished(root):
        unfinished.append(rel)
        continue
      kept.append(rel)
      for name in RUN_RECORDS:
        if os.path.exists(os.path.join(root, name)):
          copies += _files(os.path.join(root, name))
    else:
      copies += [os.path.join(root, name) for name in sorted(files)
                 if name == run_dir.SWEEP_SPEC_FILE
                 or run_dir.is_earlier_sweep_spec(name)]
  pairs = [(source, os.path.join(out_dir, os.path.relpath(source, sweep_dir)))
           for source in copies]
  differ = [target for source, target in pairs if os.path.exists(target)
            and not filecmp.cmp(source, target, shallow=False)]
  if differ:
    raise ConfigError(
        f'{len(differ)} files in {out_dir} differ from the runs under '
        f'{sweep_dir}, e.g. {differ[0]}; nothing was copied. Keep the runs in '
        'a new --keep_runs dir, or move those files away')
  for source, target in pairs:
    if not os.path.exists(target):
      os.makedirs(os.path.dirname(target), exist_ok=True)
      shutil.copy2(source, target)
  return kept, unfinished
