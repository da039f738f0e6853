#!/usr/bin/env bash
# Installs (or upgrades in place) the Berth node agent on a Linux machine with systemd:
# the executable for this machine's architecture, its config, its systemd unit; joins the
# cluster with a token the first time, keeps the node identity afterwards.
#
#   sudo ./install-agent.sh --server HOST:7400 --token TOKEN        first install
#   sudo ./install-agent.sh                                         upgrade (same settings, same node)
#   sudo ./install-agent.sh --uninstall [--purge]                   remove (--purge: also the identity)
#
# Files come from --from: a directory or an http(s) URL holding berth-agent-linux-ARCH,
# berth-agent.service and SHA256SUMS (what `npm run package` writes to dist/). Default: the
# directory this script is in. See docs/install.md.
set -euo pipefail

usage() {
  cat <<'USAGE'
install-agent.sh: install, upgrade or remove the Berth node agent

  --server HOST[:PORT]  the control plane (port 7400 by default); kept in the config
  --token TOKEN         a join token (berth token create); needed only the first time
  --from DIR|URL        where the release files are (default: this script's directory)
  --label KEY=VALUE     a node label, repeatable (replaces the labels in the config)
  --arch ARCH           amd64, arm64 or armv7 (default: detected)
  --root DIR            install under DIR instead of / (for tests and images)
  --no-start            install and enable, but do not (re)start the service
  --uninstall           stop and remove the agent (containers keep running)
  --purge               with --uninstall: also remove the node identity and state
  -h, --help            this help
USAGE
}

die() {
  printf 'install-agent: %s\n' "$*" >&2
  exit 1
}
say() { printf 'install-agent: %s\n' "$*"; }

server="" token="" from="" arch="" root="" start=1 uninstall=0 purge=0
labels=()
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server="${2:?--server needs HOST[:PORT]}"; shift 2 ;;
    --token) token="${2:?--token needs a join token}"; shift 2 ;;
    --from) from="${2:?--from needs a directory or URL}"; shift 2 ;;
    --label) labels+=("${2:?--label needs KEY=VALUE}"); shift 2 ;;
    --arch) arch="${2:?--arch needs amd64, arm64 or armv7}"; shift 2 ;;
    --root) root="${2:?--root needs a directory}"; shift 2 ;;
    --no-start) start=0; shift ;;
    --uninstall) uninstall=1; shift ;;
    --purge) purge=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

root="${root%/}"
bin="$root/usr/local/bin/berth-agent"
conf_dir="$root/etc/berth"
conf="$conf_dir/agent.json"
data="$root/var/lib/berth-agent"
unit="$root/etc/systemd/system/berth-agent.service"
systemctl_cmd="${SYSTEMCTL:-systemctl}"

if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then die "run as root (sudo $0 ...)"; fi

have_systemd() { command -v "$systemctl_cmd" >/dev/null 2>&1; }

if [ "$uninstall" -eq 1 ]; then
  if have_systemd; then
    "$systemctl_cmd" disable --now berth-agent >/dev/null 2>&1 || true
  fi
  rm -f "$unit" "$bin"
  if have_systemd; then "$systemctl_cmd" daemon-reload || true; fi
  if [ "$purge" -eq 1 ]; then
    rm -rf "$data" "$conf"
    say "removed the agent, its config and its identity (the node stays in the cluster until: berth node deregister ID)"
  else
    say "removed the agent; kept $conf and $data (the node identity; --purge removes them)"
  fi
  say "containers started by the agent keep running; stop them with docker, or drain the node first"
  exit 0
fi

# The architecture Berth names: amd64, arm64 or armv7. A 64-bit kernel with a 32-bit
# userland (Raspberry Pi OS 32-bit on a Pi 4) needs the armv7 build.
detect_arch() {
  local m
  m="$(uname -m)"
  case "$m" in
    x86_64 | amd64) echo amd64 ;;
    aarch64 | arm64)
      if [ "$(getconf LONG_BIT 2>/dev/null || echo 64)" = "32" ]; then echo armv7; else echo arm64; fi
      ;;
    armv7l | armv8l) echo armv7 ;;
    armv6l) die "this is an ARMv6 machine (Pi 1, Pi Zero): Node.js has no build for it, so the agent cannot run here" ;;
    *) die "unsupported architecture $m (Berth ships amd64, arm64 and armv7)" ;;
  esac
}
if [ -z "$arch" ]; then arch="$(detect_arch)"; fi
case "$arch" in amd64 | arm64 | armv7) ;; *) die "--arch: must be amd64, arm64 or armv7, got $arch" ;; esac

# Settings: flags win, else what the installed config says (an upgrade needs no flags).
config_value() {
  [ -f "$conf" ] || return 0
  sed -n "s/^ *\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" "$conf" | head -n1
}
if [ -z "$server" ]; then server="$(config_value server)"; fi
[ -n "$server" ] || die "--server HOST[:PORT] is needed for a first install (the control plane's address)"
joined=0
if [ -f "$data/node.crt" ] && [ -f "$data/node.key" ]; then joined=1; fi
if [ "$joined" -eq 0 ] && [ -z "$token" ]; then
  die "this node has not joined yet: give --token TOKEN (run 'berth token create' where the CLI is logged in)"
fi

if [ -z "$from" ]; then from="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fetch() { # fetch NAME -> $work/NAME
  case "$from" in
    http://* | https://*)
      command -v curl >/dev/null 2>&1 || die "curl is needed to download from $from"
      curl -fsSL --retry 3 -o "$work/$1" "${from%/}/$1" || die "cannot download ${from%/}/$1"
      ;;
    *)
      [ -f "$from/$1" ] || die "$from/$1 not found (--from: a directory or URL with the release files)"
      cp "$from/$1" "$work/$1"
      ;;
  esac
}

exe="berth-agent-linux-$arch"
say "installing $exe from $from"
fetch "$exe"
fetch berth-agent.service
if fetch_sums=$( (fetch SHA256SUMS) 2>&1); then
  expected="$(awk -v f="$exe" '$2 == f || $2 == "*" f { print $1 }' "$work/SHA256SUMS")"
  [ -n "$expected" ] || die "SHA256SUMS has no line for $exe"
  actual="$(sha256sum "$work/$exe" | awk '{ print $1 }')"
  [ "$expected" = "$actual" ] || die "$exe: checksum mismatch (expected $expected, got $actual); nothing was installed"
else
  say "warning: no SHA256SUMS at $from ($fetch_sums); the download is not verified"
fi
chmod 0755 "$work/$exe"
version="$("$work/$exe" --version 2>/dev/null)" || die "$exe does not run on this machine (wrong architecture? try --arch)"

if ! command -v docker >/dev/null 2>&1 && [ -z "$root" ]; then
  say "warning: no Docker here; the agent needs a Docker engine (Debian, Raspberry Pi OS: apt-get install -y docker.io)"
fi

# The executable: replaced atomically (a running agent keeps its old file until it restarts).
mkdir -p "$(dirname "$bin")" "$conf_dir" "$data" "$(dirname "$unit")"
chmod 0700 "$data"
cp "$work/$exe" "$bin.new"
mv -f "$bin.new" "$bin"

# The config: the same keys as the agent's flags. Labels: flags replace, else kept.
json_escape() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }
labels_json=""
if [ ${#labels[@]} -gt 0 ]; then
  for l in "${labels[@]}"; do
    case "$l" in *=*) ;; *) die "--label: must be KEY=VALUE, got $l" ;; esac
    labels_json="$labels_json${labels_json:+, }\"$(json_escape "${l%%=*}")\": \"$(json_escape "${l#*=}")\""
  done
  labels_json="{ $labels_json }"
elif [ -f "$conf" ]; then
  labels_json="$(sed -n 's/^ *"labels": *\({.*}\),\{0,1\} *$/\1/p' "$conf" | head -n1)"
fi
{
  printf '{\n'
  printf '  "server": "%s",\n' "$(json_escape "$server")"
  if [ -n "$labels_json" ]; then printf '  "labels": %s,\n' "$labels_json"; fi
  printf '  "data-dir": "%s"\n' "$(json_escape "$data")"
  printf '}\n'
} >"$conf.new"
chmod 0644 "$conf.new"
mv -f "$conf.new" "$conf"

# The unit, with paths under --root when one is given.
if [ -n "$root" ]; then
  sed "s#/usr/local/bin/berth-agent#$bin#; s#/etc/berth/agent.json#$conf#" "$work/berth-agent.service" >"$unit"
else
  cp "$work/berth-agent.service" "$unit"
fi

if [ "$joined" -eq 1 ]; then
  say "already joined (identity in $data); keeping it"
else
  say "joining the cluster at $server"
  "$bin" join --config "$conf" --token "$token" || die "joining failed (see above); check --server and that the token is valid and unused"
fi

if have_systemd; then
  "$systemctl_cmd" daemon-reload
  "$systemctl_cmd" enable berth-agent >/dev/null
  if [ "$start" -eq 1 ]; then
    "$systemctl_cmd" restart berth-agent
    say "started: $version"
  else
    say "installed and enabled (not started: --no-start): $version"
  fi
else
  say "no systemd here: start the agent with: $bin --config $conf"
fi
say "check with: berth node ls"
