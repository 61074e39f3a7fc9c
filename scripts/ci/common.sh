# Sourced by the stage scripts in scripts/ci/: strict mode, the repository root as the
# working directory, and `step`, which prints a heading and, when the stage ends, its
# wall-clock and CPU time (user + system of its children) on stderr.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# jsii 6 warns that Node 20 is end-of-life (it still works); the value lists the majors to silence.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=18,20

step() { printf '\n==> %s\n' "$*" >&2; }

_stage_start=$SECONDS
_stage_report() {
  local rc=$? user sys
  # `times` (the shell's own, then its children's user and system time, as 1m2.345s)
  # must run in this shell, not in a pipeline's subshell.
  local t
  t="$(mktemp)"
  times >"$t"
  read -r user sys < <(tr '\n' ' ' <"$t" | sed 's/[ms]/ /g' | awk '{ printf "%.1f %.1f\n", $5 * 60 + $6, $7 * 60 + $8 }')
  rm -f "$t"
  printf '[%s] %s after %d s wall, %s s user + %s s system CPU\n' \
    "$(basename "$0" .sh)" "$( ((rc == 0)) && echo ok || echo "FAILED (exit $rc)")" \
    "$((SECONDS - _stage_start))" "$user" "$sys" >&2
}
trap _stage_report EXIT
