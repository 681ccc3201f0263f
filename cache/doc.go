// Package cache keeps finished variants so that a repeated request costs a
// map lookup instead of a decode, resize and encode.
//
// A variant enters as an Entry: the encoded bytes together with the
// response headers that depend only on them (Content-Type, a strong ETag,
// Content-Digest), computed once by NewEntry so that a hit does no hashing
// and no formatting. Memory is the first tier, a ristretto cache bounded by
// a byte budget, keyed by the variant key string (a hash of canonical
// options, negotiated format, original key and pipeline version; see
// transform). Its admission policy (TinyLFU) keeps one-off variants from
// pushing out popular ones, and a Get that hits allocates nothing.
//
// Entries are shared between concurrent readers: neither the cache nor its
// callers may modify an Entry or its Body after Set.
package cache
