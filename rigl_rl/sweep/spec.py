"""The sweep spec: a YAML file naming gin files, binding grids and seeds.

Example (sweeps/classic_control.yaml has a full one):

  seeds: [0, 1, 2]
  bindings: ['NUM_ENV_STEPS = 20000']   # every run
  experiments:
    - gin_files: [gin/dqn/cartpole_dense.gin]
      bindings: ['dqn_agent.gamma = 0.9'] # its runs only, after the spec's
    - gin_files: [gin/dqn/cartpole_rigl.gin, gin/dqn/cartpole_set.gin]
      grid: {SPARSITY: [0.8, 0.9]}      # gin literals
      matched_dense: true                # + dense runs of the same size

Every combination of gin file, grid point and seed is one run, whose root_dir
under the sweep dir is named from the file and its grid bindings.
"""
import collections
import dataclasses
import itertools
import os
import re
from typing import Dict, List, Sequence, Tuple

import yaml

from rigl_rl import experiments as experiments_lib
from rigl_rl.errors import ConfigError
from rigl_rl.errors import one_line

SPEC_KEYS = ('seeds', 'bindings', 'experiments', 'cpus_per_run',
             'gpus_per_run')
EXPERIMENT_KEYS = ('gin_files', 'bindings', 'grid', 'matched_dense',
                   'width_parameter')
# The MLP's width multiplier; pixel networks name their own.
DEFAULT_WIDTH_PARAMETER = 'mlp_layers.width'


@dataclasses.dataclass(frozen=True)
class Run:
  """One run of a sweep.

  Attributes:
    name: its directory under the sweep dir.
    gin_files: absolute paths, parsed in order.
    bindings: gin bindings after the files: the spec's, the experiment's,
      then the grid's.
    seed: the run's SEED.
    labels: what the report groups by beyond results.json, e.g.
      {'matched_sparsity': 0.9} for a parameter-matched dense run.
  """
  name: str
  gin_files: Tuple[str, ...]
  bindings: Tuple[str, ...]
  seed: int
  labels: Tuple[Tuple[str, float], ...] = ()


@dataclasses.dataclass(frozen=True)
class MatchRequest:
  """A dense run to size like a sparse configuration.

  Attributes:
    sparse_files: the sparse method files at this grid point, which must
      all have the same active parameter count.
    bindings: their bindings, without the seed.
    dense_file: the `<env>_dense.gin` they include.
    width_parameter: the gin parameter scaling the dense network's width.
    grid_point: the grid bindings, naming the matched run.
  """
  sparse_files: Tuple[str, ...]
  bindings: Tuple[str, ...]
  dense_file: str
  width_parameter: str
  grid_point: Tuple[Tuple[str, str], ...]


@dataclasses.dataclass
class Spec:
  """A parsed sweep spec."""
  seeds: List[int]
  bindings: List[str]
  cpus_per_run: float
  gpus_per_run: float
  runs: List[Run]
  matches: List[MatchRequest]

  def matched_runs(self, widths: Dict[MatchRequest, float]) -> List[Run]:
    """The parameter-matched dense runs, one per width and seed.

    Args:
      widths: each match request's solved width multiplier.

    Returns:
      Runs named `<env>_dense__matched__<grid point>__SEED=<seed>`.
    """
    runs = []
    for request in self.matches:
      labels = dict(request.grid_point)
      stem = _stem(request.dense_file) + '__matched'
      # SPARSITY is a macro of the method files only.
      shared = tuple(f'{key} = {value}' for key, value in request.grid_point
                     if key != 'SPARSITY')
      width = f'{request.width_parameter} = {widths[request]!r}'
      for seed in self.seeds:
        runs.append(Run(
            name=_run_name(stem, request.grid_point, seed),
            gin_files=(request.dense_file,),
            bindings=tuple(self.bindings) + shared + (width, f'SEED = {seed}'),
            seed=seed,
            labels=(('matched_sparsity', float(labels['SPARSITY'])),)
            if 'SPARSITY' in labels else ()))
    return runs


def _gin_literal(path: str, value) -> str:
  """YAML scalar -> gin text. Strings are taken as gin text already."""
  if isinstance(value, (bool, int, float)) or value is None:
    return repr(value)
  if isinstance(value, str):
    return value
  _fail(path, f'grid value {value!r} is not a number, bool, null or string')


def _stem(path: str) -> str:
  return os.path.splitext(os.path.basename(path))[0]


def _agent_prefixed(runs: List[Run]) -> List[Run]:
  """Runs whose gin file shares its name with another file of the spec
  (gin/dqn/x.gin and gin/rainbow/x.gin) are named after its directory too,
  'rainbow_x__...'; every other run keeps its plain name."""
  paths = collections.defaultdict(set)
  for run in runs:
    paths[_stem(run.gin_files[0])].add(run.gin_files[0])
  return [
      dataclasses.replace(run, name=(
          f'{os.path.basename(os.path.dirname(run.gin_files[0]))}_{run.name}'))
      if len(paths[_stem(run.gin_files[0])]) > 1 else run
      for run in runs
  ]


def _run_name(stem: str, grid_point: Sequence[Tuple[str, str]],
              seed: int) -> str:
  parts = [stem] + [f'{key}={value}' for key, value in grid_point]
  parts.append(f'SEED={seed}')
  # Keep names portable: a binding such as '"Pong"' must not make odd paths.
  return re.sub(r'[^A-Za-z0-9._=-]+', '_', '__'.join(parts))


def _fail(path: str, message: str):
  raise ConfigError(f'{path}: {message}')


def _check_keys(path: str, where: str, data: dict, known) -> None:
  for key in data:
    if key not in known:
      _fail(path, f'unknown key {key!r} {where} (known: {", ".join(known)})')


def _dense_base(path: str, gin_file: str) -> str:
  """`<env>_dense.gin` beside `<env>_<method>.gin` (the gin layout)."""
  stem = _stem(gin_file)
  if '_' not in stem:
    _fail(path, f'{gin_file} is not named <env>_<method>.gin, so its dense '
          'base cannot be found for matched_dense')
  dense = os.path.join(os.path.dirname(gin_file),
                       stem.rsplit('_', 1)[0] + '_dense.gin')
  if not os.path.isfile(dense):
    _fail(path, f'matched_dense needs {dense} (the dense base of {gin_file})')
  return dense


def load(path: str) -> Spec:
  """Reads and checks a sweep spec.

  Relative gin file paths start at the current directory, and name a shipped
  experiment where no such file exists, as in rigl-train
  (`rigl_rl.experiments.resolve`).

  Raises:
    ConfigError: for a missing or malformed spec, an unknown key, a gin file
      that does not exist, or an empty grid; in one line.
  """
  if not os.path.isfile(path):
    raise ConfigError(f'sweep spec {path!r} not found')
  with open(path) as f:
    try:
      data = yaml.safe_load(f)
    except yaml.YAMLError as e:
      _fail(path, f'not valid YAML: {" ".join(str(e).split())}')
  if not isinstance(data, dict):
    _fail(path, 'must be a mapping with keys ' + ', '.join(SPEC_KEYS))
  _check_keys(path, 'at the top level', data, SPEC_KEYS)
  seeds = data.get('seeds', [0])
  if (not isinstance(seeds, list) or not seeds or
      not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
    _fail(path, f'seeds must be a non-empty list of integers, got {seeds!r}')
  bindings = data.get('bindings', [])
  if not isinstance(bindings, list) or not all(
      isinstance(b, str) for b in bindings):
    _fail(path, "bindings must be a list of strings like 'NUM_ENV_STEPS = 1000'")
  cpus = data.get('cpus_per_run', 1)
  if not isinstance(cpus, (int, float)) or isinstance(cpus, bool) or cpus <= 0:
    _fail(path, f'cpus_per_run must be a positive number, got {cpus!r}')
  # A fraction lets several runs share one GPU.
  gpus = data.get('gpus_per_run', 0)
  if not isinstance(gpus, (int, float)) or isinstance(gpus, bool) or gpus < 0:
    _fail(path, f'gpus_per_run must be a number >= 0 (0.25 puts four runs on '
          f'a GPU), got {gpus!r}')
  experiments = data.get('experiments')
  if not isinstance(experiments, list) or not experiments:
    _fail(path, 'experiments must be a non-empty list')

  runs, matches = [], {}
  for index, experiment in enumerate(experiments):
    where = f'in experiments[{index}]'
    if not isinstance(experiment, dict):
      _fail(path, f'experiments[{index}] must be a mapping')
    _check_keys(path, where, experiment, EXPERIMENT_KEYS)
    files = experiment.get('gin_files')
    if (not isinstance(files, list) or not files or
        not all(isinstance(gin_file, str) for gin_file in files)):
      _fail(path, f'gin_files {where} must be a non-empty list of paths')
    try:
      files = [os.path.abspath(experiments_lib.resolve(gin_file, where))
               for gin_file in files]
    except ConfigError as e:
      _fail(path, str(e))
    # An experiment's own bindings follow the spec's, unnamed in its runs.
    own = experiment.get('bindings', [])
    if not isinstance(own, list) or not all(isinstance(b, str) for b in own):
      _fail(path, f'bindings {where} must be a list of strings like '
            "'dqn_agent.gamma = 0.9'")
    grid = experiment.get('grid', {})
    if not isinstance(grid, dict):
      _fail(path, f'grid {where} must map gin names to lists of values')
    for key, values in grid.items():
      if not isinstance(values, list) or not values:
        _fail(path, f'grid {key} {where} must be a non-empty list')
    matched = experiment.get('matched_dense', False)
    if not isinstance(matched, bool):
      _fail(path, f'matched_dense {where} must be true or false')
    width_parameter = experiment.get('width_parameter', DEFAULT_WIDTH_PARAMETER)
    if not isinstance(width_parameter, str):
      _fail(path, f'width_parameter {where} must be a gin name such as '
            f'{DEFAULT_WIDTH_PARAMETER}')
    keys = sorted(grid)
    points = [tuple(zip(keys, (_gin_literal(path, v) for v in values)))
              for values in itertools.product(*(grid[k] for k in keys))]
    for gin_file in files:
      for point in points:
        point_bindings = (tuple(bindings) + tuple(own) +
                          tuple(f'{k} = {v}' for k, v in point))
        for seed in seeds:
          runs.append(Run(name=_run_name(_stem(gin_file), point, seed),
                          gin_files=(gin_file,),
                          bindings=point_bindings + (f'SEED = {seed}',),
                          seed=seed))
        if matched:
          # Methods share their dense base's matched runs at a grid point.
          key = (os.path.abspath(_dense_base(path, gin_file)), width_parameter,
                 point)
          matches.setdefault(key, (point_bindings, []))[1].append(gin_file)
  runs = _agent_prefixed(runs)
  counts = collections.Counter(run.name for run in runs)
  duplicate = next((name for name, n in counts.items() if n > 1), None)
  if duplicate:
    _fail(path, f'two runs are both named {duplicate}; list each gin file '
          'once per grid')
  requests = [
      MatchRequest(sparse_files=tuple(files), bindings=point_bindings,
                   dense_file=dense, width_parameter=width_parameter,
                   grid_point=point)
      for (dense, width_parameter, point), (point_bindings, files)
      in matches.items()
  ]
  return Spec(seeds=seeds, bindings=bindings, cpus_per_run=cpus,
              gpus_per_run=gpus, runs=runs, matches=requests)


def check_bindings(runs: Sequence[Run]) -> None:
  """Parses every run's configuration with `config.parse`'s checks.

  So a misspelt grid key, a macro that a run's gin file never reads, or a
  grid key that repeats one of the spec's bindings stops the sweep before
  any run launches. A binding of a configurable that a run never calls
  shows only once the run is built: bin/train refuses it in one line, and
  the sweep records that run as failed. gin must hold no configuration.

  Raises:
    ConfigError: naming the first run whose configuration fails.
  """
  # TensorFlow loads only when there are runs to check.
  from rigl_rl import config  # pylint: disable=g-import-not-at-top
  checked = set()
  for run in runs:
    key = (run.gin_files, tuple(binding for binding in run.bindings
                                if binding != f'SEED = {run.seed}'))
    if key in checked:  # The same but for the seed.
      continue
    checked.add(key)
    try:
      with config.parsed(run.gin_files, run.bindings):
        pass
    except ConfigError as e:
      raise ConfigError(f'sweep run {run.name}: {one_line(e)}') from e
