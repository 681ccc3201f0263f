# Pictor — the two front doors are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/pictor
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 10m

.PHONY: all deps build bench-build run test vet lint fmt-check ptx bench bench-components soak corpus fuzz clean

all: build

deps:
	@bash scripts/deps.sh

.PHONY: minio
minio:
	@GO=$(GO) bash scripts/minio.sh

build: deps
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) .

# The bench harness, a command of its own: the pictor binary links none of
# it. scripts/bench.sh builds it too.
bench-build: deps
	$(GO) build -o bin/pictor-bench ./cmd/pictor-bench

# The whole service in the foreground, as the current user, under ./data:
# supervisord runs Nginx on 127.0.0.1:8080 and the sidecar on a Unix
# socket (configs rendered by deploy/render.sh); prints working curl lines.
# Ctrl-C stops Nginx, then drains the sidecar.
run: build
	@bash scripts/run.sh

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# The GPU kernels' PTX is committed and embedded; it must be exactly what
# Debian's clang-14 makes of resize.cu (scripts/ptx.sh -w rewrites it).
ptx:
	@bash scripts/ptx.sh

vet: deps
	$(GO) vet ./...

# staticcheck, pinned as a tool in go.mod, with every check on: the SA
# (correctness), S (simplifications), ST (style) and QF families.
lint: deps
	$(GO) tool staticcheck -checks all ./...

# Every test: unit tables, goldens, handler tests, fuzz seeds and the
# end-to-end tests that start the built binary.
# The S3 store's tests start a real MinIO (scripts/minio.sh builds it once
# per machine); here a missing binary fails them instead of skipping.
# The end-to-end tests run after the others, alone: several time the real
# stack (a restart after kill -9, 429s at 3× capacity, refusals from the
# header), and on two cores a package beside them decoding 40-megapixel
# images or running MinIO would be measured instead.
test: deps minio fmt-check ptx vet lint build
	PICTOR_REQUIRE_MINIO=1 $(GO) test -race -shuffle=on -count=1 -timeout 30m $$($(GO) list ./... | grep -v '/e2e$$')
	PICTOR_REQUIRE_MINIO=1 $(GO) test -race -shuffle=on -count=1 -timeout 30m ./e2e

corpus:
	@bash scripts/fetch-corpus.sh ./data/bench-corpus

# The whole stack under load (scripts/bench.sh): the real stack under
# supervisord, the bench harness (bin/pictor-bench) through Nginx and direct
# to the sidecar, Nginx's image_filter as a peer, imgproxy v3.31.4 as a peer
# when IMGPROXY_BIN names its binary (else skipped, saying how to build it),
# and the in-process pipeline on the same transforms for the overhead ratio.
# Writes data/bench/results.json, data/bench/report.html and the tables in
# docs/performance.md. Only the imgproxy scenarios:
#   IMGPROXY_BIN=/path/to/imgproxy BENCH_IMGPROXY=only make bench
bench: deps bench-build
	@bash scripts/bench.sh

# Pipeline, cache and HTTP component benchmarks on real photos (see README,
# Performance, Components). The cold HTTP benchmark runs 200 requests
# against the built binary and the in-process pipeline in the same run, and
# reports their CPU ratio; the srcset benchmark compares 5 widths from one
# decode with the same 5 made cold; the hot benchmark reports memory hits
# per second and their ratio to the cold rate.
bench-components: deps corpus
	@export PICTOR_BENCH_CORPUS=$(CURDIR)/data/bench-corpus; \
	$(GO) test -run '^$$' -bench 'BenchmarkPipeline|BenchmarkSrcset|BenchmarkOverlay' -benchtime 20x -count 1 ./transform/ && \
	$(GO) test -run '^$$' -bench 'BenchmarkEngine|BenchmarkJPEGEighth' -benchtime 60x -count 1 ./transform/internal/resample/ && \
	$(GO) test -run '^$$' -bench 'BenchmarkMemoryZipf' -benchtime 2x -count 1 ./cache/ && \
	$(GO) test -run '^$$' -bench 'BenchmarkMemoryGet|BenchmarkDisk' -benchtime 1s -count 1 ./cache/ && \
	$(GO) test -run '^$$' -bench 'BenchmarkColdHTTP' -benchtime 200x -count 1 -timeout 30m ./e2e/ && \
	$(GO) test -run '^$$' -bench 'BenchmarkHotHTTP' -benchtime 20000x -count 1 ./e2e/

# 30 minutes of the whole stack at 70% of its capacity; the sidecar's RSS
# drift must stay under 10%. Not run in CI.
soak: deps
	@bash scripts/soak.sh

fuzz: deps
	@for t in FuzzParse:./transform/options FuzzVerify:./transform/sign FuzzSniff:./transform/format FuzzValidKey:./store FuzzParseDiskName:./cache FuzzProbe:./transform/vips FuzzJPEGEighth:./transform/vips FuzzCheckHeader:./transform FuzzUpload:./server FuzzParseChecksum:./server; do \
	  name=$${t%%:*}; pkg=$${t#*:}; echo "== $$name ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$name$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	done

clean:
	rm -rf bin
