"""SAC through TF-Agents' SacAgent, with optionally sparse actor and critics."""
from typing import Optional

import gin
import numpy as np
import tensorflow as tf
import tf_keras
from tf_agents.agents.sac import sac_agent as tfa_sac

from rigl_rl.agents import base
from rigl_rl.networks import actor_critic
from rigl_rl.networks import mlp
from rigl_rl.sparsity import masking

# A fixed seed for the actions sampled inside the per-example losses, so the
# diagnostics see the same sample at every call.
_DIAGNOSTIC_SEED = (7, 11)


@gin.configurable
def sac_agent(time_step_spec,
              action_spec,
              seed: int,
              actor_network_fn=mlp.mlp_layers,
              critic_network_fn=mlp.mlp_layers,
              actor_sparse=None,
              critic_sparse=None,
              actor_learning_rate: float = 3e-4,
              critic_learning_rate: float = 3e-4,
              alpha_learning_rate: float = 3e-4,
              gamma: float = 0.99,
              target_update_tau: float = 0.005,
              target_update_period: int = 1,
              reward_scale_factor: float = 1.0,
              initial_log_alpha: float = 0.0,
              target_entropy: Optional[float] = None) -> base.AgentBundle:
  """Builds a SAC agent whose actor and two critics may be sparse.

  Each network gets its own sparsity budget; the two critics get independent
  masks, and each target critic carries its online critic's masks.

  Args:
    time_step_spec: the environment's time step spec.
    action_spec: a bounded float vector action spec.
    seed: seeds the mask placement.
    actor_network_fn: (num_outputs, wrap, ...) -> the actor's Keras layers;
      scope it in gin (`@actor/mlp_layers`) to size the actor on its own.
    critic_network_fn: the same for each critic (`@critic/mlp_layers`).
    actor_sparse: how the actor is sparse (`SparseTraining`); None: dense.
    critic_sparse: how each critic is sparse; None: dense.
    actor_learning_rate: Adam learning rate of the actor.
    critic_learning_rate: Adam learning rate of the critics.
    alpha_learning_rate: Adam learning rate of the entropy temperature.
    gamma: discount.
    target_update_tau: soft target update coefficient.
    target_update_period: train steps between target updates.
    reward_scale_factor: multiplies rewards in the critic targets.
    initial_log_alpha: log of the initial entropy temperature.
    target_entropy: None uses TF-Agents' default, -dim(actions)/2.

  Returns:
    The agent bundle for the run loop.
  """
  base.require_continuous(action_spec, 'sac_agent')
  observation_spec = time_step_spec.observation
  num_actions = int(action_spec.shape[0])
  # A new initializer per layer: Keras gives a reused one the same values.
  small = lambda: tf_keras.initializers.RandomUniform(-0.003, 0.003)

  actor = actor_critic.tanh_normal_actor(
      observation_spec, action_spec,
      actor_network_fn(2 * num_actions, masking.layer_wrapper(actor_sparse),
                       output_kernel_initializer=small()),
      name='ActorNetwork')

  def make_critic(name):
    layers = critic_network_fn(1, masking.layer_wrapper(critic_sparse),
                               output_kernel_initializer=small())
    return actor_critic.critic_network(observation_spec, action_spec, layers,
                                       name=name)

  critics = [make_critic('CriticNetwork1'), make_critic('CriticNetwork2')]
  target_critics = [make_critic('TargetCriticNetwork1'),
                    make_critic('TargetCriticNetwork2')]
  mask_rng = np.random.default_rng(seed)
  sparse_actor = sparse_critics = ()
  if actor_sparse is not None:
    sparse_actor = (actor_sparse.attach('actor', actor, [], mask_rng),)
  if critic_sparse is not None:
    sparse_critics = tuple(
        critic_sparse.attach(f'critic{i + 1}', critic, [target], mask_rng,
                             soft_targets=target_update_tau < 1.0)
        for i, (critic, target) in enumerate(zip(critics, target_critics)))
  actor_optimizer = base.masked_adam(actor_learning_rate, sparse_actor)
  critic_optimizer = base.masked_adam(critic_learning_rate, sparse_critics)
  agent = tfa_sac.SacAgent(
      time_step_spec,
      action_spec,
      critic_network=critics[0],
      critic_network_2=critics[1],
      target_critic_network=target_critics[0],
      target_critic_network_2=target_critics[1],
      actor_network=actor,
      actor_optimizer=actor_optimizer,
      critic_optimizer=critic_optimizer,
      alpha_optimizer=tf_keras.optimizers.legacy.Adam(alpha_learning_rate),
      target_update_tau=target_update_tau,
      target_update_period=target_update_period,
      td_errors_loss_fn=tf.math.squared_difference,
      gamma=gamma,
      reward_scale_factor=reward_scale_factor,
      initial_log_alpha=initial_log_alpha,
      target_entropy=target_entropy,
      train_step_counter=tf.Variable(0, dtype=tf.int64, name='train_step'))
  agent.initialize()
  alpha = lambda: tf.exp(agent._log_alpha)  # pylint: disable=protected-access

  def distribution(observation):
    return actor(observation, training=False)[0]

  def sampled(observation, seed_pair):
    dist = distribution(observation)
    action = dist.sample(seed=seed_pair)
    return action, dist.log_prob(action)

  def min_q(networks, observation, action):
    values = [net((observation, action), training=False)[0]
              for net in networks]
    return tf.minimum(values[0], values[1])

  def actor_example_loss(experience):
    observation = experience.time_step.observation
    action, log_pi = sampled(observation, _DIAGNOSTIC_SEED)
    return alpha() * log_pi - min_q(critics, observation, action)

  def critic_example_loss(index):
    def loss(experience):
      next_step = experience.next_time_step
      next_action, next_log_pi = sampled(next_step.observation,
                                         _DIAGNOSTIC_SEED)
      target_q = (min_q(target_critics, next_step.observation, next_action) -
                  alpha() * next_log_pi)
      targets = tf.stop_gradient(
          reward_scale_factor * next_step.reward +
          gamma * next_step.discount * target_q)
      q = critics[index](
          (experience.time_step.observation, experience.action_step.action),
          training=False)[0]
      # SacAgent weighs the summed critic losses by critic_loss_weight.
      return agent._critic_loss_weight * tf.math.squared_difference(  # pylint: disable=protected-access
          targets, q)
    return loss

  def critic_training_loss(experience):
    return agent.critic_loss(
        experience.time_step, experience.action_step.action,
        experience.next_time_step,
        td_errors_loss_fn=tf.math.squared_difference, gamma=gamma,
        reward_scale_factor=reward_scale_factor, training=False)

  def actor_training_loss(experience):
    return agent.actor_loss(experience.time_step, training=False)

  sparse_targets = [
      base.SparseTarget(network, actor_optimizer, actor_training_loss)
      for network in sparse_actor
  ] + [
      base.SparseTarget(network, critic_optimizer, critic_training_loss)
      for network in sparse_critics
  ]
  critic_inputs = lambda experience: (experience.time_step.observation,
                                      experience.action_step.action)
  trained = [
      base.TrainedNetwork(
          name='actor', network=actor, optimizer=actor_optimizer,
          per_example_loss=actor_example_loss,
          inputs=lambda experience: experience.time_step.observation,
          outputs_are_values=False)
  ] + [
      base.TrainedNetwork(
          name=f'critic{i + 1}', network=critic, optimizer=critic_optimizer,
          per_example_loss=critic_example_loss(i), inputs=critic_inputs,
          outputs_are_values=True) for i, critic in enumerate(critics)
  ]
  low = tf.constant(action_spec.minimum, tf.float32) * tf.ones(
      action_spec.shape)
  high = tf.constant(action_spec.maximum, tf.float32) * tf.ones(
      action_spec.shape)

  def random_action(time_step, rng):
    batch = tf.shape(time_step.step_type)[0]
    return rng.uniform(tf.stack([batch, num_actions]), low, high)

  def collect_action(time_step, env_step, rng):
    del env_step
    return distribution(time_step.observation).sample(
        seed=base.stateless_seed(rng))

  def eval_action(time_step, rng):
    del rng
    return actor_critic.tanh_normal_mode(distribution(time_step.observation))

  return base.AgentBundle(
      agent=agent,
      algorithm='sac',
      trained=trained,
      sparse=sparse_targets,
      collect_action=collect_action,
      eval_action=eval_action,
      random_action=random_action,
      logged_losses=('critic_loss', 'actor_loss', 'alpha_loss'))
