/*
 * booking_trigger.c — oracode_booking_trigger(): a row trigger for a PMS's
 * bookings table that requests, supersedes and cancels codes.
 *
 * It runs for every booking a PMS writes, so its cost is the price of the
 * extension to the PMS. The key=value arguments are parsed once per trigger
 * and kept (keyed by the trigger's OID, checked against its arguments), the
 * booking's columns are read by attribute number, a device_sql query is
 * planned once per backend, and oracode_create_code() is called through a
 * kept FmgrInfo. No subtransaction is opened unless on_error=warn asks for
 * the booking to survive a refused request. An AFTER INSERT firing offers
 * oracode_create_code() to buffer its request for the end of the statement
 * (booking_batch.c); anything that acts on a booking's earlier requests
 * (a resolution, a supersede, a subtransaction that may roll back) first
 * writes the booking's buffered request.
 *
 * Its rule (doc/reference.md, "Booking trigger"): a booking never leaves a
 * live request that does not fit its current row. An update that changes
 * what the request was made for resolves the old row's request — its ref on
 * its lock, so other rooms of a group booking are untouched — in the same
 * statement (resolve_old_request), unless the new request supersedes it.
 *
 * It is not SECURITY DEFINER: device_sql is the PMS's own query and runs
 * with the rights and search_path of the role writing the booking; the
 * resolution runs as the tables' owner with a pinned path (owner.c).
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "booking_batch.h"
#include "match.h"
#include "oracode.h"
#include "owner.h"
#include "spi_plans.h"

PG_FUNCTION_INFO_V1(oracode_booking_trigger);

/* One trigger's parsed arguments and what is prepared for it. */
typedef struct TriggerOptions
{
	Oid			tgoid;			/* hash key */
	MemoryContext cxt;			/* everything below lives here */
	int			nargs;			/* the arguments, to notice a reused OID */
	char	  **args;
	char	   *device_col;
	char	   *device_sql;
	char	   *starts_col;
	char	   *ends_col;
	char	   *ref_col;
	char	   *name_col;
	char	   *cancelled_col;
	List	   *cancelled_values;	/* of char *: any of them cancels */
	char	   *rounding;
	Interval   *issue_before;	/* NULL = issue at once */
	bool		warn;			/* on_error=warn */
	bool		split;			/* long_stays=split */
	SPIPlanPtr	device_plan;	/* device_sql, prepared on first use */
	bool		have_to_jsonb;
	FmgrInfo	to_jsonb;		/* the row as jsonb for device_sql */
} TriggerOptions;

/* The extension's functions the trigger calls, found in its own schema. */
typedef struct ExtensionFunctions
{
	bool		valid;
	MemoryContext cxt;
	FmgrInfo	create_code;
	FmgrInfo	cancel_booking;
} ExtensionFunctions;

/*
 * The rights a SQL call would check: the trigger runs as the role writing
 * the booking, which needs EXECUTE on the function (README, "Roles"), and
 * a call through a kept FmgrInfo does not check it by itself.
 */
static void
check_execute(FmgrInfo *fn)
{
	AclResult	aclresult = pg_proc_aclcheck(fn->fn_oid, GetUserId(), ACL_EXECUTE);

	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FUNCTION, get_func_name(fn->fn_oid));
	InvokeFunctionExecuteHook(fn->fn_oid);
}

static HTAB *options_cache = NULL;
static ExtensionFunctions ext_funcs;

/* pg_proc changed: look the functions up again before the next call. */
static void
proc_changed(Datum arg, int cacheid, uint32 hashvalue)
{
	ext_funcs.valid = false;
}

/* Find oracode_create_code and oracode_cancel_booking next to the trigger function. */
static void
lookup_functions(Oid trigger_fn)
{
	static bool registered = false;
	Oid			nsp = get_func_namespace(trigger_fn);
	char	   *nspname = get_namespace_name(nsp);
	Oid			create_args[7] = {UUIDOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, TEXTOID,
	TEXTOID, TIMESTAMPTZOID};
	Oid			cancel_args[1] = {TEXTOID};
	Oid			create_oid,
				cancel_oid;

	if (!registered)
	{
		CacheRegisterSyscacheCallback(PROCOID, proc_changed, (Datum) 0);
		registered = true;
	}
	if (ext_funcs.cxt == NULL)
		ext_funcs.cxt = AllocSetContextCreate(TopMemoryContext, "oracode trigger functions",
											  ALLOCSET_SMALL_SIZES);
	ext_funcs.valid = false;
	MemoryContextReset(ext_funcs.cxt);
	create_oid = LookupFuncName(list_make2(makeString(nspname), makeString("oracode_create_code")),
								7, create_args, false);
	cancel_oid = LookupFuncName(list_make2(makeString(nspname), makeString("oracode_cancel_booking")),
								1, cancel_args, false);
	fmgr_info_cxt(create_oid, &ext_funcs.create_code, ext_funcs.cxt);
	fmgr_info_cxt(cancel_oid, &ext_funcs.cancel_booking, ext_funcs.cxt);
	ext_funcs.valid = true;
}

/* Raise 22023 for a malformed trigger argument. */
static void
bad_argument(const char *arg, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid oracode_booking_trigger argument \"%s\"", arg),
			 errdetail("%s", why),
			 errhint("Arguments are key=value pairs such as device=lock_id, starts=check_in, ends=check_out, ref=id.")));
}

/* Parse the trigger's key=value arguments into opts (allocated in opts->cxt). */
static void
parse_options(TriggerOptions *opts, Trigger *trigger)
{
	MemoryContext old = MemoryContextSwitchTo(opts->cxt);
	int			i;

	opts->nargs = trigger->tgnargs;
	opts->args = palloc(sizeof(char *) * Max(trigger->tgnargs, 1));
	for (i = 0; i < trigger->tgnargs; i++)
	{
		char	   *arg = trigger->tgargs[i];
		char	   *eq = strchr(arg, '=');
		char	   *key,
				   *value;

		opts->args[i] = pstrdup(arg);
		if (eq == NULL)
			bad_argument(arg, "An argument has the form key=value.");
		key = pnstrdup(arg, eq - arg);
		value = pstrdup(eq + 1);
		if (strcmp(key, "device") == 0)
			opts->device_col = value;
		else if (strcmp(key, "device_sql") == 0)
			opts->device_sql = value;
		else if (strcmp(key, "starts") == 0)
			opts->starts_col = value;
		else if (strcmp(key, "ends") == 0)
			opts->ends_col = value;
		else if (strcmp(key, "ref") == 0)
			opts->ref_col = value;
		else if (strcmp(key, "name") == 0)
			opts->name_col = value;
		else if (strcmp(key, "rounding") == 0)
			opts->rounding = value;
		else if (strcmp(key, "cancelled") == 0)
		{
			char	   *colon = strchr(value, ':');
			char	   *values;
			char	   *v;

			if (colon == NULL)
				bad_argument(arg, "cancelled takes column:value[,value...], e.g. cancelled=status:cancelled,no_show.");
			opts->cancelled_col = pnstrdup(value, colon - value);
			/* cancelled=status:cancelled,no_show: any listed value cancels */
			values = pstrdup(colon + 1);
			opts->cancelled_values = NIL;
			while ((v = strsep(&values, ",")) != NULL)
				opts->cancelled_values = lappend(opts->cancelled_values, v);
		}
		else if (strcmp(key, "issue_before") == 0)
			opts->issue_before = DatumGetIntervalP(DirectFunctionCall3(interval_in, CStringGetDatum(value),
																	   ObjectIdGetDatum(InvalidOid),
																	   Int32GetDatum(-1)));
		else if (strcmp(key, "on_error") == 0)
		{
			if (strcmp(value, "warn") != 0 && strcmp(value, "raise") != 0)
				bad_argument(arg, "on_error is raise or warn.");
			opts->warn = strcmp(value, "warn") == 0;
		}
		else if (strcmp(key, "long_stays") == 0)
		{
			if (strcmp(value, "split") != 0 && strcmp(value, "refuse") != 0)
				bad_argument(arg, "long_stays is refuse or split.");
			opts->split = strcmp(value, "split") == 0;
		}
		else
			bad_argument(arg, "Known keys are device, device_sql, starts, ends, ref, name, cancelled, rounding, issue_before, on_error and long_stays.");
	}
	if (opts->starts_col == NULL || opts->ends_col == NULL || opts->ref_col == NULL ||
		(opts->device_col == NULL && opts->device_sql == NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("oracode_booking_trigger needs device (or device_sql), starts, ends and ref")));
	MemoryContextSwitchTo(old);
}

/* The trigger's parsed options, from the cache or parsed now. */
static TriggerOptions *
trigger_options(Trigger *trigger)
{
	TriggerOptions *opts;
	bool		found;
	int			i;

	if (options_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(TriggerOptions);
		options_cache = hash_create("oracode booking triggers", 16, &ctl, HASH_ELEM | HASH_BLOBS);
	}
	opts = hash_search(options_cache, &trigger->tgoid, HASH_ENTER, &found);
	if (found)
	{
		bool		same = opts->nargs == trigger->tgnargs;

		for (i = 0; same && i < trigger->tgnargs; i++)
			same = strcmp(opts->args[i], trigger->tgargs[i]) == 0;
		if (same)
			return opts;
		/* the OID was reused by another trigger: start over */
		if (opts->device_plan)
			SPI_freeplan(opts->device_plan);
		MemoryContextDelete(opts->cxt);
	}
	memset(((char *) opts) + sizeof(Oid), 0, sizeof(TriggerOptions) - sizeof(Oid));
	opts->cxt = AllocSetContextCreate(TopMemoryContext, "oracode booking trigger",
									  ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		parse_options(opts, trigger);
	}
	PG_CATCH();
	{
		/* a malformed trigger stays uncached, so every row reports it */
		MemoryContextDelete(opts->cxt);
		hash_search(options_cache, &trigger->tgoid, HASH_REMOVE, NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return opts;
}

/* A column's attribute number; 42703 when the table has no such column. */
static int
column_number(TupleDesc desc, const char *col, Relation rel)
{
	int			attnum = SPI_fnumber(desc, col);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of oracode_booking_trigger does not exist in table \"%s\"",
						col, RelationGetRelationName(rel)),
				 errhint("The trigger's arguments name columns of the bookings table.")));
	return attnum;
}

/*
 * A column as text, as (to_jsonb(row) ->> column) reads it for the types a
 * booking reference, name or status has; NULL for SQL NULL.
 */
static char *
column_text(HeapTuple tuple, TupleDesc desc, const char *col, Relation rel)
{
	int			attnum = column_number(desc, col, rel);
	Oid			type = SPI_gettypeid(desc, attnum);
	bool		isnull;
	Datum		value = SPI_getbinval(tuple, desc, attnum, &isnull);
	Oid			out;
	bool		varlena;

	if (isnull)
		return NULL;
	if (type == BOOLOID)
		return DatumGetBool(value) ? "true" : "false";
	getTypeOutputInfo(type, &out, &varlena);
	return OidOutputFunctionCall(out, value);
}

/* A column as timestamptz, as (to_jsonb(row) ->> column)::timestamptz reads it. */
static bool
column_timestamptz(HeapTuple tuple, TupleDesc desc, const char *col, Relation rel, TimestampTz *result)
{
	int			attnum = column_number(desc, col, rel);
	Oid			type = SPI_gettypeid(desc, attnum);
	bool		isnull;
	Datum		value = SPI_getbinval(tuple, desc, attnum, &isnull);

	if (isnull)
		return false;
	if (type == TIMESTAMPTZOID)
		*result = DatumGetTimestampTz(value);
	else if (type == TIMESTAMPOID)
		*result = DatumGetTimestampTz(DirectFunctionCall1(timestamp_timestamptz, value));
	else if (type == DATEOID)
		*result = DatumGetTimestampTz(DirectFunctionCall1(date_timestamptz, value));
	else
		*result = DatumGetTimestampTz(DirectFunctionCall3(timestamptz_in,
														  CStringGetDatum(column_text(tuple, desc, col, rel)),
														  ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	return true;
}

/* The row as jsonb, as to_jsonb(NEW) makes it, for device_sql's $1. */
static Datum
row_jsonb(TriggerOptions *opts, HeapTuple tuple, TupleDesc desc)
{
	if (!opts->have_to_jsonb)
	{
		MemoryContext old = MemoryContextSwitchTo(opts->cxt);

		/* to_jsonb(anyelement) reads its argument's type from the call expression */
		fmgr_info_cxt(F_TO_JSONB, &opts->to_jsonb, opts->cxt);
		fmgr_info_set_expr((Node *) makeFuncExpr(F_TO_JSONB, JSONBOID,
												 list_make1(makeNullConst(desc->tdtypeid, -1, InvalidOid)),
												 InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL),
						   &opts->to_jsonb);
		MemoryContextSwitchTo(old);
		opts->have_to_jsonb = true;
	}
	return FunctionCall1(&opts->to_jsonb, heap_copy_tuple_as_datum(tuple, desc));
}

/* The booking's lock, from its device column or device_sql; false for none. */
static bool
booking_device(TriggerOptions *opts, HeapTuple tuple, TupleDesc desc, Relation rel, pg_uuid_t *device)
{
	Datum		value;
	bool		isnull;
	Oid			type;
	char	   *text_form;

	if (opts->device_col != NULL)
	{
		int			attnum = column_number(desc, opts->device_col, rel);

		type = SPI_gettypeid(desc, attnum);
		value = SPI_getbinval(tuple, desc, attnum, &isnull);
		if (isnull)
			return false;
		if (type == UUIDOID)
		{
			*device = *DatumGetUUIDP(value);
			return true;
		}
		text_form = column_text(tuple, desc, opts->device_col, rel);
	}
	else
	{
		Datum		arg = row_jsonb(opts, tuple, desc);
		int			rc;

		if (opts->device_plan == NULL)
		{
			Oid			argtype = JSONBOID;
			SPIPlanPtr	plan = SPI_prepare(opts->device_sql, 1, &argtype);

			if (plan == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("oracode_booking_trigger cannot prepare its device_sql: %s",
								SPI_result_code_string(SPI_result)),
						 errdetail("The query is: %s", opts->device_sql)));
			SPI_keepplan(plan);
			opts->device_plan = plan;
		}
		/* like PL/pgSQL's EXECUTE ... INTO: the first row's first column, or none */
		rc = SPI_execute_plan(opts->device_plan, &arg, NULL, false, 1);
		if (rc != SPI_OK_SELECT)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("oracode_booking_trigger's device_sql must be a query returning the device's uuid"),
					 errdetail("The query is: %s", opts->device_sql)));
		if (SPI_processed == 0)
			return false;
		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
			return false;
		type = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
		if (type == UUIDOID)
		{
			*device = *DatumGetUUIDP(value);
			return true;
		}
		text_form = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	}
	*device = *DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(text_form)));
	return true;
}

/* Whether the row is marked cancelled (cancelled=column:value). */
static bool
booking_cancelled(TriggerOptions *opts, HeapTuple tuple, TupleDesc desc, Relation rel)
{
	char	   *v;
	ListCell   *lc;

	if (opts->cancelled_col == NULL)
		return false;
	v = column_text(tuple, desc, opts->cancelled_col, rel);
	if (v == NULL)
		return false;
	foreach(lc, opts->cancelled_values)
		if (strcmp(v, (char *) lfirst(lc)) == 0)
			return true;
	return false;
}

/* oracode_cancel_booking(ref) for the row's booking reference. */
static void
cancel_booking(TriggerOptions *opts, HeapTuple tuple, TupleDesc desc, Relation rel)
{
	char	   *ref = column_text(tuple, desc, opts->ref_col, rel);
	LOCAL_FCINFO(fcinfo, 1);

	InitFunctionCallInfoData(*fcinfo, &ext_funcs.cancel_booking, 1, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = ref ? CStringGetTextDatum(ref) : (Datum) 0;
	fcinfo->args[0].isnull = ref == NULL;
	/* the function is strict: a booking without a reference has nothing to cancel */
	if (ref == NULL && ext_funcs.cancel_booking.fn_strict)
		return;
	/* a request of this booking still buffered must be there to be cancelled */
	if (ref != NULL)
		booking_batch_flush_ref(cstring_to_text(ref));
	check_execute(&ext_funcs.cancel_booking);
	FunctionCallInvoke(fcinfo);
}

/* One booking as oracode_create_code() takes it. */
typedef struct Booking
{
	bool		has_device;
	pg_uuid_t	device;
	bool		has_starts;
	TimestampTz starts;
	bool		has_ends;
	TimestampTz ends;
	bool		cancelled;
} Booking;

/* Read the columns the request depends on. */
static void
read_booking(TriggerOptions *opts, HeapTuple tuple, TupleDesc desc, Relation rel, Booking *b)
{
	b->has_device = booking_device(opts, tuple, desc, rel, &b->device);
	b->cancelled = booking_cancelled(opts, tuple, desc, rel);
	b->has_starts = column_timestamptz(tuple, desc, opts->starts_col, rel, &b->starts);
	b->has_ends = column_timestamptz(tuple, desc, opts->ends_col, rel, &b->ends);
}

/*
 * oracode_create_code(device, starts, ends, name, ref, rounding, issue_at)
 * for the booking; offer (or NULL) lets it buffer the request for the end
 * of the statement.
 */
static void
create_code(TriggerOptions *opts, HeapTuple tuple, TupleDesc desc, Relation rel, Booking *b,
			BatchOffer *offer)
{
	char	   *name = opts->name_col ? column_text(tuple, desc, opts->name_col, rel) : NULL;
	char	   *ref = column_text(tuple, desc, opts->ref_col, rel);
	pg_uuid_t  *device = palloc(sizeof(pg_uuid_t));
	LOCAL_FCINFO(fcinfo, 7);

	*device = b->device;
	InitFunctionCallInfoData(*fcinfo, &ext_funcs.create_code, 7, InvalidOid, (Node *) offer, NULL);
	fcinfo->args[0].value = UUIDPGetDatum(device);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = TimestampTzGetDatum(b->starts);
	fcinfo->args[1].isnull = !b->has_starts;
	fcinfo->args[2].value = TimestampTzGetDatum(b->ends);
	fcinfo->args[2].isnull = !b->has_ends;
	fcinfo->args[3].value = name ? CStringGetTextDatum(name) : (Datum) 0;
	fcinfo->args[3].isnull = name == NULL;
	fcinfo->args[4].value = ref ? CStringGetTextDatum(ref) : (Datum) 0;
	fcinfo->args[4].isnull = ref == NULL;
	fcinfo->args[5].value = CStringGetTextDatum(opts->rounding ? opts->rounding : "1hour");
	fcinfo->args[5].isnull = false;
	fcinfo->args[6].isnull = opts->issue_before == NULL || !b->has_starts;
	fcinfo->args[6].value = fcinfo->args[6].isnull ? (Datum) 0 :
		DirectFunctionCall2(timestamptz_mi_interval, TimestampTzGetDatum(b->starts),
							IntervalPGetDatum(opts->issue_before));
	check_execute(&ext_funcs.create_code);
	FunctionCallInvoke(fcinfo);
}

/*
 * What the old row of a booking was requested for — its reference on its
 * lock — resolved at once, in the statement that changed the booking: a
 * request still queued is cancelled (never sent); a sent one is marked
 * superseded (superseded_by its own id: no successor) with an event, since
 * its PIN stays valid at the lock until its end. The same reference on
 * another lock (another room of a group booking) is left alone.
 */
static SpiPlan resolve_plan = {
	"WITH r AS (UPDATE oracode.access_codes a "
	"  SET superseded_by = CASE WHEN a.status = 'queued' THEN a.superseded_by ELSE a.id END, "
	"      status = CASE WHEN a.status = 'queued' THEN 'cancelled' ELSE a.status END, "
	"      status_detail = CASE WHEN a.status = 'queued' THEN 'cancelled: ' || $3 "
	"        ELSE 'superseded: ' || $3 || '; its code stays valid at the lock until its end' END "
	"  WHERE a.booking_ref = $1 AND a.device_id = $2 AND a.superseded_by IS NULL "
	"  AND a.status <> ALL (oracode.statuses('final')) "
	"  RETURNING a.id, a.status, a.status_detail) "
	"INSERT INTO oracode.access_code_events (access_code_id, old_status, new_status, detail) "
	"SELECT r.id, r.status, r.status, r.status_detail FROM r WHERE r.status <> 'cancelled'",
	3, {TEXTOID, UUIDOID, TEXTOID}
};

/*
 * Resolve the request(s) the booking's old row was made for (see
 * resolve_plan); why says what changed. It takes the rights a cancel
 * takes (EXECUTE on oracode_cancel_booking) and runs as the tables' owner.
 * Without a lock or a reference on the old row, no request was made for it.
 */
static void
resolve_old_request(TriggerOptions *opts, HeapTuple oldtuple, TupleDesc desc, Relation rel,
					const Booking *old, const char *why)
{
	char	   *ref = column_text(oldtuple, desc, opts->ref_col, rel);
	Datum		args[3];
	OwnerScope	owner;

	if (ref == NULL || !old->has_device)
		return;
	check_execute(&ext_funcs.cancel_booking);
	/* a request of this booking still buffered must be there to be resolved */
	booking_batch_flush_ref(cstring_to_text(ref));
	args[0] = CStringGetTextDatum(ref);
	args[1] = UUIDPGetDatum(&old->device);
	args[2] = CStringGetTextDatum(why);
	owner_enter(&owner);
	owner_prefer_index_paths();
	spi_plan_run(&resolve_plan, args, NULL, 0);
	owner_leave(&owner);
}

/* Whether err is one of the refusals on_error=warn turns into a warning. */
static bool
is_refusal(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_ORACODE_NO_SLOT || sqlerrcode == ERRCODE_ORACODE_NOT_OFFLINE ||
		sqlerrcode == ERRCODE_ORACODE_CODE_LIMIT || sqlerrcode == ERRCODE_ORACODE_UNKNOWN_DEVICE;
}

/*
 * Raise 22023 unless the booking has times codes can be made for (NULL,
 * backwards, over 31 days — unless long_stays=split makes several codes).
 */
static void
check_booking_times(const TriggerOptions *opts, const Booking *b)
{
	if (!b->has_starts || !b->has_ends)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("booking %s must not be null", b->has_starts ? "ends_at" : "starts_at")));
	if (opts->split && b->ends - b->starts > ORACODE_MAX_STAY_USECS)
		return;
	match_check_booking(b->starts, b->ends);
}

/* t moved by n calendar days in the session's time zone (a stay's clock times are kept across DST). */
static TimestampTz
plus_days(TimestampTz t, int n)
{
	Interval	iv = {0};

	iv.day = n;
	return DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(t),
												   IntervalPGetDatum(&iv)));
}

/* The most pieces a split stay may have (about five years); a longer stay is refused. */
#define MAX_PIECES 64

/*
 * long_stays=split: a stay over 744 hours as consecutive pieces, each short
 * enough for one code even after its ends move to the slot's times (by up
 * to the tolerance each), on the stay's own clock times: a piece ends on a
 * departure time (the stay's end, a number of days earlier) and the next
 * starts on an arrival time (the stay's start, a number of days later) no
 * later than that end, so the codes overlap by a night and the guest never
 * stands at the door without a valid one. Returns the number of pieces.
 */
static int
split_stay(TimestampTz starts, TimestampTz ends, int64 tolerance, TimestampTz *piece_starts,
		   TimestampTz *piece_ends)
{
	int64		longest = ORACODE_MAX_STAY_USECS - 2 * tolerance;
	TimestampTz cur = starts;
	int			m = 0;			/* cur = starts + m days */
	int			n = 0;

	while (ends - cur > longest)
	{
		int			k = (int) ((ends - cur - longest) / USECS_PER_DAY);
		TimestampTz pe;

		if (n == MAX_PIECES - 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("stay is too long to split into codes"),
					 errdetail("A stay is split into at most %d codes of 31 days.", MAX_PIECES)));
		/* the latest departure time, k days before the end, that keeps the piece short enough */
		if (k < 1)
			k = 1;
		while ((pe = plus_days(ends, -k)) - cur > longest)
			k++;
		piece_starts[n] = cur;
		piece_ends[n] = pe;
		n++;
		/* the latest arrival time before that departure: the next piece overlaps this one */
		while (plus_days(starts, m + 1) < pe)
			m++;
		if (plus_days(starts, m) <= cur)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("stay cannot be split into codes"),
					 errdetail("Its pieces would not move forward.")));
		cur = plus_days(starts, m);
	}
	piece_starts[n] = cur;
	piece_ends[n] = ends;
	return n + 1;
}

/*
 * The booking's request: one code, or with long_stays=split and a stay over
 * 744 hours one per piece (split_stay), all under its ref on its lock, none
 * superseding another. offer (or NULL) lets a single request wait for the
 * end of the statement.
 */
static void
request_booking(TriggerOptions *opts, HeapTuple tuple, TupleDesc desc, Relation rel, Booking *b,
				BatchOffer *offer)
{
	TimestampTz piece_starts[MAX_PIECES];
	TimestampTz piece_ends[MAX_PIECES];
	BatchOffer	siblings;
	int			n,
				i;

	if (!opts->split || !b->has_starts || !b->has_ends || b->ends - b->starts <= ORACODE_MAX_STAY_USECS)
	{
		create_code(opts, tuple, desc, rel, b, offer);
		return;
	}
	n = split_stay(b->starts, b->ends,
				   match_tolerance(cstring_to_text(opts->rounding ? opts->rounding : "1hour")),
				   piece_starts, piece_ends);
	booking_batch_offer_init(&siblings);
	siblings.batch = false;		/* written at once, in order */
	siblings.keep_siblings = true;
	for (i = 0; i < n; i++)
	{
		Booking		piece = *b;

		piece.starts = piece_starts[i];
		piece.ends = piece_ends[i];
		create_code(opts, tuple, desc, rel, &piece, &siblings);
	}
}

/*
 * create_code() in a subtransaction: a refusal of the booking's code
 * (OC001–OC004, or its times: NULL, ending before it starts, over 31 days)
 * becomes a warning and the booking stands (false: nothing was requested);
 * any other error is raised.
 */
static bool
create_code_or_warn(TriggerOptions *opts, HeapTuple tuple, TupleDesc desc, Relation rel, Booking *b)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	char	   *ref = column_text(tuple, desc, opts->ref_col, rel);
	volatile bool times_ok = false;
	volatile bool made = false;

	/* a buffered request of this booking is written outside the subtransaction that may roll back */
	if (ref != NULL)
		booking_batch_flush_ref(cstring_to_text(ref));
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		check_booking_times(opts, b);
		times_ok = true;
		request_booking(opts, tuple, desc, rel, b, NULL);
		made = true;
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *err;

		MemoryContextSwitchTo(cxt);
		err = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		/* an error of the times check is a refusal of this booking, not a configuration error */
		if (!is_refusal(err->sqlerrcode) && times_ok)
			ReThrowError(err);
		/* (a refusal of oracode_create_code comes with Seam's names already escaped) */
		ereport(WARNING,
				(errcode(err->sqlerrcode),
				 errmsg("oracode: no code requested for booking %s: %s", ref ? ref : "NULL", err->message),
				 err->detail ? errdetail("%s", err->detail) : 0,
				 err->hint ? errhint("%s", err->hint) : 0));
	}
	PG_END_TRY();
	return made;
}

/*
 * oracode_booking_trigger(): AFTER INSERT OR UPDATE OR DELETE ... FOR EACH
 * ROW. Arguments: device=<column> or device_sql=<query>, starts=, ends=,
 * ref=, and optionally name=, cancelled=<column>:<value>[,<value>...],
 * rounding=, issue_before=<interval>, on_error=raise|warn,
 * long_stays=refuse|split (doc/reference.md, "Booking trigger").
 */
Datum
oracode_booking_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	TriggerOptions *opts;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	row;
	Booking		b,
				old;
	bool		resolved = false;	/* the old row's request is already resolved */

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("oracode_booking_trigger() must be called as a row trigger")));
	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	row = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
	opts = trigger_options(td->tg_trigger);
	if (!ext_funcs.valid)
		lookup_functions(td->tg_trigger->tgfoid);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
	{
		read_booking(opts, td->tg_trigtuple, desc, rel, &old);
		/* a lock that can no longer be found (its room deleted first): cancel by reference */
		if (!old.has_device)
			cancel_booking(opts, td->tg_trigtuple, desc, rel);
		else
			resolve_old_request(opts, td->tg_trigtuple, desc, rel, &old, "booking deleted");
		goto done;
	}

	read_booking(opts, row, desc, rel, &b);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		char	   *old_ref = column_text(td->tg_trigtuple, desc, opts->ref_col, rel);
		char	   *new_ref = column_text(row, desc, opts->ref_col, rel);
		bool		ref_changed = (old_ref == NULL) != (new_ref == NULL) ||
			(old_ref != NULL && strcmp(old_ref, new_ref) != 0);
		bool		same_device;

		read_booking(opts, td->tg_trigtuple, desc, rel, &old);
		same_device = b.has_device == old.has_device &&
			(!b.has_device || memcmp(&b.device, &old.device, sizeof(pg_uuid_t)) == 0);
		/* nothing the code depends on changed (a NULL time counts as a change) */
		if (!ref_changed && same_device && b.cancelled == old.cancelled &&
			b.has_starts && old.has_starts && b.starts == old.starts &&
			b.has_ends && old.has_ends && b.ends == old.ends)
			goto done;
		if (b.cancelled)
		{
			if (!old.cancelled)
				resolve_old_request(opts, td->tg_trigtuple, desc, rel, &old, "booking cancelled");
			goto done;
		}

		/*
		 * A booking never leaves a live request that does not fit its row.
		 * A new reference or room is another request, which cannot supersede
		 * the old one: resolve it now. New dates on the same lock are
		 * superseded by the new request, or resolved below if none is made.
		 */
		if (!old.cancelled && (ref_changed || !same_device || opts->split))
		{
			/* split pieces supersede nothing: with long_stays=split new dates resolve the old too */
			resolve_old_request(opts, td->tg_trigtuple, desc, rel, &old,
								ref_changed ? "booking reference changed" :
								!same_device ? "booking moved to another room" : "booking changed");
			resolved = true;
		}
		else if (old.cancelled)
			resolved = true;	/* nothing of the old row is live */
	}
	else if (b.cancelled)
		goto done;

	/*
	 * A stay that has ended needs no code and is never refused (history
	 * imports, back-office corrections); one changed into the past keeps no
	 * request waiting for the dates it had.
	 */
	if (b.has_ends && b.ends <= GetCurrentTransactionStartTimestamp())
	{
		if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) && !resolved)
			resolve_old_request(opts, td->tg_trigtuple, desc, rel, &old, "booking moved into the past");
		goto done;
	}

	if (!b.has_device)
	{
		/* the room has no Oracode lock: an UPDATE resolved the old room's above */
		goto done;
	}
	else if (opts->warn)
	{
		if (!create_code_or_warn(opts, row, desc, rel, &b) &&
			TRIGGER_FIRED_BY_UPDATE(td->tg_event) && !resolved)
			resolve_old_request(opts, td->tg_trigtuple, desc, rel, &old, "booking changed and was refused a code");
	}
	else if (TRIGGER_FIRED_BY_INSERT(td->tg_event) && TRIGGER_FIRED_AFTER(td->tg_event))
	{
		/* an AFTER trigger fires at its statement's end, where buffered requests are written */
		BatchOffer	offer;

		booking_batch_offer_init(&offer);
		request_booking(opts, row, desc, rel, &b, &offer);
	}
	else
		request_booking(opts, row, desc, rel, &b, NULL);

done:
	SPI_finish();
	return PointerGetDatum(row);
}
