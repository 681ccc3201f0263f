package store

import (
	"bytes"
	"errors"
	"testing"
)

func TestMap(t *testing.T) {
	s, err := Open(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	data := bytes.Repeat([]byte("pictor mapped original "), 10000)
	u, err := s.NewUpload(0)
	if err != nil {
		t.Fatal(err)
	}
	u.Write(data)
	obj, err := u.Commit("jpg")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Map(obj.Key)
	if err != nil {
		t.Fatalf("Map: %v", err)
	}
	if !bytes.Equal(m.Bytes(), data) {
		t.Errorf("Map(%s) bytes differ from what was stored", obj.Key)
	}
	// Deleting the original keeps a held mapping readable.
	if err := s.Delete(obj.Key); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.Bytes(), data) {
		t.Error("mapping changed after Delete")
	}
	if err := m.Close(); err != nil || m.Close() != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := s.Map(obj.Key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Map after Delete = %v, want ErrNotFound", err)
	}
	if _, err := s.Map("../../etc/passwd"); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("Map(traversal) = %v, want ErrInvalidKey", err)
	}
}
