/*
 * worker_poll.c — one poll cycle: the status of codes in flight, batched.
 *
 * One /access_codes/list request carries up to oracode.batch_size ids, so a
 * cycle over N codes costs ceil(N / batch_size) requests, not N. A turn
 * claims enough codes for max_connections requests, so that every request
 * allowed in flight is. A code Seam no longer lists after its end has
 * expired (Seam deletes removed codes); an answer with a garbled code in it
 * tells nothing about any of them, so it counts as a failed poll rather than
 * as codes Seam no longer knows.
 */
#include "postgres.h"

#include "pgstat.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "guc.h"
#include "seam_http.h"
#include "seam_json.h"
#include "worker_db.h"
#include "seam_answer.h"
#include "worker_poll.h"
#include "worker_rate.h"
#include "worker_rows.h"

/* Where a claimed code stands in this turn; the hash entry points here. */
typedef struct PolledCode
{
	int64		id;				/* the request's row id */
	const char *seam_id;		/* the claimed Seam id, whole */
	int			request;		/* the request that asked for it */
	const SeamAccessCode *found;	/* its code in that request's answer, or NULL */
} PolledCode;

/* Hash entry: the key (a Seam id, keysize bytes) followed by the code's index. */
#define ENTRY_CODE(entry, keysize)	(*(int *) ((char *) (entry) + MAXALIGN(keysize)))

/*
 * A hash of the claimed ids, in the turn's memory context. Answers are
 * matched on our side (the fake ignores the id filter and lists every code
 * it holds), so each code of each answer is looked up here once instead of
 * each claimed id being searched for in the whole answer.
 */
static HTAB *
claimed_hash(PolledCode *codes, int n, Size *keysize)
{
	HASHCTL		ctl;
	HTAB	   *hash;
	Size		longest = 0;
	int			i;

	for (i = 0; i < n; i++)
		if (codes[i].seam_id != NULL)
			longest = Max(longest, strlen(codes[i].seam_id));
	/* every claimed id fits its key whole, so no two of them can collide */
	*keysize = longest + 1;
	ctl.keysize = *keysize;
	ctl.entrysize = MAXALIGN(*keysize) + sizeof(int);
	ctl.hcxt = CurrentMemoryContext;
	hash = hash_create("oracode polled codes", n, &ctl, HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	for (i = 0; i < n; i++)
	{
		bool		found;
		void	   *entry;

		/* the claim returns only rows with a Seam id; one without matches nothing */
		if (codes[i].seam_id == NULL)
			continue;
		entry = hash_search(hash, codes[i].seam_id, HASH_ENTER, &found);
		/* the same id claimed twice cannot happen (it is UNIQUE); the first keeps it */
		if (!found)
			ENTRY_CODE(entry, *keysize) = i;
	}
	return hash;
}

/*
 * Match the codes of request r's answer to the ids it asked for: the first
 * code with a claimed id, as the linear search found it. An answer id
 * longer than the key is cut to it by the lookup, hence the whole-string
 * check.
 */
static void
match_answer(HTAB *hash, Size keysize, PolledCode *codes, int r, const SeamAccessCode *acs, int nacs)
{
	int			j;

	for (j = 0; j < nacs; j++)
	{
		void	   *entry;
		PolledCode *code;

		if (acs[j].access_code_id == NULL)
			continue;
		entry = hash_search(hash, acs[j].access_code_id, HASH_FIND, NULL);
		if (entry == NULL)
			continue;
		code = &codes[ENTRY_CODE(entry, keysize)];
		if (code->request == r && code->found == NULL &&
			strcmp(code->seam_id, acs[j].access_code_id) == 0)
			code->found = &acs[j];
	}
}

/*
 * Read one page of a poll's answer and note the claimed codes it lists.
 * False, with why filled, when the page failed or cannot be read: a garbled
 * code in the list could be one of ours, so the whole answer is unreadable.
 * *cursor is the next page's cursor, NULL on the last page.
 */
static bool
read_page(const SeamResponse *resp, HTAB *hash, Size keysize, PolledCode *codes, int r,
		  char **cursor, char *why, size_t whylen, bool *unauthorized)
{
	SeamAccessCode *acs = NULL;
	int			nacs = 0;
	const char *problem = NULL;

	*cursor = NULL;
	if (seam_answer_refuses_credentials(resp))
		*unauthorized = true;
	if (resp->status == 200 &&
		seam_parse_access_codes(resp->body.data, &acs, &nacs, cursor, &problem))
	{
		match_answer(hash, keysize, codes, r, acs, nacs);
		return true;
	}
	seam_answer_describe_failure(resp, why, whylen);
	if (resp->status == 200)
		snprintf(why, whylen, "unreadable code list: %s", problem);
	return false;
}

/* What one turn claimed, for reading the answers of its requests. */
typedef struct PollTurn
{
	PolledCode *codes;
	char	  **ids;			/* the claimed Seam ids, in claim order */
	int			n;
	int			per;			/* ids per request */
	HTAB	   *hash;
	Size		keysize;
	MemoryContext answer_cxt;	/* one answer's pages, emptied after each */
} PollTurn;

/*
 * Read every page of request r's answer and fill in the results of the
 * codes it asked for: found or not, or why the answer proves nothing.
 */
static void
read_answer(PollTurn *t, SeamRequest *req, int r, PollResult *results, bool *unauthorized)
{
	MemoryContext turn_cxt = MemoryContextSwitchTo(t->answer_cxt);
	SeamResponse *resp = &req->resp;
	const char **ids = (const char **) t->ids + r * t->per;
	int			nids = Min(t->per, t->n - r * t->per);
	char	   *cursor = NULL;
	bool		ok;
	char		why[512];
	int			page = 1;
	int			k;

	/* every page of the answer is parsed in answer_cxt, kept until its codes are copied out */
	ok = read_page(resp, t->hash, t->keysize, t->codes, r, &cursor, why, sizeof(why), unauthorized);
	/* a page with more after it cannot prove that a code is gone: read on, with the same ids */
	while (ok && cursor != NULL && page < SEAM_LIST_MAX_PAGES)
	{
		SeamRequest *next = palloc0(sizeof(SeamRequest));

		next->path = "/access_codes/list";
		next->body = seam_body_list_codes_by_ids((char **) ids, nids, cursor);
		seam_http_perform(next, 1);
		resp = &next->resp;
		page++;
		ok = read_page(resp, t->hash, t->keysize, t->codes, r, &cursor, why, sizeof(why), unauthorized);
		if (!ok && resp->status == 200)
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " (page %d)", page);
		/* the page was read: its body (megabytes from the fake) can go */
		pfree(next->resp.body.data);
		next->resp.body.data = NULL;
	}
	MemoryContextSwitchTo(turn_cxt);

	for (k = r * t->per; k < r * t->per + nids; k++)
	{
		PollResult *res = &results[k];
		PolledCode *code = &t->codes[k];

		res->id = code->id;
		res->retry_after = -1;
		if (!ok)
		{
			res->error = psprintf("status poll failed: %s", why);
			res->retry_after = resp->retry_after;
		}
		else if (code->found == NULL && cursor != NULL)
			res->error = psprintf("status poll incomplete: the code list has more than %d pages, so the code's absence proves nothing",
								  SEAM_LIST_MAX_PAGES);
		else
		{
			res->found = code->found != NULL;
			if (res->found)
				res->access_code = seam_access_code_copy(code->found);
		}
		code->found = NULL;		/* it points into answer_cxt */
	}
	MemoryContextReset(t->answer_cxt);
	/* the answer was read: its body (megabytes from the fake) can go */
	pfree(req->resp.body.data);
	req->resp.body.data = NULL;
}

/* Claim due codes, list them at Seam in batches, record what came back. */
bool
worker_poll_cycle(bool *unauthorized)
{
	int			per = oracode_batch_size;
	PollClaim  *claim;
	PollTurn	t;
	int			n;
	int			nreq;
	SeamRequest *reqs;
	PolledCode *codes;
	char	  **ids;
	PollResult *results;
	int			i,
				r;

	/* a 429 to the workspace holds polls too (worker_rate.c) */
	if (worker_rate_workspace_wait_ms() > 0)
		return false;
	n = worker_claim_polls(per * oracode_max_connections, worker_lease_seconds(), &claim);
	nreq = (n + per - 1) / per;
	if (n == 0)
		return false;
	ids = palloc(sizeof(char *) * n);
	codes = palloc0(sizeof(PolledCode) * n);
	for (i = 0; i < n; i++)
	{
		ids[i] = claim[i].seam_access_code_id;
		codes[i].id = claim[i].id;
		codes[i].seam_id = ids[i];
		codes[i].request = i / per;
	}

	reqs = palloc0(sizeof(SeamRequest) * nreq);
	for (r = 0; r < nreq; r++)
	{
		reqs[r].path = "/access_codes/list";
		reqs[r].body = seam_body_list_codes_by_ids(ids + r * per, Min(per, n - r * per), NULL);
	}
	pgstat_report_activity(STATE_RUNNING, psprintf("oracode: polling %d codes in %d requests", n, nreq));
	seam_http_perform(reqs, nreq);

	t.codes = codes;
	t.ids = ids;
	t.n = n;
	t.per = per;
	t.hash = claimed_hash(codes, n, &t.keysize);
	t.answer_cxt = AllocSetContextCreate(CurrentMemoryContext, "oracode poll answer", ALLOCSET_DEFAULT_SIZES);
	results = palloc0(sizeof(PollResult) * n);
	for (r = 0; r < nreq; r++)
		read_answer(&t, &reqs[r], r, results, unauthorized);
	worker_apply_polls(results, n);
	return true;
}
