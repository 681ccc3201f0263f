// Package store keeps originals: the uploaded images every variant is made
// from.
//
// Store is what the server and pictor import use; it has two backends,
// chosen by PICTOR_STORE, and one conformance suite (store_test.go) runs
// against both.
//
// FS (the default) is a content-addressed tree on the local file system.
// An upload streams into a temporary file under <dir>/tmp while its
// SHA-256 is computed (nothing is held whole in memory); Commit fsyncs it
// and links it atomically into place as
//
//	<dir>/originals/3f/9a/3f9a0c…e1.jpg
//
// where the name is the key: the lowercase hex of the whole SHA-256 of the
// bytes (64 digits), a dot, and the extension. Identical bytes always get
// the same key, so uploading twice stores once. Keys of 32 to 64 digits are
// valid in URLs (the pattern below), but a key finds only the file of
// exactly its name, and this store names what it writes with all 64. A
// crash at any point leaves either no original or a complete one, never
// half of one; at worst a stale temporary file, which Open sweeps away.
//
// S3 keeps originals in an S3-compatible bucket (minio-go), as objects
// named like FS's files under a prefix, and every read goes through a
// local copy kept by an FS in the data directory, bounded by a byte budget
// (least recently used first). An upload streams and is checked locally as
// with FS; Commit puts the finished file under its key (a PUT is atomic,
// and If-None-Match: * makes one of several identical puts Created),
// skipping bytes the bucket already has, and keeps the file as the local
// copy. A miss fetches the object once for all concurrent callers, hashing
// it into a temporary file that is named only when its digest matches the
// key, so decode maps only complete, verified local files. Delete writes a
// tombstone object before removing the original; every sidecar's sync loop
// lists the tombstones and purges what it derived from them. Only reads
// are retried; errors of the object store wrap ErrUnavailable, with any
// credential removed from their text.
//
// Keys come from URLs, so they are untrusted. ValidKey checks a key against
// ^[0-9a-f]{32,64}\.(jpg|png|webp|gif|avif|heic)$ (the grammar of package keys,
// shared with the disk cache) before any file system access,
// and every local access goes through an os.Root opened on the data
// directory, so even a symbolic link planted inside the tree cannot make a
// read or a write leave it.
//
// The server turns a key into an X-Accel-Redirect URI with RelPath, so that
// Nginx sends originals (with S3, the local copies) straight from disk.
package store
