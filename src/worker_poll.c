/*
 * worker_poll.c — one poll cycle: the status of codes in flight, batched.
 *
 * One /access_codes/list request carries up to oracode.batch_size ids, so a
 * cycle over N codes costs ceil(N / batch_size) requests, not N. A code Seam
 * no longer lists after its end has expired (Seam deletes removed codes); an
 * answer with a garbled code in it tells nothing about any of them, so it
 * counts as a failed poll rather than as codes Seam no longer knows.
 */
#include "postgres.h"

#include "pgstat.h"

#include "guc.h"
#include "seam_http.h"
#include "seam_json.h"
#include "worker.h"
#include "worker_json.h"

/* Claim due codes, list them at Seam in batches, record what came back. */
bool
worker_poll_cycle(bool *unauthorized)
{
	cJSON	   *claim = wj_parse(worker_sql("SELECT oracode.worker_claim_polls($1::jsonb)::text",
											psprintf("{\"batch\":%d,\"lease_seconds\":%d}",
													 oracode_batch_size * 4, worker_lease_seconds())));
	int			n = cJSON_GetArraySize(claim);
	int			per = oracode_batch_size;
	int			nreq = (n + per - 1) / per;
	SeamRequest *reqs;
	char	  **ids;
	cJSON	   *results,
			   *row;
	int			i,
				r;

	if (n == 0)
		return false;
	ids = palloc(sizeof(char *) * n);
	i = 0;
	cJSON_ArrayForEach(row, claim)
		ids[i++] = (char *) wj_str(row, "seam_access_code_id");

	reqs = palloc0(sizeof(SeamRequest) * nreq);
	for (r = 0; r < nreq; r++)
	{
		reqs[r].path = "/access_codes/list";
		reqs[r].body = seam_body_list_codes_by_ids(ids + r * per, Min(per, n - r * per));
	}
	pgstat_report_activity(STATE_RUNNING, psprintf("oracode: polling %d codes in %d requests", n, nreq));
	seam_http_perform(reqs, nreq);

	results = cJSON_CreateArray();
	for (r = 0; r < nreq; r++)
	{
		SeamAccessCode *acs = NULL;
		int			nacs = 0;
		const char *problem = NULL;
		/* a garbled code in the list could be one of ours: then the whole answer is unreadable */
		bool		ok = reqs[r].resp.status == 200 &&
			seam_parse_access_codes(reqs[r].resp.body.data, &acs, &nacs, &problem) &&
			(problem = wj_check_codes(reqs[r].resp.body.data, "access_codes")) == NULL;
		char		why[512];
		int			k;

		if (reqs[r].resp.status == 401)
			*unauthorized = true;
		if (!ok)
		{
			wj_describe_failure(&reqs[r].resp, why, sizeof(why));
			if (reqs[r].resp.status == 200)
				snprintf(why, sizeof(why), "unreadable code list: %s", problem);
		}
		for (k = r * per; k < Min(n, (r + 1) * per); k++)
		{
			cJSON	   *res = cJSON_CreateObject();
			cJSON	   *claimed = cJSON_GetArrayItem(claim, k);
			int			j;

			cJSON_AddNumberToObject(res, "id", (double) wj_int(claimed, "id"));
			if (!ok)
			{
				cJSON_AddStringToObject(res, "error", psprintf("status poll failed: %s", why));
				if (reqs[r].resp.retry_after >= 0)
					cJSON_AddNumberToObject(res, "retry_after", reqs[r].resp.retry_after);
			}
			else
			{
				/* match on our side: the fake ignores the id filter */
				for (j = 0; j < nacs; j++)
					if (strcmp(acs[j].access_code_id, ids[k]) == 0)
						break;
				cJSON_AddBoolToObject(res, "found", j < nacs);
				if (j < nacs)
					cJSON_AddItemToObject(res, "access_code", wj_access_code(&acs[j]));
			}
			cJSON_AddItemToArray(results, res);
		}
	}
	worker_sql("SELECT oracode.worker_apply_poll_results($1::jsonb)", cJSON_PrintUnformatted(results));
	return true;
}
