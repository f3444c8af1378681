"""Writes a sweep's report: markdown and CSV tables, PNG figures, index.md,
and a record of what it was made from."""
import os
import shutil
from typing import Callable, Dict, List, Sequence

from rigl_rl.analysis import plots
from rigl_rl.analysis import provenance
from rigl_rl.analysis import report
from rigl_rl.analysis import scores as scores_lib
from rigl_rl.errors import ConfigError
from rigl_rl.training import run_dir

INDEX = 'index.md'
# plots.write_all's sections, as index.md counts them.
PLOT_NAMES = {'params': 'return-vs-parameters', 'iqm': 'IQM-bar',
              'curves': 'learning-curve', 'bindings': 'return-vs-binding',
              'diagnostics': 'diagnostics'}
# Marks a directory as a report's and lists its files, which the next report
# replaces.
MARKER = '.rigl_rl_report'
PROVENANCE = 'provenance.json'


def _previous_files(out_dir: str) -> List[str]:
  """The files an earlier report wrote in `out_dir`.

  Raises:
    ConfigError: if `out_dir` is a file or holds files that are not a
      report's.
  """
  if os.path.exists(out_dir) and not os.path.isdir(out_dir):
    raise ConfigError(f'--out_dir {out_dir} is a file; pass a directory')
  if not os.path.isdir(out_dir) or not os.listdir(out_dir):
    return []
  marker = os.path.join(out_dir, MARKER)
  if not os.path.exists(marker):
    raise ConfigError(f'{out_dir} holds files that are not a report; pass an '
                      'empty or new --out_dir')
  with open(marker) as f:
    return [line.strip() for line in f if line.strip()]


def _write(out_dir: str, name: str, text: str) -> None:
  with open(os.path.join(out_dir, name), 'w') as f:
    f.write(text)


def _images(names: Sequence[str]) -> List[str]:
  return [f'![{name}]({name})\n' for name in names]


def _few_seeds_note(names: Sequence[str], what: str) -> List[str]:
  """index.md's warning beside a table, if some of its `what` have few
  seeds."""
  if not names:
    return []
  return [f'**Few seeds:** {len(names)} {what} have fewer than '
          f'{report.FEW_SEEDS} seeds, so their confidence intervals mean '
          'little (with one seed the interval is the score itself): '
          + '; '.join(names) + '.\n']


def _sweep_specs(sweep_dir: str) -> List[Dict[str, object]]:
  """Every sweep in the tree under `sweep_dir`, the top one first.

  Returns:
    For each directory holding a sweep spec bin/sweep kept: `dir`, relative
    to `sweep_dir` ('.' for itself); `sweep_spec`, the name its copy takes in
    the report; and `earlier_sweep_specs`, the specs it ran before.
  """
  found = []
  for root, dirs, files in os.walk(sweep_dir):
    dirs.sort()
    if run_dir.RESULTS_FILE in files:
      dirs[:] = []  # A run's subdirectories hold no sweeps.
    if run_dir.SWEEP_SPEC_FILE not in files:
      continue
    rel = os.path.relpath(root, sweep_dir)
    found.append({
        'dir': rel,
        'sweep_spec': (run_dir.SWEEP_SPEC_FILE if rel == os.curdir else
                       f'{rel.replace(os.sep, ".")}.{run_dir.SWEEP_SPEC_FILE}'),
        'earlier_sweep_specs': sorted(
            name for name in files if run_dir.is_earlier_sweep_spec(name)),
    })
  return found


def _provenance(sweep_dir: str, out_dir: str) -> Dict[str, object]:
  """What the report was made from; copies the sweeps' specs into out_dir.

  Returns:
    The record for provenance.json: the sweep dir; its spec's copy (None if
    the sweep dir holds none, e.g. runs of bin/train or a parent of several
    sweep dirs) and earlier specs; `sub_sweeps`, the same for each sweep dir
    below it (`_sweep_specs`); the code's git commit and the package
    versions.
  """
  sweeps = _sweep_specs(sweep_dir)
  for sweep in sweeps:
    shutil.copyfile(
        os.path.join(sweep_dir, sweep['dir'], run_dir.SWEEP_SPEC_FILE),
        os.path.join(out_dir, sweep['sweep_spec']))
  top = sweeps[0] if sweeps and sweeps[0]['dir'] == os.curdir else None
  return {
      'sweep_dir': os.path.abspath(sweep_dir),
      'sweep_spec': top['sweep_spec'] if top else None,
      'earlier_sweep_specs': top['earlier_sweep_specs'] if top else [],
      'sub_sweeps': [sweep for sweep in sweeps if sweep is not top],
      'code': provenance.git_commit(),
      'versions': provenance.versions(),
  }


def _provenance_lines(record: Dict[str, object]) -> List[str]:
  """index.md's "Made from" section."""
  spec, subs = record['sweep_spec'], record['sub_sweeps']
  if spec:
    items = [f'- sweep spec: [{spec}]({spec}), the copy bin/sweep kept']
  elif subs:
    items = []
  else:
    items = ['- sweep spec: none in the sweep dir (runs not made by '
             'bin/sweep)']
  if record['earlier_sweep_specs']:
    items.append('- earlier specs of this sweep dir: ' + ', '.join(
        f'`{name}`' for name in record['earlier_sweep_specs']))
  for sub in subs:
    earlier = sub['earlier_sweep_specs']
    items.append(
        f'- sweep `{sub["dir"]}`: [{sub["sweep_spec"]}]({sub["sweep_spec"]}),'
        ' the copy bin/sweep kept' + (
            '; earlier specs ' + ', '.join(f'`{name}`' for name in earlier)
            if earlier else ''))
  items.append('- code: git commit '
               f'{provenance.describe_commit(record["code"])} (the rigl_rl '
               'that wrote this report)')
  items.append('- versions: ' + ', '.join(
      f'{name} {version}' for name, version in record['versions'].items()))
  return ['## Made from\n', '\n'.join(items) + '\n',
          f'[{PROVENANCE}]({PROVENANCE})\n']


def write(sweep_dir: str, out_dir: str, reps: int = 2000,
          progress: Callable[[str], None] = print,
          score: str = 'eval') -> str:
  """Reads every results.json under `sweep_dir` and writes the report.

  Runs whose files cannot be read are left out, each named in one line to
  `progress` and in the report.

  Args:
    sweep_dir: a sweep directory (or any tree of run directories).
    out_dir: where the report goes; made if missing.
    reps: bootstrap resamples per confidence interval.
    progress: called with a line for each run left out as unreadable, and
      one if some groups have fewer than `report.FEW_SEEDS` seeds.
    score: a key of `scores.SCORES`: what a run's final score is.

  Returns:
    The path of index.md.

  Raises:
    ConfigError: if there is nothing finished to report, or out_dir holds
      files other than an earlier report's.
  """
  if not os.path.isdir(sweep_dir):
    raise ConfigError(f'--sweep_dir {sweep_dir} is not a directory')
  previous = _previous_files(out_dir)
  results, unfinished, unreadable = report.load(sweep_dir,
                                                scores_lib.SCORES[score])
  for path, reason in unreadable:
    progress(f'skipped {path}: unreadable ({reason})')
  if not results:
    raise ConfigError(f'no finished run (results.json with finished: true) '
                      f'under {sweep_dir}; {len(unfinished)} unfinished, '
                      f'{len(unreadable)} unreadable')
  os.makedirs(out_dir, exist_ok=True)
  rows = report.rows(results, reps)
  aggregates, how, notes = report.aggregates(results, reps)
  tables = {
      'scores.csv': report.rows_csv(rows),
      'scores.md': report.rows_markdown(rows),
      'aggregates.csv': report.aggregates_csv(aggregates),
      'aggregates.md': report.aggregates_markdown(aggregates),
  }
  for name, text in tables.items():
    _write(out_dir, name, text)
  images, diagnostics_notes = plots.write_all(results, rows, aggregates,
                                              out_dir, reps)
  few = report.few_seeds(rows)
  if few:
    fewest = min(row.seeds for row in rows)
    progress(f'warning: {len(few)} of {len(rows)} groups have fewer than '
             f'{report.FEW_SEEDS} seeds (fewest {fewest}); their confidence '
             'intervals mean little (see index.md)')
  record = _provenance(sweep_dir, out_dir)
  run_dir.write_json(os.path.join(out_dir, PROVENANCE), record)

  lines = [
      '# Sparse training report\n',
      f'{len(results)} finished runs from `{os.path.abspath(sweep_dir)}`'
      + ''.join(f'; {n} {what} left out' for n, what in (
          (len(unfinished), 'unfinished'), (len(unreadable), 'unreadable'))
                if n) + '.\n',
      f'Final score: {scores_lib.SCORES[score].description}. '
      'IQM and mean over seeds (and over environments in the aggregates) '
      f'with {int(100 * report.CONFIDENCE)}% stratified bootstrap confidence '
      f'intervals ({reps} resamples, rliable). *dense (matched)* is a dense '
      'network narrowed to the active parameter count of the sparse networks '
      'at that sparsity. Runs that differ only in their seed form a group; '
      'groups of one method and sparsity are told apart by the bindings '
      'their configurations differ in (sweep_run.json, else config.gin).\n',
      '**Plots made:** ' + ', '.join(
          f'{len(names)} {PLOT_NAMES[section]}'
          for section, names in images.items()) + '.\n',
      '## Aggregates across environments\n',
      'Normalisation: ' + ('; '.join(
          f'{agent} {env}: {text}' for (agent, env), text in sorted(how.items()))
                           or 'none possible (see Left out)') + '.\n',
      tables['aggregates.md'],
      *_few_seeds_note(report.few_seeds(aggregates), 'aggregates'),
      '[aggregates.csv](aggregates.csv)\n',
  ]
  lines += _images(images['iqm'])
  lines += ['## Per environment\n', tables['scores.md'],
            *_few_seeds_note(few, 'groups'),
            '[scores.csv](scores.csv)\n',
            '### Final return vs active parameters\n']
  lines += _images(images['params'])
  lines += ['### Learning curves\n']
  lines += _images(images['curves'])
  if images['bindings']:
    lines += ['### Final return vs swept bindings\n']
    lines += _images(images['bindings'])
  lines += ['### Diagnostics across seeds\n']
  lines += (_images(images['diagnostics']) if images['diagnostics'] else
            ['No run has Diagnostics/ summaries in its train/ event files.\n'])
  notes += diagnostics_notes
  if notes or unfinished or unreadable:
    lines += ['## Left out\n']
    lines += [f'- {note}\n' for note in notes]
    lines += [f'- unfinished: `{os.path.relpath(path, sweep_dir)}`\n'
              for path in unfinished]
    lines += [f'- unreadable: `{os.path.relpath(path, sweep_dir)}` ({reason})\n'
              for path, reason in unreadable]
  lines += _provenance_lines(record)
  _write(out_dir, INDEX, '\n'.join(lines))
  written = list(tables) + [INDEX, PROVENANCE] + (
      [record['sweep_spec']] if record['sweep_spec'] else []) + [
      sub['sweep_spec'] for sub in record['sub_sweeps']] + [
      name for names in images.values() for name in names]
  for name in set(previous) - set(written):  # e.g. a sparsity no longer run
    if os.path.exists(os.path.join(out_dir, name)):
      os.remove(os.path.join(out_dir, name))
  _write(out_dir, MARKER, ''.join(f'{name}\n' for name in sorted(written)))
  return os.path.join(out_dir, INDEX)
