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
#include "worker_rows.h"
#include "worker_send.h"
#include "seam_answer.h"

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

/*
 * What came of one create, from Seam's answer; sent_at is when it left the
 * worker, the moment its attempt counts from against the rate.
 */
static void
create_result(CreateResult *r, const CreateClaim *claim, SeamResponse *resp, const CreateHold *hold,
			  TimestampTz sent_at, bool *unauthorized)
{
	SeamAccessCode *ac;
	SeamError	err;
	const char *problem;
	char		why[512];

	memset(r, 0, sizeof(CreateResult));
	r->id = claim->id;
	r->retry_after = -1;
	if (hold->why != NULL)
	{
		/* never sent: back to the queue, nothing to find out, no use of the rate */
		r->outcome = hold->paused ? CREATE_PAUSED : CREATE_RETRY;
		r->sent = false;
		r->error = hold->why;
		r->retry_after = hold->retry_after;
		return;
	}
	r->sent = true;
	r->request_id = pstrdup(resp->request_id);
	r->sent_at = sent_at;
	seam_answer_describe_failure(resp, why, sizeof(why));

	ac = palloc0(sizeof(SeamAccessCode));
	if (resp->status == 200 &&
		(!seam_parse_access_code(resp->body.data, ac, &problem) ||
		 (strcmp(ac->device_id, claim->device_id) != 0 &&
		  (problem = "The access code is for another device.") != NULL)))
	{
		/* Seam said yes but we cannot read what it made: find out before resending */
		r->outcome = CREATE_UNKNOWN;
		r->error = psprintf("unreadable 200 answer: %s", problem);
		/* an answer that names a code is never followed by a second create */
		r->answered_code_id = ac->access_code_id;
	}
	else if (resp->status == 200)
	{
		r->outcome = CREATE_CREATED;
		r->access_code = ac;
	}
	else if (seam_answer_refuses_credentials(resp))
	{
		*unauthorized = true;
		r->outcome = CREATE_PAUSED;
		r->error = pstrdup(why);
	}
	else if (resp->status == 429 || (resp->status == 0 && !resp->maybe_sent))
	{
		r->outcome = CREATE_RETRY;
		if (resp->status == 0)
			r->sent = false;
		else
			r->rate_limited = true;	/* holds its device */
		r->error = pstrdup(why);
		r->retry_after = resp->retry_after;
	}
	else if (resp->status >= 400 && resp->status < 500 && resp->status != 408)
	{
		seam_parse_error(resp->body.data, &err);
		r->outcome = CREATE_FAILED;
		r->http_status = (int) resp->status;
		r->error_type = err.type ? err.type : "unknown";
		r->error_message = err.message ? err.message : "";
		r->validation_errors_json = err.validation_errors_json;
	}
	else
	{
		/* 5xx, 408, timeout or reset after sending: the code may exist */
		r->outcome = CREATE_UNKNOWN;
		r->error = pstrdup(why);
		r->retry_after = resp->retry_after;
	}
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
static void
reconcile_result(ReconcileResult *r, const char *device_id, ListPages *lp, bool *unauthorized)
{
	SeamResponse *last = lp->pages[lp->npages - 1];
	char		why[512] = "";
	int			p,
				i;

	r->device_id = device_id;
	r->retry_after = -1;
	if (lp->unreadable >= 0)
		snprintf(why, sizeof(why), "unreadable code list%s: %s",
				 lp->unreadable > 0 ? psprintf(" (page %d)", lp->unreadable + 1) : "", lp->problem);
	else if (last->status != 200)
	{
		if (seam_answer_refuses_credentials(last))
			*unauthorized = true;
		seam_answer_describe_failure(last, why, sizeof(why));
	}
	else if (lp->problem != NULL)
		snprintf(why, sizeof(why), "incomplete code list: %s", lp->problem);
	if (why[0] != '\0')
	{
		r->retry_after = last->retry_after;
		r->ok = false;
		r->error = psprintf("reconciliation failed: %s", why);
		return;
	}
	r->ok = true;
	r->ncodes = 0;
	for (p = 0; p < lp->npages; p++)
		r->ncodes += lp->ncodes[p];
	r->codes = palloc(sizeof(SeamAccessCode *) * Max(r->ncodes, 1));
	r->ncodes = 0;
	for (p = 0; p < lp->npages; p++)
		for (i = 0; i < lp->ncodes[p]; i++)
		{
			const SeamAccessCode *ac = &lp->codes[p][i];

			/* Seam's fake lists every device's codes whatever the filter: keep this device's */
			if (strcmp(ac->device_id, device_id) == 0)
				r->codes[r->ncodes++] = ac;
		}
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

	if (seam_answer_refuses_credentials(resp))
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
 * The answers of the last batch of creates, of which the first
 * pending_done are recorded; everything they point to is in pending_cxt.
 * Until recorded, their rows stay 'sending' under their lease, exactly as
 * while their HTTP ran: if the worker dies first, they are reconciled,
 * never resent.
 */
static MemoryContext pending_cxt = NULL;
static CreateResult *pending_results = NULL;
static int	npending = 0;
static int	pending_done = 0;

/*
 * The next batch, claimed while this one's creates were on the wire, in
 * ahead_cxt. Its rows are 'sending' under their lease from the claim on, as
 * for any claimed batch: one that is never sent (the worker stops, or Seam
 * refuses the key) is found by its lease and reconciled, or put back at
 * once below.
 */
static MemoryContext ahead_cxt = NULL;
static CreateClaim *ahead = NULL;
static int	nahead = 0;

/* The contexts that outlive a turn: the last batch's answers, the next batch's claims. */
static void
send_contexts(void)
{
	if (pending_cxt == NULL)
	{
		pending_cxt = AllocSetContextCreate(TopMemoryContext, "oracode create answers",
											ALLOCSET_DEFAULT_SIZES);
		ahead_cxt = AllocSetContextCreate(TopMemoryContext, "oracode claimed ahead",
										  ALLOCSET_DEFAULT_SIZES);
	}
}

/* Record up to max (<= 0: all) of the last batch's answers not yet recorded. */
static void
record_results(int max)
{
	int			n = npending - pending_done;

	if (pending_results == NULL)
		return;
	if (max > 0 && n > max)
		n = max;
	worker_apply_creates(pending_results + pending_done, n);
	pending_done += n;
	if (pending_done >= npending)
	{
		pending_results = NULL;
		npending = pending_done = 0;
		MemoryContextReset(pending_cxt);
	}
}

/* Record the last batch's answers, if not yet recorded. */
void
worker_send_flush(void)
{
	record_results(0);
}

/*
 * Claim up to rows creates, and the reconciliations due unless creates_only.
 * A claim made while creates are in flight is creates only, since a row of
 * the batch in flight whose lease ran out (Seam very slow) would otherwise
 * be listed at Seam before its own answer came.
 */
static int
claim_batch(int rows, bool creates_only, CreateClaim **claims)
{
	return worker_claim_creates(rows, oracode_create_rate_limit, worker_lease_seconds(),
								creates_only, claims);
}

/* Claim up to rows more creates into the batch claimed ahead; returns how many were claimed. */
static int
claim_ahead(int rows)
{
	MemoryContext old = MemoryContextSwitchTo(ahead_cxt);
	CreateClaim *got;
	int			n = claim_batch(rows, true, &got);

	if (n > 0)
	{
		ahead = ahead ? repalloc(ahead, sizeof(CreateClaim) * (nahead + n))
			: palloc(sizeof(CreateClaim) * n);
		memcpy(ahead + nahead, got, sizeof(CreateClaim) * n);
		nahead += n;
	}
	MemoryContextSwitchTo(old);
	return n;
}

/* Take the batch claimed ahead into the current memory context. */
static int
take_ahead(CreateClaim **claims)
{
	int			n = nahead;
	int			i;

	*claims = palloc(sizeof(CreateClaim) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		CreateClaim *c = &(*claims)[i];

		*c = ahead[i];
		c->device_id = pstrdup(ahead[i].device_id);
		c->seam_name = pstrdup(ahead[i].seam_name);
		c->time_zone = pstrdup(ahead[i].time_zone);
	}
	ahead = NULL;
	nahead = 0;
	MemoryContextReset(ahead_cxt);
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

	if (pending_results != NULL)
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
	CreateClaim *claims;
	CreateResult *results;
	int			n,
				i;

	if (nahead == 0)
		return;
	n = take_ahead(&claims);
	results = palloc(sizeof(CreateResult) * n);
	for (i = 0; i < n; i++)
		create_result(&results[i], &claims[i], NULL, hold, 0, &unauthorized);
	worker_apply_creates(results, n);
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
 * The requests of a claim: one code list per device with creates to
 * reconcile (claimed first: their ids gathered in rec), then one create per
 * new request. Returns the number of list requests and sets *ncre to the
 * number of creates, which follow them; req_device names each request's
 * device.
 */
static int
build_requests(const CreateClaim *claims, int nclaims, SeamRequest *reqs, const char **req_device,
			   ReconcileResult *rec, int *ncre)
{
	int			nrec = 0,
				k,
				i;

	for (k = 0; k < nclaims && claims[k].reconcile; k++)
	{
		const char *dev = claims[k].device_id;

		for (i = 0; i < nrec; i++)
			if (strcmp(req_device[i], dev) == 0)
				break;
		if (i == nrec)
		{
			req_device[nrec] = dev;
			rec[nrec].ids = palloc(sizeof(int64) * nclaims);
			reqs[nrec].path = "/access_codes/list";
			reqs[nrec].body = seam_body_list_codes_by_device(dev, NULL);
			nrec++;
		}
		rec[i].ids[rec[i].nids++] = claims[k].id;
	}
	*ncre = nclaims - k;
	for (i = nrec; k < nclaims; k++, i++)
	{
		TodZone		zone = zone_from_text(claims[k].time_zone);

		req_device[i] = claims[k].device_id;
		reqs[i].path = "/access_codes/create";
		reqs[i].body = seam_body_create_code(claims[k].device_id, claims[k].seam_name,
											 claims[k].starts_at, claims[k].ends_at, &zone, claims[k].daily);
	}
	return nrec;
}

/*
 * Keep what came of a batch's creates, to be recorded while the next batch
 * is on the wire: built in pending_cxt, which outlives the turn.
 */
static void
keep_answers(const CreateClaim *cre, int ncre, SeamRequest *reqs, const CreateHold *holds,
			 const TimestampTz *sent_at, bool *unauthorized)
{
	MemoryContext old = MemoryContextSwitchTo(pending_cxt);
	int			i;

	pending_results = palloc(sizeof(CreateResult) * ncre);
	for (i = 0; i < ncre; i++)
	{
		CreateHold	hold = holds[i];

		if (hold.why != NULL)
			hold.why = pstrdup(hold.why);
		create_result(&pending_results[i], &cre[i], &reqs[i].resp, &hold, sent_at[i], unauthorized);
	}
	npending = ncre;
	pending_done = 0;
	MemoryContextSwitchTo(old);
}

/*
 * Claim due work, do its HTTP outside any transaction, record the answers.
 * Returns true if anything was claimed. Sets *unauthorized on a 401.
 */
bool
worker_send_cycle(bool *unauthorized)
{
	CreateClaim *claims;
	int			nclaims,
				nrec,
				ncre,
				i;
	SeamRequest *reqs;
	CreateHold *holds;
	const char **req_device;
	ReconcileResult *rec;
	ListPages  *lists;
	char	   *activity;
	long		wait_ms = worker_rate_workspace_wait_ms();
	TimestampTz *sent_at;

	send_contexts();
	if (wait_ms > 0)
	{
		/* Seam asked the workspace to wait: send nothing, give back what was claimed ahead */
		CreateHold	hold = workspace_hold(wait_ms);

		worker_send_flush();
		release_claim(&hold);
		return false;
	}
	if (nahead > 0)
		nclaims = take_ahead(&claims);
	else
	{
		/* the last batch's answers first: its rows must not look unanswered to the claim */
		worker_send_flush();
		nclaims = claim_batch(oracode_batch_size, false, &claims);
	}
	if (nclaims == 0)
	{
		worker_send_flush();
		return false;
	}

	reqs = palloc0(sizeof(SeamRequest) * nclaims);
	req_device = palloc0(sizeof(char *) * nclaims);
	rec = palloc0(sizeof(ReconcileResult) * nclaims);
	holds = palloc0(sizeof(CreateHold) * (nclaims + 1));
	nrec = build_requests(claims, nclaims, reqs, req_device, rec, &ncre);

	activity = psprintf("oracode: %d creates, %d reconciliations", ncre, nrec);
	pgstat_report_activity(STATE_RUNNING, activity);
	seam_http_perform(reqs, nrec);
	/* a device whose list has more pages: read them before anything is concluded from it */
	lists = palloc0(sizeof(ListPages) * Max(nrec, 1));
	for (i = 0; i < nrec; i++)
		fetch_list_pages(req_device[i], &reqs[i].resp, &lists[i]);
	sent_at = perform_creates(reqs + nrec, req_device + nrec, holds, ncre, activity);
	worker_send_flush();		/* when no create of this batch went out */

	for (i = 0; i < nrec; i++)
		reconcile_result(&rec[i], req_device[i], &lists[i], unauthorized);
	worker_apply_reconciles(rec, nrec);
	if (ncre > 0)
	{
		keep_answers(claims + (nclaims - ncre), ncre, reqs + nrec, holds, sent_at, unauthorized);
		/* a paused worker sends nothing more: record now, and give back what it claimed ahead */
		if (*unauthorized)
			worker_send_flush();
	}
	if (*unauthorized)
		worker_send_release_claim();
	return true;
}
