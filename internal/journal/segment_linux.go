package journal

import (
	"fmt"
	"os"
	"syscall"
)

// segment is the active segment file, mapped into memory: an append is a
// copy into the mapping, with no system call. The copy lands in the page
// cache, like a write(2), so it survives the process being killed. The
// file is allocated ahead (fallocate), so a full disk fails the
// allocation, never a copy into the mapping (which would be SIGBUS).
type segment struct {
	f    *os.File
	data []byte // the mapping of f, from its start
}

func openSegment(f *os.File, size int64) (*segment, error) {
	s := &segment{f: f}
	if err := s.grow(size); err != nil {
		return nil, err
	}
	return s, nil
}

// grow makes the file and the mapping at least size bytes long.
func (s *segment) grow(size int64) error {
	if size <= int64(len(s.data)) {
		return nil
	}
	page := int64(os.Getpagesize())
	size = (size + page - 1) / page * page
	if err := syscall.Fallocate(int(s.f.Fd()), 0, 0, size); err != nil {
		return fmt.Errorf("journal: allocate %d bytes: %w", size, err)
	}
	if s.data != nil {
		if err := syscall.Munmap(s.data); err != nil {
			return err
		}
		s.data = nil
	}
	data, err := syscall.Mmap(int(s.f.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("journal: map segment: %w", err)
	}
	s.data = data
	return nil
}

// put copies frame to pos, growing the segment if needed.
func (s *segment) put(pos int64, frame ...[]byte) error {
	n := 0
	for _, b := range frame {
		n += len(b)
	}
	if err := s.grow(pos + int64(n)); err != nil {
		return err
	}
	for _, b := range frame {
		pos += int64(copy(s.data[pos:], b))
	}
	return nil
}

// close unmaps the segment, cuts the file to length (the allocated space
// after the last record), syncs and closes it.
func (s *segment) close(length int64) error {
	var err error
	if s.data != nil {
		err = syscall.Munmap(s.data)
		s.data = nil
	}
	if terr := s.f.Truncate(length); err == nil {
		err = terr
	}
	if serr := s.f.Sync(); err == nil {
		err = serr
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}
