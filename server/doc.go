// Package server is Pictor's HTTP edge, and the only package that speaks
// HTTP: routes, bearer tokens, signature checks, content negotiation,
// response headers, and the mapping of every error to a status.
//
// A transform request flows: parse the options (400, also for a width or
// height off the allow-list and, in presets-only mode, anything but
// t_<preset>) → check the key's form (404, before any file system access)
// → verify the signature (403) → negotiate the output from Accept and
// Save-Data → look up the memory tier, then the disk tier (behind Nginx a
// disk hit is an X-Accel-Redirect for Nginx to send) → collapse identical
// concurrent requests into one run → admit it to the bounded work queue
// (429) → read the original (404) → run the pipeline under the request
// deadline (503) → store the variant in the tiers → answer. /srcset/ and
// eager uploads make several widths the same way from one decode.
//
// Uploads stream the body into the store while hashing it, judge it by its
// magic bytes (415) and its header (422), and commit it with an atomic
// rename; a store that refuses writes (read-only, or full) gives 503 and
// leaves nothing behind, while transforms of stored originals go on.
//
// Resumable uploads speak tus 1.0 at /files/ (tusd as a library, inside
// this fasthttp server through a streaming bridge, tus.go): chunks go to
// parts under the data directory, and the last one runs the same ingest as
// POST /upload, answering Pictor-Key; abandoned parts expire (a janitor)
// and unfinished ones have a byte budget (tusstore.go).
//
// The public listener serves GET and HEAD on /t/, /srcset/, /o/ and /info/,
// POST /upload, DELETE /o/ and the tus methods on /files/; the admin
// listener serves /healthz, /readyz and /metrics and is never exposed.
package server
