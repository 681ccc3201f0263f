package harness

import "errors"

var (
	// ErrUsage is a command line the harness cannot run.
	ErrUsage = errors.New("harness: usage")
	// ErrNoProcess is a --pid that names no running process.
	ErrNoProcess = errors.New("harness: no such process")
	// ErrNoCorpus is a corpus, or a scenario's share of it, with no
	// originals to use.
	ErrNoCorpus = errors.New("harness: no originals")
	// ErrTemplate is a peer URL template that cannot be filled in.
	ErrTemplate = errors.New("harness: bad URL template")
	// ErrTarget is a Pictor target that is not a base URL or unix: path.
	ErrTarget = errors.New("harness: bad target")
	// ErrNoToken is a Pictor target without an upload token: the corpus
	// is uploaded through the API before a run.
	ErrNoToken = errors.New("harness: Pictor targets need an upload token (--token or PICTOR_UPLOAD_TOKENS)")
	// ErrScenario is a --scenario that cannot be parsed.
	ErrScenario = errors.New("harness: bad scenario")
	// ErrMarkers is a performance document without the one block the
	// harness rewrites (or no such document).
	ErrMarkers = errors.New("harness: the document needs one <!-- bench:begin --> … <!-- bench:end --> block")
	// ErrImgproxy is an imgproxy peer that cannot be started.
	ErrImgproxy = errors.New("harness: imgproxy")
)
