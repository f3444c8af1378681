#!/usr/bin/env python3
"""Writes PNGs of paper 000's hidden-layer topologies, as its Figures 4-9.

  python scripts/fixed_topology_masks.py --out_dir=/tmp/masks
  python scripts/fixed_topology_masks.py --out_dir=/tmp/masks \
      --l1_run_dir=/tmp/runs/breakout_l1_source --mask_file=predictive.npy

For Breakout (10x10x4 -> 1,600 units) and Space Invaders (10x10x6 -> 1,800
units), per topology, <game>_<topology>.png shows the inputs of a few units
(one row each, the channels side by side; yellow inputs are on, the red one
is the input the grouping belongs to), from the same generators a run uses
(`sparsity/topologies.py`). The L1 and file masks need their source
(--l1_run_dir: a finished minatar_<game>_fixed_l1_source.gin run, of the
game --l1_game; --mask_file: a .npy mask, of the game --mask_game). Prints
each mask's sparsity and per-unit fan-in range.
"""
import os

from absl import app
from absl import flags
import numpy as np
import tensorflow as tf

from rigl_rl.analysis import diagnostics
from rigl_rl.baselines import l1_mask
from rigl_rl.sparsity import topologies

flags.DEFINE_string('out_dir', None, 'Where the PNGs go.', required=True)
flags.DEFINE_integer('seed', 0, 'Seed of the Random topology.')
flags.DEFINE_multi_integer('units', [0, 5, 401, 822, 1234],
                           'Units to show (as in 000, unit j of Breakout is '
                           'fed by the grouping of input j // 4).')
flags.DEFINE_string('l1_run_dir', None, 'A finished L1 source run.')
flags.DEFINE_enum('l1_game', 'breakout', ['breakout', 'space_invaders'],
                  'The game of --l1_run_dir.')
flags.DEFINE_string('mask_file', None, 'A .npy mask (e.g. Predictive).')
flags.DEFINE_enum('mask_game', 'breakout', ['breakout', 'space_invaders'],
                  'The game of --mask_file.')
FLAGS = flags.FLAGS

# 000 Table 1: observation (H, W, C) and hidden units.
GAMES = {'breakout': ((10, 10, 4), 1600),
         'space_invaders': ((10, 10, 6), 1800)}


def _layer(game: str) -> topologies.MaskedLayer:
  input_shape, units = GAMES[game]
  return topologies.MaskedLayer('q', 'hidden_0',
                                (int(np.prod(input_shape)), units),
                                input_shape)


def _write(name: str, mask: np.ndarray, input_shape) -> None:
  units = [unit for unit in FLAGS.units if unit < mask.shape[1]]
  image = diagnostics.unit_mask_image(mask, input_shape, units)[0]
  path = os.path.join(FLAGS.out_dir, f'{name}.png')
  tf.io.write_file(path, tf.io.encode_png(image))
  fan_in = mask.sum(axis=0)
  print(f'{path}: {1 - mask.mean():.4f} sparse, fan-in '
        f'{int(fan_in.min())}-{int(fan_in.max())}')


def main(argv):
  del argv
  os.makedirs(FLAGS.out_dir, exist_ok=True)
  sources = [(game, topology) for game in GAMES
             for topology in (topologies.Random(), topologies.Spatial())]
  if FLAGS.l1_run_dir:
    sources.append((FLAGS.l1_game, l1_mask.L1Mask(FLAGS.l1_run_dir)))
  if FLAGS.mask_file:
    sources.append((FLAGS.mask_game, topologies.MaskFile(
        FLAGS.mask_file, sparsity=0.91, label='file')))
  for game, topology in sources:
    layer = _layer(game)
    mask = topology.mask(layer, np.random.default_rng(FLAGS.seed))
    _write(f'{game}_{topology.name}', mask, layer.input_shape)


if __name__ == '__main__':
  app.run(main)
