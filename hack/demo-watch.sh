#!/usr/bin/env bash
# Follows SeiNodes until each is Running, printing a line whenever a node's phase or the
# state of its plan's tasks changes.  Usage: demo-watch.sh KUBECTL... -- NODE...
# (gives up after $DEMO_WATCH_TIMEOUT seconds, 300 by default)
set -euo pipefail
kubectl=()
while [[ $# -gt 0 && $1 != -- ]]; do kubectl+=("$1"); shift; done
shift
nodes=("$@")
declare -A last
timeout=${DEMO_WATCH_TIMEOUT:-300}
deadline=$((SECONDS + timeout))
template='{.status.phase}{"|"}{range .status.plan.tasks[*]}{.type}={.status} {end}'
while :; do
  done_count=0
  for n in "${nodes[@]}"; do
    line=$("${kubectl[@]}" get seinode "$n" -o jsonpath="$template" 2>/dev/null || true)
    phase=${line%%|*}
    tasks=${line#*|}
    if [[ ${last[$n]:-} != "$line" ]]; then
      last[$n]=$line
      shown=""
      for t in $tasks; do
        case ${t#*=} in
          Complete) shown+=" ✓${t%%=*}" ;;
          Failed) shown+=" ✗${t%%=*}" ;;
          Pending) shown+=" ·${t%%=*}" ;;
          *) shown+=" …${t%%=*}" ;;
        esac
      done
      printf '%(%H:%M:%S)T  %-16s %-13s%s\n' -1 "$n" "${phase:-Pending}" "$shown"
    fi
    [[ $phase == Running ]] && done_count=$((done_count + 1))
    if [[ $phase == Failed ]]; then
      echo "$n failed: $("${kubectl[@]}" get seinode "$n" -o jsonpath='{.status.plan.failedTaskDetail}')" >&2
      exit 1
    fi
  done
  [[ $done_count -eq ${#nodes[@]} ]] && exit 0
  if ((SECONDS > deadline)); then
    echo "not Running after $timeout s; see the operator log" >&2
    exit 1
  fi
  sleep 0.5
done
