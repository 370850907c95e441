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
	case when state = 'open' then substr(payable_at, 1, 10) || ' 00:00:00+00:00' else '1970-01-01 00:00:00+00:00' end as day,
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
	day          {{time}} not null,
	amount       bigint not null default 0,
	primary key (affiliate_id, currency, state, day)
) without rowid;

-- Kept by the triggers below in the transaction of every change that
-- moves an entry between states, whoever makes it: a change takes the
-- entries it touches out of the sums before (at their old state) and adds
-- them back after (at their new state). The ledger needs to know nothing
-- of them.
create trigger ledger_entries_balances_insert after insert on ledger_entries
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, sum(amount) from entry_balances where entry_id = new.id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;
create trigger ledger_entries_balances_update_before before update on ledger_entries
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, -sum(amount) from entry_balances where entry_id = old.id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;
create trigger ledger_entries_balances_update_after after update on ledger_entries
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, sum(amount) from entry_balances where entry_id = new.id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;
create trigger ledger_entries_balances_delete before delete on ledger_entries
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, -sum(amount) from entry_balances where entry_id = old.id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;

-- A payout takes an entry (insert), a cancelled one gives it back (delete).
create trigger payout_entries_balances_insert_before before insert on payout_entries
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, -sum(amount) from entry_balances where entry_id = new.entry_id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;
create trigger payout_entries_balances_insert_after after insert on payout_entries
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, sum(amount) from entry_balances where entry_id = new.entry_id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;
create trigger payout_entries_balances_update_before before update on payout_entries
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, -sum(amount) from entry_balances where entry_id in (old.entry_id, new.entry_id)
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;
create trigger payout_entries_balances_update_after after update on payout_entries
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, sum(amount) from entry_balances where entry_id in (old.entry_id, new.entry_id)
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;
create trigger payout_entries_balances_delete_before before delete on payout_entries
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, -sum(amount) from entry_balances where entry_id = old.entry_id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;
create trigger payout_entries_balances_delete_after after delete on payout_entries
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, sum(amount) from entry_balances where entry_id = old.entry_id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;

-- Paying a payout (or any change of whether it is paid) moves its entries.
create trigger payouts_balances_before before update of status on payouts
when (old.status = 'paid') <> (new.status = 'paid')
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, -sum(amount) from entry_balances where payout_id = old.id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;
create trigger payouts_balances_after after update of status on payouts
when (old.status = 'paid') <> (new.status = 'paid')
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, sum(amount) from entry_balances where payout_id = new.id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;

-- A review (held → approved or rejected) moves a commission's entries.
create trigger commissions_balances_before before update of review, payable_at on commissions
when old.review <> new.review or old.payable_at <> new.payable_at
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, -sum(amount) from entry_balances where commission_id = old.id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;
create trigger commissions_balances_after after update of review, payable_at on commissions
when old.review <> new.review or old.payable_at <> new.payable_at
begin
	insert into affiliate_balances (affiliate_id, currency, state, day, amount)
	select affiliate_id, currency, state, day, sum(amount) from entry_balances where commission_id = new.id
	group by affiliate_id, currency, state, day
	on conflict (affiliate_id, currency, state, day) do update set amount = affiliate_balances.amount + excluded.amount;
end;

-- What already exists.
insert into affiliate_balances (affiliate_id, currency, state, day, amount)
select affiliate_id, currency, state, day, sum(amount) from entry_balances
group by affiliate_id, currency, state, day;

-- The commissions that become payable in a range of time, per affiliate:
-- the pending part of today, the next payable date and its amount. And
-- an affiliate's commissions by id, for listings in pages.
create index commissions_affiliate_payable on commissions (affiliate_id, payable_at);
create index commissions_affiliate_id on commissions (affiliate_id, id);
