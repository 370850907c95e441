-- The outbox worker's claim reads the due rows in the order it sends them,
-- from this index alone, and stops at its batch. With outbox_due it read
-- every due row (a rendered email each, kilobytes) to sort them, for each
-- batch of a few: a backlog made every claim slower. outbox_claim serves
-- what outbox_due did (its first column is status).
drop index outbox_due;
create index outbox_claim on outbox (status, priority desc, next_at, id);
