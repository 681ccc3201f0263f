// Package app is Pictor's composition root: the one place that builds the
// whole server from a Config and runs it.
//
// New turns a Config (one section per package, each validated by that
// package's constructor) into the parts in dependency order: libvips, the
// originals store, the device queue, the decoded-original cache, the
// pipeline, the option parser and signer, the memory and disk tiers under
// the tiered cache, the worker pool, and finally the HTTP edge, handing each
// to the edge through the small interfaces package server declares
// (server.Variants, server.Originals, server.Purger, server.Readiness).
// Every part registers its own Prometheus collectors on the App's registry.
// Run opens the listeners, serves until its context ends, and drains;
// Close releases the parts in reverse order.
//
// main only turns flags and PICTOR_* variables into a Config; tests that
// need a whole server call New and Serve on in-memory listeners.
package app
