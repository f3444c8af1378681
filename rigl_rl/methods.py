"""The training methods, named in one place.

A method's name is what results.json records, what reports group and order
by, and the last part of its gin files' names: gin/<agent>/<env>_<method>.gin.
Imports nothing, so binaries, reports, scripts and tests read it cheaply.
"""
import os

DENSE = 'dense'
# Sparse training (DESIGN section 4), in report order: gradual magnitude
# pruning, then the methods that start sparse.
SPARSE = ('prune', 'static', 'set', 'rigl')
# Every agent has a gin file of each of these for each of its environments.
CORE = (DENSE,) + SPARSE
# The sparse methods that drop and regrow connections during training.
DYNAMIC = ('set', 'rigl')
# The mask updater each sparse method binds: SparseTraining.updater = @RigL().
UPDATERS = {'prune': 'Prune', 'static': 'Static', 'set': 'SET',
            'rigl': 'RigL'}
# Retraining from initialisation on an earlier run's final masks.
LOTTERY = 'lottery'
# Plasticity baselines that train the dense network (Obando-Ceron et al.
# 2024, 5.1); their runs record the method DENSE.
DENSE_BASELINES = ('reset', 'redo', 'weight_decay')
# Paper 000's fixed topologies of the hidden layer of its flat MinAtar
# Q-network (sparsity/topologies.py, baselines/l1_mask.py); their runs record
# 'fixed_<topology>', and the Dense runs of the study record DENSE.
FIXED_TOPOLOGIES = ('random', 'spatial', 'l1', 'predictive')
# 000 trains each with the hidden layer frozen at its initialisation or
# learned: gin files <env>_fixed_<topology or dense>_<frozen or learned>.gin.
HIDDEN_TRAINING = ('frozen', 'learned')
FIXED_STEMS = tuple(f'fixed_{topology}_{training}'
                    for topology in (DENSE,) + FIXED_TOPOLOGIES
                    for training in HIDDEN_TRAINING)
# The dense, L1-penalised run the L1 topology's mask is read from.
FIXED_L1_SOURCE = 'fixed_l1_source'
# Every <method> a gin file name may end in.
GIN_STEMS = CORE + (LOTTERY,) + DENSE_BASELINES + FIXED_STEMS + (
    FIXED_L1_SOURCE,)


def recorded_method(stem: str) -> str:
  """The method a run of the gin file <env>_<stem>.gin records in results.

  Args:
    stem: one of GIN_STEMS.
  """
  if stem in DENSE_BASELINES or stem == FIXED_L1_SOURCE or stem.startswith(
      f'fixed_{DENSE}_'):
    return DENSE
  if stem in FIXED_STEMS:
    return stem[:stem.rindex('_')]  # fixed_random_frozen -> fixed_random
  return stem


def gin_stem(path: str) -> str:
  """The method a gin file is named after, e.g. 'rigl' for cartpole_rigl.gin.

  Args:
    path: a gin file named <env>_<method>.gin.

  Returns:
    One of GIN_STEMS.

  Raises:
    ValueError: if the name ends in no method.
  """
  name = os.path.splitext(os.path.basename(path))[0]
  # Longest first: '_weight_decay' must win over a method named 'decay'.
  for stem in sorted(GIN_STEMS, key=len, reverse=True):
    if name.endswith('_' + stem):
      return stem
  raise ValueError(f'{path} is not named <env>_<method>.gin with a method '
                   f'of {", ".join(GIN_STEMS)}')
