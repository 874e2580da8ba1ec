#!/usr/bin/env bash
# Runs every test project of the solution on a fresh Debian machine with the .NET SDK: installs what the
# tests need (Debian packages), builds once, tests, and ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: socat makes the pseudo-terminal pairs of the serial tests; gcc-avr and
# avr-libc build the firmware, libsimavr-dev (with libelf-dev, pkg-config) its simulator harness; SciPy
# computes the signal chain's reference outputs; grpcio (with protobuf and protoc) is the API's
# independent client; MNE-Python and EDFlib read the recordings back; victoria-metrics is the history
# server (it speaks InfluxDB's v2 write API). Python packages are Debian's, run by /usr/bin/python3.
# Chromium (headless) prints the session report to PDF and screenshots it; poppler-utils' pdfinfo counts its pages.
packages=(socat make gcc pkg-config gcc-avr avr-libc libsimavr-dev libelf-dev
          python3 python3-scipy python3-grpcio python3-protobuf protobuf-compiler
          python3-mne libedf-dev victoria-metrics chromium poppler-utils)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing Debian packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >/dev/null || { echo "apt-get update failed"; echo "0 passed, 1 failed"; exit 1; }
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { echo "apt-get install ${missing[*]} failed"; echo "0 passed, 1 failed"; exit 1; }
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
if ! dotnet build EmgBiofeedback.sln -nologo -v quiet; then
  echo "Build failed."
  echo "0 passed, 1 failed"
  exit 1
fi

log=$(mktemp)
# One test assembly at a time (-m:1): several of them run boards, servers and browsers in real time, and on a
# two-core machine they would starve each other's rate checks.
# A test that hangs is ended after 15 minutes without output (the longest, the end-to-end run's first test, takes about
# 5), with a dump beside its results: a failure with a cause rather than a suite that never ends.
dotnet test EmgBiofeedback.sln --no-build -nologo -m:1 --blame-hang-timeout 15m 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The failed tests' names, repeated at the end (a CI log is often read from its tail).
failed_names=$(grep -E '^\s+Failed [A-Za-z_].*\[' "$log" | sed -E 's/^\s+//')

# One summary line per test assembly: "Passed!  - Failed: 0, Passed: 21, Skipped: 0, Total: 21, ..."
passed=$(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Passed: +([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
failed=$(grep -E '^(Passed|Failed)!' "$log" | sed -E 's/.*Failed: +([0-9]+).*/\1/' | awk '{s+=$1} END {print s+0}')
projects=$(dotnet sln EmgBiofeedback.sln list | grep -c 'Tests.csproj$')
summaries=$(grep -cE '^(Passed|Failed)!' "$log")
rm -f "$log"
passed=${passed:-0}
failed=${failed:-0}
if [ "$summaries" -lt "$projects" ]; then
  # A test host that crashed prints no summary: count the project as a failure rather than hide it.
  echo "Only $summaries of $projects test projects reported results."
  failed=$((failed + projects - summaries))
fi
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi

# The patient display's end-to-end tests (tests/EmgBiofeedback.Display.Tests): node --test drives headless chromium
# against the built service. Node 20+ comes with the machine image (Debian's nodejs is too old): a missing or older
# node counts as a failure. node's TAP summary ("# pass N", "# fail N") is added to the totals.
display_tests=tests/EmgBiofeedback.Display.Tests
if ! command -v node >/dev/null 2>&1; then
  echo "Display tests: node not found; Node.js 20 or later is needed (Debian's nodejs is too old)."
  failed=$((failed + 1))
elif ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
  echo "Display tests: node $(node --version) is too old; Node.js 20 or later is needed."
  failed=$((failed + 1))
elif ! (cd "$display_tests" && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }); then
  echo "Display tests: npm ci failed in $display_tests."
  failed=$((failed + 1))
else
  node_log=$(mktemp)
  (cd "$display_tests" && node --test --test-concurrency=1 --test-reporter=tap) 2>&1 | tee "$node_log"
  node_status=${PIPESTATUS[0]}
  node_passed=$(grep -E '^# pass [0-9]+$' "$node_log" | tail -1 | awk '{print $3}')
  node_failed=$(grep -E '^# fail [0-9]+$' "$node_log" | tail -1 | awk '{print $3}')
  node_failed_names=$(grep -E '^\s*not ok ' "$node_log" | sed -E 's/^\s+//')
  rm -f "$node_log"
  if [ -z "$node_passed" ] || [ -z "$node_failed" ]; then
    echo "Display tests: node --test printed no summary."
    failed=$((failed + 1))
  else
    passed=$((passed + node_passed))
    failed=$((failed + node_failed))
    failed_names+=$'\n'"$node_failed_names"
    if [ "$node_status" -ne 0 ] && [ "$node_failed" -eq 0 ]; then
      failed=$((failed + 1))
    fi
  fi
fi
if [ -n "${failed_names//[[:space:]]/}" ]; then
  echo "Failed tests:"
  echo "$failed_names" | sed -E '/^\s*$/d; s/^/  /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
