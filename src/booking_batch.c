/*
 * booking_batch.c — the code requests of one statement's bookings, written
 * together at the end of that statement.
 *
 * A bulk import fires the booking trigger once per row. Written one at a
 * time, each request is its own INSERT, and most of its cost is that
 * statement's executor start-up (the outbox's indexes, constraints and
 * triggers), plus a second statement for its history row. So while a
 * statement runs, its checked requests are buffered here, and at its end
 * they are written with a few statements: one idempotency lookup, one
 * INSERT of every new request with its history row, one supersede UPDATE.
 *
 * A statement collects requests in a scope, pushed by the ExecutorFinish
 * hook (where a query's AFTER triggers fire) or, for COPY FROM, by the
 * ProcessUtility hook, and written when the scope ends; on an error the
 * scope's buffer is dropped with the statement. Inside a scope, every
 * statement pushes one of its own, and any other utility statement a
 * barrier, so that nothing it fires (a COPY inside a function, SET
 * CONSTRAINTS, a procedure's COMMIT) can buffer into an enclosing statement.
 * Outside any scope, only a query that writes a table with a booking trigger
 * (or one its rows are routed to) and COPY FROM push one: every other
 * statement passes straight through the hooks, so the library costs nothing
 * where no booking trigger fires. A trigger firing outside any scope
 * (deferred triggers at COMMIT, a statement that began before this library
 * was loaded, a table the check does not see) writes at once, which is
 * slower, never different.
 * Only oracode_create_code() buffers, after every check that can refuse the
 * booking has passed; whatever can still be refused is written at once.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "booking_batch.h"
#include "owner.h"
#include "spi_plans.h"

#define BATCH_OFFER_NAME "OracodeBatchOffer"

/* a longer statement writes every this many requests, to bound its memory and arrays */
#define BATCH_MAX_REQUESTS 10000

/* The requests a running statement has buffered, or a barrier. */
typedef struct BatchScope
{
	struct BatchScope *outer;
	bool		batching;		/* false: a barrier, or a scope being closed */
	bool		offered;		/* a request was offered already (the first is not buffered) */
	MemoryContext cxt;			/* NULL while nothing is buffered */
	List	   *requests;		/* of CodeRequest *, in booking order */
	HTAB	   *refs;			/* hashes of their booking_refs */
	int			nest_level;		/* the (sub)transaction level the statement runs at */
} BatchScope;

static BatchScope *innermost = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;

/* Trigger functions seen so far: which one is oracode_booking_trigger, and which are not. */
#define KNOWN_FUNCTIONS 32
static Oid	booking_trigger_fn = InvalidOid;
static Oid	other_trigger_fns[KNOWN_FUNCTIONS];
static int	nother_trigger_fns = 0;
static ProcessUtility_hook_type prev_process_utility = NULL;

/* While the flush's INSERT runs: the ids whose history it writes itself, ascending. */
static int64 *written_ids = NULL;
static int	nwritten_ids = 0;

/*
 * The statements below take arrays, so a custom plan, costed for the
 * array it was given, always looks cheaper than the generic one and the
 * plan cache would plan them again at every statement's end: they are kept
 * generic (an unnest of unknown length, joined through the booking_ref
 * index), which suits one request and ten thousand alike.
 */

/* Idempotency for all of a scope's requests with a booking_ref (see create_code.c). */
static SpiPlan existing_plan = {
	"SELECT u.i, a.device_id = u.device_id AND a.starts_at = u.starts_at AND a.ends_at = u.ends_at "
	"FROM unnest($1::int4[], $2::text[], $3::uuid[], $4::timestamptz[], $5::timestamptz[]) "
	"AS u(i, booking_ref, device_id, starts_at, ends_at) "
	"JOIN oracode.access_codes a ON a.booking_ref = u.booking_ref "
	"WHERE a.superseded_by IS NULL AND a.status <> ALL (oracode.statuses('final'))",
	5, {INT4ARRAYOID, TEXTARRAYOID, UUIDARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID},
	NULL, CURSOR_OPT_GENERIC_PLAN
};

/*
 * The new requests and, in the same statement, the first history row of
 * each, as the access_codes_events_insert trigger (WHEN clause included)
 * would write it; that trigger skips these rows (booking_batch_wrote_event).
 */
static SpiPlan insert_plan = {
	"WITH ins AS (INSERT INTO oracode.access_codes AS a (id, device_id, booking_ref, name, "
	"requested_starts_at, requested_ends_at, starts_at, ends_at, slot_name, bound, time_zone, "
	"issue_at, seam_name, next_attempt_at, status_detail) "
	"SELECT * FROM unnest($1::int8[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], "
	"$6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], $11::text[], "
	"$12::timestamptz[], $13::text[], $14::timestamptz[], $15::text[]) "
	"RETURNING a.id, a.status, a.status_detail, a.created_at) "
	"INSERT INTO oracode.access_code_events (access_code_id, old_status, new_status, detail) "
	"SELECT ins.id, NULL, ins.status, coalesce(ins.status_detail, 'requested') FROM ins "
	"WHERE ins.created_at >= transaction_timestamp() ORDER BY ins.id",
	15, {INT8ARRAYOID, UUIDARRAYOID, TEXTARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID,
		TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, TEXTARRAYOID,
	TEXTARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID, TIMESTAMPTZARRAYOID, TEXTARRAYOID},
	NULL, CURSOR_OPT_GENERIC_PLAN
};

/* The element types of insert_plan's arrays. */
static const Oid insert_elem_types[15] = {
	INT8OID, UUIDOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TIMESTAMPTZOID, TEXTOID
};

/* A booking_ref's hash, the key of a scope's refs. */
static uint64
ref_hash(text *ref)
{
	return hash_bytes_extended((const unsigned char *) VARDATA_ANY(ref), VARSIZE_ANY_EXHDR(ref), 0);
}

/* A one-dimensional array of n values of elemtype; nulls may be NULL for none. */
static Datum
make_array(Datum *values, bool *nulls, int n, Oid elemtype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(elemtype, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, elemtype,
											  typlen, typbyval, typalign));
}

/* qsort/bsearch order of request ids. */
static int
id_cmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y ? 1 : 0;
}

/* For each request, whether its booking already has the same live request (idempotency). */
static bool *
find_existing(CodeRequest **reqs, int n, bool *live_ref)
{
	bool	   *existing = palloc0(sizeof(bool) * n);
	Datum	   *pos = palloc(sizeof(Datum) * n);
	Datum	   *refs = palloc(sizeof(Datum) * n);
	Datum	   *devices = palloc(sizeof(Datum) * n);
	Datum	   *starts = palloc(sizeof(Datum) * n);
	Datum	   *ends = palloc(sizeof(Datum) * n);
	Datum		args[5];
	int			m = 0;
	int			i;
	uint64		r;

	for (i = 0; i < n; i++)
	{
		if (reqs[i]->booking_ref == NULL)
			continue;
		pos[m] = Int32GetDatum(i);
		refs[m] = PointerGetDatum(reqs[i]->booking_ref);
		devices[m] = UUIDPGetDatum(&reqs[i]->device_id);
		starts[m] = TimestampTzGetDatum(reqs[i]->starts_at);
		ends[m] = TimestampTzGetDatum(reqs[i]->ends_at);
		m++;
	}
	if (m == 0)
		return existing;
	args[0] = make_array(pos, NULL, m, INT4OID);
	args[1] = make_array(refs, NULL, m, TEXTOID);
	args[2] = make_array(devices, NULL, m, UUIDOID);
	args[3] = make_array(starts, NULL, m, TIMESTAMPTZOID);
	args[4] = make_array(ends, NULL, m, TIMESTAMPTZOID);
	spi_plan_run(&existing_plan, args, NULL, 0);
	for (r = 0; r < SPI_processed; r++)
	{
		bool		isnull,
					same_null;
		int			at = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1, &isnull));
		bool		same = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &same_null));

		live_ref[at] = true;
		if (same && !same_null)
			existing[at] = true;
	}
	return existing;
}

/* Run insert_plan; ids (ascending) are the new requests, whose history it writes itself. */
static void
insert_requests(Datum *args, int64 *ids, int n)
{
	int64	   *saved_ids = written_ids;
	int			saved_n = nwritten_ids;

	/* restored after, not cleared: a flush nested in this one must not end its skipping */
	written_ids = ids;
	nwritten_ids = n;
	PG_TRY();
	{
		spi_plan_run(&insert_plan, args, NULL, 0);
	}
	PG_CATCH();
	{
		written_ids = saved_ids;
		nwritten_ids = saved_n;
		PG_RE_THROW();
	}
	PG_END_TRY();
	written_ids = saved_ids;
	nwritten_ids = saved_n;
}

/* A position and its booking_ref's hash, for refs_shared_in_batch. */
typedef struct RefAt
{
	uint64		hash;
	int			at;
} RefAt;

/* Order RefAt by hash. */
static int
ref_at_cmp(const void *a, const void *b)
{
	uint64		x = ((const RefAt *) a)->hash;
	uint64		y = ((const RefAt *) b)->hash;

	return x < y ? -1 : x > y;
}

/*
 * Which requests of a batch share their booking_ref's hash with another of
 * it. A flush before each reference's second request keeps a batch's
 * references apart, so this finds none but by a hash collision; it is
 * asked all the same, since a request that shares its reference must go
 * through the supersede.
 */
static bool *
refs_shared_in_batch(CodeRequest **reqs, int n)
{
	bool	   *shared = palloc0(sizeof(bool) * n);
	RefAt	   *refs = palloc(sizeof(RefAt) * Max(n, 1));
	int			m = 0,
				i;

	for (i = 0; i < n; i++)
		if (reqs[i]->booking_ref != NULL)
		{
			refs[m].hash = ref_hash(reqs[i]->booking_ref);
			refs[m++].at = i;
		}
	qsort(refs, m, sizeof(RefAt), ref_at_cmp);
	for (i = 1; i < m; i++)
		if (refs[i].hash == refs[i - 1].hash)
			shared[refs[i].at] = shared[refs[i - 1].at] = true;
	return shared;
}

/* A new request's values, as row at of the insert's column arrays (insert_plan's order). */
static void
request_columns(const CodeRequest *req, int64 id, Datum **cols, bool **nulls, int at)
{
	cols[0][at] = Int64GetDatum(id);
	cols[1][at] = UUIDPGetDatum(&req->device_id);
	cols[2][at] = PointerGetDatum(req->booking_ref);
	nulls[2][at] = req->booking_ref == NULL;
	cols[3][at] = PointerGetDatum(req->name);
	nulls[3][at] = req->name == NULL;
	cols[4][at] = TimestampTzGetDatum(req->requested_starts_at);
	cols[5][at] = TimestampTzGetDatum(req->requested_ends_at);
	cols[6][at] = TimestampTzGetDatum(req->starts_at);
	cols[7][at] = TimestampTzGetDatum(req->ends_at);
	cols[8][at] = CStringGetTextDatum(req->slot_name);
	cols[9][at] = CStringGetTextDatum(req->bound);
	cols[10][at] = CStringGetTextDatum(req->time_zone);
	cols[11][at] = TimestampTzGetDatum(req->issue_at);
	nulls[11][at] = !req->has_issue_at;
	cols[12][at] = CStringGetTextDatum(request_seam_name(req->name, req->booking_ref, id));
	cols[13][at] = TimestampTzGetDatum(req->next_attempt_at);
	cols[14][at] = CStringGetTextDatum(req->status_detail);
}

/*
 * Write the requests as oracode_create_code() would have one by one: each
 * booking's existing identical request is kept, the others are inserted
 * (ids in booking order) with their history, and supersede their earlier
 * requests. The caller runs this as the function's owner.
 */
static void
write_requests(List *requests)
{
	int			n = list_length(requests);
	CodeRequest **reqs;
	bool	   *existing;
	bool	   *live_ref;
	bool	   *shared_ref;
	Datum	   *cols[15];
	bool	   *nulls[15];
	Datum		args[15];
	int64	   *ids;
	Datum	   *sup_refs,
			   *sup_ids,
			   *sup_devices;
	int			nnew = 0,
				nsup = 0;
	int			c,
				i;
	ListCell   *lc;
	Oid			seq = request_id_sequence();

	/* what is allocated from here on is SPI's, freed by SPI_finish */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	reqs = palloc(sizeof(CodeRequest *) * n);
	i = 0;
	foreach(lc, requests)
		reqs[i++] = (CodeRequest *) lfirst(lc);
	live_ref = palloc0(sizeof(bool) * n);
	existing = find_existing(reqs, n, live_ref);
	shared_ref = refs_shared_in_batch(reqs, n);

	for (c = 0; c < 15; c++)
	{
		cols[c] = palloc(sizeof(Datum) * n);
		nulls[c] = palloc0(sizeof(bool) * n);
	}
	ids = palloc(sizeof(int64) * n);
	sup_refs = palloc(sizeof(Datum) * n);
	sup_ids = palloc(sizeof(Datum) * n);
	sup_devices = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
	{
		CodeRequest *req = reqs[i];
		int64		id;

		if (existing[i])
			continue;
		id = request_next_id(seq);
		ids[nnew] = id;
		request_columns(req, id, cols, nulls, nnew);
		/*
		 * Only a booking whose reference already has a live request, or
		 * shares it with another of this batch, can supersede anything: a
		 * first import's bookings skip that statement's index probes.
		 */
		if (req->booking_ref && (live_ref[i] || shared_ref[i]))
		{
			sup_refs[nsup] = PointerGetDatum(req->booking_ref);
			sup_ids[nsup] = Int64GetDatum(id);
			sup_devices[nsup] = UUIDPGetDatum(&req->device_id);
			nsup++;
		}
		nnew++;
	}
	if (nnew > 0)
	{
		for (c = 0; c < 15; c++)
			args[c] = make_array(cols[c], nulls[c], nnew, insert_elem_types[c]);
		qsort(ids, nnew, sizeof(int64), id_cmp);
		insert_requests(args, ids, nnew);
		request_replan_if_outbox_grew();
	}
	if (nsup > 0)
	{
		args[0] = make_array(sup_refs, NULL, nsup, TEXTOID);
		args[1] = make_array(sup_ids, NULL, nsup, INT8OID);
		args[2] = make_array(sup_devices, NULL, nsup, UUIDOID);
		request_supersede(args[0], args[1], args[2]);
	}
	SPI_finish();
}

/*
 * write_requests() with the rights oracode_create_code() runs with,
 * whichever role's statement ends: as the tables' owner, with search_path
 * pinned, planning index paths only (owner.c): the plans below must not
 * depend on statistics of the outbox. An error is cleaned up by the
 * (sub)transaction's abort.
 */
static void
write_requests_as_owner(List *requests)
{
	OwnerScope	owner;

	owner_enter(&owner);
	owner_prefer_index_paths();
	write_requests(requests);
	owner_leave(&owner);
}

/* Write what the scope holds and empty it; the scope stays on the stack. */
static void
flush_scope(BatchScope *scope)
{
	MemoryContext cxt = scope->cxt;
	List	   *requests = scope->requests;

	if (cxt == NULL)
		return;
	/* detached first: nothing the writes run can find or add to these */
	scope->cxt = NULL;
	scope->requests = NIL;
	scope->refs = NULL;
	PG_TRY();
	{
		write_requests_as_owner(requests);
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextDelete(cxt);
}

/* Make scope the innermost; batching false makes it a barrier. */
static void
scope_push(BatchScope *scope, bool batching)
{
	scope->outer = innermost;
	scope->batching = batching;
	scope->offered = false;
	scope->cxt = NULL;
	scope->requests = NIL;
	scope->refs = NULL;
	scope->nest_level = GetCurrentTransactionNestLevel();
	innermost = scope;
}

/* The statement ended: write what its scope holds, then pop it. */
static void
scope_close(BatchScope *scope)
{
	Assert(innermost == scope);
	scope->batching = false;
	flush_scope(scope);
	innermost = scope->outer;
}

/* The statement failed: drop what its scope holds and pop it (the error rolls back the rest). */
static void
scope_discard(BatchScope *scope)
{
	if (scope->cxt)
		MemoryContextDelete(scope->cxt);
	scope->cxt = NULL;
	innermost = scope->outer;
}

/*
 * Whether fn is oracode_booking_trigger (a C function of that name: the one
 * this library defines). The answer is kept: an oid names one function for
 * as long as it exists, and a dropped one's oid is not soon reused.
 */
static bool
is_booking_trigger(Oid fn)
{
	HeapTuple	tp;
	bool		ours = false;
	int			i;

	if (fn == booking_trigger_fn)
		return true;
	for (i = 0; i < nother_trigger_fns; i++)
		if (other_trigger_fns[i] == fn)
			return false;
	tp = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (HeapTupleIsValid(tp))
	{
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tp);

		ours = proc->prolang == ClanguageId &&
			strcmp(NameStr(proc->proname), "oracode_booking_trigger") == 0;
		ReleaseSysCache(tp);
	}
	if (ours)
		booking_trigger_fn = fn;
	else if (nother_trigger_fns < KNOWN_FUNCTIONS)
		other_trigger_fns[nother_trigger_fns++] = fn;
	return ours;
}

/* Whether one of the relations (ResultRelInfos) has a booking trigger. */
static bool
has_booking_trigger(List *result_rels)
{
	ListCell   *lc;

	foreach(lc, result_rels)
	{
		TriggerDesc *td = ((ResultRelInfo *) lfirst(lc))->ri_TrigDesc;
		int			i;

		for (i = 0; td != NULL && i < td->numtriggers; i++)
			if (is_booking_trigger(td->triggers[i].tgfoid))
				return true;
	}
	return false;
}

/*
 * Whether the query may fire a booking trigger in its ExecutorFinish: it
 * writes a table that has one, or routes rows to a partition that has.
 * Reads (no result relation) answer at once.
 */
static bool
query_fires_booking_trigger(QueryDesc *queryDesc)
{
	EState	   *estate = queryDesc->estate;

	return estate != NULL &&
		(has_booking_trigger(estate->es_opened_result_relations) ||
		 has_booking_trigger(estate->es_tuple_routing_result_relations) ||
		 has_booking_trigger(estate->es_trig_target_relations));
}

/* Run ExecutorFinish as if this library had no hook there. */
static void
executor_finish_through(QueryDesc *queryDesc)
{
	if (prev_executor_finish)
		prev_executor_finish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
}

/* ExecutorFinish_hook: a query's AFTER triggers fire in here; its requests are written after them. */
static void
batch_executor_finish(QueryDesc *queryDesc)
{
	BatchScope	scope;

	if (innermost == NULL && !query_fires_booking_trigger(queryDesc))
	{
		executor_finish_through(queryDesc);
		return;
	}
	scope_push(&scope, true);
	PG_TRY();
	{
		executor_finish_through(queryDesc);
		scope_close(&scope);
	}
	PG_CATCH();
	{
		scope_discard(&scope);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* Run ProcessUtility as if this library had no batching hook there. */
static void
process_utility_through(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
						ProcessUtilityContext context, ParamListInfo params,
						QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, readOnlyTree, context, params,
							 queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
}

/*
 * ProcessUtility_hook: COPY FROM fires its rows' AFTER triggers itself, and
 * collects their requests like a query; any other utility is a barrier.
 */
static void
batch_process_utility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
					  ProcessUtilityContext context, ParamListInfo params,
					  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	bool		copy_from = IsA(stmt, CopyStmt) && ((CopyStmt *) stmt)->is_from;
	BatchScope	scope;

	/* outside any scope only a COPY FROM collects; nothing else needs a barrier */
	if (innermost == NULL && !copy_from)
	{
		process_utility_through(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
		return;
	}
	scope_push(&scope, copy_from);
	PG_TRY();
	{
		process_utility_through(pstmt, queryString, readOnlyTree, context, params,
								queryEnv, dest, qc);
		scope_close(&scope);
	}
	PG_CATCH();
	{
		scope_discard(&scope);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/* Install the hooks that open and close scopes (from _PG_init). */
void
booking_batch_install_hooks(void)
{
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = batch_executor_finish;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = batch_process_utility;
}

/* Make offer a valid context for an oracode_create_code() call. */
void
booking_batch_offer_init(BatchOffer *offer)
{
	memset(offer, 0, sizeof(BatchOffer));
	offer->node.type = T_ExtensibleNode;
	offer->node.extnodename = BATCH_OFFER_NAME;
	offer->batch = true;
}

/* The offer in a function call's context, or NULL when it is none. */
BatchOffer *
booking_batch_offer(Node *context)
{
	if (context != NULL && IsA(context, ExtensibleNode) &&
		strcmp(((ExtensibleNode *) context)->extnodename, BATCH_OFFER_NAME) == 0)
		return (BatchOffer *) context;
	return NULL;
}

/*
 * Buffer a checked request (whose booking_ref no buffer holds) in the
 * innermost scope, for the end of its statement; false when that scope
 * does not collect requests or this is its first, and the caller writes it
 * at once.
 */
bool
booking_batch_add(const CodeRequest *req)
{
	BatchScope *scope = innermost;
	MemoryContext old;
	CodeRequest *copy;

	if (scope == NULL || !scope->batching || scope->nest_level != GetCurrentTransactionNestLevel())
		return false;
	/*
	 * The first request of a statement is written at once: a statement of
	 * one booking (how a PMS books) costs what it did before buffering, and
	 * only the bookings after it wait for the statement's end.
	 */
	if (!scope->offered)
	{
		scope->offered = true;
		return false;
	}
	if (scope->cxt == NULL)
	{
		HASHCTL		ctl;

		scope->cxt = AllocSetContextCreate(TopTransactionContext, "oracode batched requests",
										   ALLOCSET_DEFAULT_SIZES);
		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(uint64);
		ctl.hcxt = scope->cxt;
		scope->refs = hash_create("oracode batched booking refs", 256, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	old = MemoryContextSwitchTo(scope->cxt);
	copy = palloc(sizeof(CodeRequest));
	*copy = *req;
	if (req->booking_ref)
	{
		uint64		h = ref_hash(req->booking_ref);

		copy->booking_ref = (text *) DatumGetPointer(datumCopy(PointerGetDatum(req->booking_ref), false, -1));
		hash_search(scope->refs, &h, HASH_ENTER, NULL);
	}
	if (req->name)
		copy->name = (text *) DatumGetPointer(datumCopy(PointerGetDatum(req->name), false, -1));
	copy->slot_name = pstrdup(req->slot_name);
	copy->time_zone = pstrdup(req->time_zone);
	copy->status_detail = pstrdup(req->status_detail);
	scope->requests = lappend(scope->requests, copy);
	MemoryContextSwitchTo(old);

	if (list_length(scope->requests) >= BATCH_MAX_REQUESTS)
		flush_scope(scope);
	return true;
}

/*
 * Write every buffer holding a request of this booking now (a hash match
 * of another booking only writes early), so that what comes next for the
 * booking finds it as it would have been found without buffering. A
 * buffer is never written from inside a subtransaction its statement did
 * not start: that subtransaction's rollback would take the writes with it
 * and leave the statement's other bookings without their requests.
 */
void
booking_batch_flush_ref(text *booking_ref)
{
	uint64		h;
	BatchScope *scope;
	int			level = GetCurrentTransactionNestLevel();

	if (innermost == NULL)
		return;
	h = ref_hash(booking_ref);
	for (scope = innermost; scope != NULL; scope = scope->outer)
		if (scope->refs != NULL && scope->nest_level == level &&
			hash_search(scope->refs, &h, HASH_FIND, NULL) != NULL)
			flush_scope(scope);
}

/* Whether the running flush writes the history of this new request itself. */
bool
booking_batch_wrote_event(int64 access_code_id)
{
	return written_ids != NULL &&
		bsearch(&access_code_id, written_ids, nwritten_ids, sizeof(int64), id_cmp) != NULL;
}
