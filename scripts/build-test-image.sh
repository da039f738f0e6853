#!/usr/bin/env bash
# Builds the local test image berth-test/busybox:1 from Debian's busybox-static,
# with no image registry involved (none is reachable from CI).
set -euo pipefail
IMAGE="${1:-berth-test/busybox:1}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "test image $IMAGE already present"
  exit 0
fi
BUSYBOX="$(command -v busybox || true)"
[ -x /bin/busybox ] && BUSYBOX=/bin/busybox
if [ -z "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
  echo "a static busybox is needed: apt-get install -y busybox-static" >&2
  exit 1
fi
ROOT="$(mktemp -d)"
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT/bin" "$ROOT/tmp" "$ROOT/etc" "$ROOT/var/www" "$ROOT/proc" "$ROOT/sys" "$ROOT/dev"
cp "$BUSYBOX" "$ROOT/bin/busybox"
for app in $("$ROOT/bin/busybox" --list); do
  [ "$app" = busybox ] || ln -sf busybox "$ROOT/bin/$app"
done
echo 'root:x:0:0:root:/root:/bin/sh' > "$ROOT/etc/passwd"
echo 'root:x:0:' > "$ROOT/etc/group"
echo 'hello from berth' > "$ROOT/var/www/index.html"
tar -C "$ROOT" -c . | docker import -c 'ENV PATH=/bin' -c 'CMD ["/bin/sh"]' - "$IMAGE" >/dev/null
echo "built test image $IMAGE"
