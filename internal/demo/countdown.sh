#!/bin/sh
# countdown SECONDS: a solver that only writes files and [PROGRESS] lines
# (trackd sets the job's progress from them; docs/jobs.md).
set -eu
n="$1"
i=1
: > countdown.txt
while [ "$i" -le "$n" ]; do
	sleep 1
	echo "$((n - i)) left" >> countdown.txt
	echo "[PROGRESS] $i/$n"
	i=$((i + 1))
done
printf '{"lines": %d}\n' "$n" > outputs.json
