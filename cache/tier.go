package cache

// Tier is what each variant tier (Memory, Disk) and the tiered cache
// (Tiered) offer. One conformance suite, conformance_test.go, runs against
// every implementation. A Set may become visible to Get a little later
// (Memory and Tiered apply it in the background); the tests wait for it
// through export_test.go, so no production type carries a test hook.
type Tier interface {
	// Get returns the entry stored under the variant key vkey. An entry is
	// never returned unless its bytes match its ETag and Content-Digest.
	Get(vkey string) (*Entry, bool)
	// Set stores e under vkey, made from the original orig, and reports
	// whether it was taken; a tier may decline (budget, admission policy,
	// a failed write) without error, since a variant can be made again.
	Set(orig, vkey string, e *Entry) bool
	// Purge removes every variant made from orig.
	Purge(orig string)
}

var _ Tier = (*Memory)(nil)
