package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// appendFrame appends payload's record to buf, as Append writes it.
func appendFrame(buf, payload []byte) []byte {
	buf = binary.LittleEndian.AppendUint32(buf, uint32(len(payload)))
	buf = binary.LittleEndian.AppendUint32(buf, crc32.Checksum(payload, castagnoli))
	return append(buf, payload...)
}

func open(t *testing.T, dir string, seg int64) *Journal {
	t.Helper()
	j, err := Open(dir, Options{SegmentSize: seg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// readAll returns every record from off to the journal's end.
func readAll(t *testing.T, j *Journal, off int64) []string {
	t.Helper()
	r := j.NewReader(off)
	defer r.Close()
	var out []string
	end := j.End()
	for r.Offset() < end {
		n, err := r.Read(end, 7, func(p []byte) error {
			out = append(out, string(p))
			return nil
		})
		if err != nil {
			t.Fatalf("read at %d: %v", r.Offset(), err)
		}
		if n == 0 {
			t.Fatalf("read nothing at %d, end %d", r.Offset(), end)
		}
	}
	return out
}

func TestConcurrentAppendsAreAllReadBackOnce(t *testing.T) {
	j := open(t, t.TempDir(), 4<<10) // small segments: many rotations
	const writers, each = 8, 500
	var wg sync.WaitGroup
	var mu sync.Mutex
	ends := map[int64]int{}
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				end, err := j.Append(fmt.Appendf(nil, "w%d-%d", w, i))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ends[end]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	got := readAll(t, j, j.Start())
	if len(got) != writers*each {
		t.Fatalf("read %d records, appended %d", len(got), writers*each)
	}
	seen := map[string]bool{}
	last := map[int]int{}
	for _, s := range got {
		if seen[s] {
			t.Fatalf("record %s read twice", s)
		}
		seen[s] = true
		var w, i int
		if _, err := fmt.Sscanf(s, "w%d-%d", &w, &i); err != nil {
			t.Fatal(err)
		}
		// One writer's records keep their order.
		if prev, ok := last[w]; ok && i != prev+1 {
			t.Fatalf("writer %d: record %d after %d", w, i, prev)
		}
		last[w] = i
	}
	segs, _ := segments(j.dir)
	if len(segs) < 5 {
		t.Errorf("%d segments for %d bytes of 4 KiB segments: no rotation", len(segs), j.End())
	}
	// Every append returned its own offset, at or before the end.
	if len(ends) != writers*each {
		t.Errorf("%d distinct offsets returned by %d appends", len(ends), writers*each)
	}
	for end := range ends {
		if end <= 0 || end > j.End() {
			t.Errorf("append returned offset %d, journal end %d", end, j.End())
		}
	}
}

func TestReopenKeepsRecordsAndIdentity(t *testing.T) {
	dir := t.TempDir()
	j, err := Open(dir, Options{SegmentSize: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 100 {
		want = append(want, fmt.Sprintf("record %03d %s", i, bytes.Repeat([]byte{'x'}, i)))
		if _, err := j.Append([]byte(want[i])); err != nil {
			t.Fatal(err)
		}
	}
	id, end := j.ID(), j.End()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("append after close: %v, want ErrClosed", err)
	}
	j2 := open(t, dir, 1<<10)
	if j2.ID() != id || j2.End() != end || j2.Truncated != 0 {
		t.Fatalf("reopened: id %s end %d truncated %d; want %s %d 0", j2.ID(), j2.End(), j2.Truncated, id, end)
	}
	got := readAll(t, j2, 0)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("records after reopen differ:\n%q\n%q", got, want)
	}
	if _, err := j2.Append([]byte("after")); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, j2, end); len(got) != 1 || got[0] != "after" {
		t.Fatalf("read after reopen and append: %q", got)
	}
}

func TestOpenCutsOffATornRecord(t *testing.T) {
	for name, tail := range map[string][]byte{
		"half a header":  {5, 0, 0},
		"half a payload": append(binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 10), 0), 'a', 'b'),
		"half a frame":   appendFrame(nil, []byte("torn"))[:8+3],
		"bad checksum":   func() []byte { b := appendFrame(nil, []byte("torn")); b[9] ^= 1; return b }(),
		"zeroes":         make([]byte, 100),
		"huge length":    binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, MaxRecord+1), 0),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			j, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"one", "two"} {
				if _, err := j.Append([]byte(s)); err != nil {
					t.Fatal(err)
				}
			}
			end := j.End()
			j.Close()
			f, err := os.OpenFile(filepath.Join(dir, fmt.Sprintf("%020d.log", 0)), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(tail); err != nil {
				t.Fatal(err)
			}
			f.Close()
			j2 := open(t, dir, 0)
			// Zeroes after the last record are space allocated ahead, not a
			// torn record.
			torn := len(bytes.TrimRight(tail, "\x00"))
			if j2.End() != end || j2.Truncated != int64(torn) {
				t.Fatalf("end %d truncated %d, want %d %d", j2.End(), j2.Truncated, end, torn)
			}
			if _, err := j2.Append([]byte("three")); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, j2, 0); fmt.Sprint(got) != "[one two three]" {
				t.Fatalf("records %q", got)
			}
		})
	}
}

func TestCorruptRecordIsReported(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, 0)
	for _, s := range []string{"first", "second", "third"} {
		if _, err := j.Append([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, fmt.Sprintf("%020d.log", 0))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[headerSize+5+headerSize] ^= 0xff // the first byte of "second"
	if err := os.WriteFile(path, b, 0o640); err != nil {
		t.Fatal(err)
	}
	r := j.NewReader(0)
	defer r.Close()
	var got []string
	_, err = r.Read(j.End(), 10, func(p []byte) error { got = append(got, string(p)); return nil })
	var c *CorruptError
	if !errors.As(err, &c) || c.Offset != headerSize+5 {
		t.Fatalf("read: %v, want a corrupt record at %d", err, headerSize+5)
	}
	if fmt.Sprint(got) != "[first]" || r.Offset() != headerSize+5 {
		t.Fatalf("read %q and stopped at %d", got, r.Offset())
	}
}

func TestReleaseDeletesLoadedSegments(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, 100)
	var offs []int64
	for i := range 20 {
		end, err := j.Append(fmt.Appendf(nil, "record number %02d, some forty bytes", i))
		if err != nil {
			t.Fatal(err)
		}
		offs = append(offs, end)
	}
	before, _ := segments(dir)
	if err := j.Release(offs[9]); err != nil {
		t.Fatal(err)
	}
	after, _ := segments(dir)
	if len(after) >= len(before) || after[0] > offs[9] || j.Start() != after[0] {
		t.Fatalf("segments %v → %v after releasing up to %d (start %d)", before, after, offs[9], j.Start())
	}
	if got := readAll(t, j, offs[9]); len(got) != 10 || got[0] != "record number 10, some forty bytes" {
		t.Fatalf("records after the released ones: %q", got)
	}
	if _, err := j.NewReader(0).Read(j.End(), 1, func([]byte) error { return nil }); err == nil {
		t.Fatal("reading a released offset: no error")
	}
	// The active segment and the one before it stay even when everything
	// is released (a database restored after a power loss may need them).
	if err := j.Release(j.End()); err != nil {
		t.Fatal(err)
	}
	if segs, _ := segments(dir); len(segs) != 2 || j.Start() != segs[0] {
		t.Fatalf("segments %v after releasing all, want the last two", segs)
	}
	if _, err := j.Append([]byte("more")); err != nil {
		t.Fatal(err)
	}
}

func TestOneProcessPerDirectory(t *testing.T) {
	dir := t.TempDir()
	open(t, dir, 0)
	if _, err := Open(dir, Options{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
}

func TestAppendRefusesOversizedRecords(t *testing.T) {
	j := open(t, t.TempDir(), 0)
	if _, err := j.Append(make([]byte, MaxRecord+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("append: %v", err)
	}
	if j.End() != 0 {
		t.Fatalf("end %d after a refused append", j.End())
	}
}

// FuzzOpen opens a journal whose segment holds arbitrary bytes: it must
// keep exactly the intact records at the start, and read them back.
func FuzzOpen(f *testing.F) {
	f.Add(appendFrame(appendFrame(nil, []byte("a")), []byte("bc")))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 'x'})
	f.Add(append(appendFrame(nil, []byte("ok")), 0xff, 0xff, 0xff, 0xff))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%020d.log", 0)), data, 0o640); err != nil {
			t.Fatal(err)
		}
		j, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		// What was cut is the bytes after the intact records up to the last
		// that is not zero (the rest: space allocated ahead).
		kept := j.End() + j.Truncated
		if kept > int64(len(data)) || len(bytes.TrimRight(data[kept:], "\x00")) != 0 || (j.Truncated > 0 && data[kept-1] == 0) {
			t.Fatalf("end %d + truncated %d of %d bytes", j.End(), j.Truncated, len(data))
		}
		// Re-framing what was kept gives back the kept bytes exactly.
		var again []byte
		r := j.NewReader(0)
		defer r.Close()
		if _, err := r.Read(j.End(), len(data)+1, func(p []byte) error { again = appendFrame(again, p); return nil }); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again, data[:j.End()]) {
			t.Fatal("records read back differ from the bytes kept")
		}
	})
}

// TestOpenAfterAKill opens a copy of a journal taken while it was open, as
// a killed process leaves it: the active segment still holds the space
// allocated ahead of its records, and maybe a record half copied there.
func TestOpenAfterAKill(t *testing.T) {
	dir := t.TempDir()
	j := open(t, dir, 1<<20)
	for i := range 50 {
		if _, err := j.Append(fmt.Appendf(nil, "record %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	end := j.End()
	for _, half := range []bool{false, true} {
		t.Run(fmt.Sprintf("half a record %v", half), func(t *testing.T) {
			copyDir := t.TempDir()
			for _, name := range []string{"ID", fmt.Sprintf("%020d.log", 0)} {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil {
					t.Fatal(err)
				}
				if name != "ID" {
					if runtime.GOOS == "linux" && int64(len(b)) <= end {
						t.Fatalf("segment of %d bytes for %d of records: no space allocated ahead", len(b), end)
					}
					if half {
						copy(b[end:], appendFrame(nil, []byte("never acknowledged"))[:15])
					}
				}
				if err := os.WriteFile(filepath.Join(copyDir, name), b, 0o640); err != nil {
					t.Fatal(err)
				}
			}
			j2 := open(t, copyDir, 1<<20)
			want := map[bool]int64{false: 0, true: 15}[half]
			if j2.End() != end || j2.Truncated != want {
				t.Fatalf("end %d truncated %d, want %d %d", j2.End(), j2.Truncated, end, want)
			}
			if got := readAll(t, j2, 0); len(got) != 50 || got[49] != "record 49" {
				t.Fatalf("%d records read back", len(got))
			}
			if _, err := j2.Append([]byte("after")); err != nil {
				t.Fatal(err)
			}
			if got := readAll(t, j2, end); len(got) != 1 || got[0] != "after" {
				t.Fatalf("read after reopen: %q", got)
			}
		})
	}
}
