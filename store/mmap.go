package store

import (
	"errors"
	"io"
	"os"
	"syscall"
)

// Mapping is an original mapped read-only into memory. Its bytes live in
// the page cache, outside the Go heap: reading a large original per
// request costs no heap growth, no garbage and no copy.
type Mapping struct {
	data   []byte
	mapped bool
}

// Bytes returns the original's bytes. They are valid until Close and must
// not be written.
func (m *Mapping) Bytes() []byte { return m.data }

// Mapped reports whether the bytes are mapped from the file (outside the Go
// heap) rather than read into a slice, where the file system cannot map.
func (m *Mapping) Mapped() bool { return m.mapped }

// Close unmaps the bytes. Safe to call twice.
func (m *Mapping) Close() error {
	if !m.mapped || m.data == nil {
		m.data = nil
		return nil
	}
	err := syscall.Munmap(m.data)
	m.data, m.mapped = nil, false
	return err
}

// Map maps the original for key read-only. The file is opened through the
// store's os.Root like every other read. Originals are never rewritten in
// place (a new upload is a new name, a delete unlinks), so a mapping stays
// valid and unchanged while held.
func (s *FS) Map(key string) (*Mapping, error) {
	f, err := s.Open(key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return mapFile(f)
}

// mapFile maps the open original f; the caller closes f.
func mapFile(f *os.File) (*Mapping, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size == 0 {
		return &Mapping{}, nil
	}
	if size != int64(int(size)) {
		return nil, errors.New("store: original too large to map")
	}
	// Not MAP_POPULATE: a request served from a cached decode never reads
	// the bytes, and populating would fault in every page of them anyway;
	// a cold decode showed no difference either way (within noise).
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		// A file system without mmap: fall back to reading it.
		b, rerr := io.ReadAll(io.LimitReader(f, size))
		if rerr != nil {
			return nil, rerr
		}
		return &Mapping{data: b}, nil
	}
	return &Mapping{data: data, mapped: true}, nil
}
