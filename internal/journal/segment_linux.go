package journal

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
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

	unmapped   bool         // no fallocate here: written with WriteAt, not mapped
	ahead      atomic.Int64 // bytes of data faulted in ahead of the appends
	populating atomic.Bool
	wg         sync.WaitGroup // the populating goroutine
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
	if s.unmapped {
		return nil
	}
	if err := syscall.Fallocate(int(s.f.Fd()), 0, 0, size); errors.Is(err, syscall.EOPNOTSUPP) {
		// A file system without fallocate: a copy into a mapping of
		// unallocated blocks would crash the process (SIGBUS) on a full
		// disk, so this segment is written to instead.
		s.unmapped = true
		return nil
	} else if err != nil {
		return fmt.Errorf("journal: allocate %d bytes: %w", size, err)
	}
	if s.data != nil {
		s.wg.Wait()
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
	s.ahead.Store(0)
	return nil
}

// populateChunk is how far ahead of the appends the mapping's pages are
// faulted in, in the background: a page faulted by the copy itself would
// be faulted while the journal's lock is held (every 14th append or so),
// and the appends waiting on it queue up, which showed in the redirect's
// throughput and p99.
const populateChunk = 1 << 20

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14): fault the pages
// of a range in, writable, without changing them. On older kernels the
// call fails and the copies fault the pages as before.
const madvPopulateWrite = 23

// prefault starts populating the next chunks of the mapping when pos
// comes within a chunk of the populated part.
func (s *segment) prefault(pos int64) {
	ahead := s.ahead.Load()
	if pos+populateChunk < ahead || ahead >= int64(len(s.data)) || !s.populating.CompareAndSwap(false, true) {
		return
	}
	// madvise takes page-aligned ranges: chunk boundaries are (the mapping
	// starts on a page, and its length is whole pages).
	to := min((max(ahead, pos)/populateChunk+2)*populateChunk, int64(len(s.data)))
	chunk := s.data[ahead:to]
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = syscall.Madvise(chunk, madvPopulateWrite)
		s.ahead.Store(to)
		s.populating.Store(false)
	}()
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
	if s.unmapped {
		_, err := s.f.WriteAt(slices.Concat(frame...), pos)
		return err
	}
	s.prefault(pos + int64(n))
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
		s.wg.Wait()
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
