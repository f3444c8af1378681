"""Aggregating the results.json of many runs into tables (Graesser et al.
2022, Figs. 1, 2 and 8): means, IQMs and 95% stratified bootstrap CIs.

rliable computes the IQM and the bootstrap, as in the paper.
"""
import collections
import contextlib
import csv
import dataclasses
import io
import json
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from rliable import library as rly
from rliable import metrics

from rigl_rl import methods
from rigl_rl.analysis import configs
from rigl_rl.analysis import scores as scores_lib
from rigl_rl.training import run_dir

MATCHED = 'dense (matched)'
# Plot and table order; methods not listed follow alphabetically.
METHOD_ORDER = ((methods.DENSE, MATCHED) + methods.DENSE_BASELINES +
                methods.SPARSE + (methods.LOTTERY,))
CONFIDENCE = 0.95
# Fewer seeds than this and a bootstrap CI says little: with one seed it is
# the score itself, and a handful of seeds cannot show the spread.
FEW_SEEDS = 5


@dataclasses.dataclass
class Result:
  """One finished run, as the report sees it."""
  agent: str
  env: str
  method: str
  sparsity: float
  seed: int
  active_params: int
  final_score: float
  curve: List[Tuple[int, float]]
  root: str
  config: configs.RunConfig


@dataclasses.dataclass
class Estimate:
  """A point estimate with its 95% CI."""
  value: float
  low: float
  high: float


@dataclasses.dataclass
class Row:
  """One group of seeds: an environment x method x sparsity x the
  bindings that tell its configuration from the others (`variant`)."""
  agent: str
  env: str
  method: str
  sparsity: float
  seeds: int
  active_params: float
  mean: Estimate
  iqm: Estimate
  variant: configs.Pairs = ()

  @property
  def label(self) -> str:
    return group_label(self.method, self.sparsity, self.variant)


def method_key(method: str):
  return (METHOD_ORDER.index(method) if method in METHOD_ORDER
          else len(METHOD_ORDER), method)


def is_dense(method: str) -> bool:
  """Whether a method trains the dense network (its sparsity says nothing)."""
  return method in (methods.DENSE,) + methods.DENSE_BASELINES


def group_label(method: str, sparsity: float, variant: configs.Pairs) -> str:
  """A group's name in plots, e.g. 'rigl 90% · mlp_layers.width=0.5'."""
  base = method if is_dense(method) else f'{method} {100 * sparsity:g}%'
  return configs.label(variant, base)


def _result(root: str, data: dict, score: scores_lib.Score) -> Result:
  """A finished run's Result from its results.json, sweep_run.json and
  config.gin.

  Raises:
    OSError, ValueError, KeyError, TypeError: for files that do not hold
      what bin/train and bin/sweep write, or no configuration.
  """
  method, sparsity = data['method'], float(data['sparsity'])
  config = configs.read(root)
  labels_path = os.path.join(root, run_dir.SWEEP_RUN_FILE)
  if os.path.exists(labels_path):
    with open(labels_path) as f:
      labels = json.load(f).get('labels', {})
    if 'matched_sparsity' in labels:
      method, sparsity = MATCHED, float(labels['matched_sparsity'])
  if method == methods.DENSE:
    method = configs.baseline(config) or method
  return Result(
      agent=data['agent'], env=data['env'], method=method,
      sparsity=sparsity, seed=int(data['seed']),
      active_params=int(data['active_params']),
      final_score=float(data[score.key]),
      curve=[(int(entry[0]), float(entry[1])) for entry in data[score.curve]
             if entry[1] is not None],
      root=root, config=config)


def load(sweep_dir: str,
         score: scores_lib.Score = scores_lib.SCORES['eval']
         ) -> Tuple[List[Result], List[str], List[Tuple[str, str]]]:
  """Every finished run under `sweep_dir`, scored by `score`.

  A run made by bin/sweep as a parameter-matched dense baseline (its
  sweep_run.json labels it) is method 'dense (matched)' at the sparsity it
  matches; a dense run of a plasticity baseline is named after it ('reset',
  'redo', 'weight_decay').

  Returns:
    The results; the paths of runs left out because they have not
    finished; and (path, reason) of runs left out because their files
    cannot be read (e.g. a results.json cut short, or no config to group
    them by).
  """
  results, unfinished, unreadable = [], [], []
  for root, dirs, files in os.walk(sweep_dir):
    dirs.sort()
    if 'results.json' not in files:
      continue
    dirs[:] = []  # A run's subdirectories hold no other runs.
    try:
      with open(os.path.join(root, 'results.json')) as f:
        data = json.load(f)
      if not isinstance(data, dict):
        raise TypeError('results.json is not a JSON object')
      if not data.get('finished'):
        unfinished.append(root)
        continue
      if data.get(score.key) is None:
        raise KeyError(score.key)
      results.append(_result(root, data, score))
    except (OSError, ValueError, KeyError, TypeError) as e:
      reason = f'missing {e}' if isinstance(e, KeyError) else str(e)
      unreadable.append((root, ' '.join(reason.split())))
  return results, unfinished, unreadable


def _base(result: Result) -> tuple:
  return (result.agent, result.env, result.method, round(result.sparsity, 6))


def groups(results: Sequence[Result]) -> Dict[tuple, List[Result]]:
  """Runs of one configuration, sorted by seed.

  Keyed by (agent, env, method, sparsity) followed by the (binding, value)
  pairs that tell the group from the others of its agent and environment
  (configs.variants); runs that differ only in their seed are one group,
  keyed by the first four alone where no other group shares them.
  """
  grouped = collections.defaultdict(list)
  for result in results:
    grouped[(_base(result), result.config)].append(result)
  # A group is (base, config): what configs.variants reads of it.
  variant = configs.variants({group: group for group in grouped})
  return {
      base + variant[(base, config)]: sorted(runs, key=lambda r: r.seed)
      for (base, config), runs in sorted(
          grouped.items(), key=lambda kv: (
              kv[0][0][:2], method_key(kv[0][0][2]), kv[0][0][3],
              variant[kv[0]]))
  }


@contextlib.contextmanager
def _seeded_numpy(seed: int):
  """Seeds numpy's global generator for a block, then restores it.

  rliable 1.2's stratified bootstrap draws from the global generator and
  ignores its random_state argument; this makes reports reproducible.
  """
  state = np.random.get_state()
  np.random.seed(seed)
  try:
    yield
  finally:
    np.random.set_state(state)


def interval(scores: np.ndarray, aggregate, reps: int,
             seed: int = 0) -> Estimate:
  """An aggregate of a (runs, tasks) score matrix with its 95% stratified
  bootstrap CI (runs resampled within each task)."""
  with _seeded_numpy(seed):
    point, ci = rly.get_interval_estimates(
        {'x': scores}, lambda x: np.array([aggregate(x)]), reps=reps,
        confidence_interval_size=CONFIDENCE)
  return Estimate(float(point['x'][0]), float(ci['x'][0, 0]),
                  float(ci['x'][1, 0]))


def curve_intervals(curves: np.ndarray, reps: int,
                    seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
  """Mean over runs of (runs, points) learning curves, with (2, points)
  95% bootstrap CIs."""
  with _seeded_numpy(seed):
    point, ci = rly.get_interval_estimates(
        {'x': curves[:, None, :]},
        lambda x: np.mean(x, axis=(0, 1)), reps=reps,
        confidence_interval_size=CONFIDENCE)
  return point['x'], ci['x']


def rows(results: Sequence[Result], reps: int) -> List[Row]:
  """Per configuration (environment x method x sparsity x variant): mean
  and IQM over seeds."""
  table = []
  for (agent, env, method, sparsity, *variant), runs in groups(
      results).items():
    finals = np.array([[r.final_score] for r in runs])
    table.append(Row(
        agent=agent, env=env, method=method, sparsity=sparsity,
        seeds=len(runs),
        active_params=float(np.mean([r.active_params for r in runs])),
        mean=interval(finals, metrics.aggregate_mean, reps),
        iqm=interval(finals, metrics.aggregate_iqm, reps),
        variant=tuple(variant)))
  return table


@dataclasses.dataclass
class Aggregate:
  """IQM of normalised scores across the environments of a suite."""
  agent: str
  suite: str
  method: str
  sparsity: float
  envs: List[str]
  seeds: int
  normalization: str
  iqm: Estimate
  mean: Estimate
  variant: configs.Pairs = ()


def _standard_dense(keys: Sequence[tuple]) -> Optional[tuple]:
  """The group of an (agent, env)'s standard dense runs: the dense group
  that no binding tells apart, or the only dense group."""
  dense = [key for key in keys if key[2] == methods.DENSE]
  plain = [key for key in dense if len(key) == 4]  # No variant.
  if plain:
    return plain[0]
  return dense[0] if len(dense) == 1 else None


def normalized(results: Sequence[Result]) -> Tuple[
    Dict[tuple, List[float]], Dict[tuple, str], List[str]]:
  """Normalised final scores.

  Atari is human-normalised with published scores; everything else is
  normalised to the standard dense runs of the same agent and environment.

  Returns:
    groups() key -> normalised scores in seed order; (agent, env) -> how
    it was normalised; and notes on what could not be.
  """
  grouped = groups(results)
  dense_means = {}
  for agent, env in {key[:2] for key in grouped}:
    standard = _standard_dense([key for key in grouped
                                if key[:2] == (agent, env)])
    if standard is not None:
      dense_means[(agent, env)] = np.mean(
          [r.final_score for r in grouped[standard]])
  out, how, notes = {}, {}, []
  for key, runs in grouped.items():
    agent, env = key[0], key[1]
    finals = [r.final_score for r in runs]
    if scores_lib.suite(env) == 'atari':
      game = scores_lib.atari_game(env)
      if game not in scores_lib.ATARI_RANDOM_HUMAN:
        notes.append(f'{env}: no published human score here; left out')
        continue
      out[key] = [scores_lib.human_normalized(env, s) for s in finals]
      how[(agent, env)] = 'human-normalised (random 0, human 1)'
    elif (agent, env) in dense_means:
      floor = scores_lib.RANDOM_POLICY.get(env, 0.0)
      dense = dense_means[(agent, env)]
      if dense <= floor:
        notes.append(f'{agent} {env}: dense mean {dense:.1f} is not above '
                     f'the floor {floor}; left out of aggregates')
        continue
      out[key] = [scores_lib.dense_normalized(env, s, dense) for s in finals]
      shift = f'- {floor:g}' if floor >= 0 else f'+ {-floor:g}'
      how[(agent, env)] = (f'dense-normalised: (score {shift}) / '
                           f'(dense {dense:.1f} {shift})')
    else:
      notes.append(f'{agent} {env}: no standard dense runs (none, or '
                   'several configurations); left out of aggregates')
  return out, how, list(dict.fromkeys(notes))  # Once per environment.


def aggregates(results: Sequence[Result], reps: int) -> Tuple[
    List[Aggregate], Dict[tuple, str], List[str]]:
  """IQM and mean of normalised scores per agent x suite x method x sparsity
  x variant, over every normalised environment of the suite.

  A method x sparsity missing from some of them is left out (and noted):
  bars over different environments would not compare. Stratified bootstrap
  needs the same number of runs per environment, so each environment
  contributes its first n seeds, n the smallest count.
  """
  norm, how, notes = normalized(results)
  by_group = collections.defaultdict(dict)
  suite_envs = collections.defaultdict(set)
  for (agent, env, method, sparsity, *variant), values in norm.items():
    by_group[(agent, scores_lib.suite(env), method, sparsity,
              tuple(variant))][env] = values
    suite_envs[(agent, scores_lib.suite(env))].add(env)
  table = []
  for (agent, suite, method, sparsity, variant), per_env in sorted(
      by_group.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                        method_key(kv[0][2]), kv[0][3:])):
    envs = sorted(per_env)
    if len(envs) < len(suite_envs[(agent, suite)]):
      named = method + (f' ({configs.label(variant)})' if variant else '')
      notes.append(f'{agent} {suite}: {named} at {sparsity:g} has '
                   f'{len(envs)} of {len(suite_envs[(agent, suite)])} '
                   'environments; left out of aggregates')
      continue
    n = min(len(per_env[env]) for env in envs)
    matrix = np.array([per_env[env][:n] for env in envs]).T  # (runs, tasks)
    kinds = sorted({how[(agent, env)].split(':')[0] for env in envs})
    table.append(Aggregate(
        agent=agent, suite=suite, method=method, sparsity=sparsity, envs=envs,
        seeds=n, normalization=', '.join(kinds),
        iqm=interval(matrix, metrics.aggregate_iqm, reps),
        mean=interval(matrix, metrics.aggregate_mean, reps),
        variant=variant))
  return table, how, notes


def few_seeds(table: Sequence) -> List[str]:
  """Names of the rows (Row or Aggregate) with fewer than FEW_SEEDS seeds,
  e.g. 'dqn CartPole-v1 rigl 90% (1 seed)'."""
  names = []
  for row in table:
    if row.seeds < FEW_SEEDS:
      where = row.env if isinstance(row, Row) else row.suite
      seeds = f'{row.seeds} seed' + ('s' if row.seeds != 1 else '')
      if isinstance(row, Aggregate):
        seeds += ' per environment'
      names.append(f'{row.agent} {where} '
                   f'{group_label(row.method, row.sparsity, row.variant)} '
                   f'({seeds})')
  return names


def _ci_text(estimate: Estimate) -> str:
  return (f'{estimate.value:.4g} [{estimate.low:.4g}, {estimate.high:.4g}]')


def _sparsity_text(method: str, sparsity: float) -> str:
  return '0' if is_dense(method) else f'{sparsity:g}'


def _csv(header: Sequence[str], cells: Sequence[Sequence]) -> str:
  out = io.StringIO()
  writer = csv.writer(out)
  writer.writerow(header)
  writer.writerows(cells)
  return out.getvalue()


def _markdown(header: Sequence[str], cells: Sequence[Sequence]) -> str:
  lines = ['| ' + ' | '.join(header) + ' |', '|---' * len(header) + '|']
  lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in cells]
  return '\n'.join(lines) + '\n'


def _config_header(table) -> List[str]:
  """A configuration column, where some row has bindings that tell it
  apart."""
  return ['configuration'] if any(r.variant for r in table) else []


def _config_cell(table, row) -> List[str]:
  return [configs.label(row.variant) or '-'] if _config_header(table) else []


def rows_csv(table: Sequence[Row]) -> str:
  return _csv(
      ['agent', 'env', 'method', 'sparsity', 'seeds', 'active_params', 'mean',
       'mean_ci_low', 'mean_ci_high', 'iqm', 'iqm_ci_low', 'iqm_ci_high',
       'config'],
      [[r.agent, r.env, r.method, r.sparsity, r.seeds, round(r.active_params),
        r.mean.value, r.mean.low, r.mean.high, r.iqm.value, r.iqm.low,
        r.iqm.high, configs.label(r.variant)] for r in table])


def rows_markdown(table: Sequence[Row]) -> str:
  return _markdown(
      ['agent', 'env', 'method', 'sparsity', 'seeds', 'active params',
       'mean [95% CI]', 'IQM [95% CI]'] + _config_header(table),
      [[r.agent, r.env, r.method, _sparsity_text(r.method, r.sparsity),
        r.seeds, round(r.active_params), _ci_text(r.mean), _ci_text(r.iqm)]
       + _config_cell(table, r) for r in table])


def aggregates_csv(table: Sequence[Aggregate]) -> str:
  return _csv(
      ['agent', 'suite', 'method', 'sparsity', 'envs', 'seeds_per_env',
       'normalization', 'iqm', 'iqm_ci_low', 'iqm_ci_high', 'mean',
       'mean_ci_low', 'mean_ci_high', 'config'],
      [[a.agent, a.suite, a.method, a.sparsity, ' '.join(a.envs), a.seeds,
        a.normalization, a.iqm.value, a.iqm.low, a.iqm.high, a.mean.value,
        a.mean.low, a.mean.high, configs.label(a.variant)] for a in table])


def aggregates_markdown(table: Sequence[Aggregate]) -> str:
  return _markdown(
      ['agent', 'suite', 'method', 'sparsity', 'envs', 'seeds/env',
       'IQM [95% CI]', 'mean [95% CI]'] + _config_header(table),
      [[a.agent, a.suite, a.method, _sparsity_text(a.method, a.sparsity),
        len(a.envs), a.seeds, _ci_text(a.iqm), _ci_text(a.mean)]
       + _config_cell(table, a) for a in table])


def aligned_curves(runs: Sequence[Result]) -> Optional[
    Tuple[np.ndarray, np.ndarray]]:
  """(env steps, (runs, points) returns) over the evaluation steps all runs
  share; None if they share none."""
  common = set(step for step, _ in runs[0].curve)
  for run in runs[1:]:
    common &= set(step for step, _ in run.curve)
  if not common:
    return None
  steps = np.array(sorted(common))
  values = np.array([[dict(run.curve)[s] for s in steps] for run in runs])
  return steps, values
