/*
 * seam_answer.c — what an answer from Seam means to the worker, whatever
 * was asked (a create, a code list).
 */
#include "postgres.h"

#include "seam_answer.h"
#include "seam_json.h"

/*
 * Whether Seam refused the credentials rather than the request: a 401, or a
 * 400 missing_workspace_id (a personal access token without
 * oracode.workspace_id). Either fails every request alike, so the worker
 * pauses instead of failing them.
 */
bool
seam_answer_refuses_credentials(const SeamResponse *resp)
{
	SeamError	err;

	if (resp->status == 401)
		return true;
	return resp->status == 400 && seam_parse_error(resp->body.data, &err) &&
		strcmp(err.type, "missing_workspace_id") == 0;
}

/* One line saying why a request got no usable answer (status, Seam's error, curl's text). */
void
seam_answer_describe_failure(const SeamResponse *resp, char *buf, size_t len)
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
