# Helpers sourced by the setup scripts (setup_env.sh, run_tests.sh): install a missing system
# package the way a fresh Debian/Ubuntu machine allows it — as root, or through sudo.

# True when we may run commands as root: we are root, or sudo works (without a password, or with
# one typed at this terminal).
can_be_root() {
  [ "$(id -u)" = 0 ] && return 0
  command -v sudo >/dev/null 2>&1 || return 1
  sudo -n true 2>/dev/null || [ -t 0 ]
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt_install PACKAGE... : Debian/Ubuntu only; false when apt-get is missing or root is out of reach.
apt_install() {
  command -v apt-get >/dev/null 2>&1 && can_be_root || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
