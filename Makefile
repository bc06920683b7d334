# WhisperAPI: `make run` serves on :8080 in embedded mode (a release build); `make test` runs every test.
.PHONY: run setup setup-diarization build test test-deps clean bench bench-queue bench-multipart bench-diarization

PORT ?= 8080

run:
	./scripts/setup.sh release
	.build/release/whisperapi migrate
	.build/release/whisperapi serve --port $(PORT)

setup:
	./scripts/setup.sh

# Speaker diarization (also `WITH_DIARIZATION=1 make setup`): exports the CAM++ model once; see the README.
setup-diarization:
	./scripts/setup-diarization.sh

build:
	swift build --product whisperapi

test: test-deps setup setup-diarization
	./scripts/test.sh

test-deps:
	./scripts/install-test-deps.sh

clean:
	rm -rf .build data

bench:
	./bench/speed/run.sh

bench-queue:
	./bench/queue/run.sh

bench-multipart:
	./bench/multipart/run.sh

bench-diarization:
	./bench/diarization/run.sh
