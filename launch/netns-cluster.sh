#!/usr/bin/env bash
# A small "cluster" on one Linux machine for multi-host tests: N hosts as network namespaces
# (cnnd-h0 … cnnd-hN-1, each with its own hostname), joined by veth pairs to a bridge in a
# switch namespace (cnnd-sw), addresses 10.213.0.1 … in a private range. Traffic stays between
# the namespaces made here. Needs root (or CAP_NET_ADMIN) and iproute2.
#
#   launch/netns-cluster.sh up N [--rate 10gbit] [--delay 100us]   make the hosts (links shaped)
#   launch/netns-cluster.sh mpirun RANKS_PER_HOST ARGS...            mpirun on host 0 across all hosts, TCP only
#   launch/netns-cluster.sh exec I COMMAND...                        run a command on host I
#   launch/netns-cluster.sh cut I                                    take host I's link down (a partition)
#   launch/netns-cluster.sh down                                     remove everything
#   launch/netns-cluster.sh check                                    exit 0 when namespaces can be made here
#
# mpirun reaches the other hosts through this script as its rsh agent (`agent ADDRESS CMD`),
# which enters the host's namespace instead of using ssh. --delay needs the kernel's netem
# qdisc; where it is missing the script says so and shapes the rate only (tbf).
set -euo pipefail
prefix=cnnd
subnet=10.213.0
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"

hosts() { ip netns list | awk '{print $1}' | grep -E "^${prefix}-h[0-9]+$" | sort -V || true; }

host_namespace() { echo "${prefix}-h$1"; }

# Runs COMMAND in host I's network namespace with hostname cnnd-hI (a UTS namespace of its own).
in_host() {
    local index="$1"
    shift
    exec ip netns exec "$(host_namespace "$index")" unshare --uts sh -c "hostname ${prefix}-h$index; exec \"\$@\"" sh "$@"
}

up() {
    local count="${1:?usage: up N}" rate="" delay=""
    shift
    while [ $# -gt 0 ]; do
        case "$1" in
        --rate) rate="$2"; shift 2 ;;
        --delay) delay="$2"; shift 2 ;;
        *) echo "netns-cluster: unknown option $1" >&2; exit 64 ;;
        esac
    done
    down >/dev/null 2>&1 || true
    ip netns add "${prefix}-sw"
    ip netns exec "${prefix}-sw" ip link add br0 type bridge
    ip netns exec "${prefix}-sw" ip link set br0 up
    for ((i = 0; i < count; i++)); do
        local ns
        ns="$(host_namespace "$i")"
        ip netns add "$ns"
        ip link add "${prefix}-v$i" type veth peer name "${prefix}-p$i"
        ip link set "${prefix}-v$i" netns "$ns"
        ip link set "${prefix}-p$i" netns "${prefix}-sw"
        ip netns exec "${prefix}-sw" ip link set "${prefix}-p$i" master br0
        ip netns exec "${prefix}-sw" ip link set "${prefix}-p$i" up
        ip netns exec "$ns" ip link set lo up
        ip netns exec "$ns" ip addr add "$subnet.$((i + 1))/24" dev "${prefix}-v$i"
        ip netns exec "$ns" ip link set "${prefix}-v$i" up
        shape "$ns" "${prefix}-v$i" "$rate" "$delay"
    done
}

# Shapes a host's outgoing link: netem for delay (and rate), else tbf for the rate alone.
shape() {
    local ns="$1" device="$2" rate="$3" delay="$4"
    [ -n "$rate$delay" ] || return 0
    local netem=(netem)
    [ -n "$delay" ] && netem+=(delay "$delay")
    [ -n "$rate" ] && netem+=(rate "$rate")
    if ip netns exec "$ns" tc qdisc add dev "$device" root "${netem[@]}" 2>/dev/null; then
        echo "netns-cluster: $ns: ${netem[*]}"
        return 0
    fi
    [ -n "$delay" ] && echo "netns-cluster: $ns: netem is not available in this kernel: no delay applied" >&2
    if [ -n "$rate" ]; then
        ip netns exec "$ns" tc qdisc add dev "$device" root tbf rate "$rate" burst 1mb latency 10ms
        echo "netns-cluster: $ns: tbf rate $rate"
    fi
}

# Removes the namespaces, first ending what still runs in them (daemons of a partitioned job).
down() {
    for ns in $(hosts) "${prefix}-sw"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
        ip netns delete "$ns" 2>/dev/null || true
    done
}

run_mpirun() {
    local per_host="${1:?usage: mpirun RANKS_PER_HOST ARGS...}"
    shift
    local list=() count=0
    for ns in $(hosts); do
        list+=("$subnet.$((${ns#"${prefix}-h"} + 1)):$per_host")
        count=$((count + per_host))
    done
    [ "$count" -gt 0 ] || { echo "netns-cluster: no hosts (run: up N)" >&2; exit 1; }
    local root_flag=()
    [ "$(id -u)" -eq 0 ] && root_flag=(--allow-run-as-root)
    in_host 0 mpirun "${root_flag[@]}" --oversubscribe --host "$(IFS=,; echo "${list[*]}")" -n "$count" \
        --mca plm_rsh_agent "$self agent" --mca btl self,tcp \
        --mca btl_tcp_if_include "$subnet.0/24" --mca oob_tcp_if_include "$subnet.0/24" "$@"
}

check() {
    local probe="${prefix}-probe$$"
    ip netns add "$probe" 2>/dev/null || { echo "netns-cluster: cannot create network namespaces here" >&2; exit 1; }
    ip netns delete "$probe"
    command -v mpirun >/dev/null || { echo "netns-cluster: mpirun not found" >&2; exit 1; }
    command -v unshare >/dev/null || { echo "netns-cluster: unshare not found (util-linux)" >&2; exit 1; }
}

command="${1:-}"
shift || true
case "$command" in
up) up "$@" ;;
down) down ;;
mpirun) run_mpirun "$@" ;;
exec) index="${1:?usage: exec I COMMAND...}"; shift; in_host "$index" "$@" ;;
cut) ip netns exec "${prefix}-sw" ip link set "${prefix}-p${1:?usage: cut I}" down ;;
check) check ;;
# Open MPI's rsh agent: `agent ADDRESS COMMAND-STRING` starts a daemon on that "host".
agent) address="$1"; shift; in_host "$((${address##*.} - 1))" sh -c "$*" ;;
*) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 64 ;;
esac
