/*
 * worker_send.c — one send cycle: claim, reconcile the unanswered, create.
 *
 * No code may be created twice, and Seam has no idempotency key. So a create
 * whose answer never arrived (timeout, reset, 5xx, crash) stays 'sending'
 * with reconcile set; before anything is resent the device's codes are
 * listed and one carrying the request's unique name is adopted. Only a
 * request that surely did not reach Seam (no connection, 429, 401) is put
 * back in the queue directly. An answer the worker cannot fully read counts
 * as no answer, and a code list it cannot fully read proves nothing: then
 * the row waits and the device is listed again, it is never sent again.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "lib/stringinfo.h"
#include "pgstat.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "seam_http.h"
#include "seam_json.h"
#include "tod.h"
#include "worker_db.h"
#include "worker_rate.h"
#include "worker_send.h"
#include "worker_json.h"

/* Why a create of this cycle was not sent after all (why NULL: it was sent). */
typedef struct CreateHold
{
	const char *why;
	int			retry_after;	/* seconds, -1 if none */
	bool		paused;			/* held because Seam refused the API key */
} CreateHold;

/* The zone stored in access_codes.time_zone: a zone name or a fixed ±HH:MM. */
static TodZone
zone_from_text(const char *text)
{
	TodValue	v;
	char	   *tod = (text[0] == '+' || text[0] == '-') ? psprintf("00:00%s", text)
		: psprintf("00:00[%s]", text);

	if (tod_parse(tod, &v) != TOD_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" of an access code request is not recognized", text)));
	return tod_value_zone(&v);
}

/* A timestamptz rendered by to_jsonb(), read back. */
static TimestampTz
claim_time(const cJSON *row, const char *key)
{
	TimestampTz t;

	if (!seam_parse_timestamp(wj_str(row, key), &t))
		elog(ERROR, "oracode worker: bad %s in claimed row", key);
	return t;
}

/* A moment as milliseconds since 1970, as the results carry it. */
static double
unix_ms(TimestampTz t)
{
	return (double) t / 1000.0 +
		(double) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000.0;
}

/*
 * Build the result object for one create, from Seam's answer; sent_at is when
 * it left the worker, the moment its attempt counts from against the rate.
 */
static cJSON *
create_result(int64 id, const char *device_id, SeamResponse *resp, const CreateHold *hold,
			  TimestampTz sent_at, bool *unauthorized)
{
	cJSON	   *r = cJSON_CreateObject();
	SeamAccessCode ac;
	SeamError	err;
	const char *problem;
	char		why[512];

	cJSON_AddNumberToObject(r, "id", (double) id);
	if (hold->why != NULL)
	{
		/* never sent: back to the queue, nothing to find out, no use of the rate */
		cJSON_AddStringToObject(r, "outcome", hold->paused ? "paused" : "retry");
		cJSON_AddFalseToObject(r, "sent");
		cJSON_AddStringToObject(r, "error", hold->why);
		if (hold->retry_after >= 0)
			cJSON_AddNumberToObject(r, "retry_after", hold->retry_after);
		return r;
	}
	cJSON_AddStringToObject(r, "request_id", resp->request_id);
	if (sent_at != 0)
		cJSON_AddNumberToObject(r, "sent_ms", unix_ms(sent_at));
	wj_describe_failure(resp, why, sizeof(why));

	if (resp->status == 200 &&
		(!seam_parse_access_code(resp->body.data, &ac, &problem) ||
		 (strcmp(ac.device_id, device_id) != 0 &&
		  (problem = "The access code is for another device.") != NULL)))
	{
		/* Seam said yes but we cannot read what it made: find out before resending */
		cJSON_AddStringToObject(r, "outcome", "unknown");
		cJSON_AddStringToObject(r, "error", psprintf("unreadable 200 answer: %s", problem));
		/* an answer that names a code is never followed by a second create */
		if (ac.access_code_id != NULL)
			cJSON_AddStringToObject(r, "answered_code_id", ac.access_code_id);
	}
	else if (resp->status == 200)
	{
		cJSON_AddStringToObject(r, "outcome", "created");
		cJSON_AddItemToObject(r, "access_code", wj_access_code(&ac));
	}
	else if (wj_credentials_refused(resp))
	{
		*unauthorized = true;
		cJSON_AddStringToObject(r, "outcome", "paused");
		cJSON_AddStringToObject(r, "error", why);
	}
	else if (resp->status == 429 || (resp->status == 0 && !resp->maybe_sent))
	{
		cJSON_AddStringToObject(r, "outcome", "retry");
		if (resp->status == 0)
			cJSON_AddFalseToObject(r, "sent");
		else
			cJSON_AddTrueToObject(r, "rate_limited");	/* holds its device */
		cJSON_AddStringToObject(r, "error", why);
		if (resp->retry_after >= 0)
			cJSON_AddNumberToObject(r, "retry_after", resp->retry_after);
	}
	else if (resp->status >= 400 && resp->status < 500 && resp->status != 408)
	{
		seam_parse_error(resp->body.data, &err);
		cJSON_AddStringToObject(r, "outcome", "failed");
		cJSON_AddNumberToObject(r, "http_status", resp->status);
		cJSON_AddStringToObject(r, "error_type", err.type ? err.type : "unknown");
		cJSON_AddStringToObject(r, "error_message", err.message ? err.message : "");
		if (err.validation_errors_json)
			cJSON_AddItemToObject(r, "validation_errors", cJSON_Parse(err.validation_errors_json));
	}
	else
	{
		/* 5xx, 408, timeout or reset after sending: the code may exist */
		cJSON_AddStringToObject(r, "outcome", "unknown");
		cJSON_AddStringToObject(r, "error", why);
		if (resp->retry_after >= 0)
			cJSON_AddNumberToObject(r, "retry_after", resp->retry_after);
	}
	return r;
}

/* One device's code list for a reconciliation, page by page, each page read once. */
typedef struct ListPages
{
	SeamResponse *pages[SEAM_LIST_MAX_PAGES];
	SeamAccessCode *codes[SEAM_LIST_MAX_PAGES];	/* a page's codes, when it was read */
	int			ncodes[SEAM_LIST_MAX_PAGES];
	int			npages;
	int			unreadable;		/* a 200 page that could not be read, or -1 */
	const char *problem;		/* why that page could not be read, or why the pages
								 * stop short of the last one; NULL if neither */
} ListPages;

/*
 * Read a device's code list from its first page on: a page that says more
 * follow (pagination.has_next_page) never proves a code absent, and a
 * create resent on such a proof would be a second code. Pages are read one
 * after another; one that fails or cannot be read ends the list.
 */
static void
fetch_list_pages(const char *device_id, SeamResponse *first, ListPages *lp)
{
	lp->pages[0] = first;
	lp->npages = 1;
	lp->unreadable = -1;
	lp->problem = NULL;
	for (;;)
	{
		int			p = lp->npages - 1;
		char	   *cursor;
		SeamRequest *req;

		if (lp->pages[p]->status != 200)
			return;
		/* a list with one garbled code cannot prove that our code is not there */
		if (!seam_parse_access_codes(lp->pages[p]->body.data, &lp->codes[p], &lp->ncodes[p],
									 &cursor, &lp->problem))
		{
			lp->unreadable = p;
			return;
		}
		if (cursor == NULL)
			return;
		if (lp->npages == SEAM_LIST_MAX_PAGES)
		{
			lp->problem = psprintf("The device's code list has more than %d pages.", SEAM_LIST_MAX_PAGES);
			return;
		}
		req = palloc0(sizeof(SeamRequest));
		req->path = "/access_codes/list";
		req->body = seam_body_list_codes_by_device(device_id, cursor);
		seam_http_perform(req, 1);
		lp->pages[lp->npages++] = &req->resp;
	}
}

/*
 * A reconciliation result: the device's codes from every page of its list,
 * or why they could not all be read (then nothing is concluded: a missing
 * page could hold the code).
 */
static cJSON *
reconcile_result(const char *device_id, cJSON *ids, ListPages *lp, bool *unauthorized)
{
	cJSON	   *r = cJSON_CreateObject();
	cJSON	   *codes;
	SeamResponse *last = lp->pages[lp->npages - 1];
	char		why[512] = "";
	int			p,
				i;

	cJSON_AddStringToObject(r, "device_id", device_id);
	cJSON_AddItemToObject(r, "ids", ids);
	if (lp->unreadable >= 0)
		snprintf(why, sizeof(why), "unreadable code list%s: %s",
				 lp->unreadable > 0 ? psprintf(" (page %d)", lp->unreadable + 1) : "", lp->problem);
	else if (last->status != 200)
	{
		if (wj_credentials_refused(last))
			*unauthorized = true;
		wj_describe_failure(last, why, sizeof(why));
	}
	else if (lp->problem != NULL)
		snprintf(why, sizeof(why), "incomplete code list: %s", lp->problem);
	if (why[0] != '\0')
	{
		if (last->retry_after >= 0)
			cJSON_AddNumberToObject(r, "retry_after", last->retry_after);
		cJSON_AddFalseToObject(r, "ok");
		cJSON_AddStringToObject(r, "error", psprintf("reconciliation failed: %s", why));
		return r;
	}
	codes = cJSON_AddArrayToObject(r, "codes");
	for (p = 0; p < lp->npages; p++)
		for (i = 0; i < lp->ncodes[p]; i++)
		{
			const SeamAccessCode *ac = &lp->codes[p][i];

			/* Seam's fake lists every device's codes whatever the filter: keep this device's */
			if (strcmp(ac->device_id, device_id) == 0)
				cJSON_AddItemToArray(codes, wj_access_code(ac));
		}
	cJSON_AddTrueToObject(r, "ok");
	return r;
}

/* What the creates of one cycle learnt so far that holds back the rest. */
typedef struct CreateWindow
{
	SeamRequest *reqs;
	const char **devices;
	CreateHold *holds;
	TimestampTz *sent_at;		/* when each create started; 0 if it did not */
	const char **held_dev;		/* devices Seam answered 429 for */
	int		   *held_after;		/* their largest Retry-After, -1 if none */
	int			nheld;
	bool		refused;		/* Seam answered 401 */
	int			claimed_ahead;	/* creates of the next batch claimed meanwhile */
	const char *activity;		/* what pg_stat_activity shows while the batch runs */
} CreateWindow;

/* Index of a device in the window's 429 list, or -1. */
static int
window_held(const CreateWindow *w, const char *device)
{
	int			h;

	for (h = 0; h < w->nheld; h++)
		if (strcmp(w->held_dev[h], device) == 0)
			return h;
	return -1;
}

/* The hold of creates not sent because Seam asked the whole workspace to wait. */
static CreateHold
workspace_hold(long wait_ms)
{
	CreateHold	hold;

	hold.retry_after = (int) ((wait_ms + 999) / 1000);
	hold.why = psprintf("not sent: Seam answered 429 to a request of the workspace (waiting %d s)",
						hold.retry_after);
	hold.paused = false;
	return hold;
}

/*
 * SeamGate.may_start: send create i unless a 401, its device's 429 or the
 * workspace's came back first; note when it starts, the moment it counts
 * from against its device's rate.
 */
static bool
window_may_start(int i, void *arg)
{
	CreateWindow *w = (CreateWindow *) arg;
	int			h = window_held(w, w->devices[i]);
	long		wait_ms = worker_rate_workspace_wait_ms();

	if (w->refused)
	{
		w->holds[i].why = "not sent: Seam refused the API key";
		w->holds[i].retry_after = -1;
		w->holds[i].paused = true;
		return false;
	}
	if (wait_ms > 0)
	{
		w->holds[i] = workspace_hold(wait_ms);
		return false;
	}
	if (h >= 0)
	{
		w->holds[i].why = psprintf("not sent: Seam answered 429 to another create for this device%s",
								   w->held_after[h] >= 0 ? psprintf(" (Retry-After %d s)", w->held_after[h]) : "");
		w->holds[i].retry_after = w->held_after[h];
		w->holds[i].paused = false;
		return false;
	}
	w->sent_at[i] = GetCurrentTimestamp();
	return true;
}

/* SeamGate.finished: remember a 401, or a 429 and its device. */
static void
window_finished(int i, void *arg)
{
	CreateWindow *w = (CreateWindow *) arg;
	SeamResponse *resp = &w->reqs[i].resp;
	int			h;

	if (wj_credentials_refused(resp))
		w->refused = true;
	else if (resp->status == 429)
	{
		h = window_held(w, w->devices[i]);
		if (h < 0)
		{
			w->held_dev[w->nheld] = w->devices[i];
			w->held_after[w->nheld++] = resp->retry_after;
		}
		else
			w->held_after[h] = Max(w->held_after[h], resp->retry_after);
	}
}

/*
 * Send creates as one window of max_connections in flight, over kept-alive
 * connections. That is safe because seam_http.c never sends a create's body
 * twice: when a reused connection dies under a create, libcurl fails it
 * (CURLE_SEND_FAIL_REWIND) instead of resending, and a failure after
 * sending reads as "may have reached Seam", so the request is reconciled.
 *
 * Each answer is heeded before the next create starts: after a 429 the
 * device's remaining creates wait for its Retry-After, after a 401 nothing
 * more is sent. Those are marked in holds[] and never leave this process.
 */
/*
 * The worker's database work between two batches (recording one batch's
 * answers, claiming the next) is done in pieces while the next creates are
 * on the wire, so that Seam is not left idle while the worker writes
 * (BENCHMARKS.md, F1 and F8). A piece handles at most this many rows: about
 * 4 ms of work, less than the 8 creates in flight take at Seam's fake.
 */
#define OVERLAP_ROWS 25

/*
 * The answers of the last batch of creates (a JSON array, in
 * TopMemoryContext), of which the first pending_results_done are recorded.
 * Until recorded, their rows stay 'sending' under their lease, exactly as
 * while their HTTP ran: if the worker dies first, they are reconciled,
 * never resent.
 */
static char *pending_create_results = NULL;
static int	pending_results_done = 0;

/* Record up to max (<= 0: all) of the last batch's answers not yet recorded. */
static void
record_results(int max)
{
	cJSON	   *all,
			   *item;
	StringInfoData chunk;
	int			i = 0,
				n = 0;

	if (pending_create_results == NULL)
		return;
	all = wj_parse(pending_create_results);
	initStringInfo(&chunk);
	appendStringInfoChar(&chunk, '[');
	cJSON_ArrayForEach(item, all)
	{
		if (i++ < pending_results_done)
			continue;
		if (max > 0 && n == max)
			break;
		if (n++ > 0)
			appendStringInfoChar(&chunk, ',');
		appendStringInfoString(&chunk, cJSON_PrintUnformatted(item));
	}
	appendStringInfoChar(&chunk, ']');
	pending_results_done += n;
	if (pending_results_done >= cJSON_GetArraySize(all))
	{
		pfree(pending_create_results);
		pending_create_results = NULL;
		pending_results_done = 0;
	}
	if (n > 0)
		worker_sql("SELECT oracode.worker_apply_create_results($1::jsonb)", chunk.data);
}

/* Record the last batch's answers, if not yet recorded. */
void
worker_send_flush(void)
{
	record_results(0);
}

/*
 * The next batch, claimed while this one's creates were on the wire (the
 * claim's JSON, in TopMemoryContext). Its rows are 'sending' under their
 * lease from the claim on, as for any claimed batch: one that is never sent
 * (the worker stops, or Seam refuses the key) is found by its lease and
 * reconciled, or put back at once below.
 */
static char *pending_claim = NULL;

/*
 * Claim up to rows creates, and the reconciliations due unless creates_only:
 * the claim's JSON. A claim made while creates are in flight is creates
 * only, since a row of the batch in flight whose lease ran out (Seam very
 * slow) would otherwise be listed at Seam before its own answer came.
 */
static char *
claim_batch(int rows, bool creates_only)
{
	return worker_sql("SELECT oracode.worker_claim_creates($1::jsonb)::text",
					  psprintf("{\"batch\":%d,\"rate\":%d,\"lease_seconds\":%d,\"creates_only\":%s}",
							   rows, oracode_create_rate_limit,
							   worker_lease_seconds(), creates_only ? "true" : "false"));
}

/* Claim up to rows more creates into pending_claim; returns how many were claimed. */
static int
claim_ahead(int rows)
{
	cJSON	   *claim = wj_parse(claim_batch(rows, true));
	cJSON	   *got = cJSON_GetObjectItemCaseSensitive(claim, "create");
	int			n = cJSON_GetArraySize(got);
	cJSON	   *merged;
	cJSON	   *row;

	if (n == 0)
		return 0;
	if (pending_claim == NULL)
		merged = claim;
	else
	{
		merged = wj_parse(pending_claim);
		pfree(pending_claim);
		while ((row = cJSON_DetachItemFromArray(got, 0)) != NULL)
			cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(merged, "create"), row);
	}
	pending_claim = MemoryContextStrdup(TopMemoryContext, cJSON_PrintUnformatted(merged));
	return n;
}

/*
 * SeamGate.overlap: while this batch's creates are on the wire, record the
 * previous batch's answers, then claim the next batch, a piece at a time.
 */
static bool
window_overlap(void *arg)
{
	CreateWindow *w = (CreateWindow *) arg;
	bool		more;

	if (pending_create_results != NULL)
	{
		record_results(OVERLAP_ROWS);
		more = true;
	}
	else if (w->refused || worker_rate_workspace_wait_ms() > 0)
		more = false;			/* Seam refused the key, or holds the workspace: nothing more is sent */
	else
	{
		int			want = Min(OVERLAP_ROWS, oracode_batch_size - w->claimed_ahead);
		int			got = claim_ahead(want);

		w->claimed_ahead += got;
		more = got == want && w->claimed_ahead < oracode_batch_size;
	}
	/* pg_stat_activity shows what the worker waits for again, not the last statement */
	pgstat_report_activity(STATE_RUNNING, w->activity);
	return more;
}

/*
 * Put the creates of a batch claimed ahead back in the queue, unsent and
 * uncounted, as the held creates of a batch are.
 */
static void
release_claim(const CreateHold *hold)
{
	bool		unauthorized = hold->paused;
	cJSON	   *claim,
			   *row,
			   *results;

	if (pending_claim == NULL)
		return;
	claim = wj_parse(pending_claim);
	pfree(pending_claim);
	pending_claim = NULL;
	results = cJSON_CreateArray();
	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(claim, "create"))
		cJSON_AddItemToArray(results, create_result(wj_int(row, "id"), wj_str(row, "device_id"),
													NULL, hold, 0, &unauthorized));
	if (cJSON_GetArraySize(results) > 0)
		worker_sql("SELECT oracode.worker_apply_create_results($1::jsonb)", cJSON_PrintUnformatted(results));
}

/* Seam refused the key: give back the batch claimed ahead. */
void
worker_send_release_claim(void)
{
	CreateHold	hold = {"not sent: Seam refused the API key", -1, true};

	release_claim(&hold);
}

/* Send the creates through the window's gate; returns when each one started (0: it did not). */
static TimestampTz *
perform_creates(SeamRequest *reqs, const char **devices, CreateHold *holds, int n,
				const char *activity)
{
	CreateWindow w;
	SeamGate	gate;

	w.sent_at = palloc0(sizeof(TimestampTz) * Max(n, 1));
	if (n <= 0)
		return w.sent_at;
	w.reqs = reqs;
	w.devices = devices;
	w.holds = holds;
	w.held_dev = palloc(sizeof(char *) * n);
	w.held_after = palloc(sizeof(int) * n);
	w.nheld = 0;
	w.refused = false;
	w.claimed_ahead = 0;
	w.activity = activity;
	gate.may_start = window_may_start;
	gate.finished = window_finished;
	gate.overlap = window_overlap;
	gate.arg = &w;
	seam_http_perform_gated(reqs, n, &gate);
	return w.sent_at;
}

/*
 * Claim due work, do its HTTP outside any transaction, record the answers.
 * Returns true if anything was claimed. Sets *unauthorized on a 401.
 */
bool
worker_send_cycle(bool *unauthorized)
{
	cJSON	   *claim,
			   *rec,
			   *cre,
			   *row;
	int			nrec,
				ncre,
				nreq = 0,
				i;
	SeamRequest *reqs;
	CreateHold *holds;
	const char **req_device;
	cJSON	  **req_ids;
	ListPages  *lists;
	cJSON	   *create_results,
			   *reconcile_results;
	char	   *activity;
	long		wait_ms = worker_rate_workspace_wait_ms();
	TimestampTz *sent_at;

	if (wait_ms > 0)
	{
		/* Seam asked the workspace to wait: send nothing, give back what was claimed ahead */
		CreateHold	hold = workspace_hold(wait_ms);

		worker_send_flush();
		release_claim(&hold);
		return false;
	}
	if (pending_claim != NULL)
	{
		claim = wj_parse(pending_claim);
		pfree(pending_claim);
		pending_claim = NULL;
	}
	else
	{
		/* the last batch's answers first: its rows must not look unanswered to the claim */
		worker_send_flush();
		claim = wj_parse(claim_batch(oracode_batch_size, false));
	}
	rec = cJSON_GetObjectItemCaseSensitive(claim, "reconcile");
	cre = cJSON_GetObjectItemCaseSensitive(claim, "create");
	nrec = cJSON_GetArraySize(rec);
	ncre = cJSON_GetArraySize(cre);
	if (nrec == 0 && ncre == 0)
	{
		worker_send_flush();
		return false;
	}

	/* one list request per device to reconcile, one create per new request */
	reqs = palloc0(sizeof(SeamRequest) * (nrec + ncre));
	req_device = palloc0(sizeof(char *) * (nrec + ncre));
	req_ids = palloc0(sizeof(cJSON *) * (nrec + ncre));
	holds = palloc0(sizeof(CreateHold) * (ncre + 1));
	cJSON_ArrayForEach(row, rec)
	{
		const char *dev = wj_str(row, "device_id");

		for (i = 0; i < nreq; i++)
			if (strcmp(req_device[i], dev) == 0)
				break;
		if (i == nreq)
		{
			req_device[nreq] = dev;
			req_ids[nreq] = cJSON_CreateArray();
			reqs[nreq].path = "/access_codes/list";
			reqs[nreq].body = seam_body_list_codes_by_device(dev, NULL);
			nreq++;
		}
		cJSON_AddItemToArray(req_ids[i], cJSON_CreateNumber((double) wj_int(row, "id")));
	}
	nrec = nreq;				/* from here on: number of reconcile requests */
	cJSON_ArrayForEach(row, cre)
	{
		TodZone		zone = zone_from_text(wj_str(row, "time_zone"));
		const char *bound = wj_str(row, "bound");

		req_device[nreq] = wj_str(row, "device_id");
		reqs[nreq].path = "/access_codes/create";
		reqs[nreq].body = seam_body_create_code(wj_str(row, "device_id"), wj_str(row, "seam_name"),
												claim_time(row, "starts_at"), claim_time(row, "ends_at"),
												&zone, bound && strcmp(bound, "daily") == 0);
		nreq++;
	}

	activity = psprintf("oracode: %d creates, %d reconciliations", ncre, nrec);
	pgstat_report_activity(STATE_RUNNING, activity);
	seam_http_perform(reqs, nrec);
	/* a device whose list has more pages: read them before anything is concluded from it */
	lists = palloc0(sizeof(ListPages) * Max(nrec, 1));
	for (i = 0; i < nrec; i++)
		fetch_list_pages(req_device[i], &reqs[i].resp, &lists[i]);
	sent_at = perform_creates(reqs + nrec, req_device + nrec, holds, ncre, activity);
	worker_send_flush();		/* when no create of this batch went out */

	reconcile_results = cJSON_CreateArray();
	for (i = 0; i < nrec; i++)
		cJSON_AddItemToArray(reconcile_results,
							 reconcile_result(req_device[i], req_ids[i], &lists[i], unauthorized));
	create_results = cJSON_CreateArray();
	i = nrec;
	cJSON_ArrayForEach(row, cre)
	{
		cJSON_AddItemToArray(create_results, create_result(wj_int(row, "id"), wj_str(row, "device_id"),
														   &reqs[i].resp, &holds[i - nrec],
														   sent_at[i - nrec], unauthorized));
		i++;
	}
	if (nrec > 0)
		worker_sql("SELECT oracode.worker_apply_reconcile($1::jsonb)",
				   cJSON_PrintUnformatted(reconcile_results));
	if (ncre > 0)
	{
		pending_create_results = MemoryContextStrdup(TopMemoryContext,
													 cJSON_PrintUnformatted(create_results));
		/* a paused worker sends nothing more: record now, and give back what it claimed ahead */
		if (*unauthorized)
			worker_send_flush();
	}
	if (*unauthorized)
		worker_send_release_claim();
	return true;
}
