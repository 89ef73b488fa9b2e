/*
 * worker_json.h — small cJSON helpers the worker's cycles share.
 */
#ifndef ORACODE_WORKER_JSON_H
#define ORACODE_WORKER_JSON_H

#include "postgres.h"
#include <cjson/cJSON.h>

#include "seam_http.h"
#include "seam_json.h"

extern cJSON *wj_parse(const char *text);
extern const char *wj_str(const cJSON *obj, const char *key);
extern int64 wj_int(const cJSON *obj, const char *key);
extern cJSON *wj_access_code(const SeamAccessCode *ac);
extern bool wj_credentials_refused(const SeamResponse *resp);
extern void wj_describe_failure(const SeamResponse *resp, char *buf, size_t len);

#endif							/* ORACODE_WORKER_JSON_H */
