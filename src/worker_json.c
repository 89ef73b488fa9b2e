/*
 * worker_json.c — cJSON helpers for the worker: reading the rows the claim
 * functions return and writing the results the apply functions take.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/datetime.h"

#include "worker_json.h"

/* Parse JSON the worker's own SQL produced; failure here is a bug. */
cJSON *
wj_parse(const char *text)
{
	cJSON	   *j = cJSON_Parse(text ? text : "null");

	if (j == NULL)
		elog(ERROR, "oracode worker: cannot parse its own claim result");
	return j;
}

/* A string member, or NULL. */
const char *
wj_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An integer member (the ids the claims return), or -1. */
int64
wj_int(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsNumber(v) ? (int64) v->valuedouble : -1;
}

/* Add a member parsed from JSON text, or null when absent or unparsable. */
static void
add_raw_json(cJSON *obj, const char *key, const char *text)
{
	cJSON	   *v = text ? cJSON_Parse(text) : NULL;

	cJSON_AddItemToObject(obj, key, v ? v : cJSON_CreateNull());
}

/*
 * Add a time Seam gave as ISO 8601 in UTC ("2024-09-10T14:00:00.5Z"),
 * written here whatever the session's DateStyle, so SQL reads it back as is.
 */
static void
add_utc_time(cJSON *obj, const char *key, TimestampTz t)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		buf[MAXDATELEN + 2];

	if (timestamp2tm(t, NULL, &tm, &fsec, NULL, NULL) != 0)
		return;
	EncodeDateTime(&tm, fsec, false, 0, NULL, USE_XSD_DATES, buf);
	strlcat(buf, "Z", sizeof(buf));
	cJSON_AddStringToObject(obj, key, buf);
}

/* The fields of a Seam access code the apply functions read. */
cJSON *
wj_access_code(const SeamAccessCode *ac)
{
	cJSON	   *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "access_code_id", ac->access_code_id);
	if (ac->device_id)
		cJSON_AddStringToObject(o, "device_id", ac->device_id);
	if (ac->name)
		cJSON_AddStringToObject(o, "name", ac->name);
	cJSON_AddStringToObject(o, "status", ac->status ? ac->status : "unknown");
	if (ac->code)
		cJSON_AddStringToObject(o, "code", ac->code);
	if (ac->waiting_for_code)
		cJSON_AddTrueToObject(o, "is_waiting_for_code_assignment");
	if (ac->has_starts_at)
		add_utc_time(o, "starts_at", ac->starts_at);
	if (ac->has_ends_at)
		add_utc_time(o, "ends_at", ac->ends_at);
	add_raw_json(o, "errors", ac->errors_json);
	add_raw_json(o, "warnings", ac->warnings_json);
	if (ac->action_error_type)
	{
		/* the entry the request's errors keep (oracode.worker_apply_create_results) */
		cJSON	   *e = cJSON_AddObjectToObject(o, "action_attempt_error");

		cJSON_AddStringToObject(e, "error_code", ac->action_error_type);
		cJSON_AddStringToObject(e, "message", ac->action_error_message);
		if (ac->action_attempt_id)
			cJSON_AddStringToObject(e, "action_attempt_id", ac->action_attempt_id);
		cJSON_AddTrueToObject(e, "is_action_attempt_error");
	}
	return o;
}

/*
 * Whether Seam refused the credentials rather than the request: a 401, or a
 * 400 missing_workspace_id (a personal access token without
 * oracode.workspace_id). Either fails every request alike, so the worker
 * pauses instead of failing them.
 */
bool
wj_credentials_refused(const SeamResponse *resp)
{
	SeamError	err;

	if (resp->status == 401)
		return true;
	return resp->status == 400 && seam_parse_error(resp->body.data, &err) &&
		strcmp(err.type, "missing_workspace_id") == 0;
}

/* One line saying why a request got no usable answer (status, Seam's error, curl's text). */
void
wj_describe_failure(const SeamResponse *resp, char *buf, size_t len)
{
	SeamError	err;

	if (resp->too_large)
		strlcpy(buf, resp->error, len);
	else if (resp->status == 0)
		snprintf(buf, len, "%s%s", resp->timed_out ? "timeout: " : "no response: ",
				 resp->error[0] ? resp->error : "connection failed");
	else if (seam_parse_error(resp->body.data, &err))
		snprintf(buf, len, "HTTP %ld %s: %s", resp->status, err.type, err.message);
	else
		snprintf(buf, len, "HTTP %ld", resp->status);
}
