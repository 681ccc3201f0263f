// Package cache keeps finished variants, and decoded originals, so that a
// repeated request costs a lookup instead of a decode, resize and encode.
//
// A variant enters as an Entry: the encoded bytes together with the
// response headers that depend only on them (Content-Type, a strong ETag,
// Content-Digest), computed once by NewEntry so that a hit does no hashing
// and no formatting. Entries are keyed by the variant key (a hash of
// canonical options, negotiated format, original key and pipeline
// version; see transform) and grouped by the original they were made from,
// so that deleting an original purges all of its variants.
//
// Two tiers implement Tier, and one conformance suite runs against both
// and against their combination:
//
//   - Memory, a ristretto cache bounded by a byte budget. Its admission
//     policy (TinyLFU) keeps one-off variants from pushing out popular
//     ones, and a hit allocates nothing.
//   - Disk, one file per variant under <data>/cache, named by its digest,
//     size and dimensions, so that it can be checked on read and charged
//     against its golang-lru/v2 byte budget without being read. Files are
//     written under a temporary name and renamed; the index is rebuilt at
//     start-up from the directory listing alone. Behind Nginx a disk hit
//     is not read at all: Locate gives the file's path and headers, and
//     Nginx sends it with sendfile.
//
// Tiered puts memory in front of disk: a lookup falls through to disk and
// promotes what it finds; a Set goes to memory at once and to disk through
// a bounded background writer, so a request never waits on the disk.
//
// Decoded is a byte-bounded LRU of decoded originals (the pipeline's
// images, through a small generic interface), so that several variants of
// one original decode it once. Group collapses identical concurrent calls,
// so that 100 requests for one variant run the pipeline once.
//
// Entries are shared between concurrent readers: neither the cache nor its
// callers may modify an Entry or its Body after Set.
package cache
