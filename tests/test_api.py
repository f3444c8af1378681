"""rigl_rl.train: experiments back to back in one process, each with gin to
itself."""
import gin
import pytest

import rigl_rl
from rigl_rl import config
from tests import conftest


def test_a_configuration_the_caller_holds_is_refused_and_kept(tmp_path):
  config.parse([conftest.gin_path('cartpole_rigl.gin')], [])
  held = gin.config_str()
  with pytest.raises(RuntimeError, match='gin already holds a configuration'):
    rigl_rl.train(str(tmp_path / 'dqn'), ['dqn/cartpole_dense.gin'],
                  conftest.smoke_bindings('dense'))
  assert gin.config_str() == held and gin.config_is_locked()
  assert not (tmp_path / 'dqn').exists()


def test_two_experiments_run_back_to_back_in_one_process(tmp_path):
  dqn = rigl_rl.train(str(tmp_path / 'dqn'), ['dqn/cartpole_dense.gin'],
                      conftest.smoke_bindings('dense'))
  assert gin.config_str() == '' and not gin.config_is_locked()
  ppo = rigl_rl.train(str(tmp_path / 'ppo'), ['ppo/cartpole_rigl.gin'],
                      conftest.smoke_bindings('rigl', 'ppo'))
  assert gin.config_str() == '' and not gin.config_is_locked()
  assert (dqn['agent'], dqn['method'], dqn['env']) == ('dqn', 'dense',
                                                        'CartPole-v0')
  assert (ppo['agent'], ppo['method'], ppo['env']) == ('ppo', 'rigl',
                                                        'CartPole-v1')
  assert dqn['finished'] and ppo['finished']
  assert dqn['env_steps_done'] == 400 and ppo['env_steps_done'] == 512
  assert dqn['sparsity'] == 0.0 and ppo['sparsity'] == 0.9
  # The second run's config is its own, not the first one's plus its.
  assert 'dqn_agent' not in (tmp_path / 'ppo' / 'config.gin').read_text()
  # Trained again, a finished run is left as it is and gives its results.
  again = rigl_rl.train(str(tmp_path / 'dqn'), ['dqn/cartpole_dense.gin'],
                        conftest.smoke_bindings('dense'))
  assert again == dqn
