#!/usr/bin/env bash
# check_install.sh - the install and packaging test (CI step 'install'): installs an already
# built tree into a temporary prefix and checks what a user of the installed mcapkit gets.
#
#   tests/install/check_install.sh [BUILD_DIR]     (default: build)
#
# Builds nothing of mcapkit itself. Checks, in order:
#   - the files are where README "Install" says (command, libraries, headers, pkg-config and
#     CMake package files, a manual page per command of 'mcapkit help', bash completion);
#   - libmcap.so: SONAME libmcap.so.MAJOR, and it exports mcap_* functions only;
#   - examples/ built against the install with pkg-config, and with find_package(mcapkit)
#     (examples/CMakeLists.txt), both linking the shared libmcap; each writer's recording is
#     read back by the other build's reader; a program using mcapkit::pipeline /
#     mcapkit-pipeline.pc links both ways too;
#   - `man -l` renders every page without a groff warning, and each command's page names
#     every option its --help lists;
#   - the completion script is valid bash and registers completion for mcapkit;
#   - `cpack -G DEB`: dpkg-deb -c lists the expected files, Depends names the runtime
#     libraries, and the packaged mcap.pc has prefix=/usr.
# Exits 1 on the first failed check, naming it; the last line is "install: ... ok".
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mcapkit-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
checks=0

fail() {
  echo "install: FAILED: $*" >&2
  exit 1
}
ok() {
  checks=$((checks + 1))
  echo "ok: $*"
}

cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || {
  cat "$tmp/install.log"
  fail "cmake --install"
}
pc=$(find "$prefix" -name mcap.pc -path '*/pkgconfig/*')
[[ -n $pc ]] || fail "no mcap.pc installed"
libdir=$(dirname "$(dirname "$pc")")
ver=$(sed -n 's/^Version: //p' "$pc")
major=${ver%%.*}

# ---- what is installed where
mcapkit=$prefix/bin/mcapkit
expected=(bin/mcapkit include/mcap/mcap.h include/pipeline/pipeline.h
          share/bash-completion/completions/mcapkit share/man/man1/mcapkit.1
          lib/systemd/system/mcapkit-agent.service share/doc/mcapkit/examples/mcapkit-agent.env)
for f in "${expected[@]}"; do [[ -f $prefix/$f ]] || fail "$f not installed"; done
for f in libmcap.a "libmcap.so.$ver" pkgconfig/mcapkit-pipeline.pc \
  cmake/mcapkit/mcapkitConfig.cmake cmake/mcapkit/mcapkitConfigVersion.cmake \
  cmake/mcapkit/mcapkitTargets.cmake; do
  [[ -f $libdir/$f ]] || fail "$libdir/$f not installed"
done
[[ $(readlink "$libdir/libmcap.so.$major") == "libmcap.so.$ver" ]] || fail "libmcap.so.$major link"
[[ $(readlink "$libdir/libmcap.so") == "libmcap.so.$major" ]] || fail "libmcap.so link"
# every pipeline archive the .pc file names is there
for l in $(sed -n 's/^Libs: //p' "$libdir/pkgconfig/mcapkit-pipeline.pc"); do
  if [[ $l == -lpl_* || $l == -lmcapkit* ]]; then
    [[ -f $libdir/lib${l#-l}.a ]] || fail "lib${l#-l}.a not installed"
  fi
done
commands=$("$mcapkit" help | awk '/^commands:/ {on = 1; next} /^$/ {on = 0} on {print $1}')
[[ $(wc -w <<<"$commands") -ge 20 ]] || fail "'mcapkit help' lists too few commands"
for c in $commands; do
  [[ -f $prefix/share/man/man1/mcapkit-$c.1 ]] || fail "no manual page for '$c'"
done
ok "$(find "$prefix" -type f | wc -l) files installed in $prefix, $(wc -w <<<"$commands") command pages"

# ---- the shared library: SONAME, only mcap_* exported
soname=$(readelf -d "$libdir/libmcap.so.$ver" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname == "libmcap.so.$major" ]] || fail "SONAME is '$soname'"
nm -D --defined-only "$libdir/libmcap.so.$ver" | awk '{print $NF}' | sed 's/@.*//' \
  | grep -v '^MCAP_[0-9]*$' >"$tmp/exports"
others=$(grep -v '^mcap_[a-z0-9]' "$tmp/exports" || true)
[[ -z $others ]] || fail "libmcap.so exports non-API symbols: $(head -5 <<<"$others" | tr '\n' ' ')"
grep -qx mcap_reader_open "$tmp/exports" || fail "libmcap.so does not export mcap_reader_open"
ok "libmcap.so.$ver: SONAME $soname, $(wc -l <"$tmp/exports") symbols exported, all mcap_*"

# ---- the examples, with pkg-config and with find_package
export PKG_CONFIG_PATH=$libdir/pkgconfig
export LD_LIBRARY_PATH=$libdir
cc=${CC:-cc}
mkdir -p "$tmp/pc" "$tmp/cm"
cat >"$tmp/pl_check.c" <<'C'
/* links libmcap and the pipeline libraries: both must resolve */
#include <stdio.h>
#include <mcap/mcap.h>
#include <pipeline/pipeline.h>
int main(void) {
  printf("%s %s\n", mcap_version_string(), pl_strerror(0));
  return 0;
}
C
for ex in read_topic write_recording; do
  # shellcheck disable=SC2046
  $cc -std=c17 -Wall -Werror -o "$tmp/pc/$ex" "$src/examples/$ex.c" $(pkg-config --cflags --libs mcap)
done
# shellcheck disable=SC2046
$cc -std=c17 -Wall -Werror -o "$tmp/pc/pl_check" "$tmp/pl_check.c" \
  $(pkg-config --cflags --libs mcapkit-pipeline)
cat >"$tmp/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(install_check C)
add_subdirectory("$src/examples" examples)
find_package(mcapkit REQUIRED) # imported targets are seen in the directory that finds them
add_executable(pl_check pl_check.c)
target_link_libraries(pl_check PRIVATE mcapkit::pipeline)
CMAKE
cmake -S "$tmp" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="-Wall -Werror" \
  -DCMAKE_BUILD_TYPE=Release >"$tmp/cm.log" 2>&1 || { cat "$tmp/cm.log"; fail "find_package(mcapkit)"; }
cmake --build "$tmp/cm" >>"$tmp/cm.log" 2>&1 || { cat "$tmp/cm.log"; fail "building against mcapkit::"; }
for b in "$tmp/pc" "$tmp/cm/examples"; do
  for ex in read_topic write_recording; do
    readelf -d "$b/$ex" | grep -q "NEEDED.*\[libmcap.so.$major\]" || fail "$b/$ex: not linked to libmcap.so.$major"
  done
done
"$tmp/pc/write_recording" "$tmp/pc.mcap" || fail "write_recording (pkg-config build)"
"$tmp/cm/examples/write_recording" "$tmp/cm.mcap" || fail "write_recording (CMake build)"
"$tmp/cm/examples/read_topic" "$tmp/pc.mcap" /chatter >"$tmp/chatter" 2>"$tmp/err" \
  || fail "read_topic (CMake build): $(cat "$tmp/err")"
"$tmp/pc/read_topic" "$tmp/cm.mcap" /count >"$tmp/count" 2>>"$tmp/err" \
  || fail "read_topic (pkg-config build): $(cat "$tmp/err")"
[[ $(wc -l <"$tmp/chatter") == 10 && $(head -n 1 "$tmp/chatter") == '1000000000 0 19 {"text": "hello 0"}' ]] \
  || fail "read_topic /chatter printed: $(head -n 3 "$tmp/chatter")"
[[ $(wc -l <"$tmp/count") == 10 && $(tail -n 1 "$tmp/count") == '1019000000 9 8 {"n": 9}' ]] \
  || fail "read_topic /count printed: $(tail -n 3 "$tmp/count")"
"$mcapkit" check "$tmp/pc.mcap" >/dev/null || fail "mcapkit check on the example's recording"
for b in "$tmp/pc" "$tmp/cm"; do
  [[ $("$b/pl_check") == "$ver success" ]] || fail "$b/pl_check printed: $("$b/pl_check")"
done
ok "examples built with pkg-config and find_package (shared libmcap), 2 x 20 messages written and read back; pipeline libraries link both ways"

# ---- manual pages: rendered without warnings, every --help option on its page
export MANWIDTH=80
pages=0
for page in "$prefix"/share/man/man1/*.1; do
  LC_ALL=C.UTF-8 man --warnings=all -l "$page" >"$tmp/page.txt" 2>"$tmp/man.err" || fail "man -l $page"
  [[ ! -s $tmp/man.err ]] || fail "man -l $(basename "$page"): $(head -n 3 "$tmp/man.err")"
  name=$(basename "$page" .1)
  if [[ $name == mcapkit-* ]]; then
    cmd=${name#mcapkit-}
    for o in $("$mcapkit" "$cmd" --help | grep -oE -- '--[a-z0-9][a-z0-9-]*' | sort -u); do
      grep -qF -- "$o" "$tmp/page.txt" || fail "$name(1) does not mention $o (from '$cmd --help')"
    done
  else
    for c in $commands; do grep -qF "mcapkit-$c" "$tmp/page.txt" || fail "mcapkit(1) misses $c"; done
  fi
  pages=$((pages + 1))
done
ok "$pages manual pages render without warnings and list every option of --help"

# ---- bash completion
comp=$prefix/share/bash-completion/completions/mcapkit
bash -n "$comp" || fail "completion script: bash syntax"
[[ $(bash -c "source '$comp' && complete -p mcapkit") == *"-F _mcapkit mcapkit"* ]] \
  || fail "completion script does not register _mcapkit"
cmp -s "$comp" <("$mcapkit" completion bash) || fail "installed completion differs from 'mcapkit completion bash'"
ok "bash completion"

# ---- the Debian package
(cd "$build" && cpack -G DEB -B "$tmp/deb") >"$tmp/cpack.log" 2>&1 || { cat "$tmp/cpack.log"; fail "cpack -G DEB"; }
deb=$(find "$tmp/deb" -maxdepth 1 -name '*.deb')
[[ -n $deb ]] || fail "cpack made no .deb"
dpkg-deb -c "$deb" | awk '{print $6}' >"$tmp/deb.list" # the path, without "-> target"
for f in ./usr/bin/mcapkit "./usr/lib.*/libmcap.so.$ver" "./usr/lib.*/libmcap.so.$major" \
  ./usr/lib.*/libmcap.a ./usr/lib.*/pkgconfig/mcap.pc ./usr/lib.*/pkgconfig/mcapkit-pipeline.pc \
  ./usr/lib.*/cmake/mcapkit/mcapkitConfig.cmake ./usr/include/mcap/mcap.h \
  ./usr/include/pipeline/pipeline.h ./usr/share/man/man1/mcapkit.1 \
  ./usr/share/man/man1/mcapkit-doctor.1 ./usr/share/bash-completion/completions/mcapkit \
  ./usr/lib/systemd/system/mcapkit-agent.service \
  ./usr/share/doc/mcapkit/examples/mcapkit-agent.env; do
  grep -qxE -- "$f" "$tmp/deb.list" || fail ".deb lacks $f"
done
depends=$(dpkg-deb -f "$deb" Depends)
for p in libc6 libzstd1 liblz4-1 libjson-c5 libxxhash0 libsqlite3-0 libyaml-0-2 libbz2-1.0 \
  libcurl4 libmicrohttpd12 libssl3 libsystemd0; do
  [[ ", $depends," == *", $p "* || ", $depends," == *", $p,"* ]] || fail ".deb Depends lacks $p: $depends"
done
dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './usr/lib*/pkgconfig/mcap.pc' \
  | grep -qx 'prefix=/usr' || fail "the packaged mcap.pc has no prefix=/usr"
ok "$(basename "$deb"): $(wc -l <"$tmp/deb.list") entries; Depends: $depends"
echo "install: $checks checks ok"
