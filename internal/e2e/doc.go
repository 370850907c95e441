// Package e2e holds end-to-end tests that build the real affiliated binary
// and run it as a separate process: crash (SIGKILL) and graceful shutdown
// under load, on SQLite and, when AFFILIATED_TEST_POSTGRES is set, on
// PostgreSQL. It has no code of its own.
package e2e
