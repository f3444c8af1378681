#!/usr/bin/env python3
"""Paper 000's Figures 1 and 2 from a fixed-topology study's runs.

  python scripts/fixed_topology_figures.py \
      --sweep_dir=/tmp/sweeps/fixed_topologies_cpu \
      --out_dir=docs/results/fixed_topologies

Reads every finished run under --sweep_dir made from a
`minatar_<game>_fixed_<topology>_<frozen|learned>.gin` file (and the L1
source runs, `..._fixed_l1_source.gin`) and writes, per game:
- `figures_<game>.png`: the return over env steps of each topology, the
  hidden layer frozen (left, 000 Figure 1) and learned (right, Figure 2),
  mean over seeds with a band of one standard deviation as 000 draws them;
  on the right, dashed lines at each topology's final frozen mean, as
  000's Figure 2 has;
- `topologies_<game>.md`: per topology the seeds and the final score (mean
  and standard deviation over seeds), frozen and learned, and learned over
  frozen.
--score=training (the default) scores runs by their training episodes' returns
(000 plots the return of the epsilon-greedy agent while it learns); eval by
their evaluations.
"""
import collections
import os
import re

from absl import app
from absl import flags
import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
import numpy as np

from rigl_rl.analysis import configs
from rigl_rl.analysis import report
from rigl_rl.analysis import scores

flags.DEFINE_string('sweep_dir', None, 'A tree of the study\'s run dirs.',
                    required=True)
flags.DEFINE_string('out_dir', None, 'Where the figures and tables go.',
                    required=True)
flags.DEFINE_enum('score', 'training', list(scores.SCORES),
                  'What a run scores (see bin/report --score).')
FLAGS = flags.FLAGS

GIN_NAME = re.compile(
    r'minatar_(?P<game>\w+?)_fixed_(?P<topology>[a-z0-9]+)_'
    r'(?P<regime>frozen|learned|source)\.gin$')
# 000's names, in its legend order; the L1 source is L1-Reg's dense run.
TOPOLOGIES = {'dense': 'Dense', 'predictive': 'Predictive',
              'random': 'Random', 'spatial': 'Spatial', 'l1': 'L1-Reg',
              'l1 source': 'Dense + L1 penalty (L1-Reg source)'}


def _key(result: report.Result):
  """(game, topology, regime) of a study run, or None."""
  match = GIN_NAME.search(result.config.get(configs.GIN_FILES) or '')
  if not match:
    return None
  topology, regime = match['topology'], match['regime']
  if regime == 'source':  # The L1-penalised dense run learns its layer.
    topology, regime = 'l1 source', 'learned'
  return match['game'], topology, regime


def _final(runs):
  values = np.array([run.final_score for run in runs])
  return values.mean(), values.std()


def _table(game: str, grouped) -> str:
  lines = [f'| topology | frozen: seeds | frozen: final, mean ± std | '
           f'learned: seeds | learned: final, mean ± std | learned / frozen |',
           '|---|---|---|---|---|---|']
  for topology, name in TOPOLOGIES.items():
    cells, means = [], {}
    for regime in ('frozen', 'learned'):
      runs = grouped.get((game, topology, regime))
      if runs:
        means[regime], std = _final(runs)
        cells += [str(len(runs)), f'{means[regime]:.2f} ± {std:.2f}']
      else:
        cells += ['0', 'not run']
    if not means:
      continue
    ratio = (f'{means["learned"] / means["frozen"]:.2f}'
             if len(means) == 2 and means['frozen'] else '')
    lines.append(f'| {name} | ' + ' | '.join(cells) + f' | {ratio} |')
  return '\n'.join(lines) + '\n'


def _figure(game: str, grouped, path: str, score: scores.Score) -> None:
  fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
  colors = dict(zip(TOPOLOGIES, plt.rcParams['axes.prop_cycle'].by_key()[
      'color']))
  for ax, regime, title in ((axes[0], 'frozen', 'hidden layer frozen (000 '
                             'Figure 1)'),
                            (axes[1], 'learned', 'hidden layer learned (000 '
                             'Figure 2)')):
    for topology, name in TOPOLOGIES.items():
      runs = grouped.get((game, topology, regime))
      aligned = runs and report.aligned_curves(runs)
      if not aligned:
        continue
      steps, values = aligned
      mean, std = values.mean(axis=0), values.std(axis=0)
      ax.plot(steps, mean, color=colors[topology],
              label=f'{name} ({len(runs)} seed{"s" if len(runs) > 1 else ""})')
      ax.fill_between(steps, mean - std, mean + std, color=colors[topology],
                      alpha=0.15)
      frozen = grouped.get((game, topology, 'frozen'))
      if regime == 'learned' and frozen:
        ax.axhline(_final(frozen)[0], color=colors[topology], ls='--', lw=1)
    ax.set_title(title)
    ax.set_xlabel('environment steps')
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc='upper left')
  axes[0].set_ylabel(('training episode' if score.curve == 'train_returns'
                      else 'evaluation') + ' return (mean ± std over seeds)')
  fig.suptitle(f'DQN, one hidden layer, MinAtar {game}')
  fig.tight_layout()
  fig.savefig(path, dpi=100)
  plt.close(fig)


def main(argv):
  del argv
  score = scores.SCORES[FLAGS.score]
  results, _, _ = report.load(FLAGS.sweep_dir, score)
  grouped = collections.defaultdict(list)
  for result in results:
    key = _key(result)
    if key:
      grouped[key].append(result)
  if not grouped:
    raise SystemExit(f'error: no finished minatar_<game>_fixed_*.gin run '
                     f'under {FLAGS.sweep_dir}')
  os.makedirs(FLAGS.out_dir, exist_ok=True)
  for game in sorted({key[0] for key in grouped}):
    _figure(game, grouped, os.path.join(FLAGS.out_dir, f'figures_{game}.png'),
            score)
    table = _table(game, grouped)
    with open(os.path.join(FLAGS.out_dir, f'topologies_{game}.md'), 'w') as f:
      f.write(table)
    print(f'{game} ({FLAGS.score} score):\n{table}')


if __name__ == '__main__':
  app.run(main)
