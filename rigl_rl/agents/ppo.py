"""PPO through TF-Agents' PPOClipAgent, with optionally sparse actor and value
networks, for continuous and discrete actions.

The run loop's `OnPolicy` experience feeds it: each rollout is prepared once
here (action-distribution parameters, values, GAE advantages and returns),
then trained on in shuffled minibatches, one `agent.train` call each.
Advantages are computed here rather than by TF-Agents, whose estimator takes
the next row's value as the next state's: wrong at time-limit truncations
when, as in this loop, an episode's last step is followed directly by the
next episode's first.
"""
import gin
import tensorflow as tf
import tf_keras
from tf_agents.agents.ppo import ppo_clip_agent
from tf_agents.agents.ppo import ppo_utils
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from rigl_rl.agents import base
from rigl_rl.agents import losses
from rigl_rl import checks
from rigl_rl.errors import ConfigError
from rigl_rl.networks import actor_critic
from rigl_rl.networks import mlp
from rigl_rl.sparsity.sparsifier import Sparsifier


@gin.configurable
def ppo_agent(time_step_spec,
              action_spec,
              seed: int,
              actor_network_fn=mlp.mlp_layers,
              value_network_fn=mlp.mlp_layers,
              actor_sparse=None,
              value_sparse=None,
              learning_rate: float = 3e-4,
              gamma: float = 0.99,
              lambda_value: float = 0.95,
              importance_ratio_clipping: float = 0.2,
              entropy_regularization: float = 0.0,
              value_pred_loss_coef: float = 0.5,
              gradient_clipping: float = 0.5,
              weight_decay: float = 0.0,
              normalize_observations: bool = True,
              initial_std: float = 0.35) -> base.AgentBundle:
  """Builds a PPO-clip agent whose actor and value networks may be sparse.

  Args:
    time_step_spec: the environment's time step spec.
    action_spec: a bounded float vector spec (Gaussian actor) or a scalar
      discrete spec (categorical actor).
    seed: seeds the mask placement.
    actor_network_fn: (num_outputs, wrap, ...) -> the actor's Keras layers;
      scope it in gin (`@actor/mlp_layers`) to size the actor on its own.
    value_network_fn: the same for the value network (`@value/mlp_layers`).
    actor_sparse: how the actor is sparse (`SparseTraining`); None: dense.
    value_sparse: how the value network is sparse; None: dense.
    learning_rate: Adam learning rate (one optimizer for both networks).
    gamma: discount.
    lambda_value: GAE lambda.
    importance_ratio_clipping: the clip range epsilon.
    entropy_regularization: entropy bonus coefficient.
    value_pred_loss_coef: weight of the value loss.
    gradient_clipping: global-norm gradient clipping.
    weight_decay: L2 on the kernels of both networks (PPOAgent's own L2; it
      ignores Keras regularisers, so `mlp_layers.weight_decay` must be 0).
    normalize_observations: normalise observations by running statistics
      (PPOAgent's normaliser, updated once per rollout).
    initial_std: the Gaussian actor's initial std (continuous actions).

  Returns:
    The agent bundle for the run loop.

  Raises:
    ConfigError: for a learning rate that is not a positive number, or
      networks that carry Keras weight decay.
  """
  checks.positive_numbers('ppo_agent', learning_rate=learning_rate)
  observation_spec = time_step_spec.observation
  make_actor = _actor_factory(observation_spec, action_spec, actor_network_fn,
                              initial_std)
  make_value = lambda wrap, name: actor_critic.value_network(
      observation_spec, value_network_fn(1, wrap))
  sparsifier = Sparsifier(seed)
  actor, _ = sparsifier.build('actor', actor_sparse, make_actor)
  value_net, _ = sparsifier.build('value', value_sparse, make_value)
  if actor.losses or value_net.losses:
    raise ConfigError('PPO applies weight decay through ppo_agent.weight_decay '
                      '(PPOAgent ignores Keras regularisers); set '
                      'mlp_layers.weight_decay = 0')
  optimizer = sparsifier.optimizer([actor, value_net],
                                   learning_rate=learning_rate)
  agent = ppo_clip_agent.PPOClipAgent(
      time_step_spec,
      action_spec,
      optimizer=optimizer,
      actor_net=actor,
      value_net=value_net,
      importance_ratio_clipping=importance_ratio_clipping,
      lambda_value=lambda_value,
      discount_factor=gamma,
      entropy_regularization=entropy_regularization,
      policy_l2_reg=weight_decay,
      value_function_l2_reg=weight_decay,
      value_pred_loss_coef=value_pred_loss_coef,
      num_epochs=1,  # OnPolicy runs the epochs, one minibatch per train call.
      use_gae=True,
      use_td_lambda_return=True,
      normalize_rewards=False,
      normalize_observations=normalize_observations,
      gradient_clipping=gradient_clipping,
      compute_value_and_advantage_in_train=False,
      update_normalizers_in_train=False,
      train_step_counter=tf.Variable(0, dtype=tf.int64, name='train_step'))
  agent.initialize()
  normalizer = agent._observation_normalizer  # pylint: disable=protected-access
  # What PPOPolicy feeds its networks.
  observe = normalizer.normalize if normalizer else lambda x: x
  policy = lambda observation: actor(observe(observation), training=False)[0]
  value = lambda observation: value_net(observe(observation), training=False)[0]

  def prepare_rollout(rollout, num_envs):
    if normalizer:
      agent.update_observation_normalizer(rollout.time_step.observation)
    return _training_batch(rollout, num_envs, policy, value, gamma,
                           lambda_value)

  actor_example_loss, value_example_loss = _example_losses(
      policy, value, importance_ratio_clipping, value_pred_loss_coef)
  observations = lambda experience: observe(experience.observation[:, 0])
  return base.AgentBundle(
      agent=agent,
      algorithm='ppo',
      trained=[
          base.TrainedNetwork(
              name='actor', network=actor, optimizer=optimizer,
              per_example_loss=actor_example_loss, inputs=observations,
              outputs_are_values=False),
          base.TrainedNetwork(
              name='value', network=value_net, optimizer=optimizer,
              per_example_loss=value_example_loss, inputs=observations,
              outputs_are_values=True),
      ],
      sparse=sparsifier.networks,
      collect_action=base.sampling_policy(policy),
      eval_action=lambda time_step, rng: policy(time_step.observation).mode(),
      random_action=base.uniform_policy(action_spec),
      gamma=gamma,
      logged_losses=('policy_gradient_loss', 'value_estimation_loss',
                     'l2_regularization_loss', 'entropy_regularization_loss'),
      prepare_rollout=prepare_rollout)


def _actor_factory(observation_spec, action_spec, actor_network_fn,
                   initial_std):
  """(wrap, name) -> a categorical or Gaussian actor for the action spec."""
  head_init = tf_keras.initializers.VarianceScaling(scale=0.1)
  if action_spec.dtype.is_integer:
    num_actions = base.require_discrete(action_spec, 'ppo_agent')
    return lambda wrap, name: actor_critic.categorical_actor(
        observation_spec,
        actor_network_fn(num_actions, wrap,
                         output_kernel_initializer=head_init))
  base.require_continuous(action_spec, 'ppo_agent')
  return lambda wrap, name: actor_critic.gaussian_actor(
      observation_spec, action_spec,
      actor_network_fn(int(action_spec.shape[0]), wrap,
                       output_kernel_initializer=head_init),
      initial_std=initial_std)


def _training_batch(rollout, num_envs: int, policy, value, gamma: float,
                    lambda_value: float):
  """A rollout in collection order -> PPOAgent's training batch.

  Adds what PPOAgent reads from policy_info: the collecting distribution's
  parameters, value predictions, GAE advantages and TD(lambda) returns.

  Args:
    rollout: transitions (time_step, action_step, next_time_step), env n's
      step t at t * num_envs + n.
    num_envs: envs whose steps the rollout interleaves.
    policy: observation -> the actor's action distribution.
    value: observation -> [batch] values.
    gamma: discount.
    lambda_value: GAE lambda.

  Returns:
    A Trajectory of [batch, 1] sequences (PPOAgent trains on [batch, time]).
  """
  observation = rollout.time_step.observation
  next_step = rollout.next_time_step
  values = value(observation)
  # [T, N]: each env's steps down a column, so GAE runs along each env's own.
  by_env = lambda t: tf.reshape(t, [-1, num_envs])
  advantages = tf.reshape(losses.generalized_advantages(
      by_env(next_step.reward), by_env(values),
      by_env(value(next_step.observation)), by_env(next_step.discount),
      by_env(next_step.step_type == ts.StepType.LAST), gamma, lambda_value),
                          [-1])
  batch = trajectory.Trajectory(
      step_type=rollout.time_step.step_type,
      observation=observation,
      action=rollout.action_step.action,
      policy_info={
          'dist_params': ppo_utils.get_distribution_params(
              policy(observation), legacy_distribution_network=False),
          'value_prediction': values,
          'return': advantages + values,
          'advantage': advantages,
      },
      next_step_type=next_step.step_type,
      reward=next_step.reward,
      discount=next_step.discount)
  return tf.nest.map_structure(lambda t: t[:, None], batch)


def _example_losses(policy, value, importance_ratio_clipping: float,
                    value_pred_loss_coef: float):
  """The actor's and value network's per-example losses on a training batch."""
  flat = lambda experience: tf.nest.map_structure(lambda t: t[:, 0],
                                                  experience)

  def actor_loss(experience):
    experience = flat(experience)
    current = policy(experience.observation)
    return losses.ppo_actor_loss(
        current, current.copy(**experience.policy_info['dist_params']),
        experience.action, experience.policy_info['advantage'],
        importance_ratio_clipping)

  def value_loss(experience):
    experience = flat(experience)
    return losses.ppo_value_loss(value(experience.observation),
                                 experience.policy_info['return'],
                                 value_pred_loss_coef)

  return actor_loss, value_loss
