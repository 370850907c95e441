package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// Reader reads records in order from an offset. It is not safe for
// concurrent use; appends may go on while it reads.
type Reader struct {
	j   *Journal
	off int64
	seg *segmentReader // the segment holding off, once opened
}

// NewReader returns a reader positioned at off, which must be the start of
// a record (an offset Append or Read returned, or Start).
func (j *Journal) NewReader(off int64) *Reader { return &Reader{j: j, off: off} }

// Offset returns the offset of the next record to read.
func (r *Reader) Offset() int64 { return r.off }

// Read calls fn with the payload of each record from the reader's offset
// up to end (an offset End returned), at most max of them, and returns how
// many it read. The payload is valid only during the call. When fn fails,
// the reader stays on that record.
func (r *Reader) Read(end int64, max int, fn func(payload []byte) error) (int, error) {
	n := 0
	for n < max && r.off < end {
		if err := r.position(end); err != nil {
			return n, err
		}
		size, payload, err := r.seg.record(r.off - r.seg.base)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				// end promised a whole record here: the segment is shorter.
				err = &CorruptError{Segment: r.seg.name, Offset: r.off, Reason: "segment ends before the journal's end"}
			}
			return n, err
		}
		if err := fn(payload); err != nil {
			return n, err
		}
		r.off += size
		n++
	}
	return n, nil
}

// position opens the segment that holds r.off; end is the journal's end.
func (r *Reader) position(end int64) error {
	r.j.mu.Lock()
	segs := r.j.segs
	r.j.mu.Unlock()
	if r.off < segs[0] {
		return fmt.Errorf("journal: offset %d was released (oldest segment starts at %d)", r.off, segs[0])
	}
	i := len(segs) - 1
	for segs[i] > r.off {
		i--
	}
	base := segs[i]
	limit := end - base // a segment holds records up to the next one's base, the last up to end
	if i+1 < len(segs) {
		limit = segs[i+1] - base
	}
	if r.seg != nil && r.seg.base == base {
		r.seg.limit = limit
		return nil
	}
	if r.seg != nil {
		r.seg.f.Close()
		r.seg = nil
	}
	f, err := os.Open(r.j.segPath(base))
	if err != nil {
		return err
	}
	r.seg = &segmentReader{f: f, base: base, name: f.Name(), limit: limit}
	return nil
}

// Close closes the reader's file.
func (r *Reader) Close() error {
	if r.seg == nil {
		return nil
	}
	err := r.seg.f.Close()
	r.seg = nil
	return err
}

// segmentReader reads frames of one segment through a window of it.
type segmentReader struct {
	f     *os.File
	base  int64
	name  string
	limit int64  // bytes of the segment known to be written; the rest may change
	win   []byte // bytes of the file from at, all below limit when read
	at    int64
}

const window = 256 << 10

// bytes returns n bytes of the segment from off, or io.EOF /
// io.ErrUnexpectedEOF when the file ends first.
func (s *segmentReader) bytes(off int64, n int) ([]byte, error) {
	if off >= s.at && off+int64(n) <= s.at+int64(len(s.win)) {
		return s.win[off-s.at : off-s.at+int64(n)], nil
	}
	size := max(window, n)
	if cap(s.win) < size {
		s.win = make([]byte, size)
	}
	s.win = s.win[:size]
	if room := s.limit - off; room < int64(size) {
		s.win = s.win[:max(room, 0)]
	}
	m, err := s.f.ReadAt(s.win, off)
	s.win, s.at = s.win[:m], off
	if m >= n {
		return s.win[:n], nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		if m == 0 {
			return nil, io.EOF
		}
		return nil, io.ErrUnexpectedEOF
	}
	return nil, err
}

// record reads the frame at off (within the segment) and returns its size
// on disk and its payload.
func (s *segmentReader) record(off int64) (int64, []byte, error) {
	h, err := s.bytes(off, headerSize)
	if err != nil {
		return 0, nil, err
	}
	length := binary.LittleEndian.Uint32(h[0:4])
	sum := binary.LittleEndian.Uint32(h[4:8])
	if length == 0 {
		// Never written (Append refuses empty records): a zero-filled
		// tail, as a file system may leave after a power loss.
		return 0, nil, &CorruptError{Segment: s.name, Offset: s.base + off, Reason: "empty record"}
	}
	if length > MaxRecord {
		return 0, nil, &CorruptError{Segment: s.name, Offset: s.base + off, Reason: fmt.Sprintf("length %d over the limit", length)}
	}
	frame, err := s.bytes(off, headerSize+int(length))
	if err != nil {
		return 0, nil, err
	}
	payload := frame[headerSize:]
	if crc32.Checksum(payload, castagnoli) != sum {
		return 0, nil, &CorruptError{Segment: s.name, Offset: s.base + off, Reason: "checksum mismatch"}
	}
	return int64(headerSize) + int64(length), payload, nil
}

// NextSegment moves the reader to the start of the segment after the one
// it is in, and returns that offset; ok is false in the last segment.
func (r *Reader) NextSegment() (off int64, ok bool) {
	r.j.mu.Lock()
	segs := r.j.segs
	r.j.mu.Unlock()
	for _, base := range segs {
		if base > r.off {
			r.off = base
			return base, true
		}
	}
	return r.off, false
}
