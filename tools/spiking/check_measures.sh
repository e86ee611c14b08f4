#!/usr/bin/env bash
# SPIKING.md 12.7: the port's analysis (lpl_analysis.py measures) on the reference bundle must
# reproduce spiking-ref/net*/measures_*.txt. Usage: tools/spiking/check_measures.sh   env: REF, PYTHON
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REF=${REF:-$HERE/../../../shared/spec/spiking-ref}
PYTHON=${PYTHON:-/usr/bin/python3}
status=0
for f in "$REF"/net50/measures_*.txt "$REF"/net1900/measures_*.txt; do
  # First line: "# python3 analysis/measures.py <in> <exc> <wmat> <t> <dur>" (paths relative to REF).
  read -r -a cmd <<< "$(head -1 "$f" | sed 's/^# //')"
  got=$(cd "$REF" && "$PYTHON" "$HERE/lpl_analysis.py" measures "${cmd[@]:2}")
  if diff <(tail -n +2 "$f") <(echo "$got") >/dev/null; then
    echo "identical: $f"
  else
    echo "DIFFERS:   $f"; diff <(tail -n +2 "$f") <(echo "$got") || true; status=1
  fi
done
exit $status
