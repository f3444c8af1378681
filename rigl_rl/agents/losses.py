"""Per-example losses of the agents, as pure functions of networks and a batch.

TF-Agents' agents train on the mean of these (plus regularisation); the
diagnostics and ReDo read them per example. They mirror what each agent's
train step minimises, so a new agent adds its loss here and a builder.
"""
import tensorflow as tf


def td_loss(q_network, target_network, experience, gamma: float,
            element_loss) -> tf.Tensor:
  """DQN: element_loss(r + gamma * discount * max_a' Q_target(s', a'), Q(s, a)).

  DqnAgent's loss before it averages over the batch (replayed starts are
  never LAST, so no example is masked out).
  """
  q_values, _ = q_network(experience.time_step.observation, training=False)
  q = tf.gather(q_values, experience.action_step.action, batch_dims=1)
  next_step = experience.next_time_step
  next_q, _ = target_network(next_step.observation, training=False)
  targets = tf.stop_gradient(
      next_step.reward +
      gamma * next_step.discount * tf.reduce_max(next_q, axis=-1))
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
      (deltas, carry), initializer=tf.constant(0.0), reverse=True)


def ppo_actor_loss(current, collected, action, advantage,
                   clipping: float) -> tf.Tensor:
  """PPO-clip: -min(ratio * A, clip(ratio, 1 -+ clipping) * A)."""
  ratio = tf.exp(current.log_prob(action) - collected.log_prob(action))
  clipped = tf.clip_by_value(ratio, 1 - clipping, 1 + clipping)
  return -tf.minimum(ratio * advantage, clipped * advantage)


def ppo_value_loss(values, returns, coefficient: float) -> tf.Tensor:
  """PPO: coefficient * (return - V(s))^2."""
  return coefficient * tf.math.squared_difference(returns, values)
