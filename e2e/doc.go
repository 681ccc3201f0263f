// Package e2e holds end-to-end tests: they build the pictor binary, start
// it on loopback ports with a fresh data directory, and talk to it with
// net/http, a real HTTP client, as a user would.
package e2e
