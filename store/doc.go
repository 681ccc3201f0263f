// Package store keeps originals: the uploaded images every variant is made
// from.
//
// The only backend today is FS, a content-addressed tree on the local file
// system. An upload streams into a temporary file under <dir>/tmp while its
// SHA-256 is computed (nothing is held whole in memory); Commit fsyncs it and
// links it atomically into place as
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
// Keys come from URLs, so they are untrusted. ValidKey checks a key against
// ^[0-9a-f]{32,64}\.(jpg|png|webp|gif|avif|heic)$ (the grammar of package keys,
// shared with the disk cache) before any file system access,
// and every access goes through an os.Root opened on the data directory, so
// even a symbolic link planted inside the tree cannot make a read or a write
// leave it.
//
// The server turns a key into an X-Accel-Redirect URI with RelPath, so that
// Nginx sends originals straight from disk.
package store
