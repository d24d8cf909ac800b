# Two addons, plain C against node_api.h (no npm dependency, builds offline against the installed
# Node headers):
#   synwatch_route    rtnetlink host routes (src/route.c) and the privilege drop
#                     (src/privilege.c, libc only); always built.
#   synwatch_capture  live capture, sending and the interface list over the system libpcap
#                     (src/capture.c); built only where libpcap's development files are
#                     installed (have-pcap.sh), so the route addon never depends on them.
#   synwatch_nftables synwatch's nftables table and block sets over the system libnftables
#                     (src/nftables.c); built only where libnftables' development files are
#                     installed (have-nftables.sh), likewise.
{
  "variables": {
    "have_pcap%": "<!(sh ./have-pcap.sh)",
    "have_nftables%": "<!(sh ./have-nftables.sh)"
  },
  "targets": [
    {
      "target_name": "synwatch_route",
      "sources": ["src/route.c", "src/privilege.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "cflags_c": ["-std=gnu11"]
    }
  ],
  "conditions": [
    ["have_pcap==1", {
      "targets": [
        {
          "target_name": "synwatch_capture",
          "sources": ["src/capture.c"],
          "defines": ["NAPI_VERSION=8"],
          "cflags": ["-Wall", "-Wextra", "-O2"],
          "cflags_c": ["-std=gnu11"],
          "libraries": ["-lpcap"]
        }
      ]
    }],
    ["have_nftables==1", {
      "targets": [
        {
          "target_name": "synwatch_nftables",
          "sources": ["src/nftables.c"],
          "defines": ["NAPI_VERSION=8"],
          "cflags": ["-Wall", "-Wextra", "-O2"],
          "cflags_c": ["-std=gnu11"],
          "libraries": ["-lnftables"]
        }
      ]
    }]
  ]
}
