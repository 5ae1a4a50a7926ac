#!/usr/bin/env bash
# `make demo`: a sample repository in ./demo-repo and a tour of the main commands.
set -euo pipefail
dealcli=${1:-dealcli}
export DEALCLI_USER=${DEALCLI_USER:-demo@example.com}
rm -rf demo-repo
run() { printf '\n$ dealcli %s\n' "$*" >&2; "$dealcli" --dir demo-repo "$@"; }
"$dealcli" init demo-repo --example
run check
id=$(run deal add "Demo: 40 licences" --company "Demo Corp" --product "Licence:240:40:10" --close-date +30d )
run deal show "$id"
run deal move "$id" preparation
run deal comment "$id" "Sent the draft contract"
run deal close "$id" --won
run deal history "$id"
for extra in "filter status=open --sort -amount --limit 5" "board"; do
  # shellcheck disable=SC2086
  if "$dealcli" $extra --help >/dev/null 2>&1; then run $extra; fi
done
printf '\nThe sample repository is in ./demo-repo (try: .venv/bin/dealcli --dir demo-repo --help)\n'
