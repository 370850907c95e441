//go:build !unix

package journal

import "os"

// lockDir opens the lock file; on this system the journal relies on one
// server per directory without an operating-system lock.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
}
