-- A gas top-up's reservation (db/gas-topups.ts, reserveGasTopUp, says what it does and why) in one
-- statement instead of eight. It must read the budgets after it holds the user's budget lock; a
-- plpgsql function may, because under READ COMMITTED each of its statements takes a new snapshot,
-- so the sums below see every reservation committed before the lock was granted. The lock is the
-- transaction's and goes with it, as before.
CREATE FUNCTION reserve_gas_topup(
  p_user text,
  p_task uuid,
  p_amount numeric,
  p_least numeric,
  p_task_cap numeric,
  p_day_cap numeric
) RETURNS TABLE (refused_by text, spent numeric, reserved_id bigint, reserved numeric)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  spent_today numeric;
  spent_by_task numeric;
  amount numeric := p_amount;
  topup_id bigint;
BEGIN
  -- 2100: the gas budgets' first key of the two-int advisory locks (the operator's is 2200, funding's 3009).
  PERFORM pg_advisory_xact_lock(2100, hashtext(p_user));
  SELECT
    coalesce((SELECT sum(t.amount_wei) FROM agent_gas_topups t
      WHERE t.user_address = p_user AND t.created_at > now() - interval '1 day'), 0)
    - coalesce((SELECT sum(s.amount_wei) FROM agent_eth_sweeps s
      WHERE s.user_address = p_user AND s.status = 'confirmed' AND s.created_at > now() - interval '1 day'), 0)
  INTO spent_today;
  amount := least(amount, p_day_cap - spent_today);
  IF amount < p_least THEN
    RETURN QUERY SELECT 'day', spent_today, NULL::bigint, NULL::numeric;
    RETURN;
  END IF;
  IF p_task IS NOT NULL THEN
    -- The row lock is uncontended: every change of gas_topped_up_wei holds the budget lock above.
    SELECT t.gas_topped_up_wei INTO spent_by_task FROM ai_agent_tasks t WHERE t.id = p_task FOR UPDATE;
    amount := least(amount, p_task_cap - coalesce(spent_by_task, 0));
    IF spent_by_task IS NULL OR amount < p_least THEN
      RETURN QUERY SELECT 'task', coalesce(spent_by_task, 0), NULL::bigint, NULL::numeric;
      RETURN;
    END IF;
    UPDATE ai_agent_tasks SET gas_topped_up_wei = gas_topped_up_wei + amount WHERE id = p_task;
  END IF;
  INSERT INTO agent_gas_topups (user_address, task_id, amount_wei) VALUES (p_user, p_task, amount)
    RETURNING id INTO topup_id;
  UPDATE ai_agent_wallets SET eth_sweep_due_at = now() WHERE user_address = p_user;
  RETURN QUERY SELECT NULL::text, NULL::numeric, topup_id, amount;
END
$$;
