package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/pictorhq/pictor/transform/options"
	"github.com/pictorhq/pictor/transform/sign"
)

// tamperKeys adds a second signing key, so that kid_ can be switched
// between two keys the server really holds.
const tamperKeys = signingKey + ",k2:e2e-second-signing-secret-0123"

const (
	tamperCount   = 10000
	tamperWorkers = 6
)

// signedBase is a valid signed URL that mutations start from.
type signedBase struct {
	path string          // /t/<options with s_>/<key>
	o    options.Options // parsed from path
	key  string
	etag string // of the variant it serves
}

// pathParts is a /t/ path taken apart for structural mutations.
type pathParts struct {
	comps []string // name_value, s_ included
	key   string
	tail  string // a query or fragment appended by a mutation
}

func (p *pathParts) String() string {
	return "/t/" + strings.Join(p.comps, ",") + "/" + p.key + p.tail
}

// comp returns the index of the component named name, or -1.
func (p *pathParts) comp(name string) int {
	for i, c := range p.comps {
		if n, _, _ := strings.Cut(c, "_"); n == name {
			return i
		}
	}
	return -1
}

// tamperer makes mutated URLs from the bases.
type tamperer struct {
	r     *mrand.Rand
	bases []signedBase
	keys  []string // every uploaded original
	now   time.Time
}

type mutator struct {
	name string
	fn   func(tm *tamperer, p *pathParts) bool // false: not applicable here
}

// structural mutators change the URL's components; raw ones its bytes.
var structural = []mutator{
	{"signature bit flip", (*tamperer).sigBitFlip},
	{"signature character", (*tamperer).sigChar},
	{"signature case", (*tamperer).sigCase},
	{"signature truncated", (*tamperer).sigTruncate},
	{"signature extended", (*tamperer).sigExtend},
	{"signature removed", (*tamperer).sigDrop},
	{"signature from another URL", (*tamperer).sigSwap},
	{"signature moved to the query", (*tamperer).sigToQuery},
	{"value changed", (*tamperer).valueChange},
	{"reordered", (*tamperer).reorder},
	{"duplicated", (*tamperer).duplicate},
	{"option added", (*tamperer).addOption},
	{"option removed", (*tamperer).removeOption},
	{"exp_ tampered", (*tamperer).expTamper},
	{"kid_ tampered", (*tamperer).kidTamper},
	{"key tampered", (*tamperer).keyTamper},
}

var rawMutators = []struct {
	name string
	fn   func(tm *tamperer, s string) string
}{
	{"path truncated", (*tamperer).truncate},
	{"percent-encoded", (*tamperer).percentEncode},
	{"double-encoded", (*tamperer).doubleEncode},
	{"case changed", (*tamperer).caseChange},
	{"slash inserted", (*tamperer).insertSlash},
	{"separator changed", (*tamperer).separator},
	{"query or fragment", (*tamperer).appendTail},
	{"whitespace or NUL", (*tamperer).insertSpace},
}

// mutate returns a URL path that differs from base's, and the mutations
// that made it. Every structural mutator leads in turn, so that each is
// well represented; one or two more of either kind may follow.
func (tm *tamperer) mutate(i int, base signedBase) (string, []string) {
	for {
		p := split(base.path)
		var kinds []string
		first := structural[i%len(structural)]
		if first.fn(tm, p) {
			kinds = append(kinds, first.name)
		}
		for range tm.r.IntN(2) {
			m := structural[tm.r.IntN(len(structural))]
			if m.fn(tm, p) {
				kinds = append(kinds, m.name)
			}
		}
		s := p.String()
		if i%3 == 0 {
			m := rawMutators[tm.r.IntN(len(rawMutators))]
			s = m.fn(tm, s)
			kinds = append(kinds, m.name)
		}
		// A request target must start with one '/' (net/http would send
		// "//x" as an absolute URI), and a mutation must change something.
		if len(kinds) > 0 && s != base.path && strings.HasPrefix(s, "/") && !strings.HasPrefix(s, "//") {
			return s, kinds
		}
	}
}

func split(path string) *pathParts {
	rest := strings.TrimPrefix(path, "/t/")
	i := strings.LastIndexByte(rest, '/')
	return &pathParts{comps: strings.Split(rest[:i], ","), key: rest[i+1:]}
}

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// escapeOdd percent-encodes the bytes that cannot stand in a request
// target as they are, or would end the path.
func escapeOdd(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7F || strings.IndexByte(`%?#/\"<>^`+"`{|}", c) >= 0 {
			fmt.Fprintf(&b, "%%%02X", c)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// sig returns the index of s_ and its value.
func (p *pathParts) sig() (int, string) {
	i := p.comp("s")
	if i < 0 {
		return -1, ""
	}
	return i, p.comps[i][2:]
}

func (tm *tamperer) sigBitFlip(p *pathParts) bool {
	i, s := p.sig()
	if i < 0 || s == "" {
		return false
	}
	b := []byte(s)
	b[tm.r.IntN(len(b))] ^= 1 << tm.r.IntN(7)
	p.comps[i] = "s_" + escapeOdd(string(b))
	return true
}

func (tm *tamperer) sigChar(p *pathParts) bool {
	i, s := p.sig()
	if i < 0 || s == "" {
		return false
	}
	b := []byte(s)
	j := tm.r.IntN(len(b))
	for c := b[j]; c == b[j]; {
		b[j] = b64url[tm.r.IntN(len(b64url))]
	}
	p.comps[i] = "s_" + string(b)
	return true
}

func (tm *tamperer) sigCase(p *pathParts) bool {
	i, s := p.sig()
	var letters []int
	for j := 0; j < len(s); j++ {
		if c := s[j] | 0x20; c >= 'a' && c <= 'z' {
			letters = append(letters, j)
		}
	}
	if i < 0 || len(letters) == 0 {
		return false
	}
	b := []byte(s)
	b[letters[tm.r.IntN(len(letters))]] ^= 0x20
	p.comps[i] = "s_" + string(b)
	return true
}

func (tm *tamperer) sigTruncate(p *pathParts) bool {
	i, s := p.sig()
	if i < 0 || s == "" {
		return false
	}
	p.comps[i] = "s_" + s[:tm.r.IntN(len(s))]
	return true
}

func (tm *tamperer) sigExtend(p *pathParts) bool {
	i, s := p.sig()
	if i < 0 {
		return false
	}
	for range 1 + tm.r.IntN(8) {
		s += string(b64url[tm.r.IntN(len(b64url))])
	}
	p.comps[i] = "s_" + s
	return true
}

func (tm *tamperer) sigDrop(p *pathParts) bool {
	i, _ := p.sig()
	if i < 0 {
		return false
	}
	p.comps = slices.Delete(p.comps, i, i+1)
	return true
}

func (tm *tamperer) sigSwap(p *pathParts) bool {
	i, s := p.sig()
	other := tm.bases[tm.r.IntN(len(tm.bases))].o.Signature
	if i < 0 || other == s {
		return false
	}
	p.comps[i] = "s_" + other
	return true
}

func (tm *tamperer) sigToQuery(p *pathParts) bool {
	i, s := p.sig()
	if i < 0 {
		return false
	}
	p.comps = slices.Delete(p.comps, i, i+1)
	p.tail = "?s_=" + s
	return true
}

// alternatives lists other spellings and values for an option: some
// invalid, some valid and different, a few equivalent in canonical form.
func (tm *tamperer) alternatives(name, value string) []string {
	num := func(v string) []string {
		n, _ := strconv.Atoi(v)
		return []string{strconv.Itoa(n + 1), strconv.Itoa(n - 1), strconv.Itoa(n * 2), "0", "0" + v, "+" + v, "-" + v,
			v + ".0", "99999", "", "1e2", "0x40", "%20" + v, v + "%00"}
	}
	switch name {
	case "w", "h", "x", "y":
		return num(value)
	case "c":
		return []string{"fit", "fill", "limit", "pad", "scale", "crop", "FILL", "", "fil"}
	case "g":
		return []string{"center", "north", "south", "east", "west", "north_east", "north_west", "south_east", "south_west", "auto", "north-east", "NORTH_EAST"}
	case "dpr":
		return []string{"1", "1.5", "2", "2.5", "3", "3.5", "4", "5", "2.0", "0.5", ""}
	case "f":
		return []string{"jpeg", "jpg", "png", "webp", "avif", "gif", "auto", "JPEG", "bmp", ""}
	case "q":
		return append(num(value), "100", "1", "101", "auto")
	case "b":
		up := strings.ToUpper(value) // equivalent: colours parse in either case
		return []string{up, "000000", "ff8801", "fff", "gggggg", value + "0", "#" + value}
	case "e":
		return []string{"blur:1.5", "grayscale:blur:1.5", "blur:1.50", "blur:2:grayscale", "sharpen", "grayscale", "blur:1.5:grayscale:sharpen", ""}
	case "exp":
		n, _ := strconv.ParseInt(value, 10, 64)
		return []string{strconv.FormatInt(n+1, 10), strconv.FormatInt(n-1, 10), strconv.FormatInt(n+3600, 10),
			strconv.FormatInt(tm.now.Unix()-10, 10), "0", "99999999999", "0" + value, ""}
	case "kid":
		return []string{"k1", "k2", "k3", "K1", "", "k1-"}
	}
	return []string{value + "x"}
}

// unsignedComp picks the index of a random component other than s_; false
// when there is none.
func (tm *tamperer) unsignedComp(p *pathParts) (int, bool) {
	var cand []int
	for i, c := range p.comps {
		if !strings.HasPrefix(c, "s_") {
			cand = append(cand, i)
		}
	}
	if len(cand) == 0 {
		return 0, false
	}
	return cand[tm.r.IntN(len(cand))], true
}

func (tm *tamperer) valueChange(p *pathParts) bool {
	i, ok := tm.unsignedComp(p)
	if !ok {
		return false
	}
	name, value, _ := strings.Cut(p.comps[i], "_")
	alts := slices.DeleteFunc(tm.alternatives(name, value), func(a string) bool { return a == value })
	p.comps[i] = name + "_" + alts[tm.r.IntN(len(alts))]
	return true
}

func (tm *tamperer) reorder(p *pathParts) bool {
	if len(p.comps) < 2 {
		return false
	}
	orig := slices.Clone(p.comps)
	for slices.Equal(orig, p.comps) {
		tm.r.Shuffle(len(p.comps), func(i, j int) { p.comps[i], p.comps[j] = p.comps[j], p.comps[i] })
	}
	return true
}

func (tm *tamperer) duplicate(p *pathParts) bool {
	c := p.comps[tm.r.IntN(len(p.comps))]
	if tm.r.IntN(2) == 0 {
		name, value, _ := strings.Cut(c, "_")
		alts := tm.alternatives(name, value)
		c = name + "_" + alts[tm.r.IntN(len(alts))]
	}
	at := tm.r.IntN(len(p.comps) + 1)
	p.comps = slices.Insert(p.comps, at, c)
	return true
}

func (tm *tamperer) addOption(p *pathParts) bool {
	extra := []string{"q_80", "c_limit", "e_sharpen", "b_000000", "dpr_2", "f_png", "w_300", "h_300",
		"exp_" + strconv.FormatInt(tm.now.Add(time.Hour).Unix(), 10), "kid_k1", "kid_k2", "t_thumb", "zz_1",
		"c_fit", "dpr_1", "g_center", "x_0"} // the last four are defaults or conditional
	c := extra[tm.r.IntN(len(extra))]
	p.comps = slices.Insert(p.comps, tm.r.IntN(len(p.comps)+1), c)
	return true
}

func (tm *tamperer) removeOption(p *pathParts) bool {
	i, ok := tm.unsignedComp(p)
	if !ok {
		return false
	}
	p.comps = slices.Delete(p.comps, i, i+1)
	return true
}

func (tm *tamperer) expTamper(p *pathParts) bool {
	i := p.comp("exp")
	if i < 0 { // add one to a URL signed without
		exp := tm.now.Add(time.Duration(tm.r.IntN(48)-24) * time.Hour).Unix()
		p.comps = slices.Insert(p.comps, tm.r.IntN(len(p.comps)+1), "exp_"+strconv.FormatInt(exp, 10))
		return true
	}
	if tm.r.IntN(4) == 0 {
		p.comps = slices.Delete(p.comps, i, i+1)
		return true
	}
	alts := tm.alternatives("exp", p.comps[i][4:])
	p.comps[i] = "exp_" + alts[tm.r.IntN(len(alts))]
	return true
}

func (tm *tamperer) kidTamper(p *pathParts) bool {
	i := p.comp("kid")
	if i < 0 {
		kid := []string{"k1", "k2", "k3"}[tm.r.IntN(3)]
		p.comps = slices.Insert(p.comps, tm.r.IntN(len(p.comps)+1), "kid_"+kid)
		return true
	}
	if tm.r.IntN(4) == 0 {
		p.comps = slices.Delete(p.comps, i, i+1)
		return true
	}
	alts := slices.DeleteFunc(tm.alternatives("kid", p.comps[i][4:]), func(a string) bool { return a == p.comps[i][4:] })
	p.comps[i] = "kid_" + alts[tm.r.IntN(len(alts))]
	return true
}

func (tm *tamperer) keyTamper(p *pathParts) bool {
	k := p.key
	dot := strings.IndexByte(k, '.')
	if dot < 32 { // an earlier mutation left no key to speak of
		return false
	}
	switch tm.r.IntN(7) {
	case 0: // one hex digit changed
		b := []byte(k)
		j := tm.r.IntN(dot)
		b[j] = "0123456789abcdef"[(strings.IndexByte("0123456789abcdef", b[j])+1+tm.r.IntN(15))%16]
		p.key = string(b)
	case 1: // another extension
		p.key = k[:dot] + []string{".png", ".jpeg", ".JPG", ".webp", ".jpg.png", ""}[tm.r.IntN(6)]
	case 2:
		p.key = strings.ToUpper(k)
	case 3: // the 32-digit prefix: a well-formed key for another file
		p.key = k[:32] + k[dot:]
	case 4:
		p.key = k[:dot] + "0" + k[dot:]
	case 5: // another original that exists
		for _, o := range tm.keys {
			if o != k {
				p.key = o
			}
		}
	default:
		p.key = k[:tm.r.IntN(len(k))]
	}
	return p.key != k
}

// pathStart is where mutations of the raw path may begin: after "/t/"
// most of the time, anywhere after the first '/' sometimes.
func (tm *tamperer) pathStart() int {
	if tm.r.IntN(8) == 0 {
		return 1
	}
	return 3
}

func (tm *tamperer) truncate(s string) string {
	return s[:1+tm.r.IntN(len(s)-1)]
}

func (tm *tamperer) percentEncode(s string) string {
	b := []byte(s)
	var out strings.Builder
	picks := map[int]bool{}
	for range 1 + tm.r.IntN(4) {
		picks[tm.pathStart()+tm.r.IntN(len(b)-3)] = true
	}
	hexDigits := "0123456789ABCDEF"
	if tm.r.IntN(2) == 0 {
		hexDigits = "0123456789abcdef"
	}
	for i, c := range b {
		if picks[i] {
			out.WriteByte('%')
			out.WriteByte(hexDigits[c>>4])
			out.WriteByte(hexDigits[c&15])
			continue
		}
		out.WriteByte(c)
	}
	return out.String()
}

func (tm *tamperer) doubleEncode(s string) string {
	i := tm.pathStart() + tm.r.IntN(len(s)-3)
	return s[:i] + fmt.Sprintf("%%25%02X", s[i]) + s[i+1:]
}

func (tm *tamperer) caseChange(s string) string {
	b := []byte(s)
	var letters []int
	for i := 1; i < len(b); i++ {
		if c := b[i] | 0x20; c >= 'a' && c <= 'z' {
			letters = append(letters, i)
		}
	}
	for range 1 + tm.r.IntN(3) {
		b[letters[tm.r.IntN(len(letters))]] ^= 0x20
	}
	return string(b)
}

func (tm *tamperer) insertSlash(s string) string {
	i := 2 + tm.r.IntN(len(s)-1)
	return s[:i] + []string{"/", "//", "/./", "%2F", "%2f"}[tm.r.IntN(5)] + s[i:]
}

func (tm *tamperer) separator(s string) string {
	subs := []struct{ from, to string }{
		{",", ";"}, {",", "%2C"}, {",", "&"}, {",", ",,"}, {",", "%20"}, {",", "."},
		{"_", "-"}, {"_", "="}, {"_", ":"}, {"_", "%5F"}, {"_", "__"},
	}
	sub := subs[tm.r.IntN(len(subs))]
	var at []int
	for i := 3; i < len(s); i++ {
		if strings.HasPrefix(s[i:], sub.from) {
			at = append(at, i)
		}
	}
	if len(at) == 0 {
		return s + sub.to
	}
	i := at[tm.r.IntN(len(at))]
	return s[:i] + sub.to + s[i+len(sub.from):]
}

func (tm *tamperer) appendTail(s string) string {
	return s + []string{"?x=1", "?", "?s_=AAAAAAAAAAAAAAAA", "#frag", "?w=100", "/", "/.", "%00", ";x=1"}[tm.r.IntN(9)]
}

func (tm *tamperer) insertSpace(s string) string {
	i := tm.pathStart() + tm.r.IntN(len(s)-3)
	return s[:i] + []string{"%20", "%09", "%00", "+", "%0A", "%0d%0a"}[tm.r.IntN(6)] + s[i:]
}

// equivalent reports whether path asks for exactly what base does, as the
// server sees it: fasthttp drops the query and fragment, decodes percent
// escapes and collapses repeated slashes; then the options must parse to
// the same canonical options (s_ included) and the key must be the same.
// The signature covers the canonical form (docs/options.md, Signing), so
// such a URL is base itself in another spelling and is served by design.
func equivalent(parser *options.Parser, path string, base signedBase) bool {
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	dec, err := url.PathUnescape(path)
	if err != nil {
		return false
	}
	rest, ok := strings.CutPrefix(cleanPath(dec), "/t/")
	i := strings.LastIndexByte(rest, '/')
	if !ok || i < 0 {
		return false
	}
	o, err := parser.Parse(rest[:i])
	return err == nil && o == base.o && rest[i+1:] == base.key
}

// cleanPath normalises a decoded path as fasthttp does before routing:
// repeated slashes collapse, "." segments go, ".." removes the segment
// before it; a trailing slash stays.
func cleanPath(p string) string {
	segs := strings.Split(p, "/")[1:]
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case "", ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

type tamperResult struct {
	path   string
	kinds  []string
	base   int
	status int
	etag   string
	body   string
	err    error
}

// Ten thousand mutations of valid signed URLs: none is served unless it
// is, in canonical form, the very URL that was signed.
func TestTamperedURLs(t *testing.T) {
	in := start(t, "PICTOR_SIGNING_KEYS="+tamperKeys)
	keys, err := sign.ParseKeys(tamperKeys)
	if err != nil {
		t.Fatal(err)
	}
	cfg := sign.DefaultConfig()
	cfg.Keys = keys
	signer, err := sign.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	photo := in.uploadFile("../testdata/sample.jpg")
	alpha := in.uploadFile("../testdata/alpha.png")
	exp := time.Now().Add(time.Hour).Unix()
	client := &http.Client{
		Timeout:   sweepDeadline,
		Transport: &http.Transport{MaxIdleConnsPerHost: tamperWorkers, DisableCompression: true},
	}
	defer client.CloseIdleConnections()

	var bases []signedBase
	for _, b := range []struct{ opts, key string }{
		{"w_200,f_webp", photo},
		{"w_64,h_64,c_fill,g_north_east,f_png", photo},
		{"w_120,h_80,c_pad,b_ff8800,q_70,f_jpeg", alpha},
		{fmt.Sprintf("w_100,f_jpeg,e_blur:1.5:grayscale,exp_%d", exp), photo},
		{"w_90,f_webp,kid_k2", alpha},
		{"h_50,dpr_2,f_png", alpha},
		{"w_40,h_30,c_crop,x_5,y_7,f_jpeg", photo},
		{"w_80,q_60,f_avif,kid_k1", photo},
	} {
		o, err := in.parser.Parse(b.opts)
		if err != nil {
			t.Fatalf("Parse(%q): %v", b.opts, err)
		}
		path, err := signer.SignPath(o, b.key)
		if err != nil {
			t.Fatal(err)
		}
		r := fetch(client, in.base, path)
		if r.err != nil || r.status != 200 || r.etag == "" {
			t.Fatalf("base URL %s: %d %v %s", path, r.status, r.err, r.body)
		}
		if o, err = in.parser.Parse(strings.Join(split(path).comps, ",")); err != nil {
			t.Fatalf("the signed URL %s does not parse: %v", path, err)
		}
		bases = append(bases, signedBase{path: path, o: o, key: b.key, etag: r.etag})
	}

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PICTOR_TAMPER_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	tm := &tamperer{r: mrand.New(mrand.NewPCG(seed, 7)), bases: bases, keys: []string{photo, alpha}, now: time.Now()}
	// Distinct URLs only: dropping s_ from a base, say, can only be done
	// one way, and repeats would pad the count.
	results := make([]tamperResult, 0, tamperCount)
	seen := map[string]bool{}
	tried := map[string]int{}
	for i := 0; len(results) < tamperCount; i++ {
		if i > 20*tamperCount {
			t.Fatalf("only %d distinct mutations after %d tries", len(results), i)
		}
		b := i % len(bases)
		path, kinds := tm.mutate(i/len(bases), bases[b])
		if seen[path] {
			continue
		}
		seen[path] = true
		for _, k := range kinds {
			tried[k]++
		}
		results = append(results, tamperResult{path: path, kinds: kinds, base: b})
	}

	began := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range tamperWorkers {
		wg.Go(func() {
			for i := range next {
				r := fetch(client, in.base, results[i].path)
				results[i].status, results[i].etag, results[i].body, results[i].err = r.status, r.etag, r.body, r.err
			}
		})
	}
	for i := range results {
		next <- i
	}
	close(next)
	wg.Wait()
	took := time.Since(began)
	in.alive()

	var accepted, equivAccepted, equivRefused, bad int
	refused := map[int]int{}
	byKind := map[string]int{}
	for _, r := range results {
		b := bases[r.base]
		equiv := equivalent(in.parser, r.path, b)
		reorderOnly := len(r.kinds) == 1 && r.kinds[0] == "reordered"
		switch {
		case r.err != nil:
			bad++
			t.Errorf("%s (%s): %v", r.path, strings.Join(r.kinds, ", "), r.err)
		case r.status == 200 || r.status == 304:
			if !equiv {
				accepted++
				t.Errorf("accepted a tampered URL: %s (%s from %s): %d", r.path, strings.Join(r.kinds, ", "), b.path, r.status)
				continue
			}
			equivAccepted++
			for _, k := range r.kinds {
				byKind[k]++
			}
			if r.etag != b.etag {
				t.Errorf("%s, equivalent to %s, served ETag %s, want %s", r.path, b.path, r.etag, b.etag)
			}
		case r.status >= 400 && r.status < 500:
			refused[r.status]++
			if equiv {
				equivRefused++
			}
			if reorderOnly {
				t.Errorf("%s, a reordering of %s, got %d, want it served: options in any order name the same variant (w_400,f_webp is f_webp,w_400)", r.path, b.path, r.status)
			}
		default:
			bad++
			t.Errorf("%s (%s): %d %s, want 4xx", r.path, strings.Join(r.kinds, ", "), r.status, r.body)
		}
	}
	var kinds, all []string
	for _, m := range structural {
		all = append(all, fmt.Sprintf("%s %d (%d equivalent)", m.name, tried[m.name], byKind[m.name]))
	}
	for _, m := range rawMutators {
		all = append(all, fmt.Sprintf("%s %d (%d equivalent)", m.name, tried[m.name], byKind[m.name]))
	}
	for k, n := range byKind {
		kinds = append(kinds, fmt.Sprintf("%s %d", k, n))
	}
	slices.Sort(kinds)
	line := fmt.Sprintf("tamper: %d mutated signed URLs from %d bases, %d accepted, %d equivalent accepted by design, %d equivalent refused, %d refused (%s), %d 5xx or errors, seed %d, %v (%.0f req/s)",
		len(results), len(bases), accepted, equivAccepted, equivRefused, sum(refused), statusCounts(refused), bad, seed,
		took.Round(10*time.Millisecond), float64(len(results))/took.Seconds())
	t.Log(line)
	t.Logf("mutations by kind (a URL may have had several): %s", strings.Join(all, "; "))
	t.Logf("the equivalent ones parse to the signed canonical options, s_ and key: reorderings, percent-encodings of plain characters, other spellings (f_jpg, upper-case b_, e_ order), defaults added (c_fit, dpr_1), a query or fragment, collapsed slashes, and mutations that cancel out; each was served with the base URL's ETag")
	fmt.Println(line)
}

type fetched struct {
	status int
	etag   string
	body   string
	err    error
}

// fetch GETs a request target exactly as given: URL.Opaque keeps net/http
// from re-encoding it.
func fetch(client *http.Client, base, target string) fetched {
	req, err := http.NewRequest("GET", base+"/", nil)
	if err != nil {
		return fetched{err: err}
	}
	req.URL.Opaque = target
	resp, err := client.Do(req)
	if err != nil {
		return fetched{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return fetched{status: resp.StatusCode, etag: resp.Header.Get("ETag"), body: string(body[:min(len(body), 200)]), err: err}
}

// --- traversal ---

// rawRequest sends one request with target written byte for byte into the
// request line (net/http refuses control bytes there, and would clean
// some paths), and reads the answer with net/http's parser.
func rawRequest(t *testing.T, addr, method, target string, header map[string]string) (status int, body []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(sweepDeadline))
	var req bytes.Buffer
	fmt.Fprintf(&req, "%s %s HTTP/1.1\r\nHost: pictor\r\nConnection: close\r\n", method, target)
	for k, v := range header {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n")
	if _, err := conn.Write(req.Bytes()); err != nil {
		t.Fatalf("%s %q: %v", method, target, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s %.200q: no answer: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, _ = io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// secretFile writes a valid JPEG outside the data directory whose comment
// and trailing bytes carry marker, so that a response that read it would
// show the marker whichever way it came.
func secretFile(t *testing.T, path, marker string) []byte {
	t.Helper()
	b := append(jpegWithSegments(encodeJPEG(t, genImage(32, 32, false)), comSegment(marker)), marker...)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func randomMarker(t *testing.T) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "PICTOR-OUTSIDE-SECRET-" + hex.EncodeToString(b[:])
}

// routeRequest is one way of naming an original in a URL.
type routeRequest struct {
	method, prefix, suffix string
	auth                   bool
}

// traversalRoutes are every route that takes a key: the key goes between
// prefix and suffix.
func traversalRoutes(in *instance, validKey string) []routeRequest {
	tOpts := split(in.signed("w_64,f_jpeg", validKey)).comps
	return []routeRequest{
		{"GET", "/o/", "", false},
		{"HEAD", "/o/", "", false},
		{"GET", "/t/" + strings.Join(tOpts, ",") + "/", "", false},
		{"GET", "/info/", "", true},
		{"GET", "/srcset/f_webp/", "?w=100,200", false},
		{"DELETE", "/o/", "", true},
	}
}

// Encoded ../, %2e%2e, %2f, NUL, backslashes, over-long and double-encoded
// keys on every route that takes a key: all 4xx, none reads the secret
// placed beside the data directory, and nothing is deleted.
func TestTraversalRequests(t *testing.T) {
	in := start(t)
	good := in.uploadFile("../testdata/sample.jpg")
	goodBytes, _ := os.ReadFile("../testdata/sample.jpg")
	marker := randomMarker(t)
	outside := t.TempDir()
	secretPath := filepath.Join(outside, "secret.jpg")
	secret := secretFile(t, secretPath, marker)
	rel, err := filepath.Rel(in.dir, outside) // "../002": the data dir's sibling
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.ToSlash(rel)[3:] + "/secret.jpg"

	ups := map[string]string{
		"plain": "../", "encoded slash": "..%2f", "encoded slash upper": "..%2F", "encoded dots": "%2e%2e/",
		"all encoded": "%2e%2e%2f", "all encoded upper": "%2E%2E%2F", "encoded backslash": "..%5c",
		"backslash": `..\`, "double-encoded": "%252e%252e%252f", "overlong UTF-8 slash": "..%c0%af",
		"NUL in dots": "..%00/", "half encoded": ".%2e/", "half encoded 2": "%2e./", "dots doubled": "....//",
		"semicolon": "..;/", "double-encoded backslash": "..%255c", "overlong UTF-8 dots": "%c0%ae%c0%ae/",
		"bad escape": "..%u2216",
	}
	var tails []string
	for _, up := range ups {
		for _, depth := range []int{2, 4, 8} {
			tails = append(tails, strings.Repeat(up, depth)+target)
		}
		tails = append(tails, strings.Repeat(up, 12)+"etc/passwd")
	}
	abs := filepath.ToSlash(secretPath)
	tails = append(tails,
		abs[1:], "%2f"+abs[1:], strings.ReplaceAll(abs, "/", "%2f")[3:], "/"+abs[1:], strings.ReplaceAll(abs, "/", `\`),
		"%2fetc%2fpasswd", "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd%00.jpg", "file:"+abs,
		good+"%00", good+"%00.png", "%00"+good, good[:10]+"%00"+good[10:], good+"%00/../"+target,
		good+`\..\..\`+target, `..\..\..\..\`+strings.ReplaceAll(target, "/", `\`), good[:2]+`\`+good[2:4]+`\`+good,
		good[:2]+"/"+good[2:4]+"/"+good, "originals%2f"+good[:2]+"%2f"+good[2:4]+"%2f"+good,
		good[:64]+"%2f..%2f..%2f..%2f..%2f"+target, good+"/", good+"%2f", strings.ToUpper(good),
		strings.Repeat("a", 65)+".jpg", strings.Repeat("0", 65)+".jpg", good[:64]+"0.jpg", good+".jpg",
		strings.Repeat(good, 2), strings.Repeat("0123456789abcdef", 256)+".jpg",
		strings.Repeat("..%2f", 2000)+target, strings.Repeat("a", 16<<10)+".jpg",
	)

	statuses := map[int]int{}
	n := 0
	for _, route := range traversalRoutes(in, good) {
		for _, tail := range tails {
			header := map[string]string{}
			if route.auth {
				header["Authorization"] = "Bearer " + token
			}
			target := route.prefix + tail + route.suffix
			status, body := rawRequest(t, in.base[len("http://"):], route.method, target, header)
			n++
			statuses[status]++
			if status < 400 || status >= 500 {
				t.Errorf("%s %.120q: %d, want 4xx", route.method, target, status)
			}
			if bytes.Contains(body, []byte(marker)) || bytes.Contains(body, []byte("root:x:0:0")) {
				t.Errorf("%s %.120q: the body holds a file from outside the data directory:\n%.300q", route.method, target, body)
			}
		}
	}
	in.alive()
	if b, err := os.ReadFile(secretPath); err != nil || !bytes.Equal(b, secret) {
		t.Errorf("the file outside the data directory changed or went: %v", err)
	}
	if r := in.get("/o/" + good); r.status != 200 || !bytes.Equal(r.body, goodBytes) {
		t.Errorf("the real original after the traversal attempts: %d, %d bytes, want it intact", r.status, len(r.body))
	}
	line := fmt.Sprintf("traversal: %d requests (%d paths × %d routes), all 4xx (%s), 0 bodies with the outside secret, nothing deleted",
		n, len(tails), len(traversalRoutes(in, good)), statusCounts(statuses))
	t.Log(line)
	fmt.Println(line)
}

// plantedKey is a well-formed key whose original was planted as a
// symlink, or under a symlinked shard directory, pointing outside.
type plantedKey struct {
	how, key string
}

// keyFor is a well-formed key from seed whose first shard differs from
// every key in taken.
func keyFor(seed string, taken []string) string {
	for i := 0; ; i++ {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s-%d", seed, i)))
		k := hex.EncodeToString(sum[:]) + ".jpg"
		if !slices.ContainsFunc(taken, func(o string) bool { return o[:2] == k[:2] }) {
			return k
		}
	}
}

// Symlinks planted in the store, at an original's path and at its shard
// directories, pointing at a file outside the data directory: every route
// answers 4xx, no body holds the file, and the kernel (inotify) reports
// that nothing opened or read it.
func TestTraversalSymlinks(t *testing.T) {
	in := start(t)
	good := in.uploadFile("../testdata/sample.jpg")
	marker := randomMarker(t)
	outside := t.TempDir()
	secretPath := filepath.Join(outside, "secret.jpg")
	secret := secretFile(t, secretPath, marker)
	originals := filepath.Join(in.dir, "originals")

	taken := []string{good}
	next := func(how string) plantedKey {
		k := keyFor(how, taken)
		taken = append(taken, k)
		return plantedKey{how, k}
	}
	link := func(target, at string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(at), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, at); err != nil {
			t.Fatal(err)
		}
	}
	abs := next("absolute symlink at the original's path")
	link(secretPath, filepath.Join(originals, abs.key[:2], abs.key[2:4], abs.key))
	rel := next("relative symlink climbing out of the data directory")
	up, _ := filepath.Rel(filepath.Join(originals, rel.key[:2], rel.key[2:4]), secretPath)
	link(up, filepath.Join(originals, rel.key[:2], rel.key[2:4], rel.key))
	top := next("first shard directory a symlink")
	secretFile(t, filepath.Join(outside, "shard1", top.key[2:4], top.key), marker)
	link(filepath.Join(outside, "shard1"), filepath.Join(originals, top.key[:2]))
	second := next("second shard directory a symlink")
	secretFile(t, filepath.Join(outside, "shard2", second.key), marker)
	link(filepath.Join(outside, "shard2"), filepath.Join(originals, second.key[:2], second.key[2:4]))
	dirs := []string{outside, filepath.Join(outside, "shard1"), filepath.Join(outside, "shard1", top.key[2:4]), filepath.Join(outside, "shard2")}

	watch := newOpenWatch(t, dirs...)
	defer watch.close()

	var n int
	statuses := map[int]int{}
	for _, pk := range []plantedKey{abs, rel, top, second} {
		webp, _ := in.parser.Parse("f_webp")
		srcset, err := in.signer.SignSrcset(webp, pk.key, "100,200")
		if err != nil {
			t.Fatal(err)
		}
		for _, rr := range []struct {
			method, path string
			auth         bool
			want         []int
		}{
			{"GET", "/o/" + pk.key, false, []int{404}},
			{"HEAD", "/o/" + pk.key, false, []int{404}},
			{"GET", in.signed("w_64,f_jpeg", pk.key), false, []int{404}},
			{"GET", in.signed("f_png", pk.key), false, []int{404}},
			{"GET", "/info/" + pk.key, true, []int{404}},
			{"GET", "/srcset/f_webp,s_" + srcset + "/" + pk.key + "?w=100,200", false, []int{404}},
			// Deleting unlinks the name in the store, whatever it is;
			// it never reaches through a link.
			{"DELETE", "/o/" + pk.key, true, []int{204, 404}},
		} {
			req, _ := http.NewRequest(rr.method, in.base+rr.path, nil)
			if rr.auth {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			r := in.do(req)
			n++
			statuses[r.status]++
			if !slices.Contains(rr.want, r.status) {
				t.Errorf("%s: %s %s: %d %s, want %v", pk.how, rr.method, rr.path, r.status, r.body, rr.want)
			}
			if bytes.Contains(r.body, []byte(marker)) {
				t.Errorf("%s: %s %s: the body holds the file outside the data directory", pk.how, rr.method, rr.path)
			}
		}
	}
	in.alive()
	if opened := watch.events(t); len(opened) > 0 {
		t.Errorf("the server opened or read files outside the data directory: %s", strings.Join(opened, ", "))
	}
	if b, err := os.ReadFile(secretPath); err != nil || !bytes.Equal(b, secret) {
		t.Errorf("the file outside the data directory changed or went: %v", err)
	}
	// The watch itself works: the read just above shows in it.
	if opened := watch.events(t); len(opened) == 0 {
		t.Fatal("inotify saw nothing of the test's own read: the check above proves nothing")
	}
	line := fmt.Sprintf("traversal: %d requests on 4 keys planted as symlinks out of the store, statuses %s, 0 bodies with the secret, 0 opens outside the data directory (inotify)",
		n, statusCounts(statuses))
	t.Log(line)
	fmt.Println(line)
}

// openWatch reports opens and reads of files in some directories, through
// inotify: the kernel's record, whatever path or descriptor was used.
type openWatch struct {
	fd    int
	names map[int]string // watch descriptor → directory
}

func newOpenWatch(t *testing.T, dirs ...string) *openWatch {
	t.Helper()
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		t.Fatalf("inotify: %v", err)
	}
	w := &openWatch{fd: fd, names: map[int]string{}}
	for _, d := range dirs {
		wd, err := syscall.InotifyAddWatch(fd, d, syscall.IN_OPEN|syscall.IN_ACCESS)
		if err != nil {
			w.close()
			t.Fatalf("inotify watch %s: %v", d, err)
		}
		w.names[wd] = d
	}
	return w
}

func (w *openWatch) close() { syscall.Close(w.fd) }

// events drains what has happened since the last call.
func (w *openWatch) events(t *testing.T) []string {
	t.Helper()
	var out []string
	buf := make([]byte, 64<<10)
	for {
		n, err := syscall.Read(w.fd, buf)
		if err == syscall.EAGAIN || n <= 0 {
			return out
		}
		if err != nil {
			t.Fatalf("inotify read: %v", err)
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := string(bytes.TrimRight(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)], "\x00"))
			what := "open"
			if ev.Mask&syscall.IN_ACCESS != 0 {
				what = "read"
			}
			out = append(out, fmt.Sprintf("%s %s", what, filepath.Join(w.names[int(ev.Wd)], name)))
			off += syscall.SizeofInotifyEvent + int(ev.Len)
		}
	}
}
