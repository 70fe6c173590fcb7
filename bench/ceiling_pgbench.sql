-- pgbench script of bench/http_bench.py: the emit ceiling's transaction (bench/ceiling.py) with
-- neither HTTP nor Python, the database's own limit for this write on this machine.
-- Variables from pgbench -D: customers, campaign, reward, brand.
\set c random(0, :customers - 1)
SELECT gen_random_uuid() AS ev, now() AS ts \gset
BEGIN;
SELECT id AS wallet FROM wallets_wallet WHERE customer_id = 'bench-' || :c FOR UPDATE \gset
INSERT INTO events_event (id, customer_id, brand_id, type, status, fulfilled, reserve, queued, queue_message_id,
  purchase_id, platform, data, result, rewarding_campaigns, reason, error_code, issued_at, created_at, resolved_at)
  VALUES (':ev', 'bench-' || :c, ':brand', 'PURCHASE', 'RESOLVED', true, 1, false, '', ':ev', '',
  jsonb_build_object('order', jsonb_build_object('purchase_id', ':ev', 'value', 120.00)), '{}', '[]', '', '', ':ts', ':ts', ':ts');
INSERT INTO wallets_walletline (created_at, updated_at, wallet_id, reward_id, campaign_id, rule_id, budgeted, brand_id,
  event_id, amount, remaining, reserved, state, issued_at)
  VALUES (':ts', ':ts', ':wallet', ':reward', ':campaign', 'r1', false, ':brand', ':ev', 12, 12, 0, 'AVAILABLE', ':ts')
  RETURNING id AS line \gset
INSERT INTO wallets_transaction (type, amount, wallet_id, reward_id, line_id, event_id, campaign_id, brand_id,
  created_at, details)
  VALUES ('ACCUMULATION', 12, ':wallet', ':reward', :line, ':ev', ':campaign', ':brand', ':ts', '{}');
INSERT INTO wallets_wallettotal (wallet_id, reward_id, balance, reserved, debt, pending)
  VALUES (':wallet', ':reward', 12, 0, 0, 0) ON CONFLICT (wallet_id, reward_id)
  DO UPDATE SET balance = wallets_wallettotal.balance + EXCLUDED.balance;
INSERT INTO wallets_metricbucket (customer_id, month, brand_id, number_of_purchases, spend_total, events, last_visit)
  VALUES ('bench-' || :c, date_trunc('month', now() AT TIME ZONE 'UTC')::date, ':brand', 1, 120, jsonb_build_object('PURCHASE', 1), ':ts')
  ON CONFLICT (customer_id, month, brand_id) WHERE brand_id IS NOT NULL DO UPDATE SET
  number_of_purchases = wallets_metricbucket.number_of_purchases + 1,
  spend_total = wallets_metricbucket.spend_total + EXCLUDED.spend_total,
  events = jsonb_set(wallets_metricbucket.events, '{PURCHASE}',
    to_jsonb(COALESCE((wallets_metricbucket.events->>'PURCHASE')::int, 0) + 1)),
  last_visit = GREATEST(wallets_metricbucket.last_visit, EXCLUDED.last_visit);
INSERT INTO events_eventtransition (event_id, from_status, to_status, at, source, reason)
  VALUES (':ev', '', 'RESOLVED', ':ts', 'api', '');
COMMIT;
