#!/usr/bin/env bash
# Builds libwhisper for the whisper.cpp engine: whisper.cpp 1.8.5 from the source distribution of PyPI's
# pywhispercpp 1.5.1 (pinned by hash), compiled for this CPU (GGML_NATIVE) with cmake and ninja from PyPI, installed
# into .whispercpp/ (lib/ and include/). The build is cached per machine and CPU under ~/.cache/whisperapi, so a
# second run (or a second clone on the same machine) copies it or does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.5.1
sha256=5df897e5dd9d9f16804fc937bd85b9f5880a0b29a55f8843585e0e03d76195e5
url=https://files.pythonhosted.org/packages/9f/35/610787a277e177e6b7983277a35a2969c0876b46c0d889bc6a0c4b4ac4a7/pywhispercpp-$version.tar.gz
PYTHON=${PYTHON:-python3}

cpu=$( (uname -m; grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true) | sha256sum | cut -c1-12)
key="pywhispercpp-$version-$cpu-$(sha256sum requirements/whispercpp-build.txt | cut -c1-12)"
target=.whispercpp
if [ "$(cat "$target/.key" 2>/dev/null)" = "$key" ] && [ -f "$target/lib/libwhisper.so" ]; then exit 0; fi

cache=${XDG_CACHE_HOME:-$HOME/.cache}/whisperapi/$key
if [ ! -f "$cache/lib/libwhisper.so" ]; then
  echo "==> building libwhisper (whisper.cpp from pywhispercpp $version's source; a few minutes, once per machine)"
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  "$PYTHON" -m venv "$work/tools"
  "$work/tools/bin/pip" install --quiet --disable-pip-version-check -r requirements/whispercpp-build.txt
  curl -sfL --retry 3 -o "$work/source.tar.gz" "$url"
  echo "$sha256  $work/source.tar.gz" | sha256sum -c --quiet
  tar xzf "$work/source.tar.gz" -C "$work"
  rm -rf "$cache.partial"
  "$work/tools/bin/cmake" -S "$work/pywhispercpp-$version/whisper.cpp" -B "$work/build" -G Ninja \
    -DCMAKE_MAKE_PROGRAM="$work/tools/bin/ninja" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=ON \
    -DGGML_NATIVE=ON -DWHISPER_BUILD_TESTS=OFF -DWHISPER_BUILD_EXAMPLES=OFF -DWHISPER_BUILD_SERVER=OFF \
    -DCMAKE_INSTALL_PREFIX="$cache.partial" -DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_INSTALL_RPATH='$ORIGIN' > "$work/cmake.log" 2>&1 \
    || { cat "$work/cmake.log"; exit 1; }
  "$work/tools/bin/cmake" --build "$work/build" -j "$(nproc)" > "$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; exit 1; }
  "$work/tools/bin/cmake" --install "$work/build" > /dev/null
  cp "$work/pywhispercpp-$version/whisper.cpp/LICENSE" "$cache.partial/LICENSE"
  rm -rf "$cache" && mv "$cache.partial" "$cache"
fi
rm -rf "$target"
cp -a "$cache" "$target"
echo "$key" > "$target/.key"
touch Sources/CWhisper/CWhisper.c # the bridge compiles against whisper.h only where it exists: build it again
echo "==> libwhisper: $target/lib/libwhisper.so"
