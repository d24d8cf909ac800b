#!/bin/sh
# Prints 1 when libnftables' development files are installed, else 0 (binding.gyp builds the
# nftables addon only then; the route addon never needs libnftables). SYNWATCH_WITHOUT_NFTABLES=1
# forces 0, so the tests can build what a machine without libnftables-dev gets.
if [ -z "${SYNWATCH_WITHOUT_NFTABLES:-}" ] && { [ -e /usr/include/nftables/libnftables.h ] || pkg-config --exists libnftables 2>/dev/null; }; then
  echo 1
else
  echo "synwatch: libnftables development files not found (Debian: apt-get install libnftables-dev); building without the nftables backend" >&2
  echo 0
fi
