# synwatch_route: the rtnetlink host-route addon (see src/route.c). Plain C against node_api.h,
# so it needs no npm dependency and builds offline against the installed Node headers.
{
  "targets": [
    {
      "target_name": "synwatch_route",
      "sources": ["src/route.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "cflags_c": ["-std=gnu11"]
    }
  ]
}
