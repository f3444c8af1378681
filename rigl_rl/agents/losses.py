"""Per-example losses of the agents, as pure functions of networks and a batch.

TF-Agents' agents train on the mean of these (plus regularisation); the
diagnostics and ReDo read them per example. They mirror what each agent's
train step minimises, so a new agent adds its loss here and a builder.
"""
import tensorflow as tf


def bootstrap_values(next_q: tf.Tensor, chooser_q: tf.Tensor) -> tf.Tensor:
  """next_q[a*] with a* = argmax_a chooser_q[a], per example.

  With chooser_q = next_q this is DQN's max_a' Q_target(s', a'); with the
  online network's values at s' it is double DQN's (van Hasselt et al. 2016)
  Q_target(s', argmax_a' Q(s', a')), as Dopamine's full Rainbow
  `target_output` with double_dqn.

  Args:
    next_q: [batch, actions] the target network's values at s'.
    chooser_q: [batch, actions] the values that pick the action.
  """
  return tf.gather(next_q, tf.argmax(chooser_q, axis=-1), batch_dims=1)


def td_loss(q_network, target_network, experience, gamma: float,
            element_loss, double_q: bool = False) -> tf.Tensor:
  """DQN: element_loss(r + gamma * discount * Q_target(s', a*), Q(s, a)),
  a* the target's argmax (the online network's with `double_q`).

  DqnAgent's loss before it averages over the batch (replayed starts are
  never LAST, so no example is masked out).
  """
  q_values, _ = q_network(experience.time_step.observation, training=False)
  q = tf.gather(q_values, experience.action_step.action, batch_dims=1)
  next_step = experience.next_time_step
  next_q, _ = target_network(next_step.observation, training=False)
  chooser = (q_network(next_step.observation, training=False)[0]
             if double_q else next_q)
  targets = tf.stop_gradient(
      next_step.reward +
      gamma * next_step.discount * bootstrap_values(next_q, chooser))
  return element_loss(targets, q)


def _min_q(critics, observation, action) -> tf.Tensor:
  values = [critic((observation, action), training=False)[0]
            for critic in critics]
  return tf.minimum(values[0], values[1])


def _sample(actor, observation, seed):
  distribution = actor(observation, training=False)[0]
  action = distribution.sample(seed=seed)
  return action, distribution.log_prob(action)


def sac_actor_loss(actor, critics, alpha: tf.Tensor, experience,
                   seed) -> tf.Tensor:
  """SAC: alpha * log pi(a|s) - min_i Q_i(s, a), a ~ pi(s) drawn with `seed`."""
  observation = experience.time_step.observation
  action, log_pi = _sample(actor, observation, seed)
  return alpha * log_pi - _min_q(critics, observation, action)


def sac_critic_loss(critic, actor, target_critics, alpha: tf.Tensor,
                    experience, gamma: float, reward_scale: float,
                    weight: float, seed) -> tf.Tensor:
  """SAC: weight * (y - Q(s, a))^2 with the soft target
  y = scale * r + gamma * discount * (min_i Q'_i(s', a') - alpha log pi(a'|s'))."""
  next_step = experience.next_time_step
  next_action, next_log_pi = _sample(actor, next_step.observation, seed)
  target_q = (_min_q(target_critics, next_step.observation, next_action) -
              alpha * next_log_pi)
  targets = tf.stop_gradient(reward_scale * next_step.reward +
                             gamma * next_step.discount * target_q)
  q = critic((experience.time_step.observation, experience.action_step.action),
             training=False)[0]
  return weight * tf.math.squared_difference(targets, q)


def generalized_advantages(rewards, values, next_values, discounts,
                           episode_ends, gamma: float, lambda_: float):
  """GAE (Schulman et al. 2016) over one rollout in collection order.

  Every argument is [T] for one env, or [T, N] for N envs collecting
  together (column n is env n's T steps; the sums never cross columns).

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
  return tf.scan(
      lambda later, elements: elements[0] + elements[1] * later,
      (deltas, carry), initializer=tf.zeros_like(deltas[0]), reverse=True)


def ppo_actor_loss(current, collected, action, advantage,
                   clipping: float) -> tf.Tensor:
  """PPO-clip: -min(ratio * A, clip(ratio, 1 -+ clipping) * A)."""
  ratio = tf.exp(current.log_prob(action) - collected.log_prob(action))
  clipped = tf.clip_by_value(ratio, 1 - clipping, 1 + clipping)
  return -tf.minimum(ratio * advantage, clipped * advantage)


def ppo_value_loss(values, returns, coefficient: float) -> tf.Tensor:
  """PPO: coefficient * (return - V(s))^2."""
  return coefficient * tf.math.squared_difference(returns, values)


# ----------------------------------------------- distributional (C51) losses --
# Rainbow and DER (rigl_rl/agents/rainbow.py): Bellemare et al. 2017's
# categorical return distributions on a fixed, evenly spaced support.


def categorical_projection(supports, weights, target_support) -> tf.Tensor:
  """Projects distributions on arbitrary atoms onto a fixed support.

  Bellemare et al. 2017, eq. 7: each atom z_j of mass w_j is first clipped
  to [v_min, v_max] (the ends of `target_support`), then its mass is split
  between the two target atoms around it in proportion to closeness, so
  that target atom z_i receives w_j * max(0, 1 - |clip(z_j) - z_i| / dz).
  An atom exactly on a target atom gives it all its mass; clipped atoms
  pile their mass onto v_min or v_max. Total mass is preserved.

  Args:
    supports: [batch, n] atom locations (in any order).
    weights: [batch, n] their masses (probabilities, though any weights
      work).
    target_support: [m] increasing, evenly spaced atoms, m >= 2.

  Returns:
    [batch, m] masses on `target_support`.
  """
  target_support = tf.convert_to_tensor(target_support, tf.float32)
  v_min, v_max = target_support[0], target_support[-1]
  spacing = (v_max - v_min) / tf.cast(tf.size(target_support) - 1, tf.float32)
  clipped = tf.clip_by_value(tf.cast(supports, tf.float32), v_min, v_max)
  # [batch, m, n]: how much of source atom j goes to target atom i.
  distance = tf.abs(clipped[:, None, :] - target_support[None, :, None])
  share = tf.clip_by_value(1.0 - distance / spacing, 0.0, 1.0)
  return tf.reduce_sum(share * tf.cast(weights, tf.float32)[:, None, :],
                       axis=-1)


def categorical_logits(network, observation, num_actions: int,
                       num_atoms: int, training: bool = False) -> tf.Tensor:
  """[batch, actions, atoms] logits of a network whose flat output holds
  num_actions x num_atoms units, action-major; `training` turns noisy
  layers' noise on."""
  outputs, _ = network(observation, training=training)
  return tf.reshape(outputs, [-1, num_actions, num_atoms])


def categorical_q_values(logits, support) -> tf.Tensor:
  """[batch, actions] means of the distributions softmax(logits) on
  `support` ([atoms])."""
  return tf.reduce_sum(tf.nn.softmax(logits) * support, axis=-1)


def categorical_td_loss(q_network, target_network, experience, support,
                        gamma: float, num_actions: int,
                        double_q: bool = False) -> tf.Tensor:
  """C51 as Dopamine's compact Rainbow trains it: the cross-entropy between
  the projected target distribution and the online one of the taken action.

  Every pass runs in training mode, so noisy layers draw fresh noise for
  each (Dopamine's full Rainbow trains with noise on).
  The target is the target network's distribution at s' for its greedy
  action a* = argmax_a E[Z_target(s', a)] (the online network's argmax
  with `double_q`, as Dopamine's full Rainbow for DER), its atoms
  moved to r + gamma * discount * z and projected back onto `support`
  (`categorical_projection`). Multi-step replay has already summed r over
  the n steps and set discount to gamma^(n-1), or 0 after a terminal.

  Args:
    q_network: the online network, flat [actions x atoms] logits.
    target_network: the target network, the same shape.
    experience: a replayed `Transition` batch.
    support: [atoms] increasing, evenly spaced float32.
    gamma: the discount.
    num_actions: actions of the environment.
    double_q: pick a* by the online network (double Q-learning).

  Returns:
    [batch] cross-entropies, before any importance weights.
  """
  support = tf.convert_to_tensor(support, tf.float32)
  num_atoms = int(support.shape[0])
  logits = categorical_logits(q_network, experience.time_step.observation,
                              num_actions, num_atoms, training=True)
  chosen = tf.gather(logits, experience.action_step.action, batch_dims=1)
  next_step = experience.next_time_step
  next_logits = categorical_logits(target_network, next_step.observation,
                                   num_actions, num_atoms, training=True)
  chooser = (categorical_logits(q_network, next_step.observation, num_actions,
                                num_atoms, training=True)
             if double_q else next_logits)
  greedy = tf.argmax(categorical_q_values(chooser, support), axis=-1)
  next_probabilities = tf.gather(tf.nn.softmax(next_logits), greedy,
                                 batch_dims=1)
  moved = (next_step.reward[:, None] +
           gamma * next_step.discount[:, None] * support[None, :])
  target = tf.stop_gradient(
      categorical_projection(moved, next_probabilities, support))
  return tf.nn.softmax_cross_entropy_with_logits(labels=target, logits=chosen)


# ------------------------------------------------------ IQN and M-IQN --


def quantile_huber_loss(targets: tf.Tensor, quantiles: tf.Tensor,
                        taus: tf.Tensor, kappa: float) -> tf.Tensor:
  """IQN's quantile Huber loss (Dabney et al. 2018, eq. 3), per example.

  With errors d_ij = target_j - quantile_i, Huber_kappa(d) = d^2 / 2 where
  |d| <= kappa, else kappa (|d| - kappa / 2), the loss is
  mean_j sum_i |tau_i - 1{d_ij < 0}| Huber_kappa(d_ij) / kappa, as Dopamine's
  jax/agents/implicit_quantile `train` sums over the online taus and
  averages over the target ones.

  Args:
    targets: [batch, N'] target quantile values (no gradient flows).
    quantiles: [batch, N] the online quantile values at `taus`.
    taus: [batch, N] their quantile fractions.
    kappa: the Huber threshold.

  Returns:
    [batch] losses.
  """
  errors = tf.stop_gradient(targets)[:, :, None] - quantiles[:, None, :]
  absolute = tf.abs(errors)
  huber = tf.where(absolute <= kappa, 0.5 * tf.square(errors),
                   kappa * (absolute - 0.5 * kappa))
  weight = tf.abs(taus[:, None, :] -
                  tf.stop_gradient(tf.cast(errors < 0, tf.float32)))
  return tf.reduce_mean(tf.reduce_sum(weight * huber / kappa, axis=2), axis=1)


def scaled_log_softmax(q_values: tf.Tensor, tau: float) -> tf.Tensor:
  """tau * log softmax(q / tau) over the last axis, computed stably."""
  return tau * tf.nn.log_softmax(q_values / tau, axis=-1)


def munchausen_bonus(q_values: tf.Tensor, actions: tf.Tensor, tau: float,
                     alpha: float, clip_min: float) -> tf.Tensor:
  """M-IQN's reward bonus alpha * clip(tau * log pi(a|s), clip_min, 0), with
  pi = softmax(q / tau) of the target network's Q-values at s (Vieillard et
  al. 2020, eq. 2; google-research munchausen_rl/agents/m_iqn.py)."""
  log_pi = tf.gather(scaled_log_softmax(q_values, tau), actions, batch_dims=1)
  return alpha * tf.clip_by_value(log_pi, clip_min, 0.0)


def soft_quantile_values(next_q: tf.Tensor, next_quantiles: tf.Tensor,
                         tau: float) -> tf.Tensor:
  """sum_a' pi(a'|s') (Z(s', a', tau'_j) - tau * log pi(a'|s')), M-IQN's
  bootstrap for each target tau'_j.

  Args:
    next_q: [batch, actions] the target network's Q-values at s'.
    next_quantiles: [batch, N', actions] its quantile values there.
    tau: the entropy temperature.

  Returns:
    [batch, N'].
  """
  policy = tf.nn.softmax(next_q / tau, axis=-1)[:, None, :]
  log_policy = scaled_log_softmax(next_q, tau)[:, None, :]
  return tf.reduce_sum(policy * (next_quantiles - log_policy), axis=-1)


def _quantiles(network, observation, taus) -> tf.Tensor:
  return network(observation, taus=taus, training=False)[0]


def iqn_loss(q_network, target_network, experience, gamma: float,
             kappa: float, num_taus: int, num_target_taus: int,
             num_policy_taus: int, rng: tf.random.Generator,
             munchausen=None) -> tf.Tensor:
  """IQN's (or M-IQN's) per-example loss on a batch, taus drawn from `rng`.

  Targets, as Dopamine's JAX IQN (double_dqn=False): a* = argmax of the
  target network's Q-values at s', each the mean over `num_policy_taus`
  quantiles, and y_j = r + gamma * discount * Z_target(s', a*, tau'_j) for
  `num_target_taus` fractions tau'; the online quantiles at `num_taus`
  fractions tau are regressed on them with `quantile_huber_loss`.
  With `munchausen` (a `Munchausen`), the reward gets its bonus and the
  bootstrap is its soft value over the target policy instead.

  Args:
    q_network: the online `ImplicitQuantileNetwork`.
    target_network: its target.
    experience: a Transition batch (multi-step: reward is the summed return
      and discount the remaining gamma^(n-1) factor).
    gamma: the discount.
    kappa: the Huber threshold.
    num_taus: N, online fractions per example.
    num_target_taus: N', target fractions per example.
    num_policy_taus: K, fractions averaged into Q-values.
    rng: the generator every fraction is drawn from.
    munchausen: None for IQN.

  Returns:
    [batch] losses.
  """
  observation = experience.time_step.observation
  next_step = experience.next_time_step
  actions = experience.action_step.action
  batch = tf.shape(actions)[0]
  next_q = tf.reduce_mean(_quantiles(
      target_network, next_step.observation,
      rng.uniform([batch, num_policy_taus])), axis=1)
  next_quantiles = _quantiles(target_network, next_step.observation,
                              rng.uniform([batch, num_target_taus]))
  reward = next_step.reward
  if munchausen is None:
    bootstrap = tf.gather(next_quantiles, tf.argmax(next_q, axis=-1),
                          axis=2, batch_dims=1)
  else:
    q = tf.reduce_mean(_quantiles(target_network, observation,
                                  rng.uniform([batch, num_policy_taus])),
                       axis=1)
    reward += munchausen.bonus(q, actions)
    bootstrap = munchausen.soft_values(next_q, next_quantiles)
  targets = reward[:, None] + (gamma * next_step.discount)[:, None] * bootstrap
  taus = rng.uniform([batch, num_taus])
  quantiles = tf.gather(_quantiles(q_network, observation, taus), actions,
                        axis=2, batch_dims=1)
  return quantile_huber_loss(targets, quantiles, taus, kappa)
