#!/usr/bin/env bash
# Style gate (.ci/run runs it): lines over 120 columns anywhere, and swift-format's rules from
# .swift-format (no force unwrap or try! outside Tests/, ordered imports, …), counted per file and
# rule. Existing violations are listed in launch/lint-baseline.txt; the gate fails when a file
# gains one. `launch/lint.sh --update-baseline` rewrites the list after violations are fixed.
# Layout diagnostics (indentation, blank lines) are not counted: the code is aligned by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=launch/lint-baseline.txt
enforced='NeverForceUnwrap|NeverUseForceTry|NeverUseImplicitlyUnwrappedOptionals|OrderedImports|NoBlockComments|UseTripleSlashForDocumentationComments|TypeNamesShouldBeCapitalized|NoParensAroundConditions'
current=$(mktemp)
trap 'rm -f "$current"' EXIT
{
  find Sources Tests -name '*.swift' -print0 | sort -z | xargs -0 awk 'length > 120 { print FILENAME " LineLength" }'
  if command -v swift-format >/dev/null; then
    rule() { grep -E "\[($enforced)\]" | sed -E "s/^([^:]+):[^[]*\[($enforced)\].*/\1 \2/"; }
    swift-format lint --configuration .swift-format -r Sources 2>&1 | rule || true
    # Tests may force-unwrap: a failed unwrap there is a failed test.
    swift-format lint --configuration .swift-format -r Tests 2>&1 | rule | grep -vE 'NeverForceUnwrap|NeverUseForceTry' || true
  else
    echo "lint: swift-format not on PATH (it ships with Swift 6 toolchains); checking line length only" >&2
  fi
} | sed -E 's#^\./##' | grep -E '^[^ ]+ [A-Za-z]+$' | sort | uniq -c | awk '{ print $2, $3, $1 }' >"$current"
if [ "${1:-}" = "--update-baseline" ]; then
  cp "$current" "$baseline"
  echo "lint: baseline rewritten: $(awk '{ n += $3 } END { print n + 0 }' "$baseline") violation(s) in $(wc -l <"$baseline") file/rule pair(s)"
  exit 0
fi
# A file/rule pair over its baseline count (or absent from it) is a new violation.
new=$(awk 'NR == FNR { allowed[$1 " " $2] = $3; next } $3 > (allowed[$1 " " $2] + 0) {
  print "  " $1 ": " $2 " " $3 " (baseline " (allowed[$1 " " $2] + 0) ")" }' "$baseline" "$current")
if [ -n "$new" ]; then
  echo "lint: new style violations (lines over 120 columns, or .swift-format rules); run swift-format lint FILE for details:"
  echo "$new"
  exit 1
fi
echo "lint: ok ($(awk '{ n += $3 } END { print n + 0 }' "$current") known violation(s), none new)"
