"""What an agent builder asks for: sparse networks, and an optimizer for them.

With no sparse configuration a network is built dense and the optimizer is a
plain one, so builders read the same for every method.
"""
from typing import Callable, List, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from rigl_rl.sparsity import masking
from rigl_rl.sparsity import optimizer as optimizer_lib

# (wrap, name) -> a built network whose maskable layers went through `wrap`.
MakeNetwork = Callable[[Callable, str], tf.Module]


class Sparsifier:
  """Builds an agent's networks, sparse where configured, from one seed."""

  def __init__(self, seed: int):
    """Seeds the mask placement of every network built here, in order."""
    self._rng = np.random.default_rng(seed)
    self.networks: List[masking.SparseNetwork] = []

  def build(self, name: str, sparse, make: MakeNetwork,
            keras_name: Optional[str] = None,
            target_names: Sequence[str] = (),
            soft_targets: bool = False) -> Tuple[tf.Module, List[tf.Module]]:
    """Builds a network and its targets, and attaches masks if sparse.

    Args:
      name: the network's short name ('q', 'actor', 'critic1', ...).
      sparse: a `SparseTraining`, `LotteryTicket` or `FixedTopology`, or
        None for dense.
      make: (wrap, Keras name) -> the built network.
      keras_name: the online network's Keras name; None: `make`'s default.
      target_names: Keras names of target networks of the same structure,
        which carry the online network's masks.
      soft_targets: whether the agent updates the targets softly.

    Returns:
      (online network, target networks).
    """
    wrap = masking.layer_wrapper(sparse)
    online = make(wrap, keras_name)
    targets = [make(wrap, target) for target in target_names]
    if sparse is not None:
      self.networks.append(
          sparse.attach(name, online, targets, self._rng,
                        soft_targets=soft_targets))
    return online, targets

  def optimizer(self, networks: Sequence[tf.Module], **kwargs):
    """An optimizer that trains `networks` (online networks built here) with
    their masks; `sparse_optimizer` takes the other arguments."""
    ids = {id(network) for network in networks}
    return optimizer_lib.sparse_optimizer(
        [network for network in self.networks if id(network.network) in ids],
        **kwargs)
