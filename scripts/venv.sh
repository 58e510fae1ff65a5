# Sourced by the tool scripts: one Python venv, .venv/, for every offline
# tool nudge's checks use.
#
# - venv_install FILE: installs the pinned requirements FILE into .venv/
#   (creating it first), again only when FILE changed since, and puts
#   .venv/bin first on PATH.

venv_install() {
    local requirements=$1
    local stamp=.venv/.$(basename "$requirements")
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    if ! cmp -s "$requirements" "$stamp"; then
        .venv/bin/pip install --quiet --disable-pip-version-check -r "$requirements"
        cp "$requirements" "$stamp"
    fi
    case ":$PATH:" in
        *":$PWD/.venv/bin:"*) ;;
        *) export PATH="$PWD/.venv/bin:$PATH" ;;
    esac
}
