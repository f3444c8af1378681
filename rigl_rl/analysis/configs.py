"""A run's configuration, as the report groups and names runs by it.

A run's configuration is what made it, less its seed: for a sweep run the gin
files and bindings its sweep_run.json records, for a run of bin/train the
operative config it wrote to config.gin. Runs that differ only in the seed
share a configuration; each group is named by the bindings that tell it from
the other groups of its agent and environment (DESIGN section 5).

Reads files as text and JSON only: no gin, no TensorFlow.
"""
import collections
import dataclasses
import json
import os
import re
from typing import Dict, Hashable, List, Optional, Sequence, Tuple

from rigl_rl import methods
from rigl_rl.training import run_dir

# The key a sweep run's gin files are recorded under, beside its bindings.
GIN_FILES = 'gin'
# What differs between seeds of one configuration.
SEED_KEYS = ('SEED', 'Runner.seed')
# Plasticity baselines as an operative config names them in
# Runner.plasticity_baselines (the weight-decay one is a binding instead).
BASELINE_CONFIGURABLES = {'@Reset()': 'reset', '@ReDo()': 'redo'}
# A binding line of gin's operative config: [scope/]selector.param = value.
_BINDING = re.compile(r'^([A-Za-z_][\w./]*)\s*=\s*(.*)$')

Pairs = Tuple[Tuple[str, str], ...]


@dataclasses.dataclass(frozen=True)
class RunConfig:
  """A run's configuration without its seed.

  Attributes:
    values: (key, gin text) pairs sorted by key: the bindings, and the gin
      files under GIN_FILES, or every binding of the operative config.
    source: the file they were read from, run_dir.SWEEP_RUN_FILE or
      run_dir.CONFIG_FILE. Two sources are not compared key by key: an
      operative config binds every parameter, a sweep records only what it
      set.
  """
  values: Pairs
  source: str

  def get(self, key: str) -> Optional[str]:
    return dict(self.values).get(key)


def parse_operative(text: str) -> Dict[str, str]:
  """key -> value text of gin's operative config (or any gin file's
  bindings), wrapped values (after a trailing backslash) joined; comments and
  includes skipped."""
  values, key = {}, None
  for line in text.splitlines():
    stripped = line.strip()
    if not stripped or stripped.startswith('#'):
      continue
    match = _BINDING.match(line)
    if match:
      key = match.group(1)
      values[key] = match.group(2).strip().rstrip('\\').strip()
    elif line[0].isspace() and key is not None:  # A value gin wrapped.
      values[key] = f'{values[key]} {stripped}'.strip()
    else:
      key = None  # e.g. an include line: no binding to continue.
  return values


def _without_seed(values: Dict[str, str]) -> Pairs:
  return tuple(sorted((key, value) for key, value in values.items()
                      if key not in SEED_KEYS and
                      not key.endswith('root_dir')))


def read(root: str) -> RunConfig:
  """The configuration of the run in `root`.

  Raises:
    OSError, ValueError, TypeError: if neither a sweep_run.json with gin
      files and bindings nor a config.gin can be read.
  """
  run_path = os.path.join(root, run_dir.SWEEP_RUN_FILE)
  if os.path.exists(run_path):
    with open(run_path) as f:
      record = json.load(f)
    if not isinstance(record, dict):
      raise TypeError(f'{run_dir.SWEEP_RUN_FILE} is not a JSON object')
    if 'gin_files' in record and 'bindings' in record:
      values = {GIN_FILES: ' '.join(os.path.basename(path)
                                    for path in record['gin_files'])}
      for binding in record['bindings']:
        key, _, value = binding.partition('=')
        values[key.strip()] = value.strip()  # The last one wins, as in gin.
      return RunConfig(_without_seed(values), run_dir.SWEEP_RUN_FILE)
  config_path = os.path.join(root, run_dir.CONFIG_FILE)
  if not os.path.exists(config_path):
    raise ValueError(f'no {run_dir.CONFIG_FILE} (nor gin files and bindings '
                     f'in {run_dir.SWEEP_RUN_FILE}): its configuration is '
                     'unknown')
  with open(config_path) as f:
    values = parse_operative(f.read())
  if not values:
    raise ValueError(f'{run_dir.CONFIG_FILE} holds no bindings')
  return RunConfig(_without_seed(values), run_dir.CONFIG_FILE)


def baseline(config: RunConfig) -> Optional[str]:
  """The plasticity baseline of a dense run, or None.

  A sweep run is named by its gin files (cartpole_reset.gin -> 'reset'); a
  run of bin/train by the baselines its Runner ran. Its weight decay alone
  does not say: every base file sets one. A stronger one then shows in the
  group's name as the binding that differs.
  """
  if config.source == run_dir.SWEEP_RUN_FILE:
    for name in (config.get(GIN_FILES) or '').split():
      try:
        stem = methods.gin_stem(name)
      except ValueError:  # A user's gin file, named otherwise.
        continue
      if stem in methods.DENSE_BASELINES:
        return stem
    return None
  hooks = config.get('Runner.plasticity_baselines') or ''
  found = [name for configurable, name in BASELINE_CONFIGURABLES.items()
           if configurable in hooks]
  return '+'.join(found) or None


def variants(configs: Dict[Hashable, Tuple[Hashable, RunConfig]]
             ) -> Dict[Hashable, Pairs]:
  """What tells each group from the others of its agent and environment.

  A key tells groups apart if two groups with the same base (agent, env,
  method, sparsity) and source give it different values (or only one binds
  it). Every group then shows each such key of its base's agent and
  environment that it binds, so a width swept for one sparsity is named at
  every sparsity. A group read from config.gin whose base also has sweep
  groups is marked by its source.

  Args:
    configs: group -> (its base: (agent, env, method, sparsity), its
      configuration).

  Returns:
    group -> (key, value) pairs, sorted by key; () where nothing differs.
  """
  by_base = collections.defaultdict(list)
  for base, config in configs.values():
    by_base[base].append(config)
  telling = collections.defaultdict(set)  # (agent, env) -> keys
  mixed = set()
  for base, found in by_base.items():
    for source in {config.source for config in found}:
      same = [dict(config.values) for config in found
              if config.source == source]
      keys = set().union(*same)
      telling[base[:2]].update(
          key for key in keys
          if len({values.get(key) for values in same}) > 1)
    if len({config.source for config in found}) > 1:
      mixed.add(base)
  out = {}
  for group, (base, config) in configs.items():
    pairs = tuple((key, value) for key, value in config.values
                  if key in telling[base[:2]])
    if base in mixed and config.source == run_dir.CONFIG_FILE:
      pairs += (('from', run_dir.CONFIG_FILE),)
    out[group] = pairs
  return out


def label(pairs: Pairs, base: Optional[str] = None) -> str:
  """'mlp_layers.width=0.5 · OffPolicy.replay_ratio=0.5', after `base` (e.g.
  'rigl 90% · mlp_layers.width=0.5') when one is given."""
  return ' · '.join(([base] if base is not None else []) +
                    [f'{key}={value}' for key, value in pairs])


def numeric(value: Optional[str]) -> Optional[float]:
  """A binding's value as a number, or None if it is not one."""
  try:
    return float(value)
  except (TypeError, ValueError):
    return None


def swept(pairs_of_groups: Sequence[Pairs]) -> List[str]:
  """Keys with at least two numeric values among the groups, sorted."""
  numbers = collections.defaultdict(set)
  for pairs in pairs_of_groups:
    for key, value in pairs:
      if numeric(value) is not None:
        numbers[key].add(numeric(value))
  return sorted(key for key, found in numbers.items() if len(found) > 1)
