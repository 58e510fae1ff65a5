# Sourced by scripts/test: the AWS tooling the AWS checks and tests need.
#
# - aws_tools_install: scripts/requirements-aws.txt in the venv .venv/
#   (scripts/venv.sh), .venv/bin first on PATH, and the arm64 Rust target.
# - moto_start / moto_stop: a moto server (scripts/moto_server.py) on a free
#   loopback port, announced to the tests in NUDGE_MOTO_ENDPOINT; moto_stop
#   ends that process only.

source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"

aws_tools_install() {
    venv_install scripts/requirements-aws.txt
    rustup target add aarch64-unknown-linux-gnu >/dev/null
    export SAM_CLI_TELEMETRY=0
}

moto_start() {
    local port
    port=$(free_port)
    moto_log=$(mktemp)
    .venv/bin/python scripts/moto_server.py 127.0.0.1 "$port" >"$moto_log" 2>&1 &
    moto_pid=$!
    await_listening "moto server" "$moto_pid" "$moto_log" 10 "$port" || return 1
    export NUDGE_MOTO_ENDPOINT="http://127.0.0.1:$port"
    echo "moto server on $NUDGE_MOTO_ENDPOINT (pid $moto_pid)"
}

moto_stop() {
    stop_server "${moto_pid:-}" "${moto_log:-}"
    moto_pid=
}
