#!/bin/sh
# Prints 1 when libpcap's development files are installed, else 0 (binding.gyp builds the
# capture addon only then; the route addon never needs libpcap). SYNWATCH_WITHOUT_PCAP=1 forces 0,
# so the tests can build what a machine without libpcap-dev gets.
if [ -z "${SYNWATCH_WITHOUT_PCAP:-}" ] && { [ -e /usr/include/pcap/pcap.h ] || [ -e /usr/include/pcap.h ] || pkg-config --exists libpcap 2>/dev/null; }; then
  echo 1
else
  echo "synwatch: libpcap development files not found (Debian: apt-get install libpcap-dev); building without live capture" >&2
  echo 0
fi
