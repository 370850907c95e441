-- An affiliate's balances without reading every ledger entry (the busiest
-- affiliate of a demo has ~23,000 commissions: ledger.Balances read them
-- all, with their payouts, on every page that shows a balance).
--
-- entry_balances is what ledger.Balances used to compute: every ledger
-- entry in the state that decides which balance it counts in (paid,
-- in_payout, held, rejected, clawback, or open: pending or payable by its
-- commission's payable_at), with the UTC day of payable_at for open
-- entries, since whether those are pending depends on the time of the
-- read. affiliate_balances sums it per affiliate, currency, state and day
-- (the day is 1970-01-01 for the other states), so a balance is a few
-- rows plus a look at the commissions that become payable today.
create view entry_balances as
select entry_id, commission_id, payout_id, affiliate_id, currency, state,
	case when state = 'open' then date_trunc('day', payable_at at time zone 'UTC') at time zone 'UTC'
		else timestamptz '1970-01-01 00:00:00+00' end as day,
	amount
from (select e.id as entry_id, e.commission_id, pe.payout_id, e.affiliate_id, e.currency, e.amount, c.payable_at,
		case when p.status = 'paid' then 'paid' when p.id is not null then 'in_payout'
			when c.review = 'held' then 'held' when c.review = 'rejected' then 'rejected'
			when e.kind = 'clawback' then 'clawback' else 'open' end as state
	from ledger_entries e join commissions c on c.id = e.commission_id
	left join payout_entries pe on pe.entry_id = e.id left join payouts p on p.id = pe.payout_id) x;

create table affiliate_balances (
	affiliate_id bigint not null,
	currency     text   not null,
	state        text   not null,
	day          timestamptz not null,
	amount       bigint not null default 0,
	primary key (affiliate_id, currency, state, day)
);

-- Kept by the triggers below in the transaction of every change that
-- moves an entry between states, whoever makes it: a change takes the
-- entries it touches out of the sums before (at their old state) and adds
-- them back after (at their new state). The ledger needs to know nothing
-- of them. A row trigger's queries see the changes of the rows its
-- statement processed before, and only those entries' states depend on
-- them: each row moves its own entries.
create function entry_balances_move(p_sign bigint, p_by text, p_id bigint) returns void language plpgsql as $$
begin
	if p_by = 'entry' then
		insert into affiliate_balances (affiliate_id, currency, state, day, amount)
		select affiliate_id, currency, state, day, p_sign * sum(amount) from entry_balances where entry_id = p_id
		group by affiliate_id, currency, state, day
		on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
	elsif p_by = 'commission' then
		insert into affiliate_balances (affiliate_id, currency, state, day, amount)
		select affiliate_id, currency, state, day, p_sign * sum(amount) from entry_balances where commission_id = p_id
		group by affiliate_id, currency, state, day
		on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
	else
		insert into affiliate_balances (affiliate_id, currency, state, day, amount)
		select affiliate_id, currency, state, day, p_sign * sum(amount) from entry_balances where payout_id = p_id
		group by affiliate_id, currency, state, day
		on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
	end if;
end $$;

-- Before a change, its rows' entries leave the sums; after it, they come
-- back. by names what the rows of the table are keyed to.
create function ledger_entries_balances() returns trigger language plpgsql as $$
begin
	if tg_when = 'BEFORE' then
		perform entry_balances_move(-1, 'entry', old.id);
		if tg_op = 'DELETE' then
			return old;
		end if;
		return new;
	end if;
	perform entry_balances_move(1, 'entry', new.id);
	return null;
end $$;
create trigger ledger_entries_balances_before before update or delete on ledger_entries
	for each row execute function ledger_entries_balances();
create trigger ledger_entries_balances_after after insert or update on ledger_entries
	for each row execute function ledger_entries_balances();

-- A payout takes an entry (insert), a cancelled one gives it back (delete).
create function payout_entries_balances() returns trigger language plpgsql as $$
begin
	if tg_op <> 'INSERT' then
		perform entry_balances_move(case when tg_when = 'BEFORE' then -1 else 1 end, 'entry', old.entry_id);
	end if;
	if tg_op <> 'DELETE' and (tg_op = 'INSERT' or new.entry_id <> old.entry_id) then
		perform entry_balances_move(case when tg_when = 'BEFORE' then -1 else 1 end, 'entry', new.entry_id);
	end if;
	if tg_when = 'AFTER' then
		return null;
	elsif tg_op = 'DELETE' then
		return old;
	end if;
	return new;
end $$;
create trigger payout_entries_balances_before before insert or update or delete on payout_entries
	for each row execute function payout_entries_balances();
create trigger payout_entries_balances_after after insert or update or delete on payout_entries
	for each row execute function payout_entries_balances();

-- Paying a payout (or any change of whether it is paid) moves its entries.
create function payouts_balances() returns trigger language plpgsql as $$
begin
	if tg_when = 'BEFORE' then
		perform entry_balances_move(-1, 'payout', old.id);
		return new;
	end if;
	perform entry_balances_move(1, 'payout', new.id);
	return null;
end $$;
create trigger payouts_balances_before before update of status on payouts
	for each row when ((old.status = 'paid') <> (new.status = 'paid')) execute function payouts_balances();
create trigger payouts_balances_after after update of status on payouts
	for each row when ((old.status = 'paid') <> (new.status = 'paid')) execute function payouts_balances();

-- A review (held → approved or rejected) moves a commission's entries.
create function commissions_balances() returns trigger language plpgsql as $$
begin
	if tg_when = 'BEFORE' then
		perform entry_balances_move(-1, 'commission', old.id);
		return new;
	end if;
	perform entry_balances_move(1, 'commission', new.id);
	return null;
end $$;
create trigger commissions_balances_before before update of review, payable_at on commissions
	for each row when (old.review <> new.review or old.payable_at <> new.payable_at) execute function commissions_balances();
create trigger commissions_balances_after after update of review, payable_at on commissions
	for each row when (old.review <> new.review or old.payable_at <> new.payable_at) execute function commissions_balances();

-- What already exists.
insert into affiliate_balances (affiliate_id, currency, state, day, amount)
select affiliate_id, currency, state, day, sum(amount) from entry_balances
group by affiliate_id, currency, state, day;

-- The commissions that become payable in a range of time, per affiliate:
-- the pending part of today, the next payable date and its amount. And
-- an affiliate's commissions by id, for listings in pages.
create index commissions_affiliate_payable on commissions (affiliate_id, payable_at);
create index commissions_affiliate_id on commissions (affiliate_id, id);
