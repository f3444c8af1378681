"""SAC through TF-Agents' SacAgent, with optionally sparse actor and critics."""
from typing import Optional

import gin
import tensorflow as tf
import tf_keras
from tf_agents.agents.sac import sac_agent as tfa_sac

from rigl_rl import checks
from rigl_rl.agents import base
from rigl_rl.agents import losses
from rigl_rl.networks import actor_critic
from rigl_rl.networks import mlp
from rigl_rl.sparsity.sparsifier import Sparsifier

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

  Raises:
    ConfigError: for a learning rate that is not a positive number, or
      actions that are not continuous.
  """
  checks.positive_numbers('sac_agent', actor_learning_rate=actor_learning_rate,
                          critic_learning_rate=critic_learning_rate,
                          alpha_learning_rate=alpha_learning_rate)
  base.require_continuous(action_spec, 'sac_agent')
  observation_spec = time_step_spec.observation
  num_actions = int(action_spec.shape[0])
  # A new initializer per layer: Keras gives a reused one the same values.
  small = lambda: tf_keras.initializers.RandomUniform(-0.003, 0.003)

  def make_actor(wrap, name):
    return actor_critic.tanh_normal_actor(
        observation_spec, action_spec,
        actor_network_fn(2 * num_actions, wrap,
                         output_kernel_initializer=small()), name=name)

  def make_critic(wrap, name):
    return actor_critic.critic_network(
        observation_spec, action_spec,
        critic_network_fn(1, wrap, output_kernel_initializer=small()),
        name=name)

  sparsifier = Sparsifier(seed)
  actor, _ = sparsifier.build('actor', actor_sparse, make_actor,
                              'ActorNetwork')
  critics, target_critics = zip(*(
      sparsifier.build(f'critic{i}', critic_sparse, make_critic,
                       f'CriticNetwork{i}', [f'TargetCriticNetwork{i}'],
                       soft_targets=target_update_tau < 1.0)
      for i in (1, 2)))
  target_critics = [target for (target,) in target_critics]
  actor_optimizer = sparsifier.optimizer([actor],
                                         learning_rate=actor_learning_rate)
  critic_optimizer = sparsifier.optimizer(critics,
                                          learning_rate=critic_learning_rate)
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
  distribution = lambda observation: actor(observation, training=False)[0]
  critic_inputs = lambda experience: (experience.time_step.observation,
                                      experience.action_step.action)
  # SacAgent weighs the summed critic losses by critic_loss_weight.
  weight = agent._critic_loss_weight  # pylint: disable=protected-access
  def critic_loss(critic):
    return lambda experience: losses.sac_critic_loss(
        critic, actor, target_critics, alpha(), experience, gamma,
        reward_scale_factor, weight, _DIAGNOSTIC_SEED)

  trained = [
      base.TrainedNetwork(
          name='actor', network=actor, optimizer=actor_optimizer,
          per_example_loss=lambda experience: losses.sac_actor_loss(
              actor, critics, alpha(), experience, _DIAGNOSTIC_SEED),
          inputs=lambda experience: experience.time_step.observation,
          outputs_are_values=False)
  ] + [
      base.TrainedNetwork(
          name=f'critic{i + 1}', network=critic, optimizer=critic_optimizer,
          per_example_loss=critic_loss(critic), inputs=critic_inputs,
          outputs_are_values=True)
      for i, critic in enumerate(critics)
  ]
  return base.AgentBundle(
      agent=agent,
      algorithm='sac',
      trained=trained,
      sparse=sparsifier.networks,
      collect_action=base.sampling_policy(distribution),
      eval_action=lambda time_step, rng: actor_critic.tanh_normal_mode(
          distribution(time_step.observation)),
      random_action=base.uniform_policy(action_spec),
      gamma=gamma,
      logged_losses=('critic_loss', 'actor_loss', 'alpha_loss'))
