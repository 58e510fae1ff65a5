# Sourced by scripts/test: the AWS tooling the AWS checks and tests need.
#
# - aws_tools_install: a Python venv in .venv/ with scripts/requirements-aws.txt
#   (reinstalled only when that file changes), the arm64 Rust target, and
#   .venv/bin first on PATH.
# - moto_start / moto_stop: a moto server (scripts/moto_server.py) on a free
#   loopback port, announced to the tests in NUDGE_MOTO_ENDPOINT; moto_stop
#   ends that process only.

source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"

aws_tools_install() {
    local requirements=scripts/requirements-aws.txt stamp=.venv/.requirements-aws
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    if ! cmp -s "$requirements" "$stamp"; then
        .venv/bin/pip install --quiet --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$stamp"
    fi
    rustup target add aarch64-unknown-linux-gnu >/dev/null
    export PATH="$PWD/.venv/bin:$PATH"
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
