"""Mask updaters: one class per sparse-training method (DESIGN section 4).

The base class owns the update: per layer, keep the highest-scoring active
weights, then grow the highest-scoring connections among all those not kept,
just-dropped ones included (as google-research/rigl `rigl_tf2/mask_updaters.py`
`generic_mask_update` and jaxpruner's `SET._update_masks` do). Subclasses only
say how many weights change and how they score.
"""
import dataclasses
import math
from typing import Dict, Optional, Tuple

import gin
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

  @property
  def churn(self) -> float:
    """Fraction of the active connections replaced."""
    return self.replaced / max(self.active, 1)


class MaskUpdater:
  """Base of the mask updaters; with no schedule the topology never changes."""

  name = 'static'
  starts_sparse = True
  needs_gradients = False
  # The tag under SparseTraining/ that `amount` is logged as.
  amount_tag = 'drop_fraction'

  def __init__(self, schedule: Optional[schedules.UpdateSchedule] = None):
    self.schedule = schedule
    self.window: Optional[schedules.UpdateWindow] = None

  def bind(self, total_train_steps: int) -> None:
    """Fixes the update steps for a run of `total_train_steps` train steps."""
    if self.schedule is not None:
      self.window = self.schedule.bind(total_train_steps)

  def is_update_step(self, t: int) -> bool:
    return self.window is not None and self.window.is_update_step(t)

  def amount(self, t: int) -> float:
    """The value logged as SparseTraining/<amount_tag> at step t."""
    del t
    return 0.0

  def num_changes(self, t: int, n_active: int, n_total: int,
                  sparsity: float) -> Tuple[int, int]:
    """(weights to drop, connections to grow) in one layer at step t."""
    raise NotImplementedError

  def drop_scores(self, kernel: tf.Tensor, grad: Optional[tf.Tensor],
                  rng: tf.random.Generator) -> tf.Tensor:
    """Higher means keep. Default: weight magnitude."""
    del grad, rng
    return tf.abs(kernel)

  def grow_scores(self, kernel: tf.Tensor, grad: Optional[tf.Tensor],
                  rng: tf.random.Generator) -> tf.Tensor:
    """Higher means grow first."""
    raise NotImplementedError

  def update(self, t: int, sparse_network, optimizer, rng: tf.random.Generator,
             grads: Optional[Dict[str, tf.Tensor]] = None
             ) -> Dict[str, LayerChange]:
    """Changes the masks of `sparse_network` at train step t.

    Runs before the gradient step t (t = 0 is before the first one).

    Args:
      t: the train step.
      sparse_network: a SparseNetwork.
      optimizer: the optimizer whose slots of changed entries are reset.
      rng: the run's checkpointed generator (tie breaking, SET growth).
      grads: layer name -> dense gradient, when `needs_gradients`.

    Returns:
      layer name -> what the update changed.
    """
    changes = {}
    for index, layer in enumerate(sparse_network.layers):
      name = layer.layer.name
      mask = tf.reshape(layer.mask, [-1])
      n_total = int(mask.shape[0])
      n_active = int(tf.reduce_sum(mask))
      n_drop, n_grow = self.num_changes(t, n_active, n_total,
                                        sparse_network.sparsities[name])
      if n_drop == 0 and n_grow == 0:
        changes[name] = LayerChange(n_active, 0, 0)
        continue
      kernel = tf.reshape(layer.kernel, [-1])
      grad = None if grads is None else tf.reshape(grads[name], [-1])
      active = mask > 0
      neg_inf = tf.fill([n_total], -math.inf)
      keep = _top_k_mask(
          tf.where(active, self.drop_scores(kernel, grad, rng), neg_inf),
          n_active - n_drop, rng)
      new_mask = keep
      if n_grow:
        # Every connection not kept competes, the ones just dropped too.
        new_mask += _top_k_mask(
            tf.where(keep > 0, neg_inf, self.grow_scores(kernel, grad, rng)),
            n_grow, rng)
      now = new_mask > 0
      count = lambda where: int(tf.reduce_sum(tf.cast(where, tf.int32)))
      changes[name] = LayerChange(
          active=count(now), replaced=count(now & ~active),
          regrown=count(now & active & ~(keep > 0)))
      sparse_network.set_mask(index, tf.reshape(new_mask, layer.mask.shape),
                              optimizer)
    return changes


def _top_k_mask(scores: tf.Tensor, k: int,
                rng: tf.random.Generator) -> tf.Tensor:
  """A 0/1 vector marking the k highest scores; ties broken at random."""
  n = int(scores.shape[0])
  if k <= 0:
    return tf.zeros([n])
  # top_k prefers lower indices among ties: permute so ties fall at random.
  perm = tf.argsort(rng.uniform([n]))
  _, picked = tf.math.top_k(tf.gather(scores, perm), k=k)
  return tf.scatter_nd(
      tf.gather(perm, picked)[:, None], tf.ones([k]), shape=[n])


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

  def num_changes(self, t, n_active, n_total, sparsity):
    del sparsity
    if n_active == n_total:
      # A dense layer can only grow back what it drops: nothing changes.
      return 0, 0
    # The k dropped are among the candidates to grow, so k always fit.
    k = math.floor(self.amount(t) * n_active)
    return k, k

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

  def num_changes(self, t, n_active, n_total, sparsity):
    target = self.sparsity_schedule(t, self.window, sparsity)
    n_keep = n_total - int(round(target * n_total))
    return max(n_active - n_keep, 0), 0
