"""The sweep spec: runs it expands to, and the errors it stops with."""
import os

import pytest

from rigl_rl.errors import ConfigError
from rigl_rl.sweep import spec as spec_lib
from tests.conftest import gin_path
from tests.conftest import REPO


def _write(tmp_path, text):
  path = tmp_path / 'spec.yaml'
  path.write_text(text)
  return str(path)


def test_grid_times_seeds_named_from_bindings(tmp_path):
  path = _write(tmp_path, f"""
seeds: [0, 3]
bindings: ['NUM_ENV_STEPS = 500']
gpus_per_run: 0.25
experiments:
  - gin_files: [{gin_path('cartpole_dense.gin')}]
  - gin_files: [{gin_path('cartpole_rigl.gin')}, {gin_path('cartpole_set.gin')}]
    grid: {{SPARSITY: [0.8, 0.9], RigL.drop_fraction: ['@ConstantDropFraction()']}}
""")
  spec = spec_lib.load(path)
  assert len(spec.runs) == 2 + 2 * 2 * 2
  by_name = {run.name: run for run in spec.runs}
  dense = by_name['cartpole_dense__SEED=3']
  assert dense.gin_files == (gin_path('cartpole_dense.gin'),)
  assert dense.bindings == ('NUM_ENV_STEPS = 500', 'SEED = 3')
  assert dense.seed == 3
  # Grid keys sorted; odd characters in values become '_'.
  rigl = by_name['cartpole_rigl__RigL.drop_fraction=_ConstantDropFraction_'
                 '__SPARSITY=0.9__SEED=0']
  assert rigl.bindings == ('NUM_ENV_STEPS = 500',
                           'RigL.drop_fraction = @ConstantDropFraction()',
                           'SPARSITY = 0.9', 'SEED = 0')
  assert spec.matches == []
  assert (spec.cpus_per_run, spec.gpus_per_run) == (1, 0.25)


def test_an_experiments_bindings_follow_the_specs_in_its_runs_only(tmp_path):
  path = _write(tmp_path, f"""
bindings: ['NUM_ENV_STEPS = 500']
experiments:
  - gin_files: [{gin_path('cartpole_dense.gin')}]
    bindings: ['dqn_agent.gamma = 0.9']
    grid: {{dqn_agent.learning_rate: [0.001]}}
  - gin_files: [{gin_path('cartpole_rigl.gin')}]
""")
  by_name = {run.name: run for run in spec_lib.load(path).runs}
  # Unlike grid keys, they do not name the run.
  assert by_name['cartpole_dense__dqn_agent.learning_rate=0.001__SEED=0'
                 ].bindings == ('NUM_ENV_STEPS = 500', 'dqn_agent.gamma = 0.9',
                                'dqn_agent.learning_rate = 0.001', 'SEED = 0')
  assert by_name['cartpole_rigl__SEED=0'].bindings == (
      'NUM_ENV_STEPS = 500', 'SEED = 0')


def test_matched_dense_shared_by_methods_and_named_per_sparsity(tmp_path):
  path = _write(tmp_path, f"""
seeds: [0, 1]
bindings: ['NUM_ENV_STEPS = 500']
experiments:
  - gin_files: [{gin_path('cartpole_rigl.gin')}, {gin_path('cartpole_prune.gin')}]
    grid: {{SPARSITY: [0.8, 0.9]}}
    matched_dense: true
""")
  spec = spec_lib.load(path)
  assert len(spec.matches) == 2  # One per sparsity, not per method.
  request = spec.matches[1]
  assert request.sparse_files == (gin_path('cartpole_rigl.gin'),
                                  gin_path('cartpole_prune.gin'))
  assert request.dense_file == gin_path('cartpole_dense.gin')
  assert request.bindings == ('NUM_ENV_STEPS = 500', 'SPARSITY = 0.9')
  runs = spec.matched_runs({spec.matches[0]: 0.45, spec.matches[1]: 0.3})
  assert [run.name for run in runs] == [
      'cartpole_dense__matched__SPARSITY=0.8__SEED=0',
      'cartpole_dense__matched__SPARSITY=0.8__SEED=1',
      'cartpole_dense__matched__SPARSITY=0.9__SEED=0',
      'cartpole_dense__matched__SPARSITY=0.9__SEED=1',
  ]
  # The dense base does not know SPARSITY; it gets the width instead.
  assert runs[3].bindings == ('NUM_ENV_STEPS = 500', 'mlp_layers.width = 0.3',
                              'SEED = 1')
  assert runs[3].labels == (('matched_sparsity', 0.9),)


@pytest.mark.parametrize('text, message', [
    ('seed: [0]\nexperiments: []', "unknown key 'seed' at the top level"),
    ('experiments:\n  - gin_files: [{dense}]\n    grids: {{}}',
     "unknown key 'grids' in experiments[0]"),
    ('experiments:\n  - gin_files: [gin/dqn/nope_rigl.gin]',
     "gin file 'gin/dqn/nope_rigl.gin' in experiments[0] not found"),
    ('experiments: []', 'experiments must be a non-empty list'),
    ('experiments:\n  - gin_files: [{dense}]\n    bindings: SEED = 1',
     'bindings in experiments[0] must be a list of strings'),
    ('seeds: [0.5]\nexperiments:\n  - gin_files: [{dense}]',
     'seeds must be a non-empty list of integers'),
    ('experiments:\n  - gin_files: [{dense}]\n    grid: {{SPARSITY: []}}',
     'grid SPARSITY in experiments[0] must be a non-empty list'),
    ('experiments:\n  - gin_files: [{dense}, {dense}]',
     'two runs are both named cartpole_dense__SEED=0'),
    ('experiments: [', 'not valid YAML'),
    ('gpus_per_run: -1\nexperiments:\n  - gin_files: [{dense}]',
     'gpus_per_run must be a number >= 0'),
    ('experiments:\n  - gin_files: [{dense}]\n    grid: {{SEED: [[1]]}}',
     'grid value [1] is not a number, bool, null or string'),
])
def test_errors_are_one_line(tmp_path, text, message):
  path = _write(tmp_path, text.format(dense=gin_path('cartpole_dense.gin')))
  with pytest.raises(ConfigError) as error:
    spec_lib.load(path)
  assert message in str(error.value)
  assert str(error.value).startswith(path + ': ')
  assert '\n' not in str(error.value)


def test_missing_spec_and_missing_dense_base(tmp_path):
  with pytest.raises(ConfigError, match='sweep spec .* not found'):
    spec_lib.load(str(tmp_path / 'none.yaml'))
  lone = tmp_path / 'gin' / 'pendulum_rigl.gin'
  lone.parent.mkdir()
  lone.write_text('')
  path = _write(tmp_path, f"""
experiments:
  - gin_files: [{lone}]
    matched_dense: true
""")
  with pytest.raises(ConfigError, match='matched_dense needs .*pendulum_dense.gin'):
    spec_lib.load(path)


def test_relative_gin_paths_start_at_the_current_directory(tmp_path,
                                                           monkeypatch):
  path = _write(tmp_path, 'experiments:\n  - gin_files: [dqn/cartpole_dense.gin]')
  monkeypatch.chdir(os.path.dirname(os.path.dirname(gin_path('x'))))
  spec = spec_lib.load(path)
  assert spec.runs[0].gin_files == (gin_path('cartpole_dense.gin'),)


def test_a_shipped_name_needs_no_local_file(tmp_path, monkeypatch):
  path = _write(tmp_path, 'experiments:\n  - gin_files: [dqn/cartpole_dense.gin]')
  monkeypatch.chdir(tmp_path)  # No dqn/ here: the shipped file.
  spec = spec_lib.load(path)
  (gin_file,) = spec.runs[0].gin_files
  assert os.path.isabs(gin_file)
  assert os.path.samefile(gin_file, gin_path('cartpole_dense.gin'))


def test_committed_specs_parse():
  repo = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
  for name in ('classic_control.yaml', 'classic_control_cpu.yaml'):
    cwd = os.getcwd()
    os.chdir(repo)
    try:
      spec = spec_lib.load(os.path.join('sweeps', name))
    finally:
      os.chdir(cwd)
    # Dense + 4 methods x 3 sparsities, per env and seed; matched per sparsity.
    assert len(spec.runs) == 2 * (1 + 4 * 3) * len(spec.seeds)
    assert len(spec.matches) == 2 * 3
    spec_lib.check_bindings(spec.runs)
    spec_lib.check_bindings(spec.matched_runs(
        {request: 0.5 for request in spec.matches}))


@pytest.mark.parametrize('grid, message', [
    ('{SPARSTY: [0.8]}', 'did you mean SPARSITY?'),
    ('{NUM_ENV_STEPS: [1000]}', 'NUM_ENV_STEPS twice'),
], ids=['misspelt-key', 'key-of-the-bindings'])
def test_grid_keys_are_checked_before_any_run(tmp_path, grid, message):
  path = _write(tmp_path, f"""
bindings: ['NUM_ENV_STEPS = 500']
experiments:
  - gin_files: [{gin_path('cartpole_dense.gin')}]
  - gin_files: [{gin_path('cartpole_rigl.gin')}]
    grid: {grid}
""")
  spec = spec_lib.load(path)
  spec_lib.check_bindings(spec.runs[:1])  # The dense run is fine.
  with pytest.raises(ConfigError, match=message) as error:
    spec_lib.check_bindings(spec.runs)
  assert str(error.value).startswith('sweep run cartpole_rigl__')
  assert '\n' not in str(error.value)


def test_the_blocks_study_spec_parses_every_run(monkeypatch):
  monkeypatch.chdir(REPO)  # Its gin files are paths from the checkout.
  spec = spec_lib.load(os.path.join('sweeps', 'blocks_cpu.yaml'))
  # 2 environments x (RigL, prune) x (unstructured, (4, 1)) x 3 seeds.
  assert len(spec.runs) == 24
  blocks = [run for run in spec.runs
            if 'SparseTraining.block_shape = (4, 1)' in run.bindings]
  assert len(blocks) == 12
  spec_lib.check_bindings(spec.runs)


def test_the_rainbow_check_spec_parses_every_run(monkeypatch):
  monkeypatch.chdir(REPO)
  spec = spec_lib.load(os.path.join('sweeps', 'rainbow_minatar_cpu.yaml'))
  # (DQN, Rainbow) x (dense, prune at 95%) x widths (1, 2) x 3 seeds.
  assert len(spec.runs) == 24
  pruned = [run for run in spec.runs if 'SPARSITY = 0.95' in run.bindings]
  assert len(pruned) == 12
  # The two agents' files share their names: the runs are told apart by
  # the agent's directory.
  assert {run.name.split('_minatar')[0] for run in pruned} == {'dqn',
                                                               'rainbow'}
  assert 'rainbow_minatar_breakout_prune__MinAtarNet.width=2.0__SPARSITY=0.95__SEED=1' in {
      run.name for run in pruned}
  # DQN takes Dopamine's protocol, as Rainbow's files have it.
  assert all('OffPolicy.replay_ratio = 0.25' in run.bindings
             for run in spec.runs if run.name.startswith('dqn_'))
  spec_lib.check_bindings(spec.runs)


def test_the_fixed_topologies_study_specs_parse_every_run(monkeypatch):
  monkeypatch.chdir(REPO)
  load = lambda name: spec_lib.load(
      os.path.join('sweeps', f'fixed_topologies_cpu_{name}.yaml'))
  cpu = {name: load(name) for name in
         ('frozen', 'learned', 'l1_source', 'l1_frozen', 'l1_learned')}
  # Breakout: (Dense, Random, Spatial) x (frozen, learned), then L1-Reg
  # frozen and learned on one source run's mask; 3 seeds at 500k.
  assert {name: len(spec.runs) for name, spec in cpu.items()} == {
      'frozen': 9, 'learned': 9, 'l1_source': 1, 'l1_frozen': 3,
      'l1_learned': 3}
  runs = [run for spec in cpu.values() for run in spec.runs]
  for run in runs:
    assert 'NUM_ENV_STEPS = 500000' in run.bindings
  for kind in ('frozen', 'learned'):
    assert all(f'_{kind}.gin' in run.gin_files[0]
               for run in cpu[kind].runs + cpu[f'l1_{kind}'].runs)
  # The L1-Reg runs read the source run in the dir its spec documents.
  (source,) = cpu['l1_source'].runs
  for run in cpu['l1_frozen'].runs + cpu['l1_learned'].runs:
    assert (f'L1_SOURCE_RUN_DIR = "/tmp/sweeps/fixed_topologies_cpu/'
            f'l1_source/{source.name}"') in run.bindings
  full, masks = (spec_lib.load(os.path.join('sweeps', name)) for name in
                 ('fixed_topologies.yaml', 'fixed_topologies_masks.yaml'))
  assert full.seeds == masks.seeds == list(range(30))  # 000 A.1: 30 trials
  # 2 games x 7 files, then 2 games x (L1, Predictive) x 2, at the gin
  # files' 5M steps (Table 1).
  assert (len(full.runs), len(masks.runs)) == (2 * 7 * 30, 2 * 4 * 30)
  assert not any(binding.startswith('NUM_ENV_STEPS')
                 for run in full.runs + masks.runs for binding in run.bindings)
  spec_lib.check_bindings(runs + full.runs[:30 * 7:30] + masks.runs[::30])
