package db

// CachedStatements returns how many prepared statements the writer and the
// reader pools hold (always 0 on PostgreSQL, which caches in pgx).
func CachedStatements(d *DB) (write, read int) {
	if d.wstmts == nil {
		return 0, 0
	}
	return d.wstmts.len(), d.rstmts.len()
}

// GroupState returns how many GroupTX calls wait for a batch and how many
// batches have run.
func GroupState(d *DB) (waiting, batches int) {
	if d.group == nil {
		return 0, 0
	}
	d.group.mu.Lock()
	defer d.group.mu.Unlock()
	return len(d.group.queue), d.group.batches
}

// CheckpointedPages returns the WAL pages the background checkpoints have
// found copied into the database file so far (0 on PostgreSQL).
func CheckpointedPages(d *DB) int64 {
	if d.ckpt == nil {
		return 0
	}
	return d.ckpt.copied.Load()
}
