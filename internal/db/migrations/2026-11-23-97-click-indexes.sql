-- Two indexes that every click batch paid for and no query needs.
--
-- clicks_at (at, id) served only the click log without an affiliate or
-- program filter; that log is now the merge of each program's log
-- (clicks_program_at), a handful of indexed reads per page. Appending a
-- batch's 64 entries split a leaf of it on nearly every commit, and SQLite
-- rewrites the split's sibling leaves and their parent to the WAL: about
-- 5 of a batch's 35 page writes (tracking.Writer).
--
-- click_dims_program (program_id, dim, day, value, clicks) was the
-- program-wide report index before click_program_dims existed; the reports
-- read click_program_dims (a program) or click_dims by its key (an
-- affiliate), and the index was updated with every batch's counts.
drop index clicks_at;
drop index click_dims_program;
