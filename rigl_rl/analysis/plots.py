"""The report's figures, drawn with matplotlib (no display needed)."""
import os
from typing import Dict, List, Sequence

import matplotlib
matplotlib.use('Agg')  # Reports are written on headless machines.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from rigl_rl import methods
from rigl_rl.analysis import report

# One colour per method, in report order (dense, matched dense, then the
# sparse methods and the lottery ticket).
COLORS = dict(zip(report.METHOD_ORDER,
                  ('black', 'tab:gray', 'tab:blue', 'tab:orange', 'tab:green',
                   'tab:red', 'tab:purple'), strict=True))


def _color(method: str, index: int) -> str:
  return COLORS.get(method, f'C{(index + 5) % 10}')


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
  """Final return against active parameter count, one line per method, the
  standard dense network as a horizontal line (Fig. 2 of Graesser et al.)."""
  fig, ax = plt.subplots(figsize=(8.0, 4.4), layout='constrained')
  mine = [r for r in rows if r.agent == agent and r.env == env]
  shown = sorted({r.method for r in mine}, key=report.method_key)
  for index, method in enumerate(shown):
    points = sorted((r for r in mine if r.method == method),
                    key=lambda r: r.active_params)
    color = _color(method, index)
    if method == methods.DENSE:
      dense = points[0]
      ax.axhline(dense.mean.value, color=color, lw=1.5,
                 label=f'dense ({round(dense.active_params)} params)')
      ax.axhspan(dense.mean.low, dense.mean.high, color=color, alpha=0.12,
                 lw=0)
      continue
    x = [p.active_params for p in points]
    y = np.array([p.mean.value for p in points])
    err = np.array([[p.mean.value - p.mean.low for p in points],
                    [p.mean.high - p.mean.value for p in points]])
    ax.errorbar(x, y, yerr=err, color=color, marker='o', ms=4, capsize=3,
                lw=1.5, ls='--' if method == report.MATCHED else '-',
                label=method)
  ax.set_xscale('log')
  return _finish(fig, ax, 'active parameters (log scale)',
                 'final return (mean over seeds, 95% CI)',
                 f'{agent.upper()} on {env}', path)


def iqm_bars(aggregates: Sequence[report.Aggregate], agent: str, suite: str,
             sparsity: float, path: str) -> str:
  """IQM of normalised scores with 95% CIs per method at one sparsity, the
  standard dense network included (Fig. 1 of Graesser et al.)."""
  chosen = [a for a in aggregates if a.agent == agent and a.suite == suite and
            (a.method == methods.DENSE or abs(a.sparsity - sparsity) < 1e-9)]
  chosen.sort(key=lambda a: report.method_key(a.method))
  fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(chosen) + 1.6),
                         layout='constrained')
  labels = []
  for index, a in enumerate(chosen):
    ax.barh(index, a.iqm.value, color=_color(a.method, index), alpha=0.75,
            xerr=[[a.iqm.value - a.iqm.low], [a.iqm.high - a.iqm.value]],
            capsize=4)
    labels.append('dense: 100%' if a.method == methods.DENSE else
                  f'{a.method}: {100 * (1 - sparsity):g}%')
  ax.set_yticks(range(len(chosen)), labels)
  ax.invert_yaxis()
  envs = sorted({env for a in chosen for env in a.envs})
  ax.set_xlabel(f'IQM of {chosen[0].normalization} score (95% CI)'
                if chosen else 'IQM')
  ax.set_title(f'{agent.upper()}, {suite}: {len(envs)} envs at '
               f'{sparsity:g} sparsity', fontsize=10)
  ax.grid(axis='x', alpha=0.3)
  return _save(fig, path)


def learning_curves(curves: Dict[str, tuple], agent: str, env: str,
                    sparsity: float, path: str) -> str:
  """Evaluation return over training, mean over seeds with 95% CI bands.

  Args:
    curves: method -> (env steps, mean, (2, points) CI, seeds).
  """
  fig, ax = plt.subplots(figsize=(8.0, 4.4), layout='constrained')
  for index, (method, (steps, mean, ci, seeds)) in enumerate(
      sorted(curves.items(), key=lambda kv: report.method_key(kv[0]))):
    color = _color(method, index)
    ax.plot(steps, mean, color=color, lw=1.5,
            ls='--' if method == report.MATCHED else '-',
            label=f'{method} ({seeds} seeds)')
    ax.fill_between(steps, ci[0], ci[1], color=color, alpha=0.15, lw=0)
  return _finish(fig, ax, 'environment steps',
                 'evaluation return (mean, 95% CI)',
                 f'{agent.upper()} on {env}: sparse methods at {sparsity:g}',
                 path)


def write_all(results: Sequence[report.Result], rows: Sequence[report.Row],
              aggregates: Sequence[report.Aggregate], out_dir: str,
              reps: int) -> Dict[str, List[str]]:
  """Every figure of the report; returns section -> image file names."""
  images = {'params': [], 'iqm': [], 'curves': []}
  for agent, env in sorted({(r.agent, r.env) for r in rows}):
    slug = _slug(f'{agent}_{env}')
    images['params'].append(return_vs_params(
        rows, agent, env, os.path.join(out_dir, f'params_{slug}.png')))
  for agent, suite in sorted({(a.agent, a.suite) for a in aggregates}):
    sparsities = sorted({a.sparsity for a in aggregates
                         if a.agent == agent and a.suite == suite and
                         a.method != methods.DENSE})
    for sparsity in sparsities:
      images['iqm'].append(iqm_bars(
          aggregates, agent, suite, sparsity,
          os.path.join(out_dir, f'iqm_{_slug(f"{agent}_{suite}")}_'
                       f'{sparsity:g}.png')))
  # Each group's curve once: dense appears in every sparsity's figure.
  group_curves = {}
  for key, runs in report.groups(results).items():
    aligned = report.aligned_curves(runs)
    if aligned is not None:
      steps, values = aligned
      mean, ci = report.curve_intervals(values, reps)
      group_curves[key] = (steps, mean, ci, len(runs))
  for agent, env in sorted({(r.agent, r.env) for r in results}):
    sparsities = sorted({k[3] for k in group_curves
                         if k[:2] == (agent, env) and k[2] != methods.DENSE})
    for sparsity in sparsities:
      curves = {method: curve
                for (a, e, method, s), curve in group_curves.items()
                if (a, e) == (agent, env) and
                (method == methods.DENSE or s == sparsity)}
      images['curves'].append(learning_curves(
          curves, agent, env, sparsity,
          os.path.join(out_dir, f'curves_{_slug(f"{agent}_{env}")}_'
                       f'{sparsity:g}.png')))
  return images


def _slug(text: str) -> str:
  return ''.join(c if c.isalnum() or c in '.-' else '_' for c in text)
