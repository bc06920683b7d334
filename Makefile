# WhisperAPI: `make run` serves on :8080 in embedded mode; `make test` runs every test.
.PHONY: run setup build test test-deps clean bench-queue bench-multipart

PORT ?= 8080

run: setup
	.build/debug/whisperapi migrate
	.build/debug/whisperapi serve --port $(PORT)

setup:
	./scripts/setup.sh

build:
	swift build --product whisperapi

test: test-deps setup
	./scripts/test.sh

test-deps:
	./scripts/install-test-deps.sh

clean:
	rm -rf .build data

bench-queue:
	./bench/queue/run.sh

bench-multipart:
	./bench/multipart/run.sh
