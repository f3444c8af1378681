"""Mask updaters: one class per sparse-training method (DESIGN section 4).

The base class owns the update: per layer, keep the highest-scoring active
weights, then grow the highest-scoring connections among all those not kept,
just-dropped ones included (as google-research/rigl `rigl_tf2/mask_updaters.py`
`generic_mask_update` and jaxpruner's `SET._update_masks` do). Subclasses only
say how many weights change and how they score. The base class counts and
picks in the layer's blocks (`sparsity/blocks.py`; single weights when
unstructured), each scored by the sum of its members' scores.
"""
import dataclasses
import math
from typing import Dict, Optional, Tuple

import gin
import numpy as np
import tensorflow as tf

from rigl_rl.sparsity import schedules


@dataclasses.dataclass(frozen=True)
class LayerChange:
  """What one update did to one layer.

  Attributes:
    active: active connections after the update (as many as before, but
      for pruning).
    replaced: connections active now that were inactive before (each one
      replaces a dropped one).
    regrown: connections dropped and grown back in the same update; they
      keep their weights and optimizer slots.
  """
  active: int
  replaced: int
  regrown: int

  @classmethod
  def from_counts(cls, counts) -> 'LayerChange':
    """From the [active, replaced, regrown] tensor `MaskUpdater.update` gives."""
    return cls(*(int(value) for value in counts.numpy()))

  @property
  def churn(self) -> float:
    """Fraction of the active connections replaced."""
    return self.replaced / max(self.active, 1)


class MaskUpdater:
  """Base of the mask updaters; with no schedule the topology never changes.

  `update` builds TF operations only, so the sparse optimizer runs it inside
  the compiled train step, on the gradient that step computed.
  """

  name = 'static'
  starts_sparse = True
  needs_gradients = False
  grows = True  # Pruning only drops.
  # The tag under SparseTraining/ that `amount` is logged as, and what it is.
  amount_tag = 'drop_fraction'
  amount_description = ('Fraction of the active weights a mask update at '
                        'this train step drops (and regrows).')

  def __init__(self, schedule: Optional[schedules.UpdateSchedule] = None):
    self.schedule = schedule
    self.window: Optional[schedules.UpdateWindow] = None

  def bind(self, total_train_steps: int) -> None:
    """Fixes the update steps for a run of `total_train_steps` train steps."""
    if self.schedule is not None:
      self.window = self.schedule.bind(total_train_steps)

  def is_update_step(self, t: int) -> bool:
    return self.window is not None and self.window.is_update_step(t)

  def is_due(self, t: tf.Tensor) -> tf.Tensor:
    """In graph: whether train step `t` (an int64 tensor) updates masks."""
    if self.window is None:
      return tf.constant(False)
    steps = tf.constant(self.window.update_steps(), tf.int64)
    return tf.reduce_any(tf.equal(steps, t))

  def amount(self, t: int) -> float:
    """The value logged as SparseTraining/<amount_tag> at step t."""
    del t
    return 0.0

  def plan(self, t: int, n_active: int, n_total: int,
           sparsity: float) -> Tuple[int, int]:
    """(blocks to keep, blocks to grow) in one layer at update step t.

    A block is one weight in unstructured layers.

    Args:
      t: an update step.
      n_active: the layer's active blocks at its allocated sparsity
        (what SET and RigL keep throughout).
      n_total: the layer's blocks.
      sparsity: the layer's allocated (final) sparsity.
    """
    raise NotImplementedError

  def drop_scores(self, kernel: tf.Tensor, grad: Optional[tf.Tensor],
                  rng: tf.random.Generator) -> tf.Tensor:
    """Per weight, kernel-shaped; higher means keep. Default: magnitude."""
    del grad, rng
    return tf.abs(kernel)

  def grow_scores(self, kernel: tf.Tensor, grad: Optional[tf.Tensor],
                  rng: tf.random.Generator) -> tf.Tensor:
    """Per weight, kernel-shaped; higher means grow first."""
    raise NotImplementedError

  def _planned(self, t: tf.Tensor, n_active: int, n_total: int,
               sparsity: float) -> Tuple[tf.Tensor, tf.Tensor]:
    """In graph: `plan` at t, looked up in a table over the update steps."""
    steps = self.window.update_steps()
    with tf.init_scope():  # Plans are Python numbers, computed eagerly.
      keep, grow = zip(*(self.plan(step, n_active, n_total, sparsity)
                         for step in steps))
    index = tf.searchsorted(tf.constant(steps, tf.int64),
                            tf.reshape(tf.cast(t, tf.int64), [1]))[0]
    return (tf.gather(tf.constant(keep, tf.int32), index),
            tf.gather(tf.constant(grow, tf.int32), index))

  def update(self, t, sparse_network, optimizer, rng: tf.random.Generator,
             grads: Optional[Dict[str, tf.Tensor]] = None
             ) -> Dict[str, tf.Tensor]:
    """Changes the masks of `sparse_network` at update step t.

    Runs in graph or eagerly, before the gradient of step t is applied.

    Args:
      t: the train step, an int or an int64 tensor.
      sparse_network: a SparseNetwork.
      optimizer: the optimizer whose slots of changed entries are reset.
      rng: the generator for tie breaking and SET's growth.
      grads: layer name -> dense gradient, when `needs_gradients`.

    Returns:
      layer name -> int32 [active, replaced, regrown] (see `LayerChange`).
    """
    changes = {}
    for index, (layer, blocks) in enumerate(
        zip(sparse_network.layers, sparse_network.layouts)):
      name = layer.layer.name
      n_total = blocks.n_blocks
      sparsity = sparse_network.sparsities[name]
      if sparsity == 0.0:
        # Pruning never reaches a dense layer; SET and RigL could only grow
        # back what they drop.
        changes[name] = tf.constant([int(np.prod(layer.mask.shape)), 0, 0],
                                    tf.int32)
        continue
      n_keep, n_grow = self._planned(
          t, n_total - blocks.masked_blocks(sparsity), n_total, sparsity)
      # Every member of a block holds its mask; the sum is the block size.
      active = blocks.pool(layer.mask) > 0
      n_keep = tf.minimum(n_keep, tf.reduce_sum(tf.cast(active, tf.int32)))
      kernel = layer.kernel
      grad = None if grads is None else grads[name]
      neg_inf = tf.fill([n_total], -math.inf)
      keep = _top_k_mask(
          tf.where(active, blocks.pool(self.drop_scores(kernel, grad, rng)),
                   neg_inf), n_keep, rng)
      new_mask = keep
      if self.grows:
        # Every block not kept competes, the ones just dropped too.
        new_mask += _top_k_mask(
            tf.where(keep > 0, neg_inf,
                     blocks.pool(self.grow_scores(kernel, grad, rng))),
            n_grow, rng)
      now = new_mask > 0
      # Counted in connections, whatever the blocks.
      count = lambda where: blocks.block_size * tf.reduce_sum(
          tf.cast(where, tf.int32))
      changes[name] = tf.stack([
          count(now), count(now & ~active), count(now & active & ~(keep > 0))
      ])
      sparse_network.set_mask(index, blocks.expand(new_mask), optimizer)
    return changes


def _top_k_mask(scores: tf.Tensor, k: tf.Tensor,
                rng: tf.random.Generator) -> tf.Tensor:
  """A 0/1 vector marking the k highest scores; ties broken at random."""
  n = int(scores.shape[0])
  # top_k prefers lower indices among ties: permute so ties fall at random.
  perm = tf.argsort(rng.uniform([n]))
  _, picked = tf.math.top_k(tf.gather(scores, perm), k=k)
  return tf.scatter_nd(
      tf.gather(perm, picked)[:, None], tf.ones(tf.shape(picked)), shape=[n])


@gin.configurable
class Static(MaskUpdater):
  """Random masks fixed at initialisation."""

  name = 'static'

  def __init__(self):
    super().__init__(schedule=None)


@gin.configurable
class SET(MaskUpdater):
  """Sparse Evolutionary Training (Mocanu et al. 2018): regrow at random."""

  name = 'set'

  def __init__(self, schedule=gin.REQUIRED, drop_fraction=gin.REQUIRED):
    """Creates the updater.

    Args:
      schedule: an UpdateSchedule.
      drop_fraction: f(progress), e.g. CosineDropFraction.
    """
    super().__init__(schedule)
    self.drop_fraction = drop_fraction

  def amount(self, t: int) -> float:
    if self.window is None:
      return 0.0
    return self.drop_fraction(self.window.progress(t))

  def plan(self, t, n_active, n_total, sparsity):
    del n_total, sparsity
    # The k dropped are among the candidates to grow, so k always fit.
    k = math.floor(self.amount(t) * n_active)
    return n_active - k, k

  def grow_scores(self, kernel, grad, rng):
    del grad
    return rng.uniform(kernel.shape)


@gin.configurable
class RigL(SET):
  """Rigged Lottery (Evci et al. 2020): regrow by dense gradient magnitude."""

  name = 'rigl'
  needs_gradients = True

  def grow_scores(self, kernel, grad, rng):
    del kernel, rng
    return tf.abs(grad)


@gin.configurable
class Prune(MaskUpdater):
  """Gradual magnitude pruning from dense to each layer's allocated sparsity."""

  name = 'prune'
  starts_sparse = False
  amount_tag = 'pruning_progress'
  amount_description = ('Fraction of each layer\'s allocated sparsity '
                        'that pruning has reached.')
  grows = False

  def __init__(self, schedule=gin.REQUIRED, sparsity_schedule=gin.REQUIRED):
    """Creates the updater.

    Args:
      schedule: an UpdateSchedule (begin, end, interval).
      sparsity_schedule: target sparsity over the window, e.g.
        PolynomialSparsity (tfmot PolynomialDecay).
    """
    super().__init__(schedule)
    self.sparsity_schedule = sparsity_schedule

  def amount(self, t: int) -> float:
    """The fraction of each layer's allocated sparsity reached at t."""
    if self.window is None:
      return 0.0
    return self.sparsity_schedule.fraction(t, self.window)

  def plan(self, t, n_active, n_total, sparsity):
    del n_active  # Pruning starts dense and keeps fewer at every update.
    target = self.sparsity_schedule(t, self.window, sparsity)
    return n_total - int(round(target * n_total)), 0

