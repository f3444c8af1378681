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
import numpy as np
import tensorflow as tf
import tf_keras
from tf_agents.agents.ppo import ppo_clip_agent
from tf_agents.agents.ppo import ppo_utils
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from rigl_rl.agents import base
from rigl_rl.errors import ConfigError
from rigl_rl.networks import actor_critic
from rigl_rl.networks import mlp
from rigl_rl.sparsity import masking


def generalized_advantages(rewards, values, next_values, discounts,
                           episode_ends, gamma: float, lambda_: float):
  """GAE (Schulman et al. 2016) over one rollout in collection order.

  Args:
    rewards: [T] rewards r_t.
    values: [T] V(s_t).
    next_values: [T] V(s_{t+1}) of each transition's own next state.
    discounts: [T] 0 where the episode terminated, else 1 (truncation too).
    episode_ends: [T] True where s_{t+1} was the episode's last state.
    gamma: discount factor.
    lambda_: GAE lambda.

  Returns:
    [T] advantages A_t = delta_t + gamma * lambda * A_{t+1}, where the sum
    stops at episode ends and at the end of the rollout, and
    delta_t = r_t + gamma * discount_t * V(s_{t+1}) - V(s_t).
  """
  deltas = rewards + gamma * discounts * next_values - values
  carry = gamma * lambda_ * (1.0 - tf.cast(episode_ends, tf.float32))
  advantages = tf.scan(
      lambda later, elements: elements[0] + elements[1] * later,
      (deltas, carry), initializer=tf.constant(0.0), reverse=True)
  return advantages


def _normalize(advantages):
  # As PPOAgent does with each minibatch before the clipped objective.
  mean, variance = tf.nn.moments(advantages, axes=[0])
  return (advantages - mean) / tf.sqrt(variance + 1e-8)


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
    ConfigError: if the networks carry Keras weight decay.
  """
  observation_spec = time_step_spec.observation
  discrete = action_spec.dtype.is_integer
  head_init = tf_keras.initializers.VarianceScaling(scale=0.1)
  actor_wrap = masking.layer_wrapper(actor_sparse)
  if discrete:
    num_actions = base.require_discrete(action_spec, 'ppo_agent')
    actor = actor_critic.categorical_actor(
        observation_spec,
        actor_network_fn(num_actions, actor_wrap,
                         output_kernel_initializer=head_init))
  else:
    base.require_continuous(action_spec, 'ppo_agent')
    actor = actor_critic.gaussian_actor(
        observation_spec, action_spec,
        actor_network_fn(int(action_spec.shape[0]), actor_wrap,
                         output_kernel_initializer=head_init),
        initial_std=initial_std)
  value_net = actor_critic.value_network(
      observation_spec,
      value_network_fn(1, masking.layer_wrapper(value_sparse)))
  if actor.losses or value_net.losses:
    raise ConfigError('PPO applies weight decay through ppo_agent.weight_decay '
                      '(PPOAgent ignores Keras regularisers); set '
                      'mlp_layers.weight_decay = 0')
  mask_rng = np.random.default_rng(seed)
  sparse = []
  if actor_sparse is not None:
    sparse.append(actor_sparse.attach('actor', actor, [], mask_rng))
  if value_sparse is not None:
    sparse.append(value_sparse.attach('value', value_net, [], mask_rng))
  optimizer = base.masked_adam(learning_rate, sparse)
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

  def observe(observation):
    # What PPOPolicy feeds its networks.
    return normalizer.normalize(observation) if normalizer else observation

  def policy(observation):
    return actor(observe(observation), training=False)[0]

  def value(observation):
    return value_net(observe(observation), training=False)[0]

  def prepare_rollout(rollout):
    observation = rollout.time_step.observation
    next_step = rollout.next_time_step
    if normalizer:
      agent.update_observation_normalizer(observation)
    values = value(observation)
    advantages = generalized_advantages(
        next_step.reward, values, value(next_step.observation),
        next_step.discount, next_step.step_type == ts.StepType.LAST, gamma,
        lambda_value)
    batch = trajectory.Trajectory(
        step_type=rollout.time_step.step_type,
        observation=observation,
        action=rollout.action_step.action,
        policy_info={
            'dist_params': ppo_utils.get_distribution_params(
                policy(observation), legacy_distribution_network=False),
            'value_prediction': values,
            'return': advantages + values,  # TD(lambda) returns.
            'advantage': advantages,
        },
        next_step_type=next_step.step_type,
        reward=next_step.reward,
        discount=next_step.discount)
    # PPOAgent trains on [batch, time] sequences: time 1.
    return tf.nest.map_structure(lambda t: t[:, None], batch)

  def flat(experience):
    return tf.nest.map_structure(lambda t: t[:, 0], experience)

  def time_steps_of(experience):
    return ts.TimeStep(experience.step_type, experience.reward,
                       experience.discount, experience.observation)

  def actor_terms(experience):
    """(time steps, actions, current and collect-time distributions)."""
    experience = flat(experience)
    current = policy(experience.observation)
    collected = current.copy(**experience.policy_info['dist_params'])
    return experience, time_steps_of(experience), current, collected

  def actor_example_loss(experience):
    experience, _, current, collected = actor_terms(experience)
    action = experience.action
    ratio = tf.exp(current.log_prob(action) - collected.log_prob(action))
    advantage = experience.policy_info['advantage']
    clipped = tf.clip_by_value(ratio, 1 - importance_ratio_clipping,
                               1 + importance_ratio_clipping)
    return -tf.minimum(ratio * advantage, clipped * advantage)

  def value_example_loss(experience):
    experience = flat(experience)
    return value_pred_loss_coef * tf.math.squared_difference(
        experience.policy_info['return'], value(experience.observation))

  def actor_training_loss(experience):
    experience, time_steps, current, collected = actor_terms(experience)
    weights = tf.ones_like(experience.reward)
    return (agent.policy_gradient_loss(
        time_steps, experience.action, collected.log_prob(experience.action),
        _normalize(experience.policy_info['advantage']), current, weights) +
            agent.entropy_regularization_loss(time_steps, current, weights) +
            agent.l2_regularization_loss())

  def value_training_loss(experience):
    experience = flat(experience)
    return (agent.value_estimation_loss(
        time_steps_of(experience), experience.policy_info['return'],
        tf.ones_like(experience.reward)) + agent.l2_regularization_loss())

  losses = {'actor': actor_training_loss, 'value': value_training_loss}
  sparse_targets = [
      base.SparseTarget(network, optimizer, losses[network.name])
      for network in sparse
  ]
  observations = lambda experience: observe(experience.observation[:, 0])
  trained = [
      base.TrainedNetwork(
          name='actor', network=actor, optimizer=optimizer,
          per_example_loss=actor_example_loss, inputs=observations,
          outputs_are_values=False),
      base.TrainedNetwork(
          name='value', network=value_net, optimizer=optimizer,
          per_example_loss=value_example_loss, inputs=observations,
          outputs_are_values=True),
  ]

  def random_action(time_step, rng):
    batch = tf.shape(time_step.step_type)[0:1]
    if discrete:
      return rng.uniform(batch, 0, num_actions, dtype=tf.int64)
    low = tf.constant(action_spec.minimum, tf.float32)
    high = tf.constant(action_spec.maximum, tf.float32)
    return rng.uniform(tf.concat([batch, action_spec.shape], 0), low, high)

  def collect_action(time_step, env_step, rng):
    del env_step
    return policy(time_step.observation).sample(seed=base.stateless_seed(rng))

  def eval_action(time_step, rng):
    del rng
    return policy(time_step.observation).mode()

  return base.AgentBundle(
      agent=agent,
      algorithm='ppo',
      trained=trained,
      sparse=sparse_targets,
      collect_action=collect_action,
      eval_action=eval_action,
      random_action=random_action,
      logged_losses=('policy_gradient_loss', 'value_estimation_loss',
                     'l2_regularization_loss', 'entropy_regularization_loss'),
      prepare_rollout=prepare_rollout)
