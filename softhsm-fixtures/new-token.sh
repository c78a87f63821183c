#!/usr/bin/env bash
# Creates a private SoftHSM2 token store under DIR and initializes a token labelled LABEL in it.
#
#   softhsm-fixtures/new-token.sh DIR LABEL
#
# DIR/softhsm2.conf (from softhsm2.conf.in) and DIR/tokens/ are created when missing, so calling
# the script again with another label adds a second token to the same store. PINs come from
# SOFTHSM_USER_PIN / SOFTHSM_SO_PIN when set, else they are random. Prints, one per line, the
# variables a process needs to use the token (no other output on stdout):
#
#   SOFTHSM2_CONF=DIR/softhsm2.conf
#   BAO_HSM_LIB=/usr/lib/softhsm/libsofthsm2.so
#   BAO_HSM_TOKEN_LABEL=LABEL
#   BAO_HSM_PIN=<user PIN>
#   SOFTHSM_SO_PIN=<security officer PIN>
#
# Use it with:  set -a; eval "$(softhsm-fixtures/new-token.sh /tmp/hsm coffer)"; set +a
# The library path can be overridden with SOFTHSM2_LIB (default: Debian's package softhsm2).
set -euo pipefail

die() { echo "new-token.sh: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: new-token.sh DIR LABEL"
dir=$1
label=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lib=${SOFTHSM2_LIB:-/usr/lib/softhsm/libsofthsm2.so}

command -v softhsm2-util >/dev/null \
  || die "softhsm2-util not found: install the Debian package softhsm2 (scripts/install-deps does)"
[ -f "$lib" ] || die "SoftHSM2 library $lib not found: install the Debian package softhsm2"

# Values are printed unquoted: keep them to characters that need no quoting.
[[ $label =~ ^[A-Za-z0-9._-]{1,32}$ ]] || die "LABEL must be 1-32 characters of [A-Za-z0-9._-]"
[[ $dir != *[[:space:]]* ]] || die "DIR must not contain whitespace"

random_pin() { od -An -N8 -tx1 /dev/urandom | tr -d ' \n'; }
user_pin=${SOFTHSM_USER_PIN:-$(random_pin)}
so_pin=${SOFTHSM_SO_PIN:-$(random_pin)}
for p in "$user_pin" "$so_pin"; do
  [[ $p =~ ^[A-Za-z0-9._-]{4,255}$ ]] || die "PINs must be 4-255 characters of [A-Za-z0-9._-]"
done

mkdir -p "$dir/tokens"
chmod 700 "$dir" "$dir/tokens"
dir=$(cd "$dir" && pwd)
conf=$dir/softhsm2.conf
if [ ! -f "$conf" ]; then
  sed "s#@TOKENDIR@#$dir/tokens#" "$here/softhsm2.conf.in" >"$conf"
fi

export SOFTHSM2_CONF=$conf
if softhsm2-util --show-slots 2>/dev/null | grep -Eq "^ *Label: *$label *$"; then
  die "a token labelled $label already exists in $dir"
fi
# --free takes the first uninitialized slot; SoftHSM then moves the token to a new slot with a
# random id, so users select it by label (BAO_HSM_TOKEN_LABEL), never by slot number.
softhsm2-util --init-token --free --label "$label" --pin "$user_pin" --so-pin "$so_pin" >/dev/null \
  || die "softhsm2-util --init-token failed for label $label in $dir"

echo "SOFTHSM2_CONF=$conf"
echo "BAO_HSM_LIB=$lib"
echo "BAO_HSM_TOKEN_LABEL=$label"
echo "BAO_HSM_PIN=$user_pin"
echo "SOFTHSM_SO_PIN=$so_pin"
