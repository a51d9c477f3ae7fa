#!/usr/bin/env bash
# Restart policy for a training job (torchrun's --max-restarts, for mpirun and Slurm jobs):
#
#   launch/supervise.sh [--max-restarts N] [--delay S] -- COMMAND...
#   launch/supervise.sh [--max-restarts N] [--delay S] --hostfile FILE [--ranks-per-host K] \
#       [--check-host 'CMD {}'] -- cnn-dist train ARGUMENTS...
#
# Runs COMMAND (for example `mpirun -n 8 .build/release/cnn-dist train --config c.yaml`). When it
# fails for a reason a restart can get past (exit status 1, 3 — a collective timeout — or death
# by a signal), it runs it again, up to N times (default 3): with `--resume` (added once),
# continuing from the run's `latest` checkpoint, once an attempt has saved one (its output
# said "checkpoint: …", an info-level line: do not pass --quiet), else from the start. A wrong
# input (status 2: config, data, checkpoint, ranks that disagree) or a usage error (64) would
# fail alike: it stops at once. SIGTERM or SIGINT to supervise.sh goes to the job, and then
# it exits without restarting (a deliberate stop, as for Slurm pre-emption).
#
# With --hostfile, supervise.sh builds the mpirun line itself before every attempt, from the
# hosts that still answer `--check-host` ({} is replaced by the host; default: ssh with a 5 s
# timeout), K ranks on each (default 1); a run resumed on fewer hosts continues with the same
# global batch (it must divide over the ranks). Its exit status is the last attempt's.
set -uo pipefail

max_restarts=3
delay=5
hostfile=""
ranks_per_host=1
check_host='ssh -o BatchMode=yes -o ConnectTimeout=5 {} true'

usage() {
    sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
    exit 64
}

while [ $# -gt 0 ]; do
    case "$1" in
    --max-restarts) max_restarts="${2:?--max-restarts needs a count}"; shift 2 ;;
    --delay) delay="${2:?--delay needs seconds}"; shift 2 ;;
    --hostfile) hostfile="${2:?--hostfile needs a file}"; shift 2 ;;
    --ranks-per-host) ranks_per_host="${2:?--ranks-per-host needs a count}"; shift 2 ;;
    --check-host) check_host="${2:?--check-host needs a command}"; shift 2 ;;
    --) shift; break ;;
    -h | --help) usage ;;
    *) echo "supervise.sh: unknown option '$1' (the command follows --)" >&2; exit 64 ;;
    esac
done
[ $# -gt 0 ] || usage
case "$max_restarts$ranks_per_host" in
*[!0-9]*) echo "supervise.sh: --max-restarts and --ranks-per-host take whole numbers" >&2; exit 64 ;;
esac
if [ -n "$hostfile" ] && [ ! -r "$hostfile" ]; then
    echo "supervise.sh: hostfile $hostfile cannot be read" >&2
    exit 64
fi

command=("$@")
live_hosts="$(mktemp "${TMPDIR:-/tmp}/supervise-hosts.XXXXXX")"
output="$(mktemp "${TMPDIR:-/tmp}/supervise-output.XXXXXX")"
trap 'rm -f "$live_hosts" "$output"' EXIT

# The hostfile's hosts that answer, one per line, into $live_hosts; their count on stdout.
check_hosts() {
    : >"$live_hosts"
    local host
    while read -r host _; do
        case "$host" in '' | '#'*) continue ;; esac
        if bash -c "${check_host//\{\}/$host}" </dev/null >/dev/null 2>&1; then
            echo "$host slots=$ranks_per_host" >>"$live_hosts"
        else
            echo "supervise.sh: host $host does not answer; leaving it out" >&2
        fi
    done <"$hostfile"
    wc -l <"$live_hosts"
}

# A signal to the supervisor is a deliberate stop: pass it on and do not restart.
stopping=0
child=""
trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT

attempt=0
while true; do
    run=("${command[@]}")
    if [ -n "$hostfile" ]; then
        hosts="$(check_hosts)"
        if [ "$hosts" -eq 0 ]; then
            echo "supervise.sh: no host in $hostfile answers" >&2
            exit 1
        fi
        root_flag=()
        [ "$(id -u)" -eq 0 ] && root_flag=(--allow-run-as-root)
        run=(mpirun "${root_flag[@]}" --hostfile "$live_hosts" -n $((hosts * ranks_per_host)) "${command[@]}")
    fi
    echo "supervise.sh: attempt $((attempt + 1)) of $((max_restarts + 1)): ${run[*]}" >&2
    # The output passes through (and is kept, to see whether a checkpoint was saved).
    "${run[@]}" > >(tee -a "$output") 2>&1 &
    child=$!
    wait "$child"
    status=$?
    # A trapped signal interrupts `wait` (status 128+n), even when the job ends a moment later:
    # wait again for the job's own status (bash keeps a finished child's status for that wait;
    # 127: it was already collected).
    while [ "$stopping" -eq 1 ] && [ "$status" -gt 128 ]; do
        wait "$child"
        again=$?
        [ "$again" -eq 127 ] && break
        status=$again
        kill -0 "$child" 2>/dev/null || break
    done
    child=""
    if [ "$stopping" -eq 1 ]; then
        echo "supervise.sh: stopped by a signal (job status $status); not restarting" >&2
        exit "$status"
    fi
    case "$status" in
    0) exit 0 ;;
    2) echo "supervise.sh: stopped: the input is wrong (status 2); a restart would fail alike" >&2; exit 2 ;;
    64) echo "supervise.sh: stopped: usage error (status 64)" >&2; exit 64 ;;
    esac
    if [ "$attempt" -ge "$max_restarts" ]; then
        echo "supervise.sh: giving up after $((attempt + 1)) attempt(s); last status $status" >&2
        exit "$status"
    fi
    attempt=$((attempt + 1))
    from="the start (no checkpoint saved yet)"
    if grep -q 'checkpoint: .*\.safetensors' "$output"; then
        from="the latest checkpoint"
        case " ${command[*]} " in
        *" --resume "* | *" --resume="*) ;;
        *) command+=(--resume) ;;
        esac
    fi
    echo "supervise.sh: status $status; restarting from $from in ${delay} s" >&2
    sleep "$delay"
done
