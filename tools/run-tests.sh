#!/bin/bash
# Runs the whole test suite on an already built tree (tools/dev test builds first):
#   1. unit tests (doctest) in build/
#   2. the same unit tests under ASan+UBSan in build-asan/, then its libFuzzer targets
#   3. integration tests (pytest) against real peers (dpdk-testpmd, ...)
# and ends with one line "N passed, N failed, N skipped".
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
results=$(mktemp -d /tmp/nfv-tests.XXXXXX)
trap 'rm -rf "$results"' EXIT
status=0

echo "== unit tests"
meson test -C build --suite unit --logbase unit --print-errorlogs --num-processes 2 || status=1
echo "== unit tests under ASan/UBSan"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  meson test -C build-asan --suite unit --logbase unit --print-errorlogs --num-processes 2 || status=1
echo "== fuzzers (20 s each, ASan+UBSan)"
meson test -C build-asan --suite fuzz --logbase fuzz --print-errorlogs --num-processes 1 --no-rebuild || status=1
echo "== integration tests"
NFV_BUILD_DIR="$top/build" /usr/bin/python3 -m pytest tests/integration -v -p no:cacheprovider \
  --junitxml="$results/integration.xml" || status=1

/usr/bin/python3 - "$results/integration.xml" <<'PY'
import json, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for log in ("build/meson-logs/unit.json", "build-asan/meson-logs/unit.json", "build-asan/meson-logs/fuzz.json"):
    try:
        for line in open(log):
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"): passed += 1
            elif r == "SKIP": skipped += 1
            else: failed += 1
    except FileNotFoundError:
        failed += 1
try:
    root = ET.parse(sys.argv[1]).getroot()
    for ts in root.iter("testsuite"):
        t, f, e, s = (int(ts.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
        passed += t - f - e - s; failed += f + e; skipped += s
except (FileNotFoundError, ET.ParseError):
    failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
