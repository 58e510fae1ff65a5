# Sourced by the tool scripts: loopback servers for the tests.
#
# - free_port prints a free loopback port.
# - await_listening NAME PID LOG SECONDS PORT...: waits until the process
#   PID listens on every PORT; if it dies first, prints its LOG and fails.
# - stop_server PID LOG: ends that process only, and removes its log.

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

await_listening() {
    local name=$1 pid=$2 log=$3 seconds=$4 port
    shift 4
    for _ in $(seq $((seconds * 10))); do
        local all=1
        for port in "$@"; do
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || all=0
        done
        if [ "$all" = 1 ]; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            cat "$log" >&2
            echo "$name did not start" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "$name did not listen on port(s) $* within ${seconds}s" >&2
    return 1
}

stop_server() {
    if [ -n "${1:-}" ]; then
        kill "$1" 2>/dev/null || true
        wait "$1" 2>/dev/null || true
    fi
    rm -f "${2:-}"
}
