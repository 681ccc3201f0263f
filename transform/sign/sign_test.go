package sign

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pictorhq/pictor/transform/options"
)

const testKey = "3f9a0c1b2d3e4f5061728394a5b6c7d8.jpg"

var (
	secret1 = []byte("0123456789abcdef-first")
	secret2 = []byte("fedcba9876543210-second")
)

func testSigner(t testing.TB) *Signer {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Keys = []Key{{ID: "k1", Secret: secret1}, {ID: "k2", Secret: secret2}}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func testParser(t testing.TB) *options.Parser {
	t.Helper()
	cfg := options.DefaultConfig()
	cfg.Presets = map[string]options.Preset{"thumb": {Name: "thumb", Options: "w_200,h_200,c_fill"}}
	p, err := options.NewParser(cfg)
	if err != nil {
		t.Fatalf("options.NewParser: %v", err)
	}
	return p
}

func mustParse(t testing.TB, p *options.Parser, s string) options.Options {
	t.Helper()
	o, err := p.Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return o
}

// reference computes a signature straight from its definition (the
// package doc, docs/options.md), independently of the package, to pin the
// format.
func reference(secret []byte, msg string, n int) string {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))[:n]
}

func TestKnownAnswer(t *testing.T) {
	s := testSigner(t)
	p := testParser(t)
	tests := []struct {
		opts, msg string
		secret    []byte
	}{
		{"f_webp,w_400", "w_400,f_webp/" + testKey, secret1},
		{"w_400,f_webp,s_ignored", "w_400,f_webp/" + testKey, secret1},
		{"kid_k2,exp_1700000000,w_10", "w_10,exp_1700000000,kid_k2/" + testKey, secret2},
		{"t_thumb", "w_200,h_200,c_fill/" + testKey, secret1},
		{"c_fit", "/" + testKey, secret1},
	}
	for _, tt := range tests {
		got, err := s.Sign(mustParse(t, p, tt.opts), testKey)
		if err != nil {
			t.Fatalf("Sign(%q) error: %v", tt.opts, err)
		}
		if want := reference(tt.secret, tt.msg, DefaultLength); got != want {
			t.Errorf("Sign(%q) = %q, want %q (HMAC of %q)", tt.opts, got, want, tt.msg)
		}
	}

	// A literal (checked with Python's hmac module) pins the bytes too:
	// were reference and Sign to change together, this would still notice.
	got, err := s.Sign(mustParse(t, p, "w_400,f_webp"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := "QOFx9b7aBD4-Os_T"; got != want {
		t.Errorf("Sign(w_400,f_webp) = %q, want %q", got, want)
	}
}

func TestLength(t *testing.T) {
	p := testParser(t)
	o := mustParse(t, p, "w_400")
	for _, n := range []int{MinLength, DefaultLength, 20, MaxLength} {
		s, err := New(Config{Keys: []Key{{ID: "k1", Secret: secret1}}, Length: n})
		if err != nil {
			t.Fatalf("New(Length %d): %v", n, err)
		}
		got, err := s.Sign(o, testKey)
		if err != nil {
			t.Fatal(err)
		}
		if want := reference(secret1, "w_400/"+testKey, n); got != want {
			t.Errorf("Sign with Length %d = %q, want %q", n, got, want)
		}
		o.Signature = got
		if err := s.Verify(o, testKey, time.Now()); err != nil {
			t.Errorf("Verify with Length %d = %v", n, err)
		}
	}
}

func TestSignVerify(t *testing.T) {
	s := testSigner(t)
	p := testParser(t)
	now := time.Unix(1_700_000_000, 0)
	for _, in := range []string{"w_400", "f_webp,w_400", "t_thumb", "kid_k2,w_1", "exp_1700000000,q_auto", "c_fit"} {
		path, err := s.SignPath(mustParse(t, p, in), testKey)
		if err != nil {
			t.Fatalf("SignPath(%q): %v", in, err)
		}
		// Take the path apart the way the server will.
		rest, ok := strings.CutPrefix(path, "/t/")
		opts, key, ok2 := strings.Cut(rest, "/")
		if !ok || !ok2 || key != testKey {
			t.Fatalf("SignPath(%q) = %q, want /t/<options>/%s", in, path, testKey)
		}
		o, err := p.Parse(opts)
		if err != nil {
			t.Fatalf("SignPath(%q) = %q, whose options do not parse: %v", in, path, err)
		}
		if err := s.Verify(o, key, now); err != nil {
			t.Errorf("Verify(%q) = %v, want nil", path, err)
		}
	}
}

func TestSignPath(t *testing.T) {
	s := testSigner(t)
	p := testParser(t)
	o := mustParse(t, p, "f_webp,w_400,s_stale")
	got, err := s.SignPath(o, testKey)
	if err != nil {
		t.Fatal(err)
	}
	want := "/t/w_400,f_webp,s_" + reference(secret1, "w_400,f_webp/"+testKey, DefaultLength) + "/" + testKey
	if got != want {
		t.Errorf("SignPath = %q, want %q", got, want)
	}
}

func TestReorderSameSignature(t *testing.T) {
	s := testSigner(t)
	p := testParser(t)
	a, err := s.Sign(mustParse(t, p, "w_400,h_300,c_fill,g_auto,f_webp"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Sign(mustParse(t, p, "g_auto,f_webp,c_fill,h_300,w_400"), testKey)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("reordered options signed %q and %q, want equal", a, b)
	}
}

func TestTampered(t *testing.T) {
	s := testSigner(t)
	p := testParser(t)
	now := time.Unix(1_700_000_000, 0)
	o := mustParse(t, p, "w_400,f_webp,exp_1800000000")
	sig, err := s.Sign(o, testKey)
	if err != nil {
		t.Fatal(err)
	}
	o.Signature = sig
	if err := s.Verify(o, testKey, now); err != nil {
		t.Fatalf("Verify(untampered) = %v", err)
	}

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name string
		edit func(o *options.Options, key *string)
	}{
		{"width", func(o *options.Options, _ *string) { o.Width = 401 }},
		{"format", func(o *options.Options, _ *string) { o.Format = 0 }},
		{"added option", func(o *options.Options, _ *string) { o.Grayscale = true }},
		{"expiry", func(o *options.Options, _ *string) { o.Expires++ }},
		{"expiry removed", func(o *options.Options, _ *string) { o.Expires = 0 }},
		{"kid made explicit", func(o *options.Options, _ *string) { o.KeyID = "k1" }},
		{"other key's kid", func(o *options.Options, _ *string) { o.KeyID = "k2" }},
		{"key", func(_ *options.Options, key *string) { *key = "0" + (*key)[1:] }},
		{"key extension", func(_ *options.Options, key *string) { *key = strings.TrimSuffix(*key, ".jpg") + ".png" }},
		{"first char", func(o *options.Options, _ *string) { o.Signature = flip(o.Signature, 0) }},
		{"last char", func(o *options.Options, _ *string) { o.Signature = flip(o.Signature, len(o.Signature)-1) }},
		{"truncated", func(o *options.Options, _ *string) { o.Signature = o.Signature[:len(o.Signature)-1] }},
		{"extended", func(o *options.Options, _ *string) { o.Signature += "A" }},
		{"whole HMAC", func(o *options.Options, _ *string) {
			o.Signature = reference(secret1, "w_400,f_webp,exp_1800000000/"+testKey, MaxLength)
		}},
		{"other secret", func(o *options.Options, _ *string) {
			o.Signature = reference(secret2, "w_400,f_webp,exp_1800000000/"+testKey, DefaultLength)
		}},
	}
	for _, tt := range tests {
		o2, key := o, testKey
		tt.edit(&o2, &key)
		if err := s.Verify(o2, key, now); err != ErrInvalid {
			t.Errorf("%s: Verify(%q, %q) = %v, want %v", tt.name, o2, key, err, ErrInvalid)
		}
	}
}

func TestExpiry(t *testing.T) {
	s := testSigner(t)
	p := testParser(t)
	o := mustParse(t, p, "w_400,exp_1700000000")
	sig, err := s.Sign(o, testKey)
	if err != nil {
		t.Fatal(err)
	}
	o.Signature = sig
	tests := []struct {
		now  int64
		want error
	}{
		{1_600_000_000, nil},
		{1_700_000_000, nil}, // the last second it works
		{1_700_000_001, ErrExpired},
		{1_900_000_000, ErrExpired},
	}
	for _, tt := range tests {
		if err := s.Verify(o, testKey, time.Unix(tt.now, 0)); err != tt.want {
			t.Errorf("Verify(exp 1700000000) at %d = %v, want %v", tt.now, err, tt.want)
		}
	}
	// A bad signature on an expired URL says invalid, not expired.
	o.Signature = "AAAAAAAAAAAAAAAA"
	if err := s.Verify(o, testKey, time.Unix(1_900_000_000, 0)); err != ErrInvalid {
		t.Errorf("Verify(expired, bad signature) = %v, want %v", err, ErrInvalid)
	}
}

func TestRotation(t *testing.T) {
	p := testParser(t)
	now := time.Unix(1_700_000_000, 0)
	old, err := New(Config{Keys: []Key{{ID: "k2", Secret: secret2}}, Length: DefaultLength})
	if err != nil {
		t.Fatal(err)
	}
	both := testSigner(t) // k1 (new default), then k2

	// A URL the old deployment signed with explicit kid_k2 still verifies.
	o := mustParse(t, p, "w_400,kid_k2")
	sig, err := old.Sign(o, testKey)
	if err != nil {
		t.Fatal(err)
	}
	o.Signature = sig
	if err := both.Verify(o, testKey, now); err != nil {
		t.Errorf("Verify(kid_k2 from the old signer) = %v, want nil", err)
	}

	// Without kid_ the default key is k1, so an old kid-less URL fails.
	o = mustParse(t, p, "w_400")
	if o.Signature, err = old.Sign(o, testKey); err != nil {
		t.Fatal(err)
	}
	if err := both.Verify(o, testKey, now); err != ErrInvalid {
		t.Errorf("Verify(kid-less URL from the old default) = %v, want %v", err, ErrInvalid)
	}

	// The second key signs when named.
	o = mustParse(t, p, "w_400,kid_k2")
	sig2, err := both.Sign(o, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := reference(secret2, "w_400,kid_k2/"+testKey, DefaultLength); sig2 != want {
		t.Errorf("Sign(kid_k2) = %q, want %q", sig2, want)
	}

	// An unknown kid_ is its own error, both ways.
	o = mustParse(t, p, "w_400,kid_k3")
	if _, err := both.Sign(o, testKey); err != ErrUnknownKey {
		t.Errorf("Sign(kid_k3) error = %v, want %v", err, ErrUnknownKey)
	}
	if _, err := both.SignPath(o, testKey); err != ErrUnknownKey {
		t.Errorf("SignPath(kid_k3) error = %v, want %v", err, ErrUnknownKey)
	}
	o.Signature = "AAAAAAAAAAAAAAAA"
	if err := both.Verify(o, testKey, now); err != ErrUnknownKey {
		t.Errorf("Verify(kid_k3) = %v, want %v", err, ErrUnknownKey)
	}
}

func TestMissing(t *testing.T) {
	s := testSigner(t)
	p := testParser(t)
	for _, in := range []string{"w_400", "w_400,kid_k1,exp_1"} {
		if err := s.Verify(mustParse(t, p, in), testKey, time.Now()); err != ErrMissing {
			t.Errorf("Verify(%q) = %v, want %v", in, err, ErrMissing)
		}
	}
}

func TestDisabled(t *testing.T) {
	s, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if s.Enabled() {
		t.Error("Enabled() = true with no keys")
	}
	if !testSigner(t).Enabled() {
		t.Error("Enabled() = false with two keys")
	}
	o := options.Options{Width: 1}
	if _, err := s.Sign(o, testKey); err != ErrUnknownKey {
		t.Errorf("Sign without keys: %v, want %v", err, ErrUnknownKey)
	}
	o.Signature = "AAAAAAAAAAAAAAAA"
	if err := s.Verify(o, testKey, time.Now()); err != ErrUnknownKey {
		t.Errorf("Verify without keys = %v, want %v", err, ErrUnknownKey)
	}
}

func TestNewCopiesSecrets(t *testing.T) {
	secret := append([]byte(nil), secret1...)
	s, err := New(Config{Keys: []Key{{ID: "k1", Secret: secret}}, Length: DefaultLength})
	if err != nil {
		t.Fatal(err)
	}
	secret[0] ^= 0xff
	got, err := s.Sign(options.Options{Width: 1}, testKey)
	if err != nil {
		t.Fatal(err)
	}
	if want := reference(secret1, "w_1/"+testKey, DefaultLength); got != want {
		t.Errorf("Sign after the caller changed its secret = %q, want %q", got, want)
	}
}

func TestParseKeys(t *testing.T) {
	const sec = "0123456789abcdef" // exactly MinSecret bytes
	tests := []struct {
		in      string
		want    []Key
		wantErr bool
	}{
		{"", nil, false},
		{"k1:" + sec, []Key{{"k1", []byte(sec)}}, false},
		{"k1:" + sec + ",K-2:" + sec + "x", []Key{{"k1", []byte(sec)}, {"K-2", []byte(sec + "x")}}, false},
		{"k1:a:b:" + sec, []Key{{"k1", []byte("a:b:" + sec)}}, false}, // secret keeps its colons
		{"k1:" + sec[:15], nil, true},                                 // too short
		{"k1:", nil, true},                                            // empty secret
		{sec, nil, true},                                              // no id
		{":" + sec, nil, true},                                        // empty id
		{"k_1:" + sec, nil, true},                                     // underscore in id
		{"k 1:" + sec, nil, true},                                     // space in id
		{strings.Repeat("k", 33) + ":" + sec, nil, true},
		{"k1:" + sec + ",k1:" + sec + "x", nil, true}, // duplicate id
		{"k1:" + sec + ",", nil, true},                // trailing empty entry
		{",k1:" + sec, nil, true},
	}
	for _, tt := range tests {
		got, err := ParseKeys(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseKeys(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err != nil {
			if strings.Contains(err.Error(), sec[:8]) {
				t.Errorf("ParseKeys(%q) error %q leaks the secret", tt.in, err)
			}
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParseKeys(%q) = %d keys, want %d", tt.in, len(got), len(tt.want))
			continue
		}
		for i := range got {
			if got[i].ID != tt.want[i].ID || string(got[i].Secret) != string(tt.want[i].Secret) {
				t.Errorf("ParseKeys(%q)[%d] = %q, want %q", tt.in, i, got[i].ID, tt.want[i].ID)
			}
		}
		if _, err := New(Config{Keys: got, Length: DefaultLength}); err != nil {
			t.Errorf("New(ParseKeys(%q)) = %v", tt.in, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig().Validate() = %v", err)
	}
	good := Key{ID: "k1", Secret: secret1}
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"min length", Config{Keys: []Key{good}, Length: MinLength}, true},
		{"max length", Config{Keys: []Key{good}, Length: MaxLength}, true},
		{"length 7", Config{Keys: []Key{good}, Length: 7}, false},
		{"length 44", Config{Keys: []Key{good}, Length: 44}, false},
		{"length 0", Config{Keys: []Key{good}}, false},
		{"short secret", Config{Keys: []Key{{ID: "k1", Secret: []byte("short-secret")}}, Length: 16}, false},
		{"bad id", Config{Keys: []Key{{ID: "k.1", Secret: secret1}}, Length: 16}, false},
		{"duplicate", Config{Keys: []Key{good, good}, Length: 16}, false},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), string(secret1[:10])) {
			t.Errorf("%s: Validate() error %q leaks the secret", tt.name, err)
		}
		if _, nerr := New(tt.cfg); (nerr == nil) != tt.ok {
			t.Errorf("%s: New() error = %v, want ok %v", tt.name, nerr, tt.ok)
		}
	}
}

// FuzzVerify drives the signature check the way requests do: an options
// segment from the URL, a key and a signature, and a tampering choice.
//   - Verify never panics and answers only nil, ErrMissing,
//     ErrUnknownKey, ErrInvalid or ErrExpired;
//   - it accepts a signature exactly when it is the documented HMAC
//     (reference: base64url HMAC-SHA256(secret[kid], canonical options
//     without s_ + "/" + key), first Length characters), computed here
//     independently of the package;
//   - the URL SignPath hands out, taken apart and parsed as the server
//     does, always verifies (or is expired, when exp_ has passed);
//   - that signed URL with any one byte of its signature, key or options
//     changed, with any other key id, or with its signature presented for
//     a srcset, never verifies.
func FuzzVerify(f *testing.F) {
	f.Add("w_400,f_webp", testKey, "QOFx9b7aBD4-Os_T", uint16(0), byte(1))
	f.Add("w_400,kid_k2", testKey, "AAAAAAAAAAAAAAAA", uint16(3), byte(0x80))
	f.Add("kid_k3,w_1", "x.png", "", uint16(70), byte('a'))
	f.Add("t_thumb,exp_1", "", "a", uint16(5), byte(0))
	f.Add("w_1,exp_2000000000", "k/../x", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", uint16(9), byte(' '))
	f.Add("c_fit", testKey, "QOFx9b7aBD4-Os_T", uint16(15), byte('-'))
	f.Add("", "", "", uint16(0), byte(0))
	s := testSigner(f)
	p := testParser(f)
	secrets := map[string][]byte{"": secret1, "k1": secret1, "k2": secret2}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, opts, key, sig string, pos uint16, x byte) {
		o, err := p.Parse(opts)
		if err != nil {
			// Unparsable options reach Verify in no real request, but a
			// hand-built struct must not crash it either.
			o = options.Options{KeyID: opts}
		}
		o.Signature = sig
		verr := s.Verify(o, key, now)
		secret, known := secrets[o.KeyID]
		var want string
		if known {
			want = reference(secret, o.Unsigned().String()+"/"+key, DefaultLength)
		}
		switch {
		case sig == "":
			if verr != ErrMissing {
				t.Fatalf("Verify(%q, %q, no signature) = %v, want %v", opts, key, verr, ErrMissing)
			}
		case !known:
			if verr != ErrUnknownKey {
				t.Fatalf("Verify(%q, %q) with kid %q = %v, want %v", opts, key, o.KeyID, verr, ErrUnknownKey)
			}
		case sig != want:
			if verr != ErrInvalid {
				t.Fatalf("Verify(%q, %q, %q) = %v, want %v (real signature %q)", opts, key, sig, verr, ErrInvalid, want)
			}
		case o.Expires != 0 && now.Unix() > o.Expires:
			if verr != ErrExpired {
				t.Fatalf("Verify(%q, %q, real signature) past exp_ = %v, want %v", opts, key, verr, ErrExpired)
			}
		default:
			if verr != nil {
				t.Fatalf("Verify(%q, %q, real signature) = %v", opts, key, verr)
			}
		}
		if err != nil || !known || strings.Contains(key, "/") {
			return
		}

		// The URL handed out verifies once taken apart like a request.
		path, err := s.SignPath(o, key)
		if err != nil {
			t.Fatalf("SignPath(%q, %q): %v", opts, key, err)
		}
		rest, _ := strings.CutPrefix(path, "/t/")
		segment, gotKey, _ := strings.Cut(rest, "/")
		signed, err := p.Parse(segment)
		if err != nil || gotKey != key {
			t.Fatalf("SignPath(%q, %q) = %q, which does not parse back: %v", opts, key, path, err)
		}
		if err := s.Verify(signed, key, now); err != nil && err != ErrExpired {
			t.Fatalf("Verify(%q) = %v, want nil", path, err)
		}
		if signed.Signature != want {
			t.Fatalf("SignPath(%q, %q) = %q, want s_%s", opts, key, path, want)
		}

		tampered := func(what string, o options.Options, key string) {
			t.Helper()
			if err := s.Verify(o, key, now); err != ErrInvalid && err != ErrUnknownKey {
				t.Fatalf("Verify of %q with %s = %v, want %v", path, what, err, ErrInvalid)
			}
		}
		// One byte of the signature changed.
		if b := []byte(signed.Signature); x != b[int(pos)%len(b)] {
			b[int(pos)%len(b)] = x
			bad := signed
			bad.Signature = string(b)
			tampered("signature byte changed to "+strconv.Quote(string(x)), bad, key)
		}
		// One byte of the key changed, or the key cut short.
		if key != "" {
			if b := []byte(key); x != b[int(pos)%len(b)] {
				b[int(pos)%len(b)] = x
				tampered("key "+strconv.Quote(string(b)), signed, string(b))
			}
			tampered("key cut to "+strconv.Quote(key[:len(key)-1]), signed, key[:len(key)-1])
		}
		// Any other option: a different width, quality or expiry.
		bad := signed
		bad.Width = (signed.Width + 1 + int(x)) % 8193
		tampered("w_ changed", bad, key)
		bad = signed
		bad.Expires = signed.Expires + 1 + int64(pos)
		tampered("exp_ changed", bad, key)
		// The same signature under the other key.
		bad = signed
		if bad.KeyID == "k2" {
			bad.KeyID = "k1"
		} else {
			bad.KeyID = "k2"
		}
		tampered("kid_ "+bad.KeyID, bad, key)
		// A /t/ signature is no srcset signature, for any width list.
		if err := s.VerifySrcset(signed, key, strconv.Itoa(int(pos)), now); err != ErrInvalid {
			t.Fatalf("VerifySrcset of the /t/ signature of %q = %v, want %v", path, err, ErrInvalid)
		}
	})
}

func BenchmarkVerify(b *testing.B) {
	s := testSigner(b)
	o := options.Options{Width: 400, Format: 2}
	sig, err := s.Sign(o, testKey)
	if err != nil {
		b.Fatal(err)
	}
	o.Signature = sig
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Verify(o, testKey, now); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSrcsetSignature(t *testing.T) {
	s, err := New(Config{Keys: []Key{{ID: "k1", Secret: []byte("a-long-random-secret-0123456789")}}, Length: DefaultLength})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_800_000_000, 0)
	o := options.Options{Format: 0, Quality: 80}
	const key = "0123456789abcdef0123456789abcdef.jpg"
	sig, err := s.SignSrcset(o, key, "320,640")
	if err != nil {
		t.Fatal(err)
	}
	o.Signature = sig
	if err := s.VerifySrcset(o, key, "320,640", now); err != nil {
		t.Errorf("VerifySrcset of its own signature = %v", err)
	}
	for _, widths := range []string{"320,641", "320", "320,640,960", ""} {
		if err := s.VerifySrcset(o, key, widths, now); err != ErrInvalid {
			t.Errorf("VerifySrcset with widths %q = %v, want ErrInvalid", widths, err)
		}
	}
	// A srcset signature is not a /t/ signature for the same options.
	if err := s.Verify(o, key, now); err != ErrInvalid {
		t.Errorf("Verify (a /t/ URL) with a srcset signature = %v, want ErrInvalid", err)
	}
	tsig, _ := s.Sign(o, key)
	o.Signature = tsig
	if err := s.VerifySrcset(o, key, "", now); err != ErrInvalid {
		t.Errorf("VerifySrcset with a /t/ signature = %v, want ErrInvalid", err)
	}
}
