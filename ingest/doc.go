// Package ingest brings existing images into a store: the files of a
// directory, or the objects of an S3 bucket under a prefix (pictor import).
//
// Each source file is streamed into a store upload while hashed, sniffed
// by its magic bytes and checked against the upload limits exactly as
// POST /upload checks it (type, bytes, pixels from the header), and then
// committed under its content key, so identical images are stored once.
// Each outcome is one JSON line of the manifest: the source, its size and
// modification time, and the key or the error. A later run reads the
// manifest first and skips every source already stored with the same size
// and time, without reading it.
package ingest
