-- sale_hours and sale_days clustered by their key (without rowid), like
-- the later rollups. As rowid tables each was three b-trees or four: the
-- rows, the primary key's index, and covering indexes that repeated the
-- key with the sums (sale_hours_cover). Every trigger's upsert probed the
-- key's index, rewrote the row, and deleted and re-inserted its entry in
-- each covering index; an attributed sale fires them twice (its order,
-- then its commission). Clustered, the upsert rewrites one row in place,
-- and the overview's range of a program's hours is a range of the table
-- itself. The triggers name the tables and need no change: the copies are
-- dropped and created again under the same names, not renamed.
create table sale_hours_copy as select * from sale_hours;
drop table sale_hours;
create table sale_hours (
	program_id bigint not null,
	hour       datetime not null,
	currency   text   not null,
	kind       text   not null,
	orders     bigint not null default 0,
	gross      bigint not null default 0,
	net        bigint not null default 0,
	commission bigint not null default 0,
	primary key (program_id, hour, currency, kind)
) without rowid;
insert into sale_hours select program_id, hour, currency, kind, orders, gross, net, commission from sale_hours_copy;
drop table sale_hours_copy;
create index sale_hours_hod on sale_hours (program_id, substr(hour, 12, 2), hour, currency, kind, orders, gross, net, commission);

create table sale_days_copy as select * from sale_days;
drop table sale_days;
create table sale_days (
	affiliate_id bigint not null,
	program_id   bigint not null,
	day          datetime not null,
	currency     text   not null,
	kind         text   not null,
	orders       bigint not null default 0,
	gross        bigint not null default 0,
	net          bigint not null default 0,
	commission   bigint not null default 0,
	primary key (affiliate_id, program_id, day, currency, kind)
) without rowid;
insert into sale_days select affiliate_id, program_id, day, currency, kind, orders, gross, net, commission from sale_days_copy;
drop table sale_days_copy;
create index sale_days_program on sale_days (program_id, day, affiliate_id, currency, kind, orders, gross, net, commission);
