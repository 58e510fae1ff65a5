# Sourced by scripts/test: the Microsoft 365 Agents Playground, which
# tests/tests/agents_playground.rs starts to drive the local host as Teams
# would.
#
# - playground_tools_install: from npm, pinned by
#   scripts/playground/package-lock.json, into scripts/playground/node_modules
#   (reinstalled only when the lock changes). The test finds the CLI there.

playground_tools_install() {
    local dir=scripts/playground stamp=scripts/playground/node_modules/.nudge-lock
    if ! cmp -s "$dir/package-lock.json" "$stamp"; then
        npm ci --prefix "$dir" --no-audit --no-fund --silent
        cp "$dir/package-lock.json" "$stamp"
    fi
}
