// Package journal is an append-only log of records in segment files on the
// local disk. The redirect appends its click here and answers once the
// append is done; a loader moves records into the database in large
// batches (see tracking.ClickJournal).
//
// Durability is that of SQLite in WAL mode with synchronous=NORMAL, the
// setting the database uses: an append is in the operating system's page
// cache when it returns (on Linux a copy into the segment mapped in
// memory; elsewhere a write) and survives the process being killed; only
// the loss of the machine's power may undo the last appends. Segments are
// synced when they are closed.
//
// On disk: a directory holding a LOCK file (one process at a time), an ID
// file (the journal's identity, which names its loaded offset in the
// database) and segments named by the global offset of their first byte
// (00000000000000000000.log, …). A record is framed as
//
//	length  uint32, little-endian: bytes of payload
//	crc     uint32, little-endian: CRC-32C (Castagnoli) of payload
//	payload
//
// and never spans two segments. Offsets are global: a segment's name plus
// the position in it.
package journal

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// MaxRecord is the largest payload a record may carry; the smallest is
// one byte.
const MaxRecord = 1 << 20

const headerSize = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors.
var (
	ErrClosed   = errors.New("journal closed")
	ErrTooLarge = errors.New("journal record larger than 1 MiB")
	ErrLocked   = errors.New("journal in use by another process")
	ErrEmpty    = errors.New("empty journal record")
)

// CorruptError reports a record that fails its checks.
type CorruptError struct {
	Segment string
	Offset  int64 // global offset of the bad frame
	Reason  string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("journal %s: corrupt record at offset %d: %s", e.Segment, e.Offset, e.Reason)
}

// Options tune a journal.
type Options struct {
	// SegmentSize is the size after which appends go to a new segment
	// (16 MiB by default).
	SegmentSize int64
}

// Journal is an open journal. Append is safe for concurrent use.
type Journal struct {
	dir     string
	id      string
	lock    *os.File
	segSize int64

	// Truncated is how many bytes of a torn last record Open cut off.
	Truncated int64

	end atomic.Int64 // global offset after the last appended record

	mu     sync.Mutex
	closed bool    // no more appends
	segs   []int64 // bases of the segments on disk, ascending; the last is active
	seg    *segment
	notify func()

	closing  sync.WaitGroup // old segments being synced and closed
	closeErr error          // what that went wrong, for Close
}

// Open opens the journal in dir, creating it if needed, and cuts off a
// torn record at the end of its last segment (see Truncated).
func Open(dir string, opt Options) (*Journal, error) {
	if opt.SegmentSize <= 0 {
		opt.SegmentSize = 16 << 20
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, err
	}
	lock, err := lockDir(filepath.Join(dir, "LOCK"))
	if err != nil {
		return nil, err
	}
	j := &Journal{dir: dir, lock: lock, segSize: opt.SegmentSize}
	if err := j.open(); err != nil {
		lock.Close()
		return nil, err
	}
	return j, nil
}

func (j *Journal) open() error {
	id, err := os.ReadFile(filepath.Join(j.dir, "ID"))
	switch {
	case errors.Is(err, os.ErrNotExist):
		b := make([]byte, 16)
		_, _ = rand.Read(b)
		id = []byte(hex.EncodeToString(b))
		if err := writeFileSync(filepath.Join(j.dir, "ID"), id); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	j.id = strings.TrimSpace(string(id))
	if j.id == "" {
		return fmt.Errorf("journal %s: empty ID file", j.dir)
	}
	if j.segs, err = segments(j.dir); err != nil {
		return err
	}
	if len(j.segs) == 0 {
		j.segs = []int64{0}
	}
	last := j.segs[len(j.segs)-1]
	f, err := os.OpenFile(j.segPath(last), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	size, torn, err := validLength(f, last)
	if err == nil {
		j.Truncated = torn
		// Cut the torn record and the space allocated ahead off; the
		// segment allocates afresh.
		err = f.Truncate(size)
	}
	if err == nil && torn > 0 {
		err = f.Sync()
	}
	if err == nil {
		j.seg, err = openSegment(f, max(j.segSize, size))
	}
	if err != nil {
		f.Close()
		return err
	}
	j.end.Store(last + size)
	return nil
}

// validLength returns the length of the run of whole, intact records at
// the start of a segment: what is left of it after a torn write; and the
// bytes after it up to the last that is not zero, which are the torn
// record (the rest is space allocated ahead, never written).
func validLength(f *os.File, base int64) (size, torn int64, err error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, 0, err
	}
	r := &segmentReader{f: f, base: base, name: f.Name(), limit: fi.Size()}
	for {
		n, _, err := r.record(size)
		if err != nil {
			var c *CorruptError
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.As(err, &c) {
				return 0, 0, err
			}
			break
		}
		size += n
	}
	buf := make([]byte, window)
	for off := size; off < fi.Size(); off += int64(len(buf)) {
		n, err := f.ReadAt(buf, off)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, 0, err
		}
		for i := n - 1; i >= 0; i-- {
			if buf[i] != 0 {
				torn = off + int64(i) + 1 - size
				break
			}
		}
	}
	return size, torn, nil
}

func segments(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []int64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || len(name) != 20 {
			continue
		}
		base, err := strconv.ParseInt(name, 10, 64)
		if err != nil || base < 0 {
			continue
		}
		segs = append(segs, base)
	}
	slices.Sort(segs)
	return segs, nil
}

func (j *Journal) segPath(base int64) string {
	return filepath.Join(j.dir, fmt.Sprintf("%020d.log", base))
}

// ID returns the journal's identity, kept in its directory.
func (j *Journal) ID() string { return j.id }

// End returns the offset after the last appended record.
func (j *Journal) End() int64 { return j.end.Load() }

// Start returns the offset of the oldest record still on disk.
func (j *Journal) Start() int64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.segs[0]
}

// OnAppend sets fn to be called after each write; fn must not block.
func (j *Journal) OnAppend(fn func()) {
	j.mu.Lock()
	j.notify = fn
	j.mu.Unlock()
}

// Append writes payload as one record and returns the offset after it.
func (j *Journal) Append(payload []byte) (int64, error) {
	if len(payload) > MaxRecord {
		return 0, ErrTooLarge
	}
	if len(payload) == 0 {
		return 0, ErrEmpty
	}
	var h [headerSize]byte
	binary.LittleEndian.PutUint32(h[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(h[4:8], crc32.Checksum(payload, castagnoli))
	size := int64(headerSize + len(payload))
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return 0, ErrClosed
	}
	end := j.end.Load()
	base := j.segs[len(j.segs)-1]
	if end > base && end-base+size > j.segSize {
		if err := j.rotate(end); err != nil {
			j.mu.Unlock()
			return 0, err
		}
		base = end
	}
	// Records are copied in offset order, under the lock: a process killed
	// mid-copy tears only the last record, whose append never returned.
	if err := j.seg.put(end-base, h[:], payload); err != nil {
		j.mu.Unlock()
		return 0, fmt.Errorf("journal append: %w", err)
	}
	end += size
	j.end.Store(end)
	notify := j.notify
	j.mu.Unlock()
	if notify != nil {
		notify()
	}
	return end, nil
}

// rotate closes the active segment at end (synced, cut to its records)
// and starts one there. The caller holds j.mu.
func (j *Journal) rotate(end int64) error {
	f, err := os.OpenFile(j.segPath(end), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("journal rotate: %w", err)
	}
	seg, err := openSegment(f, j.segSize)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("journal rotate: %w", err)
	}
	old, length := j.seg, end-j.segs[len(j.segs)-1]
	j.seg = seg
	j.segs = append(j.segs, end)
	// Syncing the old segment (16 MiB of dirty pages) takes a while: not
	// with appends waiting on the lock.
	j.closing.Go(func() {
		err := old.close(length)
		if err == nil {
			err = syncDir(j.dir)
		}
		if err != nil {
			j.mu.Lock()
			j.closeErr = errors.Join(j.closeErr, fmt.Errorf("journal: close segment: %w", err))
			j.mu.Unlock()
		}
	})
	return nil
}

// Release deletes the segments whose records all lie before off: the
// caller has stored them elsewhere. The active segment is kept, and so is
// the one before the segment holding off: the database that stored them
// may, after a power loss, come back without its last transactions
// (synchronous=NORMAL), and the records must still be here to load again.
func (j *Journal) Release(off int64) error {
	for {
		j.mu.Lock()
		if len(j.segs) < 3 || j.segs[2] > off {
			j.mu.Unlock()
			return nil
		}
		base := j.segs[0]
		j.mu.Unlock()
		if err := os.Remove(j.segPath(base)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		j.mu.Lock()
		j.segs = j.segs[1:]
		j.mu.Unlock()
	}
}

// Close stops appends, syncs the active segment and releases the
// directory. Appends after Close fail with ErrClosed.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	err := j.seg.close(j.end.Load() - j.segs[len(j.segs)-1])
	j.mu.Unlock()
	j.closing.Wait() // segments rotated out, still syncing
	j.mu.Lock()
	err = errors.Join(err, j.closeErr)
	j.mu.Unlock()
	return errors.Join(err, j.lock.Close())
}

func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
