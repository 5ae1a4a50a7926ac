#!/usr/bin/env bash
# `make demo`: a sample repository in ./demo-repo and a tour of the main commands. Every command
# is printed as it can be copied and pasted (with --dir demo-repo, the real ids, shell quoting).
set -euo pipefail
dealcli=${1:-dealcli}
export DEALCLI_USER=${DEALCLI_USER:-demo@example.com}
rm -rf demo-repo
say() { printf '\n$ %s\n' "$*" >&2; }
quoted() { local out="" a; for a in "$@"; do out+=" $(printf '%q' "$a")"; done; printf '%s' "${out# }"; }
# run ARGS...: print and run `dealcli --dir demo-repo ARGS...`
run() { say "$(quoted "$dealcli" --dir demo-repo "$@")"; "$dealcli" --dir demo-repo "$@"; }
# piped 'SHELL PIPE' ARGS...: the same, with its output through a shell pipe (printed too)
piped() { local pipe=$1; shift; say "$(quoted "$dealcli" --dir demo-repo "$@") | $pipe"
          "$dealcli" --dir demo-repo "$@" | bash -c "$pipe"; }
say "export DEALCLI_USER=$(printf '%q' "$DEALCLI_USER")"
say "$(quoted "$dealcli" init demo-repo --example)"
"$dealcli" init demo-repo --example
run check
id=$(run deal add "Demo: 40 licences" --company "Demo Corp" --product "Licence:240:40:10" --close-date +30d)
printf '%s\n' "$id" >&2
run deal show "$id"
run deal move "$id" "Preparing documents"
run deal comment "$id" "Sent the draft contract"
run deal close "$id" --won
run deal history "$id"
run filter status=open --sort -amount --limit 5
run filter --preset overdue -f csv --columns id,title,next_activity
run board --preset open
run report --section funnel,forecast
run board --as-of -30d --cards 2
run agenda
piped 'head -n 1 | cut -c1-300' export -f jsonl status=won
run recurring add "Support retainer {date:%B %Y}" --every month --start -2m --company "Demo Corp" --amount 1200
run recurring run
run user add demo --email demo@example.com --role admin   # from the first user on, access rights apply
run dept add sales
run user add alice --email alice@example.com --dept sales   # a manager: own deals, reads the department's
run can alice move:won "$id" || true                         # denied: only heads win deals
run --as alice whoami
run check && echo "check: no problems"
printf '\nThe sample repository is in ./demo-repo (try: %s --dir demo-repo --help)\n' "$dealcli"
