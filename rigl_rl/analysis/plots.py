"""The report's figures, drawn with matplotlib (no display needed)."""
import collections
import glob
import os
from typing import Dict, List, Optional, Sequence, Tuple

import matplotlib
matplotlib.use('Agg')  # Reports are written on headless machines.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from rigl_rl.analysis import configs
from rigl_rl.analysis import report

# One colour per method, in report order (dense, matched dense, the
# plasticity baselines, then the sparse methods and the lottery ticket).
COLORS = dict(zip(report.METHOD_ORDER,
                  ('black', 'tab:gray', 'tab:brown', 'tab:pink', 'tab:olive',
                   'tab:blue', 'tab:orange', 'tab:green', 'tab:red',
                   'tab:purple'), strict=True))
# The diagnostics of Graesser et al. 2022 Fig. 5 (and the gradient SNR):
# title -> the tag under Diagnostics/<net>/ (rigl_rl/analysis/diagnostics.py).
DIAGNOSTICS = {'dormant fraction': 'dormant/total', 'srank': 'srank',
               'gradient SNR': 'gradient_snr',
               'parameter norm': 'parameter_norm'}
# score_vs_binding's name for the sparsity axis, beside binding keys.
SPARSITY = 'sparsity'


def _color(method: str, index: int, variant: tuple = ()) -> str:
  # Variants of one method get the other colours, in order.
  if method in COLORS and not variant:
    return COLORS[method]
  return f'C{(index + 5) % 10}'


def _finish(fig, ax, xlabel: str, ylabel: str, title: str, path: str) -> str:
  """Labels a line plot, saves it, and returns its file name."""
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  ax.grid(alpha=0.3)
  # Beside the axes: inside, it would hide lines and error bars.
  ax.legend(fontsize=8, loc='upper left', bbox_to_anchor=(1.01, 1.0))
  return _save(fig, path)


def _save(fig, path: str) -> str:
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return os.path.basename(path)


def noise_robustness(sigmas: Sequence[float], means: Sequence[float],
                     stds: Sequence[float], episodes: int, title: str,
                     path: str) -> str:
  """Mean evaluation return (one standard deviation shaded) against the
  pixel-noise sigma."""
  means, stds = np.asarray(means), np.asarray(stds)
  fig, ax = plt.subplots(figsize=(7.0, 3.8), layout='constrained')
  ax.plot(sigmas, means, marker='o', label=f'mean of {episodes} episodes')
  ax.fill_between(sigmas, means - stds, means + stds, alpha=0.2,
                  label='one std')
  return _finish(fig, ax, 'pixel noise sigma', 'return', title, path)


def return_vs_params(rows: Sequence[report.Row], agent: str, env: str,
                     path: str) -> str:
  """Final return against active parameter count, one line per method and
  configuration, the dense networks as horizontal lines (Fig. 2 of Graesser
  et al.)."""
  fig, ax = plt.subplots(figsize=(8.0, 4.4), layout='constrained')
  mine = [r for r in rows if r.agent == agent and r.env == env]
  shown = sorted({(r.method, r.variant) for r in mine},
                 key=lambda mv: (report.method_key(mv[0]), mv[1]))
  for index, (method, variant) in enumerate(shown):
    points = sorted((r for r in mine
                     if (r.method, r.variant) == (method, variant)),
                    key=lambda r: r.active_params)
    color = _color(method, index, variant)
    name = configs.label(variant, method)
    if report.is_dense(method):
      dense = points[0]
      ax.axhline(dense.mean.value, color=color, lw=1.5,
                 label=f'{name} ({round(dense.active_params)} params)')
      ax.axhspan(dense.mean.low, dense.mean.high, color=color, alpha=0.12,
                 lw=0)
      continue
    x = [p.active_params for p in points]
    y = np.array([p.mean.value for p in points])
    err = np.array([[p.mean.value - p.mean.low for p in points],
                    [p.mean.high - p.mean.value for p in points]])
    ax.errorbar(x, y, yerr=err, color=color, marker='o', ms=4, capsize=3,
                lw=1.5, ls='--' if method == report.MATCHED else '-',
                label=name)
  ax.set_xscale('log')
  return _finish(fig, ax, 'active parameters (log scale)',
                 'final return (mean over seeds, 95% CI)',
                 f'{agent.upper()} on {env}', path)


def iqm_bars(aggregates: Sequence[report.Aggregate], agent: str, suite: str,
             sparsity: float, path: str) -> str:
  """IQM of normalised scores with 95% CIs per method and configuration at
  one sparsity, the dense networks included (Fig. 1 of Graesser et al.)."""
  chosen = [a for a in aggregates if a.agent == agent and a.suite == suite and
            (report.is_dense(a.method) or abs(a.sparsity - sparsity) < 1e-9)]
  chosen.sort(key=lambda a: (report.method_key(a.method), a.variant))
  fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(chosen) + 1.6),
                         layout='constrained')
  labels = []
  for index, a in enumerate(chosen):
    ax.barh(index, a.iqm.value, color=_color(a.method, index, a.variant),
            alpha=0.75,
            xerr=[[a.iqm.value - a.iqm.low], [a.iqm.high - a.iqm.value]],
            capsize=4)
    size = ('100%' if report.is_dense(a.method) else
            f'{100 * (1 - sparsity):g}%')
    labels.append(configs.label(a.variant, f'{a.method}: {size}'))
  ax.set_yticks(range(len(chosen)), labels)
  ax.invert_yaxis()
  envs = sorted({env for a in chosen for env in a.envs})
  ax.set_xlabel(f'IQM of {chosen[0].normalization} score (95% CI)'
                if chosen else 'IQM')
  ax.set_title(f'{agent.upper()}, {suite}: {len(envs)} envs at '
               f'{sparsity:g} sparsity', fontsize=10)
  ax.grid(axis='x', alpha=0.3)
  return _save(fig, path)


def _curve_lines(ax, curves: Dict[tuple, tuple]) -> None:
  """Mean lines with 95% CI bands.

  Args:
    ax: the axes.
    curves: groups() key -> (steps, mean, (2, points) CI, legend text).
  """
  for index, (key, (steps, mean, ci, text)) in enumerate(sorted(
      curves.items(), key=lambda kv: (kv[0][:2], report.method_key(kv[0][2]),
                                      kv[0][3:]))):
    color = _color(key[2], index, key[4:])
    ax.plot(steps, mean, color=color, lw=1.5,
            ls='--' if key[2] == report.MATCHED else '-', label=text)
    ax.fill_between(steps, ci[0], ci[1], color=color, alpha=0.15, lw=0)


def learning_curves(curves: Dict[tuple, tuple], agent: str, env: str,
                    sparsity: float, path: str) -> str:
  """Evaluation return over training, mean over seeds with 95% CI bands.

  Args:
    curves: groups() key -> (env steps, mean, (2, points) CI, legend text).
  """
  fig, ax = plt.subplots(figsize=(8.0, 4.4), layout='constrained')
  _curve_lines(ax, curves)
  return _finish(fig, ax, 'environment steps',
                 'evaluation return (mean, 95% CI)',
                 f'{agent.upper()} on {env}: sparse methods at {sparsity:g}',
                 path)


def _value(row: report.Row, key: str) -> Optional[float]:
  return (row.sparsity if key == SPARSITY else
          configs.numeric(dict(row.variant).get(key)))


def score_vs_binding(rows: Sequence[report.Row], key: str, path: str) -> str:
  """Final return (mean over seeds, 95% CI) against a swept numeric binding,
  one line per setting of everything else.

  Args:
    rows: the rows of one agent, environment and method.
    key: a binding of their variants, or SPARSITY.
    path: where the figure goes.
  """
  lines = collections.defaultdict(list)
  for row in rows:
    if _value(row, key) is not None:
      rest = tuple(pair for pair in row.variant if pair[0] != key)
      lines[(row.sparsity if key != SPARSITY else None, rest)].append(row)
  fig, ax = plt.subplots(figsize=(8.0, 4.4), layout='constrained')
  for index, ((sparsity, rest), points) in enumerate(sorted(
      lines.items(), key=lambda kv: (kv[0][0] or 0.0, kv[0][1]))):
    points.sort(key=lambda r: _value(r, key))
    y = np.array([p.mean.value for p in points])
    err = np.array([[p.mean.value - p.mean.low for p in points],
                    [p.mean.high - p.mean.value for p in points]])
    name = rows[0].method if sparsity is None else report.group_label(
        rows[0].method, sparsity, ())
    ax.errorbar([_value(p, key) for p in points], y, yerr=err,
                color=f'C{index % 10}', marker='o', ms=4, capsize=3, lw=1.5,
                label=configs.label(rest, name))
  row = rows[0]
  return _finish(fig, ax, key, 'final return (mean over seeds, 95% CI)',
                 f'{row.agent.upper()} on {row.env}: {row.method}', path)


def event_scalars(train_dir: str, suffixes: Sequence[str]) -> Dict[
    str, Dict[int, float]]:
  """Diagnostics/<net>/<suffix> tag -> {train step: value}, from the
  TensorBoard event files of a run's train/ directory."""
  # Only here: the tables need neither tensorboard nor TensorFlow.
  # pylint: disable=g-import-not-at-top
  from tensorboard.backend.event_processing import event_file_loader
  from tensorboard.util import tensor_util
  out = collections.defaultdict(dict)
  for path in sorted(glob.glob(os.path.join(train_dir,
                                            'events.out.tfevents.*'))):
    for event in event_file_loader.EventFileLoader(path).Load():
      for value in event.summary.value:
        if (value.tag.startswith('Diagnostics/') and
            any(value.tag.endswith('/' + s) for s in suffixes)):
          out[value.tag][int(event.step)] = float(
              tensor_util.make_ndarray(value.tensor))
  return dict(out)


def diagnostic_curves(groups: Dict[tuple, List[report.Result]], agent: str,
                      env: str, path: str, reps: int) -> Tuple[
                          Optional[str], List[str]]:
  """Dormant fraction, srank, gradient SNR and parameter norm over training,
  mean over seeds with 95% CI bands (Graesser et al. 2022 Fig. 5).

  Args:
    groups: report.groups() of the runs.
    agent: the agent.
    env: the environment; the figure has its groups.
    path: where the figure goes.
    reps: bootstrap resamples.

  Returns:
    The figure's file name, or None if no run has these diagnostics; and a
    note per group some of whose runs lack them.
  """
  read = {}
  for key, runs in groups.items():
    if key[:2] == (agent, env):
      read[key] = [event_scalars(os.path.join(run.root, 'train'),
                                 tuple(DIAGNOSTICS.values())) for run in runs]
  if not any(tags for per_run in read.values() for tags in per_run):
    return None, []
  nets = sorted({tag.split('/')[1] for per_run in read.values()
                 for tags in per_run for tag in tags})
  fig, axes = plt.subplots(2, 2, figsize=(11.0, 6.6), layout='constrained')
  notes = []
  for ax, (title, suffix) in zip(axes.flat, DIAGNOSTICS.items()):
    curves = {}
    for key, per_run in read.items():
      name = report.group_label(key[2], key[3], key[4:])
      for net in nets:
        tag = f'Diagnostics/{net}/{suffix}'
        found = [tags[tag] for tags in per_run if tag in tags]
        if not found:
          continue
        if len(found) < len(per_run):
          notes.append(f'{agent} {env} {name}: {len(per_run) - len(found)} '
                       f'of {len(per_run)} runs have no {tag}')
        steps = sorted(set.intersection(*(set(f) for f in found)))
        if not steps:
          continue
        values = np.array([[f[s] for s in steps] for f in found])
        mean, ci = report.curve_intervals(values, reps)
        # A network of its own is a variant of the group's line.
        line = key + ((('net', net),) if len(nets) > 1 else ())
        text = f'{name} ({net})' if len(nets) > 1 else name
        curves[line] = (steps, mean, ci, f'{text} ({len(found)} seeds)')
    _curve_lines(ax, curves)
    ax.set_title(title)
    ax.set_xlabel('train steps')
    ax.grid(alpha=0.3)
  legend = {}  # One entry per line, whichever panels it is drawn in.
  for ax in axes.flat:
    for handle, text in zip(*ax.get_legend_handles_labels()):
      legend.setdefault(text, handle)
  fig.legend(legend.values(), legend.keys(), fontsize=8,
             loc='outside right upper')
  fig.suptitle(f'{agent.upper()} on {env}: diagnostics (mean, 95% CI)')
  return _save(fig, path), list(dict.fromkeys(notes))


def write_all(results: Sequence[report.Result], rows: Sequence[report.Row],
              aggregates: Sequence[report.Aggregate], out_dir: str,
              reps: int) -> Tuple[Dict[str, List[str]], List[str]]:
  """Every figure of the report.

  Returns:
    Section -> image file names; and notes on diagnostics some runs lack.
  """
  images = {'params': [], 'iqm': [], 'curves': [], 'bindings': [],
            'diagnostics': []}
  for agent, env in sorted({(r.agent, r.env) for r in rows}):
    slug = _slug(f'{agent}_{env}')
    images['params'].append(return_vs_params(
        rows, agent, env, os.path.join(out_dir, f'params_{slug}.png')))
  for agent, suite in sorted({(a.agent, a.suite) for a in aggregates}):
    sparsities = sorted({a.sparsity for a in aggregates
                         if a.agent == agent and a.suite == suite and
                         not report.is_dense(a.method)})
    for sparsity in sparsities:
      images['iqm'].append(iqm_bars(
          aggregates, agent, suite, sparsity,
          os.path.join(out_dir, f'iqm_{_slug(f"{agent}_{suite}")}_'
                       f'{sparsity:g}.png')))
  grouped = report.groups(results)
  # Each group's curve once: dense appears in every sparsity's figure.
  group_curves = {}
  for key, runs in grouped.items():
    aligned = report.aligned_curves(runs)
    if aligned is not None:
      steps, values = aligned
      mean, ci = report.curve_intervals(values, reps)
      group_curves[key] = (steps, mean, ci, report.group_label(
          key[2], key[3], key[4:]) + f' ({len(runs)} seeds)')
  for agent, env in sorted({(r.agent, r.env) for r in results}):
    sparsities = sorted({k[3] for k in group_curves
                         if k[:2] == (agent, env) and
                         not report.is_dense(k[2])})
    for sparsity in sparsities:
      curves = {key: curve for key, curve in group_curves.items()
                if key[:2] == (agent, env) and
                (report.is_dense(key[2]) or key[3] == sparsity)}
      images['curves'].append(learning_curves(
          curves, agent, env, sparsity,
          os.path.join(out_dir, f'curves_{_slug(f"{agent}_{env}")}_'
                       f'{sparsity:g}.png')))
  for agent, env, method in sorted({(r.agent, r.env, r.method) for r in rows},
                                   key=lambda k: (k[:2],
                                                  report.method_key(k[2]))):
    mine = [r for r in rows if (r.agent, r.env, r.method) == (agent, env,
                                                              method)]
    keys = configs.swept([r.variant for r in mine])
    if len({r.sparsity for r in mine}) > 1 and not report.is_dense(method):
      keys.insert(0, SPARSITY)
    for key in keys:
      images['bindings'].append(score_vs_binding(mine, key, os.path.join(
          out_dir, f'binding_{_slug(f"{agent}_{env}_{method}_{key}")}.png')))
  notes = []
  for agent, env in sorted({(r.agent, r.env) for r in results}):
    made, missing = diagnostic_curves(
        grouped, agent, env, os.path.join(
            out_dir, f'diagnostics_{_slug(f"{agent}_{env}")}.png'), reps)
    notes += missing
    if made:
      images['diagnostics'].append(made)
  return images, notes


def _slug(text: str) -> str:
  return ''.join(c if c.isalnum() or c in '.-' else '_' for c in text)
