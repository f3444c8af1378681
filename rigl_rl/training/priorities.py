"""A sum tree of priorities in TF variables, for proportional sampling.

Every operation runs inside the loop's compiled function, and the tree is a
variable of the memory that owns it, so a TF checkpoint holds it.
"""
import math

import tensorflow as tf

from rigl_rl import checks


class SumTree(tf.Module):
  """A binary tree whose leaves hold priorities and whose inner nodes hold
  the sums of their children.

  Node 1 is the root; node i has children 2i and 2i + 1; the `capacity`
  leaves are nodes [leaves, leaves + capacity), where `leaves` is the least
  power of two >= capacity (the padding leaves stay 0). Values are float64,
  and inner nodes are recomputed from their children at every update rather
  than moved by deltas, so rounding never accumulates.
  """

  def __init__(self, capacity: int, initial_max: float = 1.0,
               name: str = 'sum_tree'):
    """Allocates an all-zero tree.

    Args:
      capacity: the number of leaves (items that may hold a priority).
      initial_max: `max_priority` before any is set (Dopamine's sum tree
        starts its max_recorded_priority at 1).
      name: the module's name.
    """
    super().__init__(name=name)
    self.capacity = int(capacity)
    self.depth = max(1, math.ceil(math.log2(self.capacity)))
    self.leaves = 2**self.depth
    self.nodes = tf.Variable(tf.zeros([2 * self.leaves], tf.float64),
                             trainable=False, name='nodes')
    # The largest priority ever set; it never decreases.
    self.max_priority = tf.Variable(float(initial_max), dtype=tf.float64,
                                    trainable=False, name='max_priority')

  @staticmethod
  def nbytes(capacity: int) -> int:
    """The bytes a tree of `capacity` leaves allocates."""
    return 2 * 2**max(1, math.ceil(math.log2(capacity))) * 8

  @property
  def total(self) -> tf.Tensor:
    """The sum of every leaf."""
    return self.nodes[1]

  def get(self, indices: tf.Tensor) -> tf.Tensor:
    """The priorities of the leaves at `indices` (int64, [batch])."""
    return tf.gather(self.nodes, self.leaves + indices)

  def set(self, indices: tf.Tensor, priorities: tf.Tensor) -> None:
    """Sets leaves and recomputes the sums above them.

    A leaf given twice takes one of its values; callers give equal ones.

    Args:
      indices: int64 [k] leaves in [0, capacity).
      priorities: [k] non-negative values.
    """
    priorities = tf.cast(priorities, tf.float64)
    nodes = self.leaves + tf.cast(indices, tf.int64)
    self.nodes.scatter_nd_update(nodes[:, None], priorities)
    for _ in range(self.depth):
      nodes = nodes // 2
      sums = (tf.gather(self.nodes, 2 * nodes) +
              tf.gather(self.nodes, 2 * nodes + 1))
      self.nodes.scatter_nd_update(nodes[:, None], sums)
    self.max_priority.assign(
        tf.maximum(self.max_priority, tf.reduce_max(priorities)))

  def find(self, values: tf.Tensor) -> tf.Tensor:
    """The leaf under each of `values` in [0, total): the least i with
    values < sum of leaves 0..i.

    A subtree of sum 0 is never entered, so rounding cannot reach a leaf of
    priority 0 while the total is positive.

    Args:
      values: float64 [batch].

    Returns:
      int64 [batch] leaf indices.
    """
    nodes = tf.ones_like(values, dtype=tf.int64)
    for _ in range(self.depth):
      left = tf.gather(self.nodes, 2 * nodes)
      right = tf.gather(self.nodes, 2 * nodes + 1)
      go_left = (values < left) | (right <= 0.0)
      values = tf.where(go_left, values, values - left)
      nodes = 2 * nodes + tf.cast(~go_left, tf.int64)
    return nodes - self.leaves

  def stratified_sample(self, batch_size: int,
                        rng: tf.random.Generator) -> tf.Tensor:
    """Leaves drawn in proportion to their priorities, one from each of
    `batch_size` equal segments of [0, total) (Schaul et al. 2016, as
    Dopamine's sum tree samples).

    Args:
      batch_size: leaves drawn.
      rng: the run's generator.

    Returns:
      int64 [batch_size] leaf indices, in segment order.
    """
    segments = tf.range(batch_size, dtype=tf.float64)
    offsets = rng.uniform([batch_size], dtype=tf.float64)
    return self.find((segments + offsets) * (self.total / batch_size))


class Priorities(tf.Module):
  """Prioritized sampling as Dopamine's prioritized memory and its agents
  do it, over a memory's `capacity` slots.

  A train step draws one slot from each of `batch_size` equal segments of
  the total priority, weights each example's loss by
  w_i = (min_j p_j / p_i)^beta over the batch (Dopamine's (1/p_i)^beta
  normalised by the batch's largest weight), and afterwards sets
  p_i = (loss_i + priority_epsilon)^alpha from each example's unweighted
  loss (Dopamine's sqrt(loss + 1e-10) at alpha 0.5).
  """

  def __init__(self, capacity: int, priority_exponent: float,
               importance_exponent: float, priority_epsilon: float,
               owner: str):
    """Checks the exponents and allocates the tree.

    Args:
      capacity: slots of the memory.
      priority_exponent: alpha.
      importance_exponent: beta.
      priority_epsilon: added to each loss.
      owner: the memory's gin name, for error messages.

    Raises:
      ConfigError: for exponents or an epsilon that are not positive
        numbers.
    """
    checks.positive_numbers(owner, priority_exponent=priority_exponent,
                            importance_exponent=importance_exponent,
                            priority_epsilon=priority_epsilon)
    super().__init__(name='priorities')
    self.priority_exponent = float(priority_exponent)
    self.importance_exponent = float(importance_exponent)
    self.priority_epsilon = float(priority_epsilon)
    self.tree = SumTree(capacity)

  def weights(self, indices: tf.Tensor) -> tf.Tensor:
    """float32 [batch] importance weights of the drawn `indices`."""
    drawn = self.tree.get(indices)
    return tf.cast((tf.reduce_min(drawn) / drawn)**self.importance_exponent,
                   tf.float32)

  def update(self, indices: tf.Tensor, losses: tf.Tensor) -> None:
    """Sets the priorities at `indices` from their [batch] losses."""
    self.tree.set(indices, (tf.cast(losses, tf.float64) +
                            self.priority_epsilon)**self.priority_exponent)
