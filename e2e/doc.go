// Package e2e holds end-to-end tests. Some build the pictor binary, start
// it on loopback ports with a fresh data directory, and talk to it with
// net/http, as a user would: hostile uploads, tampered signed URLs, path
// traversal, and the cold and hot HTTP benchmarks. The stack tests
// (stack_*_test.go) start what `make run` starts, Nginx and the sidecar
// under supervisord with configs from deploy/render.sh, and check the
// whole service: overload, deadlines, a full disk, read-only originals,
// draining, several sidecars behind one Nginx; install_test.go runs
// deploy/install.sh in a throwaway overlay of the machine.
//
// Everything they read is in the repository (testdata/). A test skips,
// saying why, only where the machine lacks what it needs: Nginx and
// supervisord for the stack, root and mount namespaces for the installer
// and the read-only mount.
package e2e
