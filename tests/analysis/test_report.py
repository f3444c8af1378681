"""bin/report on synthetic run directories whose numbers are known."""
import csv
import io
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from rliable import metrics

from rigl_rl.analysis import plots
from rigl_rl.analysis import report
from rigl_rl.analysis import report_writer
from rigl_rl.analysis import scores
from rigl_rl.errors import ConfigError
from tests.conftest import REPO

FLOOR = {'CartPole-v1': 22.2, 'Acrobot-v1': -498.0}
# Final scores per seed 0..3, chosen so IQM and mean differ.
FINALS = {
    ('CartPole-v1', 'dense', 0.0): [122.2, 222.2, 322.2, 1022.2],
    ('CartPole-v1', 'rigl', 0.9): [22.2, 422.2, 422.2, 822.2],
    ('CartPole-v1', 'matched', 0.9): [22.2, 22.2, 122.2, 122.2],
    ('Acrobot-v1', 'dense', 0.0): [-398.0, -298.0, -198.0, -98.0],
    ('Acrobot-v1', 'rigl', 0.9): [-498.0, -373.0, -248.0, 502.0],
}


def _write_run(root, env, method, sparsity, seed, final, finished=True):
  os.makedirs(root)
  matched = method == 'matched'
  # Two evaluations whose mean (10% of 2 rounds up to 1: the last) is final.
  results = {
      'agent': 'dqn', 'env': env, 'method': 'dense' if matched else method,
      'sparsity': 0.0 if matched else sparsity, 'seed': seed,
      'num_env_steps': 1000, 'finished': finished,
      'active_params': 1000 if method == 'dense' else 100,
      'total_params': 100 if matched else 1000,
      'eval': [[500, final - 10 * seed], [1000, final]],
      'final_score': final,
  }
  with open(os.path.join(root, 'results.json'), 'w') as f:
    json.dump(results, f)
  # What bin/train and bin/sweep write beside it; seeds differ only here.
  if matched:
    _write_sweep_run(root, [f'gin/dqn/{_gin_name(env)}_dense.gin'],
                     ['mlp_layers.width = 0.3', f'SEED = {seed}'],
                     {'matched_sparsity': sparsity})
  else:
    _write_config(root, env, sparsity, seed)


def _gin_name(env):
  return env.split('-')[0].split(':')[0].lower()


def _write_config(root, env, sparsity, seed, extra=''):
  """A config.gin as bin/train writes it (gin's operative config)."""
  with open(os.path.join(root, 'config.gin'), 'w') as f:
    f.write(f'# Macros:\n# ====\nSEED = {seed}\nSPARSITY = {sparsity}\n\n'
            '# Parameters for Runner:\n# ====\n'
            f"Runner.env_name = '{env}'\nRunner.seed = %SEED\n"
            'Runner.plasticity_baselines = ()\n' + extra)


def _write_sweep_run(root, gin_files, bindings, labels=None):
  with open(os.path.join(root, 'sweep_run.json'), 'w') as f:
    json.dump({'name': os.path.basename(root), 'gin_files': gin_files,
               'bindings': bindings, 'labels': labels or {}}, f)


@pytest.fixture
def sweep_dir(tmp_path):
  root = tmp_path / 'sweep'
  for (env, method, sparsity), finals in FINALS.items():
    for seed, final in enumerate(finals):
      _write_run(str(root / f'{env}_{method}_{sparsity}_{seed}'), env, method,
                 sparsity, seed, final)
  _write_run(str(root / 'half_done'), 'CartPole-v1', 'rigl', 0.9, 7, 1e6,
             finished=False)
  return str(root)


def _iqm(values):
  values = sorted(values)
  cut = len(values) // 4
  return float(np.mean(values[cut:len(values) - cut]))


def test_rows_by_hand(sweep_dir):
  results, unfinished, unreadable = report.load(sweep_dir)
  assert not unreadable
  assert unfinished == [os.path.join(sweep_dir, 'half_done')]
  rows = {(r.env, r.method, r.sparsity): r for r in report.rows(results, 200)}
  dense = rows[('CartPole-v1', 'dense', 0.0)]
  assert dense.seeds == 4
  assert dense.mean.value == pytest.approx(422.2)
  assert dense.iqm.value == pytest.approx(272.2)  # mean of 222.2, 322.2
  assert dense.mean.low <= 422.2 <= dense.mean.high
  assert dense.mean.low >= 122.2 and dense.mean.high <= 1022.2
  matched = rows[('CartPole-v1', report.MATCHED, 0.9)]
  assert matched.mean.value == pytest.approx(72.2)
  assert matched.active_params == 100
  rigl = rows[('Acrobot-v1', 'rigl', 0.9)]
  assert rigl.mean.value == pytest.approx(-154.25)
  assert rigl.iqm.value == pytest.approx(-310.5)
  # Sorted by agent, env, then the method order.
  order = [(r.env, r.method) for r in report.rows(results, 50)]
  assert order == [('Acrobot-v1', 'dense'), ('Acrobot-v1', 'rigl'),
                   ('CartPole-v1', 'dense'), ('CartPole-v1', report.MATCHED),
                   ('CartPole-v1', 'rigl')]


def test_aggregates_by_hand(sweep_dir):
  results, _, _ = report.load(sweep_dir)
  table, how, notes = report.aggregates(results, 200)
  assert how[('dqn', 'CartPole-v1')] == (
      'dense-normalised: (score - 22.2) / (dense 422.2 - 22.2)')
  assert how[('dqn', 'Acrobot-v1')] == (
      'dense-normalised: (score + 498) / (dense -248.0 + 498)')
  by_method = {(a.method, a.sparsity): a for a in table}
  # CartPole rigl: [0, 1, 1, 2]; Acrobot rigl: (s + 498) / 250 = [0, .5, 1, 4].
  rigl = by_method[('rigl', 0.9)]
  assert rigl.envs == ['Acrobot-v1', 'CartPole-v1'] and rigl.seeds == 4
  pooled = [0, 1, 1, 2, 0, 0.5, 1, 4]
  assert rigl.mean.value == pytest.approx(np.mean(pooled)) == pytest.approx(
      1.1875)
  assert rigl.iqm.value == pytest.approx(_iqm(pooled)) == pytest.approx(0.875)
  assert rigl.iqm.low <= 0.875 <= rigl.iqm.high
  # Dense: [.25, .5, .75, 2.5] and [.4, .8, 1.2, 1.6]; each env's mean is 1.
  dense = by_method[('dense', 0.0)]
  assert dense.mean.value == pytest.approx(1.0)
  assert dense.iqm.value == pytest.approx(0.8125)
  # Matched dense exists for CartPole only: no aggregate over one of two.
  assert (report.MATCHED, 0.9) not in by_method
  assert notes == ['dqn classic_control: dense (matched) at 0.9 has 1 of 2 '
                   'environments; left out of aggregates']


def test_atari_is_human_normalised(tmp_path):
  root = tmp_path / 'sweep'
  # Pong: random -20.7, human 14.6.
  _write_run(str(root / 'a'), 'atari:Pong', 'dense', 0.0, 0, 14.6)
  _write_run(str(root / 'b'), 'atari:Pong', 'rigl', 0.9, 0, -3.05)
  _write_run(str(root / 'c'), 'atari:NotAGame', 'dense', 0.0, 0, 1.0)
  results, _, _ = report.load(str(root))
  norm, how, notes = report.normalized(results)
  assert norm[('dqn', 'atari:Pong', 'dense', 0.0)] == pytest.approx([1.0])
  assert norm[('dqn', 'atari:Pong', 'rigl', 0.9)] == pytest.approx([0.5])
  assert how[('dqn', 'atari:Pong')].startswith('human-normalised')
  assert notes == ['atari:NotAGame: no published human score here; left out']


def test_the_training_score_ranks_by_the_last_iterations_returns(tmp_path):
  root = tmp_path / 'sweep'
  for name, train_returns in (('a', [[500, 10.0, 4], [1000, 30.0, 2]]),
                              ('b', [[500, None, 0], [1000, 50.0, 1]])):
    _write_run(str(root / name), 'CartPole-v1', 'dense', 0.0,
               {'a': 0, 'b': 1}[name], 999.0)
    path = root / name / 'results.json'
    data = json.loads(path.read_text())
    data.update(train_returns=train_returns,
                final_training_score=train_returns[-1][1])
    path.write_text(json.dumps(data))
  # A run from before training scores existed cannot be ranked by them.
  _write_run(str(root / 'old'), 'CartPole-v1', 'dense', 0.0, 2, 999.0)
  results, _, unreadable = report.load(str(root), scores.SCORES['training'])
  assert sorted(r.final_score for r in results) == [30.0, 50.0]
  # Iterations in which no episode ended are no point on the curve.
  assert sorted(r.curve for r in results) == [[(500, 10.0), (1000, 30.0)],
                                              [(1000, 50.0)]]
  assert unreadable == [(str(root / 'old'), "missing 'final_training_score'")]
  results, _, unreadable = report.load(str(root))
  assert [r.final_score for r in results] == [999.0] * 3 and not unreadable
  lines = []
  index = report_writer.write(str(root), str(tmp_path / 'out'), 50,
                              progress=lines.append, score='training')
  with open(index) as f:
    assert scores.SCORES['training'].description in f.read()
  assert lines == [f"skipped {root / 'old'}: unreadable "
                   "(missing 'final_training_score')",
                   'warning: 1 of 1 groups have fewer than 5 seeds (fewest '
                   '2); their confidence intervals mean little (see index.md)']


def test_intervals_are_reproducible():
  scores = np.random.RandomState(1).rand(5, 2)
  np.random.seed(123)
  before = np.random.get_state()[1].copy()
  first = report.interval(scores, metrics.aggregate_iqm, 300)
  assert np.array_equal(np.random.get_state()[1], before)  # Left as it was.
  np.random.rand()  # Another global state must not change the answer.
  assert report.interval(scores, metrics.aggregate_iqm, 300) == first
  assert first.low < first.value < first.high


def test_curves_mean_with_bands(sweep_dir):
  results, _, _ = report.load(sweep_dir)
  runs = report.groups(results)[('dqn', 'CartPole-v1', 'dense', 0.0)]
  steps, values = report.aligned_curves(runs)
  assert list(steps) == [500, 1000]
  assert values[:, 0] == pytest.approx([122.2, 212.2, 302.2, 992.2])
  mean, ci = report.curve_intervals(values, 200)
  assert mean == pytest.approx([407.2, 422.2])
  assert np.all(ci[0] <= mean) and np.all(mean <= ci[1])


def test_bin_report_writes_linked_tables_and_plots(sweep_dir, tmp_path):
  out_dir = str(tmp_path / 'out')
  process = subprocess.run(
      [sys.executable, os.path.join(REPO, 'bin', 'report'),
       f'--sweep_dir={sweep_dir}', f'--out_dir={out_dir}',
       '--bootstrap_reps=200'],
      capture_output=True, text=True, timeout=300)
  assert process.returncode == 0, process.stderr
  # Four seeds a group: one line warns that the CIs mean little.
  assert process.stdout.strip().splitlines() == [
      'warning: 5 of 5 groups have fewer than 5 seeds (fewest 4); their '
      'confidence intervals mean little (see index.md)',
      f'Wrote {out_dir}/index.md']
  with open(os.path.join(out_dir, 'index.md')) as f:
    index = f.read()
  links = re.findall(r'\]\(([^)]+)\)', index)
  files = sorted(os.listdir(out_dir))
  for link in links:
    assert link in files
  pngs = [name for name in files if name.endswith('.png')]
  assert sorted(pngs) == sorted(
      ['params_dqn_Acrobot-v1.png', 'params_dqn_CartPole-v1.png',
       'iqm_dqn_classic_control_0.9.png', 'curves_dqn_Acrobot-v1_0.9.png',
       'curves_dqn_CartPole-v1_0.9.png'])
  assert set(pngs) <= set(links)
  for name in pngs:
    with open(os.path.join(out_dir, name), 'rb') as f:
      assert f.read(8) == b'\x89PNG\r\n\x1a\n'
  assert 'unfinished: `half_done`' in index
  with open(os.path.join(out_dir, 'scores.csv')) as f:
    rows = list(csv.DictReader(f))
  assert len(rows) == 5
  dense = next(r for r in rows if r['env'] == 'CartPole-v1' and
               r['method'] == 'dense')
  assert float(dense['mean']) == pytest.approx(422.2)
  assert float(dense['iqm']) == pytest.approx(272.2)
  assert '| dqn | CartPole-v1 | dense | 0 | 4 | 1000 | 422.2 [' in index

  # Rerunning replaces the report, and drops what the new one does not
  # make; a directory of other files is refused.
  for name in os.listdir(sweep_dir):
    if 'Acrobot' in name:
      os.rename(os.path.join(sweep_dir, name),
                os.path.join(str(tmp_path), name))
  assert subprocess.run(process.args, capture_output=True,
                        timeout=300).returncode == 0
  left = sorted(os.listdir(out_dir))
  assert 'params_dqn_Acrobot-v1.png' not in left
  assert 'params_dqn_CartPole-v1.png' in left
  with open(os.path.join(out_dir, report_writer.MARKER)) as f:
    assert sorted(f.read().split()) == [n for n in left if n != report_writer.MARKER]
  other = tmp_path / 'other'
  other.mkdir()
  (other / 'notes.txt').write_text('mine')
  with pytest.raises(ConfigError, match='not a report'):
    report_writer.write(sweep_dir, str(other), reps=10)
  assert (other / 'notes.txt').read_text() == 'mine'


def test_bin_report_keeps_runs_it_can_be_made_again_from(sweep_dir, tmp_path):
  made = {}
  # The first keeps the runs inside its report's dir.
  kept = str(tmp_path / 'from_sweep' / 'runs')
  for source, out in ((sweep_dir, 'from_sweep'), (kept, 'from_kept')):
    process = subprocess.run(
        [sys.executable, os.path.join(REPO, 'bin', 'report'),
         f'--sweep_dir={source}', f'--out_dir={tmp_path / out}',
         f'--keep_runs={kept}', '--bootstrap_reps=50'],
        capture_output=True, text=True, timeout=300)
    assert process.returncode == 0, process.stderr
    made[out] = process.stdout
    with open(tmp_path / out / 'scores.csv') as f:
      made[out + '.csv'] = f.read()
  # 20 finished runs; the half-done one is not kept. Made again from the
  # kept records, the report's numbers are the same.
  assert ('Kept the records of 20 finished runs in '
          f'{kept} (1 unfinished left out)') in made['from_sweep']
  assert f'Kept the records of 20 finished runs in {kept}\n' in made[
      'from_kept']
  assert made['from_sweep.csv'] == made['from_kept.csv']
  assert not os.path.exists(os.path.join(kept, 'half_done'))


def test_few_seeds_warning_and_what_the_report_was_made_from(tmp_path):
  root = tmp_path / 'sweep'
  for seed in range(5):  # Enough seeds: no warning.
    _write_run(str(root / f'dense_{seed}'), 'CartPole-v1', 'dense', 0.0, seed,
               100.0 + seed)
  _write_run(str(root / 'rigl_0'), 'CartPole-v1', 'rigl', 0.9, 0, 212.6)
  spec = 'seeds: [0, 1, 2, 3, 4]\nexperiments: []\n'
  (root / 'sweep_spec.yaml').write_text(spec)
  (root / 'sweep_spec.1.yaml').write_text('seeds: [0]\n')
  lines = []
  out_dir = tmp_path / 'out'
  index = report_writer.write(str(root), str(out_dir), 50,
                              progress=lines.append)
  assert lines == ['warning: 1 of 2 groups have fewer than 5 seeds (fewest '
                   '1); their confidence intervals mean little (see '
                   'index.md)']
  text = open(index).read()
  # One seed: the "interval" is the score itself, and the note says so
  # right below the table.
  assert '| 212.6 [212.6, 212.6] |' in text
  table_end = text.index('[scores.csv](scores.csv)')
  note = text.index('**Few seeds:** 1 groups have fewer than 5 seeds')
  assert text.index('| dqn | CartPole-v1 | rigl |') < note < table_end
  assert 'dqn CartPole-v1 rigl 90% (1 seed).' in text
  assert 'dense (5 seeds)' not in text
  # The aggregate over the one environment has 1 seed per environment too.
  assert 'dqn classic_control rigl 90% (1 seed per environment)' in text
  # What it was made from.
  assert (out_dir / 'sweep_spec.yaml').read_text() == spec
  record = json.loads((out_dir / report_writer.PROVENANCE).read_text())
  assert record['sweep_spec'] == 'sweep_spec.yaml'
  assert record['earlier_sweep_specs'] == ['sweep_spec.1.yaml']
  assert re.fullmatch('[0-9a-f]{40}', record['code']['commit'])
  assert set(record['versions']) == {
      'rigl_rl', 'tensorflow', 'tf-agents', 'tfmot', 'gin-config',
      'gymnasium', 'rliable', 'python'}
  assert record['versions']['python'] == '.'.join(
      str(n) for n in sys.version_info[:3])
  assert record['versions']['rliable'] == '1.2.0'
  assert '## Made from' in text and '[sweep_spec.yaml](sweep_spec.yaml)' in text
  assert f'git commit {record["code"]["commit"]}' in text
  assert '`sweep_spec.1.yaml`' in text


def test_provenance_without_git_or_spec(tmp_path, monkeypatch):
  from rigl_rl.analysis import provenance  # pylint: disable=g-import-not-at-top
  # Code outside a git checkout (an installed wheel, say) ...
  monkeypatch.setattr(provenance, '_CODE_DIR', str(tmp_path))
  assert provenance.git_commit() == {'commit': 'unknown',
                                     'uncommitted_changes': None}
  # ... or no git at all: unknown, never a failure.
  monkeypatch.setenv('PATH', str(tmp_path))
  assert provenance.git_commit()['commit'] == 'unknown'
  _write_run(str(tmp_path / 'sweep' / 'r'), 'CartPole-v1', 'dense', 0.0, 0,
             1.0)
  index = report_writer.write(str(tmp_path / 'sweep'), str(tmp_path / 'out'),
                              10, progress=lambda line: None)
  text = open(index).read()
  assert 'git commit unknown' in text
  assert 'sweep spec: none in the sweep dir' in text
  assert not (tmp_path / 'out' / 'sweep_spec.yaml').exists()


def test_nothing_finished_is_an_error(tmp_path):
  _write_run(str(tmp_path / 's' / 'r'), 'CartPole-v1', 'rigl', 0.9, 0, 1.0,
             finished=False)
  with pytest.raises(ConfigError, match='no finished run'):
    report_writer.write(str(tmp_path / 's'), str(tmp_path / 'out'), reps=10)


def test_unreadable_runs_are_listed_and_left_out(sweep_dir, tmp_path):
  cut_short = os.path.join(sweep_dir, 'cut_short')
  os.makedirs(cut_short)
  with open(os.path.join(cut_short, 'results.json'), 'w') as f:
    f.write('{"agent": "dqn", "env": "Cart')  # A run writing it, say.
  not_an_object = os.path.join(sweep_dir, 'not_an_object')
  os.makedirs(not_an_object)
  with open(os.path.join(not_an_object, 'results.json'), 'w') as f:
    f.write('[1, 2]')
  keyless = os.path.join(sweep_dir, 'keyless')
  os.makedirs(keyless)
  with open(os.path.join(keyless, 'results.json'), 'w') as f:
    json.dump({'finished': True, 'final_score': 1.0}, f)
  results, _, unreadable = report.load(sweep_dir)
  assert [path for path, _ in unreadable] == [cut_short, keyless,
                                              not_an_object]
  assert len(results) == sum(len(finals) for finals in FINALS.values())
  lines = []
  index = report_writer.write(sweep_dir, str(tmp_path / 'out'), reps=10,
                              progress=lines.append)
  assert len(lines) == 4  # 3 skipped, 1 few-seeds warning.
  assert lines[0].startswith(f'skipped {cut_short}: unreadable (')
  assert "missing 'method'" in lines[1]
  with open(index) as f:
    text = f.read()
  assert '3 unreadable left out' in text
  assert 'unreadable: `cut_short`' in text


def _sweep_run(root, method, seed, final, gin_file, bindings=(),
               sparsity=0.0, env='CartPole-v1'):
  """A finished sweep run: results.json, config.gin and sweep_run.json."""
  _write_run(root, env, 'dense' if method in ('reset', 'redo',
                                              'weight_decay') else method,
             sparsity, seed, final)
  _write_sweep_run(root, [f'/repo/gin/dqn/{gin_file}'],
                   ['NUM_ENV_STEPS = 1000'] + list(bindings) +
                   [f'SEED = {seed}'])


def _write_diagnostics(train_dir, offset):
  """Diagnostics summaries at train steps 0, 100, 200 (TF2 scalars)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  writer = tf.summary.create_file_writer(train_dir)
  with writer.as_default():
    for step in (0, 100, 200):
      for suffix in ('dormant/total', 'srank', 'gradient_snr',
                     'parameter_norm'):
        tf.summary.scalar(f'Diagnostics/q/{suffix}', offset + step / 1e3,
                          step=step)
  writer.close()


@pytest.fixture
def mixed_sweep(tmp_path):
  """CartPole: RigL at 90% in two widths and at 80%; dense and the three
  plasticity baselines; 3 seeds each. Acrobot: bin/train runs (config.gin
  only), dense and ReDo. One run with no config at all."""
  root = tmp_path / 'mixed'
  for seed in range(3):
    for width, base in (('0.5', 100.0), ('1.0', 200.0)):
      run = str(root / f'rigl_w{width}_{seed}')
      _sweep_run(run, 'rigl', seed, base + seed, 'cartpole_rigl.gin',
                 ['SPARSITY = 0.9', f'mlp_layers.width = {width}'], 0.9)
      _write_diagnostics(os.path.join(run, 'train'), float(width) + seed)
    _sweep_run(str(root / f'rigl_8_{seed}'), 'rigl', seed, 300.0 + seed,
               'cartpole_rigl.gin',
               ['SPARSITY = 0.8', 'mlp_layers.width = 1.0'], 0.8)
    for method in ('dense', 'reset', 'redo', 'weight_decay'):
      _sweep_run(str(root / f'{method}_{seed}'), method, seed, 400.0 + seed,
                 f'cartpole_{method}.gin')
    _write_run(str(root / f'acro_dense_{seed}'), 'Acrobot-v1', 'dense', 0.0,
               seed, -100.0 - seed)
    _write_run(str(root / f'acro_redo_{seed}'), 'Acrobot-v1', 'dense', 0.0,
               seed, -90.0 - seed)
    _write_config(str(root / f'acro_redo_{seed}'), 'Acrobot-v1', 0.0, seed,
                  'Runner.plasticity_baselines = [@ReDo()]\n')
  no_config = str(root / 'no_config')
  _write_run(no_config, 'CartPole-v1', 'rigl', 0.9, 0, 1.0)
  os.remove(os.path.join(no_config, 'config.gin'))
  return str(root)


def test_runs_group_by_configuration(mixed_sweep):
  results, _, unreadable = report.load(mixed_sweep)
  assert unreadable == [(os.path.join(mixed_sweep, 'no_config'),
                         'no config.gin (nor gin files and bindings in '
                         'sweep_run.json): its configuration is unknown')]
  rows = report.rows(results, 50)
  assert [(r.env, r.label, r.seeds) for r in rows] == [
      ('Acrobot-v1', 'dense', 3),
      ('Acrobot-v1', 'redo', 3),
      ('CartPole-v1', 'dense', 3),
      ('CartPole-v1', 'reset', 3),
      ('CartPole-v1', 'redo', 3),
      ('CartPole-v1', 'weight_decay', 3),
      ('CartPole-v1', 'rigl 80% · mlp_layers.width=1.0', 3),
      ('CartPole-v1', 'rigl 90% · mlp_layers.width=0.5', 3),
      ('CartPole-v1', 'rigl 90% · mlp_layers.width=1.0', 3),
  ]
  narrow = rows[-2]
  assert narrow.mean.value == pytest.approx(101.0)
  assert narrow.variant == (('mlp_layers.width', '0.5'),)
  # Normalised to the standard dense runs, not to a baseline's.
  _, how, _ = report.aggregates(results, 50)
  assert how[('dqn', 'CartPole-v1')].endswith('(dense 401.0 - 22.2)')


def test_mixed_sweep_report(mixed_sweep, tmp_path):
  lines = []
  index = report_writer.write(mixed_sweep, str(tmp_path / 'out'), reps=50,
                              progress=lines.append)
  assert lines == [f'skipped {mixed_sweep}/no_config: unreadable (no '
                   'config.gin (nor gin files and bindings in '
                   'sweep_run.json): its configuration is unknown)',
                   'warning: 9 of 9 groups have fewer than 5 seeds (fewest '
                   '3); their confidence intervals mean little (see '
                   'index.md)']
  with open(index) as f:
    text = f.read()
  files = os.listdir(tmp_path / 'out')
  for name in ('binding_dqn_CartPole-v1_rigl_mlp_layers.width.png',
               'binding_dqn_CartPole-v1_rigl_sparsity.png',
               'diagnostics_dqn_CartPole-v1.png'):
    assert name in files and f'({name})' in text
  # Acrobot's runs have no event files: no figure, and nothing to say.
  assert 'diagnostics_dqn_Acrobot-v1.png' not in files
  # No IQM bars: RigL ran on CartPole only (noted in Left out).
  assert ('**Plots made:** 2 return-vs-parameters, 0 IQM-bar, '
          '2 learning-curve, 2 return-vs-binding, 1 diagnostics.') in text
  assert ('| dqn | CartPole-v1 | rigl | 0.9 | 3 | 100 | 101 [' in text and
          '| mlp_layers.width=0.5 |' in text)
  assert '| dqn | CartPole-v1 | reset | 0 | 3 |' in text
  assert 'unreadable: `no_config` (no config.gin' in text
  assert ('rigl (mlp_layers.width=0.5) at 0.9 has 1 of 2 environments; '
          'left out of aggregates') in text


def test_diagnostics_are_read_from_event_files(mixed_sweep):
  read = plots.event_scalars(os.path.join(mixed_sweep, 'rigl_w0.5_2', 'train'),
                             ('srank', 'dormant/total'))
  assert sorted(read) == ['Diagnostics/q/dormant/total', 'Diagnostics/q/srank']
  assert read['Diagnostics/q/srank'] == pytest.approx(
      {0: 2.5, 100: 2.6, 200: 2.7})


def test_a_parent_of_several_sweep_dirs_names_each_sweeps_spec(tmp_path):
  # A study of several sweeps, each in its own dir under one parent: the
  # report on the parent keeps every sweep's spec, named by its dir.
  root = tmp_path / 'study'
  for sweep, method, sparsity in (('dense', 'dense', 0.0),
                                  ('sparse/rigl', 'rigl', 0.9)):
    _write_run(str(root / sweep / 'run_0'), 'CartPole-v1', method, sparsity,
               0, 100.0)
    (root / sweep / 'sweep_spec.yaml').write_text(f'# {sweep}\n')
  (root / 'sparse' / 'rigl' / 'sweep_spec.1.yaml').write_text('# before\n')
  out_dir = tmp_path / 'out'
  index = report_writer.write(str(root), str(out_dir), 10,
                              progress=lambda line: None)
  record = json.loads((out_dir / report_writer.PROVENANCE).read_text())
  assert (record['sweep_spec'], record['earlier_sweep_specs']) == (None, [])
  assert record['sub_sweeps'] == [
      {'dir': 'dense', 'sweep_spec': 'dense.sweep_spec.yaml',
       'earlier_sweep_specs': []},
      {'dir': os.path.join('sparse', 'rigl'),
       'sweep_spec': 'sparse.rigl.sweep_spec.yaml',
       'earlier_sweep_specs': ['sweep_spec.1.yaml']}]
  assert (out_dir / 'dense.sweep_spec.yaml').read_text() == '# dense\n'
  assert (out_dir / 'sparse.rigl.sweep_spec.yaml').read_text() == (
      '# sparse/rigl\n')
  text = open(index).read()
  assert 'none in the sweep dir' not in text
  assert ('- sweep `sparse/rigl`: [sparse.rigl.sweep_spec.yaml]'
          '(sparse.rigl.sweep_spec.yaml), the copy bin/sweep kept; earlier '
          'specs `sweep_spec.1.yaml`') in text
  with open(out_dir / report_writer.MARKER) as f:
    assert {'dense.sweep_spec.yaml', 'sparse.rigl.sweep_spec.yaml'} <= set(
        f.read().split())
