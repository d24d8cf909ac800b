/* The privilege drop (privilege.c), registered on the route addon's exports by route.c's init. */
#ifndef SYNWATCH_PRIVILEGE_H
#define SYNWATCH_PRIVILEGE_H
#include <node_api.h>

/* Adds lookupUser(), dropTo() and setEffective() to `exports`. */
void privilege_register(napi_env env, napi_value exports);

#endif
