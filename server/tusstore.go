package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/tus/tusd/v2/pkg/filestore"
	tusd "github.com/tus/tusd/v2/pkg/handler"
)

// The parts of unfinished resumable uploads live in one directory, as
// tusd's filestore lays them out: <id> (the bytes so far) and <id>.info
// (its declared length and metadata, JSON). A finished upload leaves only
// <id>.done (its key), so that a client that lost the last response can
// still learn the key from HEAD; the janitor removes it after the expiry
// like an abandoned upload.
const doneSuffix = ".done"

// tusIDPattern is what filestore names an upload: 16 random bytes in hex.
// Anything else in a URL is 404 before any file system access.
var tusIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Errors of resumable uploads, answered as JSON by the tus bridge.
var (
	errTusBudget   = tusError(http.StatusInsufficientStorage, "ERR_PICTOR_BUDGET", "unfinished resumable uploads hold their byte budget (PICTOR_TUS_BYTES); finish or delete some, or retry later")
	errTusChecksum = tusError(460, "ERR_CHECKSUM_MISMATCH", "Upload-Checksum does not match the bytes received; the chunk was discarded")
)

// tusError is a tusd error whose body is Pictor's JSON error body.
func tusError(status int, code, msg string) tusd.Error {
	body, _ := json.Marshal(errorBody{Error: msg, Status: status})
	return tusd.Error{ErrorCode: code, Message: msg, HTTPResponse: tusd.HTTPResponse{
		StatusCode: status,
		Body:       string(body) + "\n",
		Header:     tusd.HTTPHeader{"Content-Type": "application/json"},
	}}
}

// tusStore is tusd's filestore with what Pictor adds: a byte budget for
// unfinished uploads, the expiry of abandoned ones, and sha256 checksums
// of chunks (the checksum extension, which tusd does not implement).
type tusStore struct {
	fs     filestore.FileStore
	dir    string
	expiry time.Duration
	budget int64
	now    func() time.Time
	locks  *tusLocker

	mu   sync.Mutex
	held map[string]int64 // declared length of each unfinished upload
	sum  int64            // of held
}

func newTusStore(dir string, expiry time.Duration, budget int64, now func() time.Time) (*tusStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	fst := filestore.New(dir)
	fst.DirModePerm, fst.FileModePerm = 0o755, 0o640
	t := &tusStore{fs: fst, dir: dir, expiry: expiry, budget: budget, now: now,
		locks: newTusLocker(), held: map[string]int64{}}
	// What earlier runs left unfinished still holds its share of the budget.
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), ".info")
		if !ok || !tusIDPattern.MatchString(id) {
			continue
		}
		if info, err := t.readInfo(id); err == nil {
			t.hold(id, info.Size)
		}
	}
	return t, nil
}

// UseIn puts the store and its locker into a composer: core, termination,
// locking. Not concatenation nor deferred length: every upload declares its
// length up front, which is what the size limit and the budget are judged
// by.
func (t *tusStore) UseIn(c *tusd.StoreComposer) {
	c.UseCore(t)
	c.UseTerminater(t)
	c.UseLocker(t.locks)
}

func (t *tusStore) readInfo(id string) (tusd.FileInfo, error) {
	var info tusd.FileInfo
	b, err := os.ReadFile(filepath.Join(t.dir, id+".info"))
	if err != nil {
		return info, err
	}
	return info, json.Unmarshal(b, &info)
}

func (t *tusStore) hold(id string, n int64) {
	t.mu.Lock()
	if _, ok := t.held[id]; !ok {
		t.held[id] = n
		t.sum += n
	}
	t.mu.Unlock()
}

// heldBytes is what unfinished uploads have declared, all together.
func (t *tusStore) heldBytes() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sum
}

// NewUpload reserves the declared length within the budget, atomically
// with the creation, so that concurrent creations cannot overrun it.
func (t *tusStore) NewUpload(ctx context.Context, info tusd.FileInfo) (tusd.Upload, error) {
	t.mu.Lock()
	if t.sum+info.Size > t.budget {
		t.mu.Unlock()
		return nil, errTusBudget
	}
	t.sum += info.Size
	t.mu.Unlock()
	up, err := t.fs.NewUpload(ctx, info)
	if err != nil {
		t.mu.Lock()
		t.sum -= info.Size
		t.mu.Unlock()
		return nil, err
	}
	created, err := up.GetInfo(ctx)
	if err != nil {
		t.mu.Lock()
		t.sum -= info.Size
		t.mu.Unlock()
		return nil, err
	}
	t.mu.Lock()
	t.held[created.ID] = info.Size
	t.mu.Unlock()
	return &tusUpload{Upload: up, t: t, id: created.ID, bin: created.Storage[filestore.StorageKeyPath]}, nil
}

// GetUpload finds an unfinished upload. One past its expiry is removed
// here, whether or not the janitor has come by yet: it is gone (404).
func (t *tusStore) GetUpload(ctx context.Context, id string) (tusd.Upload, error) {
	up, err := t.fs.GetUpload(ctx, id)
	if err != nil {
		return nil, err
	}
	info, err := up.GetInfo(ctx)
	if err != nil {
		return nil, err
	}
	bin := info.Storage[filestore.StorageKeyPath]
	if t.expired(bin) {
		t.remove(id)
		return nil, tusd.ErrNotFound
	}
	return &tusUpload{Upload: up, t: t, id: id, bin: bin}, nil
}

// AsTerminatableUpload implements tusd.TerminaterDataStore.
func (t *tusStore) AsTerminatableUpload(u tusd.Upload) tusd.TerminatableUpload {
	return u.(*tusUpload)
}

// expiresAt is when the upload whose bytes are in bin expires: the expiry
// after its last write (or its creation), so an upload that is still being
// sent never expires.
func (t *tusStore) expiresAt(bin string) (time.Time, bool) {
	fi, err := os.Stat(bin)
	if err != nil {
		return time.Time{}, false
	}
	return fi.ModTime().Add(t.expiry), true
}

func (t *tusStore) expired(bin string) bool {
	at, ok := t.expiresAt(bin)
	return ok && !t.now().Before(at)
}

// remove deletes an unfinished upload's parts and gives its share of the
// budget back. The caller holds its lock (or it was never handed out).
func (t *tusStore) remove(id string) {
	os.Remove(filepath.Join(t.dir, id))
	os.Remove(filepath.Join(t.dir, id+".info"))
	t.mu.Lock()
	if n, ok := t.held[id]; ok {
		delete(t.held, id)
		t.sum -= n
	}
	t.mu.Unlock()
}

// doneRecord is what a finished upload leaves for a later HEAD.
type doneRecord struct {
	Key  string `json:"key"`
	Size int64  `json:"size"`
}

func (t *tusStore) writeDone(id string, rec doneRecord) error {
	b, _ := json.Marshal(rec)
	name := filepath.Join(t.dir, id+doneSuffix)
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return err
	}
	return os.Rename(tmp, name)
}

func (t *tusStore) readDone(id string) (doneRecord, bool) {
	var rec doneRecord
	b, err := os.ReadFile(filepath.Join(t.dir, id+doneSuffix))
	if err != nil || json.Unmarshal(b, &rec) != nil {
		return rec, false
	}
	return rec, true
}

func (t *tusStore) removeDone(id string) {
	os.Remove(filepath.Join(t.dir, id+doneSuffix))
}

// sweep removes what has expired: abandoned uploads (unless a request holds
// one right now), finished uploads' records, and stray files (a part
// without its .info, left by a crash during creation). It returns how many
// unfinished uploads it removed.
func (t *tusStore) sweep() int {
	ents, err := os.ReadDir(t.dir)
	if err != nil {
		return 0
	}
	removed := 0
	now := t.now()
	for _, e := range ents {
		name := e.Name()
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || now.Before(fi.ModTime().Add(t.expiry)) {
			continue
		}
		id, kind := name, ""
		if i := strings.IndexByte(name, '.'); i >= 0 {
			id, kind = name[:i], name[i:]
		}
		if !tusIDPattern.MatchString(id) {
			continue
		}
		switch kind {
		case doneSuffix, doneSuffix + ".tmp":
			os.Remove(filepath.Join(t.dir, name))
		case "":
			// The bytes: their mtime is the last write. Removed together
			// with the .info, under the upload's lock, so a PATCH that is
			// about to write finds the upload gone rather than half of it.
			if !t.locks.tryLock(id) {
				continue
			}
			if t.expired(filepath.Join(t.dir, id)) {
				t.remove(id)
				removed++
			}
			t.locks.unlock(id)
		case ".info":
			// An .info whose bytes are gone is a leftover: its upload can
			// never be resumed.
			if _, err := os.Stat(filepath.Join(t.dir, id)); errors.Is(err, fs.ErrNotExist) && t.locks.tryLock(id) {
				t.remove(id)
				t.locks.unlock(id)
			}
		}
	}
	return removed
}

// tusUpload is one upload in a tusStore.
type tusUpload struct {
	tusd.Upload
	t   *tusStore
	id  string
	bin string
}

// Terminate implements tusd.TerminatableUpload: DELETE /files/<id>.
func (u *tusUpload) Terminate(context.Context) error {
	u.t.remove(u.id)
	return nil
}

// chunkCheck is what a request says its chunk must hash to: the checksum
// extension's Upload-Checksum.
type chunkCheck struct {
	sum    []byte // sha256
	length int64  // Content-Length, or -1 when unknown
}

// WriteChunk appends a chunk. With an Upload-Checksum the chunk is hashed
// as it is written and, when it does not match or did not arrive whole,
// cut off again: the upload's offset is what it was before the request,
// and the client sends the chunk again.
func (u *tusUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	var check *chunkCheck
	if tr, _ := ctx.Value(tusRequestKey{}).(*tusRequest); tr != nil {
		check = tr.check
	}
	if check == nil {
		return u.Upload.WriteChunk(ctx, offset, src)
	}
	h := sha256.New()
	n, err := u.Upload.WriteChunk(ctx, offset, io.TeeReader(src, h))
	whole := check.length < 0 || n == check.length
	if err == nil && whole && subtle.ConstantTimeCompare(h.Sum(nil), check.sum) == 1 {
		return n, nil
	}
	if terr := os.Truncate(u.bin, offset); terr != nil {
		return n, fmt.Errorf("tus: discarding a chunk: %w", terr)
	}
	if err != nil {
		return 0, err
	}
	if !whole {
		// The body ended early: tusd reports that on its own, and nothing
		// of the chunk is kept.
		return 0, nil
	}
	return 0, errTusChecksum
}

// tusLocker is tusd's in-memory locking (one process holds every upload of
// its directory), with tryLock for the janitor. Unlike tusd's memorylocker
// it never asks the holder to let go (requestRelease): interrupting a
// running PATCH that way races on tusd's request context (v2.9.1 writes
// httpContext.body in writeChunk while the cancel goroutine reads it; go
// test -race reports it). A second request for an upload waits for the
// first instead, at most tusd's AcquireLockTimeout (20 s): a client that
// resumes after a broken connection finds the old PATCH ended, since its
// body read fails at once on a closed connection, and within Nginx's
// client_body_timeout (10 s) or tusd's NetworkTimeout (60 s) on one that
// silently died.
type tusLocker struct {
	mu    sync.Mutex
	locks map[string]chan struct{} // closed on unlock
}

func newTusLocker() *tusLocker { return &tusLocker{locks: map[string]chan struct{}{}} }

// NewLock implements tusd.Locker.
func (l *tusLocker) NewLock(id string) (tusd.Lock, error) { return tusLock{l, id}, nil }

func (l *tusLocker) tryLock(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.locks[id]; ok {
		return false
	}
	l.locks[id] = make(chan struct{})
	return true
}

func (l *tusLocker) unlock(id string) {
	l.mu.Lock()
	released := l.locks[id]
	delete(l.locks, id)
	l.mu.Unlock()
	if released != nil {
		close(released)
	}
}

type tusLock struct {
	l  *tusLocker
	id string
}

// Lock implements tusd.Lock: wait until the upload is free or ctx ends.
func (k tusLock) Lock(ctx context.Context, _ func()) error {
	for {
		if k.l.tryLock(k.id) {
			return nil
		}
		k.l.mu.Lock()
		released, held := k.l.locks[k.id]
		k.l.mu.Unlock()
		if !held {
			continue
		}
		select {
		case <-ctx.Done():
			return tusd.ErrLockTimeout
		case <-released:
		}
	}
}

// Unlock implements tusd.Lock.
func (k tusLock) Unlock() error {
	k.l.unlock(k.id)
	return nil
}
