//go:build !linux

package journal

import "os"

// segment is the active segment file, appended to with one write per
// record (Linux maps it into memory instead: see segment_linux.go).
type segment struct{ f *os.File }

func openSegment(f *os.File, size int64) (*segment, error) { return &segment{f: f}, nil }

// put writes frame at pos.
func (s *segment) put(pos int64, frame ...[]byte) error {
	var buf []byte
	for _, b := range frame {
		buf = append(buf, b...)
	}
	_, err := s.f.WriteAt(buf, pos)
	return err
}

// close cuts the file to length, syncs and closes it.
func (s *segment) close(length int64) error {
	err := s.f.Truncate(length)
	if serr := s.f.Sync(); err == nil {
		err = serr
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	return err
}
