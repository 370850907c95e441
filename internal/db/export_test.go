package db

// CachedStatements returns how many prepared statements the writer and the
// reader pools hold (always 0 on PostgreSQL, which caches in pgx).
func CachedStatements(d *DB) (write, read int) {
	if d.wstmts == nil {
		return 0, 0
	}
	return d.wstmts.len(), d.rstmts.len()
}
