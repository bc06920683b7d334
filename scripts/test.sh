#!/usr/bin/env bash
# Runs every test: Swift unit and in-process API tests, then the end-to-end tests that drive
# the real binary with real Whisper. Prints one closing summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
logs=$(mktemp -d)
chmod 755 "$logs" # the PostgreSQL server runs as the postgres user when we are root
trap './scripts/test-redis.sh stop "$logs/redis"; ./scripts/test-postgres.sh stop "$logs/postgres"; ./scripts/test-s3.sh stop "$logs/s3"; rm -rf "$logs"' EXIT
TEST_REDIS_URL=$(./scripts/test-redis.sh start "$logs/redis")
TEST_DATABASE_URL=$(./scripts/test-postgres.sh start "$logs/postgres")
TEST_S3_ENDPOINT=$(./scripts/test-s3.sh start "$logs/s3")
export TEST_REDIS_URL TEST_DATABASE_URL TEST_S3_ENDPOINT
echo "==> test redis at $TEST_REDIS_URL, postgres at $TEST_DATABASE_URL, S3 (moto) at $TEST_S3_ENDPOINT"

echo "==> swift tests"
swift build --build-tests 2>&1 | grep -E "error|warning: unre|Compiling|Build" | grep -v "^\[" || true
# The test binary runs directly (swift test would start it in a process group of its own that a
# timeout cannot reach). A hung run must not eat CI's 90 minutes: it has a deadline, its lines are
# shown as they come, and on a timeout the tests that never finished are named and the run is
# repeated once, saying so.
tests_binary="$(swift build --show-bin-path)/whisperapiPackageTests.xctest"
run_swift_tests() {
  # Output goes to a file that is followed while the binary runs: a child a test started (a redis-server) that
  # outlives a killed run keeps its copy of the output open, and must not keep this script waiting.
  : > "$logs/swift.raw"  # exists before tail opens it (the background redirect may come later)
  NO_COLOR=1 timeout -s KILL "${SWIFT_TEST_TIMEOUT:-600}" "$tests_binary" --testing-library swift-testing >> "$logs/swift.raw" 2>&1 &
  local pid=$!
  tail --pid="$pid" -n +1 -f "$logs/swift.raw" | sed -u 's/\x1b\[[0-9;]*m//g' | tee "$logs/swift.log" \
    | grep --line-buffered -E "✘|recorded an issue|Test run|Suite .* (passed|failed)"
  wait "$pid"
  swift_status=$?
}
unfinished_tests() {
  comm -23 <(grep -oE "^◇ Test [^ ]+ started" "$logs/swift.log" | awk '{print $3}' | sort -u) \
           <(grep -oE "^[✔✘] Test [^ ]+ (passed|failed)" "$logs/swift.log" | awk '{print $3}' | sort -u)
}
run_swift_tests
if [ "$swift_status" -eq 137 ]; then
  echo "WARNING: the Swift test run did not finish in time; unfinished tests:"
  unfinished_tests | sed 's/^/  /'
  echo "WARNING: running the Swift tests once more"
  run_swift_tests
fi
swift_passed=$(grep -E "^✔ Test .* passed after" "$logs/swift.log" | grep -vc "^✔ Test run with" || true)
swift_failed=$(grep -E "^✘ Test .* failed after" "$logs/swift.log" | grep -vc "^✘ Test run with" || true)
if ! grep -qE "^✔ Test run with" "$logs/swift.log"; then
  swift_failed=$((swift_failed > 0 ? swift_failed : 1))
  echo "swift tests exited with status $swift_status; unfinished tests:"
  unfinished_tests | sed 's/^/  /'
fi

echo "==> end-to-end tests (real server, real Whisper)"
timeout -k 10 "${E2E_TEST_TIMEOUT:-1800}" .venv/bin/python -m pytest e2e -q -p no:cacheprovider 2>&1 | tee "$logs/pytest.log"
py_line=$(tail -n 1 "$logs/pytest.log")
py_passed=$(grep -oE "[0-9]+ passed" <<<"$py_line" | grep -oE "[0-9]+" || echo 0)
py_failed=$(( $(grep -oE "[0-9]+ failed" <<<"$py_line" | grep -oE "[0-9]+" || echo 0) + $(grep -oE "[0-9]+ error" <<<"$py_line" | grep -oE "[0-9]+" || echo 0) ))
if [ "$py_passed" -eq 0 ] && [ "$py_failed" -eq 0 ]; then py_failed=1; fi

passed=$((swift_passed + py_passed))
failed=$((swift_failed + py_failed))
echo
echo "swift: $swift_passed passed, $swift_failed failed; end-to-end: $py_passed passed, $py_failed failed"
echo "summary: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
