#!/usr/bin/env bash
# Builds the .deb of this build tree with CPack, checks its metadata and contents,
# unpacks it into a scratch root and runs the installed parley from there.
#   check_deb.sh BUILD_DIR GUI(ON|OFF)
set -euo pipefail
build=$1
gui=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/out" >"$work/cpack.log" 2>&1 \
    || { cat "$work/cpack.log"; fail "cpack failed"; }
deb=$(ls "$work"/out/*.deb)
echo "built $(basename "$deb")"

depends=$(dpkg-deb -f "$deb" Depends)
echo "Depends: $depends"
need=(libqt6core6 libqt6network6 libqt6websockets6 libqt6sql6 libqt6sql6-sqlite libsodium23)
if [[ $gui == ON ]]; then
    need+=(libqt6widgets6 libqt6gui6 libqt6keychain1)
fi
for dep in "${need[@]}"; do
    grep -Eq "(^|, )$dep( |,|$)" <<<"$depends" || fail "Depends lacks $dep"
done
[[ $(dpkg-deb -f "$deb" Package) == $([[ $gui == ON ]] && echo parley || echo parley-server) ]] \
    || fail "wrong package name"

root="$work/root"
dpkg-deb -x "$deb" "$root"
dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -q postinst || fail "no postinst"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/parley/server.conf \
    || fail "server.conf is not a conffile"

files=(usr/bin/parley usr/lib/systemd/system/parley-server.service usr/lib/sysusers.d/parley.conf
    etc/parley/server.conf)
if [[ $gui == ON ]]; then
    files+=(usr/share/applications/invalid.parley.Parley.desktop
        usr/share/metainfo/invalid.parley.Parley.metainfo.xml
        usr/share/icons/hicolor/scalable/apps/parley.svg
        usr/share/icons/hicolor/48x48/apps/parley.png
        usr/share/icons/hicolor/256x256/apps/parley.png)
fi
for f in "${files[@]}"; do
    [[ -e $root/$f ]] || fail "package lacks /$f"
done

version=$("$root/usr/bin/parley" --version)
echo "installed: $version"
[[ $version =~ ^parley\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "unexpected --version: $version"
# Captured first: `grep -q` stops reading at the first match, and the SIGPIPE that parley
# then gets on its next write failed the pipe (pipefail) now and then.
server_help=$("$root/usr/bin/parley" server --help) || fail "server --help exits non-zero"
grep -q -- "--listen" <<<"$server_help" || fail "server --help"
"$root/usr/bin/parley" server --check-config --config "$root/etc/parley/server.conf" \
    --data-dir "$work/state" || fail "the shipped server.conf does not pass --check-config"
if [[ $gui == ON ]]; then
    desktop-file-validate "$root/usr/share/applications/invalid.parley.Parley.desktop"
    appstreamcli validate --no-net "$root/usr/share/metainfo/invalid.parley.Parley.metainfo.xml"
fi
echo "PASS"
