#!/usr/bin/env bash
# Builds the Collector described by collector/builder-config.yaml with the OpenTelemetry Collector
# Builder, once, into a cache outside the repo, and prints the binary's path.
#
#   collector/build.sh          build if missing, print the path (2.5 minutes on 2 cores with empty Go caches:
#                               the builder 30 s, modules 20 s, compiling 95 s)
#   collector/build.sh --path   print the path only, build nothing (test/helpers/collector.ts asks this)
#
# The binary lives in $PIPEMON_CACHE_DIR/otelcol-<first 12 hex digits of the manifest's sha256>/otelcol-pipemon:
# a changed manifest builds a new binary beside the old one, an unchanged one is never rebuilt. This
# script is the only place that computes that path.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
manifest="$repo/collector/builder-config.yaml"
cache="${PIPEMON_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pipemon}"
# The builder's release must match the core modules the manifest pins.
builder_version=v0.165.0

hash="$(sha256sum "$manifest" | cut -c1-12)"
dir="$cache/otelcol-$hash"
binary="$dir/otelcol-pipemon"

if [ "${1:-}" = "--path" ]; then
  echo "$binary"
  exit 0
fi
if [ -x "$binary" ]; then
  echo "$binary"
  exit 0
fi

# The Collector's modules need Go 1.26; a Go from 1.21 on fetches that toolchain itself (GOTOOLCHAIN=auto).
# Debian 12's golang-go (1.19) is too old: take Go from go.dev/dl.
[ -x /usr/local/go/bin/go ] && PATH="$PATH:/usr/local/go/bin"
go_minor="$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
if [ -z "$go_minor" ] || [ "$go_minor" -lt 21 ]; then
  echo "collector/build.sh: needs Go 1.21 or newer on PATH (found: $(go env GOVERSION 2>/dev/null || echo none)); install it from https://go.dev/dl" >&2
  exit 1
fi

builder="$cache/bin/builder"
if ! { [ -x "$builder" ] && "$builder" version 2>/dev/null | grep -q "$builder_version"; }; then
  echo "collector/build.sh: installing the Collector Builder $builder_version into $cache/bin" >&2
  mkdir -p "$cache/bin"
  GOBIN="$cache/bin" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version"
fi

# Build in a scratch directory next to the target (same file system), then rename the binary into
# place: an interrupted build leaves no binary that the next run would take as finished.
mkdir -p "$cache"
scratch="$(mktemp -d "$cache/otelcol-$hash.build.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
echo "collector/build.sh: building the Collector from $manifest in $scratch" >&2
start=$SECONDS
(cd "$scratch" && "$builder" --config "$manifest")
mkdir -p "$dir"
cp "$manifest" "$dir/builder-config.yaml"
mv "$scratch/build/otelcol-pipemon" "$binary"
echo "collector/build.sh: built in $((SECONDS - start)) s" >&2
echo "$binary"
