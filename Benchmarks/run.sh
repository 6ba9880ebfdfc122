#!/usr/bin/env bash
# RouteHost benchmarks: one command, every figure of Benchmarks/README.md, one table.
#
#   Benchmarks/run.sh                 # the full run (about 5 minutes; wrk 6 s per case)
#   Benchmarks/run.sh --quick         # a smoke run (1 s cases, small streams)
#   Benchmarks/run.sh --only auth,info,relay,queue,stores,ratelimit,metrics,scale,micro,errors
#   BENCH_DURATION=10 Benchmarks/run.sh
#
# Installs what is missing (wrk, nginx, curl from Debian; jsonschema and matplotlib from PyPI),
# builds in release mode into .build-release, then runs Benchmarks/bench.py, which starts every
# server on 127.0.0.1, stops them all at the end, prints the table and writes
# Benchmarks/results/latest.json and latest.md; then Benchmarks/chart.py draws the ratios beside
# their references and targets into Benchmarks/results/chart.svg (Benchmarks/chart.svg, which the
# README shows, is drawn from RESULTS.md: `python3 Benchmarks/chart.py` after updating it).
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="/opt/swift/usr/bin:$PATH"
export DEBIAN_FRONTEND=noninteractive

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}" >&2
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null; }
fi
export PATH="$PATH:/usr/sbin"

python3 -c "import jsonschema" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check jsonschema
python3 -c "import matplotlib" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check matplotlib
# jsonschema checks `format: uri` only with one of these installed (so that it does the same work).
python3 -c "import rfc3986_validator" 2>/dev/null || python3 -c "import rfc3987" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check rfc3986-validator >/dev/null 2>&1 \
  || echo "note: rfc3986-validator not installed: Python jsonschema will not check format: uri" >&2

# Each step runs as a child that the trap stops: bench.py in turn stops every server it started
# (on exit, Ctrl-C or SIGTERM).
child=
trap '[ -n "$child" ] && kill -TERM "$child" 2>/dev/null; wait 2>/dev/null; exit 143' INT TERM
run() { "$@" & child=$!; wait "$child"; }

echo "== swift build -c release" >&2
run swift build -c release --scratch-path .build-release >&2
bin=$(swift build -c release --scratch-path .build-release --show-bin-path)

# The job-store section compares SQLite with PostgreSQL: a throwaway cluster unless DATABASE_URL is set.
if [ -z "${DATABASE_URL:-}" ]; then
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || apt-get install -y -q postgresql >/dev/null 2>&1 || true
  if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    eval "$(scripts/test-postgres start)"
    trap 'scripts/test-postgres stop' EXIT
  fi
fi

mkdir -p Benchmarks/results
run python3 Benchmarks/bench.py --bin "$bin" --repo . --markdown Benchmarks/results/latest.md "$@"
python3 Benchmarks/chart.py Benchmarks/results/latest.md Benchmarks/results/chart.svg || echo "no chart: see above" >&2
