-- Fresh statistics for the tables the two migrations before this one
-- changed (commissions has a new column and new indexes, affiliate_balances
-- is new): without them, and with autovacuum off or not yet run, the
-- planner guessed that a commission has hundreds of ledger entries and read
-- every entry to find those of today's commissions. ANALYZE samples; it
-- does not read the tables whole. (SQLite plans by its indexes alone: its
-- ANALYZE reads every index in full.)
analyze commissions, ledger_entries, payout_entries, affiliate_balances;
