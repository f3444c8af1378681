"""bin/train and the Runner it builds: every method trains and writes its run
directory, and bad input stops cleanly."""
import glob
import json
import os
import signal
import subprocess

import pytest

from rigl_rl import config
from rigl_rl import methods
from rigl_rl import sparsity
from rigl_rl.training.loop import Runner
from tests import conftest


@pytest.mark.parametrize('method', methods.CORE)
def test_each_method_trains_and_writes_its_run_directory(tmp_path, method,
                                                         capsys):
  root = str(tmp_path / method)
  gin_file = conftest.gin_path(f'cartpole_{method}.gin')
  if method == 'rigl':  # Through the binary, end to end.
    proc = conftest.run_train(root, gin_file, conftest.smoke_bindings(method))
    assert proc.returncode == 0, proc.stderr[-3000:]
    stdout = proc.stdout
  else:  # The same Runner bin/train builds, without TensorFlow's start-up.
    config.parse([gin_file], conftest.smoke_bindings(method))
    assert Runner(root).run() == 'finished'
    stdout = capsys.readouterr().out
  assert 'env step 400/400' in stdout
  assert 'env steps/s' in stdout
  assert os.path.isfile(os.path.join(root, 'config.gin'))
  assert glob.glob(os.path.join(root, 'checkpoints', 'ckpt-*.index'))
  assert conftest.event_tags(os.path.join(root, 'eval')) == {
      'Eval/AverageReturn', 'Eval/AverageReturnVsEnvironmentSteps'}
  train_tags = conftest.event_tags(os.path.join(root, 'train'))
  q = 'Diagnostics/q'
  expected = {'Train/AverageReturn', 'Train/AverageReturnVsEnvironmentSteps',
              'Losses/loss', 'Params/q/active',
              'Speed/env_steps_per_second', 'FLOPs/q/inference',
              'FLOPs/train_total', f'{q}/dormant/hidden_0',
              f'{q}/dormant/hidden_1', f'{q}/dormant/total', f'{q}/srank',
              f'{q}/q_mean', f'{q}/q_variance', f'{q}/q_norm',
              f'{q}/parameter_norm', f'{q}/gradient_snr',
              f'{q}/gradient_correlation'}
  if method != 'dense':
    expected |= {'Sparsity/q/hidden_0', 'Sparsity/q/hidden_1',
                 'Sparsity/q/output', 'Sparsity/q/total',
                 'SparseTraining/pruning_progress' if method == 'prune' else
                 'SparseTraining/drop_fraction', f'{q}/ever_active',
                 f'{q}/mask/hidden_0', f'{q}/mask/hidden_1', f'{q}/mask/output'}
  if method in ('prune', 'set', 'rigl'):  # Static never updates its masks.
    expected |= {f'{q}/mask_churn/hidden_0', f'{q}/mask_churn/hidden_1',
                 f'{q}/mask_churn/output', f'{q}/mask_churn/total',
                 f'{q}/mask_replaced/total', f'{q}/mask_regrown/total'}
  assert train_tags == expected
  with open(os.path.join(root, 'results.json')) as f:
    results = json.load(f)
  assert results['agent'] == 'dqn'
  assert results['env'] == 'CartPole-v0'
  assert results['method'] == method
  assert results['seed'] == 0
  assert results['num_env_steps'] == 400
  assert results['finished'] is True
  assert results['train_steps_done'] == 300
  assert [step for step, _ in results['eval']] == [200, 400]
  # Final score: mean of the last 10% of evaluations (here the last one).
  assert results['final_score'] == results['eval'][-1][1]
  # 4 -> 64 -> 64 -> 2 with biases.
  total = 4 * 64 + 64 + 64 * 64 + 64 + 64 * 2 + 2
  assert results['total_params'] == total
  assert set(results['diagnostics']) == {
      tag for tag in expected
      if tag.startswith('Diagnostics/') and '/mask' not in tag and
      not tag.endswith('gradient_correlation')}
  # FLOPs: 2 per active weight, 1 per bias (130 of them); a train step is
  # 3 forward passes for each of the 32 examples; RigL adds the dense
  # gradient at each of its 6 updates (train steps 0, 50, ..., 200, 240).
  flops = results['flops']
  weights = results['active_params'] - 130
  assert flops['inference'] == {'q': 2 * weights + 130}
  if method in ('dense', 'static'):
    assert flops['train_total'] == 300 * 3 * 32 * (2 * weights + 130)
  if method == 'rigl':
    extra = 6 * 32 * 2 * (total - 130 - weights)
    assert flops['train_total'] == 300 * 3 * 32 * (2 * weights + 130) + extra
  if method == 'prune':  # Dense at first: more than the final network costs.
    assert flops['train_total'] > 300 * 3 * 32 * (2 * weights + 130)
  assert flops['train_per_step'] == flops['train_total'] / 300
  if method == 'dense':
    assert results['sparsity'] == 0.0
    assert results['active_params'] == total
  else:
    assert results['sparsity'] == 0.9
    expected = sparsity.erk(
        {'hidden_0': (4, 64), 'hidden_1': (64, 64), 'output': (64, 2)}, 0.9)
    # Pruning has reached its targets at 80% of training.
    for layer, value in results['layer_sparsity']['q'].items():
      size = {'hidden_0': 256, 'hidden_1': 4096, 'output': 128}[layer]
      assert value == pytest.approx(round(expected[layer] * size) / size)
    masked = sum(round(expected[n] * s) for n, s in
                 (('hidden_0', 256), ('hidden_1', 4096), ('output', 128)))
    assert results['active_params'] == total - masked


def _assert_one_line_error(proc, *fragments):
  assert proc.returncode != 0
  assert 'Traceback' not in proc.stderr
  lines = proc.stderr.strip().splitlines()
  assert len(lines) == 1, proc.stderr
  assert lines[0].startswith('error: ')
  for fragment in fragments:
    assert fragment in lines[0]


@pytest.mark.parametrize('gin_file,bindings,fragments', [
    ('cartpole_rigl.gin', ['SparseTraining.updater = @Magic()'],
     ['@Magic()', '@RigL()']),
    ('cartpole_rigl.gin', ["Runner.env_name = 'Pong-v0'"],
     ["unknown environment 'Pong-v0'", 'CartPole-v1']),
    ('cartpole_rigl.gin', ['SPARSITY = 1.0'], ['[0, 1)', 'SPARSITY']),
    ('cartpole_set.gin', ['SPARSITY = -0.5'], ['[0, 1)']),
    ('cartpole_nope.gin', [], ['cartpole_nope.gin', 'not found']),
    ('cartpole_dense.gin', ['dqn_agent.learning_rat = 0.1'],
     ['learning_rat']),
    ('cartpole_dense.gin', ['Nope.value = 1'], ['Nope']),
], ids=['unknown-method', 'unknown-env', 'sparsity-1', 'sparsity-negative',
        'missing-file', 'unknown-parameter', 'unknown-configurable'])
def test_bad_input_stops_with_one_line(tmp_path, gin_file, bindings,
                                       fragments):
  root = str(tmp_path / 'run')
  proc = conftest.run_train(root, conftest.gin_path(gin_file), bindings)
  _assert_one_line_error(proc, *fragments)
  assert not os.path.exists(root)


def test_root_dir_of_another_config_is_refused_and_untouched(tmp_path):
  root = str(tmp_path / 'run')
  first = conftest.run_train(root, conftest.gin_path('cartpole_dense.gin'),
                             conftest.smoke_bindings('dense'))
  assert first.returncode == 0, first.stderr[-3000:]
  before = conftest.tree_digest(root)
  proc = conftest.run_train(root, conftest.gin_path('cartpole_rigl.gin'),
                            conftest.smoke_bindings('rigl'))
  _assert_one_line_error(proc, 'different configuration', '--root_dir')
  assert conftest.tree_digest(root) == before
  # The same config again is a finished run: it says so, changes nothing.
  again = conftest.run_train(root, conftest.gin_path('cartpole_dense.gin'),
                             conftest.smoke_bindings('dense'))
  assert again.returncode == 0, again.stderr[-3000:]
  assert 'holds a finished run' in again.stdout
  assert conftest.tree_digest(root) == before


# Ctrl-C, and what Slurm and Kubernetes send before a kill.
@pytest.mark.parametrize('stop', [signal.SIGINT, signal.SIGTERM])
def test_a_stop_signal_saves_a_checkpoint_and_the_rerun_finishes(tmp_path,
                                                                 stop):
  root = str(tmp_path / 'run')
  gin_file = conftest.gin_path('cartpole_static.gin')
  # Diagnostics off: they would take most of the time, and are not tested.
  bindings = conftest.overridden(
      conftest.without_diagnostics(conftest.smoke_bindings('static')),
      'NUM_ENV_STEPS = 1000', 'CHECKPOINT_INTERVAL = 1000',
      'Runner.diagnostics = None')
  process = subprocess.Popen(
      conftest.train_command(root, gin_file, bindings), cwd=conftest.REPO,
      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
  for line in process.stdout:
    if line.startswith('env step 300/'):  # Training is under way.
      process.send_signal(stop)
      break
  output = process.stdout.read()
  assert process.wait(timeout=120) == 128 + stop
  assert 'checkpoint saved' in output
  with open(os.path.join(root, 'results.json')) as f:
    results = json.load(f)
  assert results['finished'] is False
  stopped_at = results['train_steps_done']
  assert 0 < stopped_at < 900
  assert not os.path.exists(os.path.join(root, '.lock'))
  assert os.path.exists(os.path.join(
      root, 'checkpoints', f'ckpt-{results["env_steps_done"]}.index'))
  proc = conftest.run_train(root, gin_file, bindings)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert f'train step {stopped_at}.' in proc.stdout  # "Resumed ... at ..."
  with open(os.path.join(root, 'results.json')) as f:
    assert json.load(f)['finished'] is True


@pytest.mark.parametrize('binary',
                         ['train', 'evaluate', 'sweep', 'report', 'export'])
def test_help_exits_0(binary):
  proc = subprocess.run([os.path.join(conftest.REPO, 'bin', binary), '--help'],
                        capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0, proc.stderr[-2000:]
  # The binary's own docstring and flags, not only absl's.
  assert f'rigl-{binary} --' in proc.stdout
  assert '--root_dir' in proc.stdout or '--sweep_dir' in proc.stdout


def test_list_needs_no_root_dir_and_names_every_run_config(tmp_path):
  proc = subprocess.run([conftest.TRAIN, '--list'], capture_output=True,
                        text=True, timeout=120, cwd=tmp_path)
  assert proc.returncode == 0, proc.stderr[-2000:]
  lines = proc.stdout.splitlines()
  listed = set()
  for line in lines:
    if line.endswith(':') and not line.startswith(' '):
      agent = line[:-1]
    elif line.startswith('  '):
      env, *stems = line.split()
      listed |= {f'{agent}/{env}_{stem}.gin' for stem in stems}
  shipped = {os.path.relpath(path, conftest.GIN_DIR)
             for path in glob.glob(os.path.join(conftest.GIN_DIR, '*', '*.gin'))}
  assert listed == shipped
  assert 'dqn/cartpole_reset.gin' in listed  # Spot checks of the parsing.
  assert 'sac/halfcheetah_rigl.gin' in listed


def test_no_root_dir_is_an_error():
  proc = subprocess.run([conftest.TRAIN, '--gin_files=dqn/cartpole_rigl.gin'],
                        capture_output=True, text=True, timeout=120)
  assert proc.returncode == 1
  assert '--root_dir must have a value (or pass --list)' in proc.stderr
