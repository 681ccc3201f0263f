package cache

import (
	"sync/atomic"
	"testing"
)

// refImage stands in for a decoded image: a size and a reference count
// shared by all handles on it.
type refImage struct {
	n    int64
	refs *atomic.Int32
}

func newRefImage(n int64) refImage {
	r := refImage{n: n, refs: new(atomic.Int32)}
	r.refs.Store(1)
	return r
}

func (r refImage) Bytes() int64     { return r.n }
func (r refImage) Retain() refImage { r.refs.Add(1); return r }
func (r refImage) Release() {
	if r.refs.Add(-1) < 0 {
		panic("released more often than retained")
	}
}

func TestDecodedKeepsLargest(t *testing.T) {
	d, err := NewDecoded[refImage](DecodedConfig{MaxBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	small, large := newRefImage(100), newRefImage(200)
	if !d.Put("a", small) {
		t.Fatal("Put(a, 100 B) into an empty cache = false")
	}
	if !d.Put("a", large) {
		t.Fatal("Put(a, 200 B) over a 100 B decode = false, want the larger one kept")
	}
	if small.refs.Load() != 0 {
		t.Errorf("the replaced decode has %d references, want 0 (released)", small.refs.Load())
	}
	smaller := newRefImage(50)
	if d.Put("a", smaller) {
		t.Error("Put(a, 50 B) over a 200 B decode = true, want the larger one kept")
	}
	if smaller.refs.Load() != 0 {
		t.Errorf("a refused decode has %d references, want 0", smaller.refs.Load())
	}
	got, ok := d.Get("a")
	if !ok || got.n != 200 {
		t.Fatalf("Get(a) = %d B, %v; want 200 B", got.n, ok)
	}
	if large.refs.Load() != 2 {
		t.Errorf("after Get, references = %d, want 2 (cache and caller)", large.refs.Load())
	}
	got.Release()
	d.Purge("a")
	if large.refs.Load() != 0 {
		t.Errorf("after Purge and the caller's Release, references = %d, want 0", large.refs.Load())
	}
	if _, ok := d.Get("a"); ok {
		t.Error("Get(a) after Purge hit")
	}
}

func TestDecodedBudget(t *testing.T) {
	d, err := NewDecoded[refImage](DecodedConfig{MaxBytes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	imgs := make([]refImage, 20)
	for i := range imgs {
		imgs[i] = newRefImage(240)
		d.Put(string(rune('a'+i)), imgs[i])
		if st := d.Stats(); st.Bytes > 1000 {
			t.Fatalf("after %d Puts the cache holds %d B, over its 1000 B budget", i+1, st.Bytes)
		}
	}
	st := d.Stats()
	if st.Entries != 4 || st.Evictions != 16 {
		t.Errorf("Stats = %+v, want 4 entries of 240 B and 16 evictions", st)
	}
	for i, im := range imgs {
		want := int32(0)
		if i >= 16 {
			want = 1
		}
		if got := im.refs.Load(); got != want {
			t.Errorf("decode %d has %d references, want %d", i, got, want)
		}
	}
	// More than a quarter of the budget is refused outright.
	huge := newRefImage(251)
	if d.Put("huge", huge) || huge.refs.Load() != 0 {
		t.Error("a decode over a quarter of the budget was kept or not released")
	}
	d.Close()
	for i, im := range imgs {
		if im.refs.Load() != 0 {
			t.Errorf("decode %d has %d references after Close, want 0", i, im.refs.Load())
		}
	}
}

func TestDecodedDisabled(t *testing.T) {
	d, err := NewDecoded[refImage](DecodedConfig{})
	if err != nil {
		t.Fatal(err)
	}
	im := newRefImage(1)
	if d.Put("a", im) || im.refs.Load() != 0 {
		t.Error("a disabled cache kept a decode or did not release it")
	}
	if _, err := NewDecoded[refImage](DecodedConfig{MaxBytes: -1}); err == nil {
		t.Error("NewDecoded(MaxBytes -1) = nil error")
	}
}
