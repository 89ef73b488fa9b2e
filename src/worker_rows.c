/*
 * worker_rows.c — the worker's typed contract with SQL.
 *
 * The claims return rows of known columns, read here by name; the results
 * go to the apply functions as arrays of oracode's composite types, built
 * here field by field. Each type's columns are checked against the list
 * below when it is looked up, so a library and an install script that
 * disagree fail at once and say so, instead of one reading a field the
 * other no longer writes.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "code_status.h"
#include "worker_db.h"
#include "worker_rows.h"

/*
 * A column of a contract type: its name and type. RECORDOID stands for "a
 * composite type" and RECORDARRAYOID for "an array of one" (the contract's
 * own oracode.seam_code, whose OID is the database's).
 */
typedef struct RowColumn
{
	const char *name;
	Oid			type;
} RowColumn;

/* A composite type of the contract: its name in schema oracode and its columns, in order. */
typedef struct RowType
{
	const char *name;
	const RowColumn *columns;
	int			ncolumns;
	/* looked up in the statement's transaction */
	Oid			typid;
	TupleDesc	desc;
} RowType;

static const RowColumn seam_code_columns[] = {
	{"access_code_id", TEXTOID}, {"device_id", TEXTOID}, {"name", TEXTOID}, {"status", TEXTOID},
	{"seam_status", TEXTOID}, {"code", TEXTOID}, {"waiting_for_code", BOOLOID},
	{"starts_at", TIMESTAMPTZOID}, {"ends_at", TIMESTAMPTZOID}, {"errors", JSONBOID},
	{"warnings", JSONBOID}, {"action_attempt_error", JSONBOID},
};
static const RowColumn create_result_columns[] = {
	{"id", INT8OID}, {"outcome", TEXTOID}, {"sent", BOOLOID}, {"sent_at", TIMESTAMPTZOID},
	{"rate_limited", BOOLOID}, {"request_id", TEXTOID}, {"error", TEXTOID}, {"retry_after", INT4OID},
	{"answered_code_id", TEXTOID}, {"http_status", INT4OID}, {"error_type", TEXTOID},
	{"error_message", TEXTOID}, {"validation_errors", JSONBOID}, {"access_code", RECORDOID},
};
static const RowColumn reconcile_result_columns[] = {
	{"device_id", UUIDOID}, {"ids", INT8ARRAYOID}, {"ok", BOOLOID}, {"error", TEXTOID},
	{"retry_after", INT4OID}, {"codes", RECORDARRAYOID},
};
static const RowColumn poll_result_columns[] = {
	{"id", INT8OID}, {"found", BOOLOID}, {"error", TEXTOID}, {"retry_after", INT4OID},
	{"access_code", RECORDOID},
};

/* The names oracode.create_result.outcome takes, in CreateOutcome order. */
static const char *const outcome_names[] = {"created", "failed", "retry", "unknown", "paused"};

/* Whether a column's type is the one the library writes there. */
static bool
column_type_ok(Oid actual, Oid expected)
{
	if (expected == RECORDOID)
		return type_is_rowtype(actual);
	if (expected == RECORDARRAYOID)
		return OidIsValid(get_element_type(actual)) && type_is_rowtype(get_element_type(actual));
	return actual == expected;
}

/*
 * Look a contract type up, in the current transaction, and check that its
 * columns are the ones this library writes, by name and type.
 */
static void
row_type_lookup(RowType *t)
{
	Oid			nsp = get_namespace_oid("oracode", false);
	int			i;

	t->typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum(t->name),
							   ObjectIdGetDatum(nsp));
	if (!OidIsValid(t->typid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("type oracode.%s does not exist", t->name),
				 errhint("The installed extension is older than its library: run ALTER EXTENSION oracode UPDATE.")));
	t->desc = lookup_rowtype_tupdesc_copy(t->typid, -1);
	for (i = 0; i < t->desc->natts || i < t->ncolumns; i++)
	{
		Form_pg_attribute att = i < t->desc->natts ? TupleDescAttr(t->desc, i) : NULL;

		if (att == NULL || i >= t->ncolumns || att->attisdropped ||
			strcmp(NameStr(att->attname), t->columns[i].name) != 0 ||
			!column_type_ok(att->atttypid, t->columns[i].type))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("type oracode.%s does not match the oracode library", t->name),
					 errdetail("Column %d is \"%s\" of type %s; the library writes \"%s\" there.", i + 1,
							   att ? NameStr(att->attname) : "",
							   att ? format_type_be(att->atttypid) : "none",
							   i < t->ncolumns ? t->columns[i].name : "nothing"),
					 errhint("Install the library and the extension of the same version, then run ALTER EXTENSION oracode UPDATE.")));
	}
}

/* An array of a contract type's rows, and its array type. */
static Datum
row_array(const RowType *t, Datum *rows, int n, Oid *arraytype)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(t->typid, &typlen, &typbyval, &typalign);
	*arraytype = get_array_type(t->typid);
	return PointerGetDatum(construct_array(rows, n, t->typid, typlen, typbyval, typalign));
}

/* Text Seam sent (UTF-8), in the database's encoding; NULL stays NULL. */
static bool
put_text(Datum *value, const char *utf8)
{
	if (utf8 == NULL)
		return false;
	*value = CStringGetTextDatum(pg_any_to_server(utf8, strlen(utf8), PG_UTF8));
	return true;
}

/* JSON text Seam sent, as jsonb; NULL stays NULL. */
static bool
put_jsonb(Datum *value, const char *utf8)
{
	if (utf8 == NULL)
		return false;
	*value = DirectFunctionCall1(jsonb_in, CStringGetDatum(pg_any_to_server(utf8, strlen(utf8), PG_UTF8)));
	return true;
}

/* Form a row of t from values, a column being NULL where isset is false. */
static Datum
form_row(const RowType *t, Datum *values, bool *isset)
{
	bool		nulls[16];
	int			i;

	Assert(t->ncolumns <= lengthof(nulls));
	for (i = 0; i < t->ncolumns; i++)
		nulls[i] = !isset[i];
	return HeapTupleGetDatum(heap_form_tuple(t->desc, values, nulls));
}

/* The action attempt error a failed create's code carries, as the request's errors keep it. */
static char *
action_attempt_error_json(const SeamAccessCode *ac)
{
	StringInfoData s;

	initStringInfo(&s);
	appendStringInfoString(&s, "{\"error_code\":");
	escape_json(&s, ac->action_error_type);
	appendStringInfoString(&s, ",\"message\":");
	escape_json(&s, ac->action_error_message ? ac->action_error_message : "");
	if (ac->action_attempt_id)
	{
		appendStringInfoString(&s, ",\"action_attempt_id\":");
		escape_json(&s, ac->action_attempt_id);
	}
	appendStringInfoString(&s, ",\"is_action_attempt_error\":true}");
	return s.data;
}

/* An oracode.seam_code row: Seam's status mapped to ours, Seam's kept beside it. */
static Datum
seam_code_row(RowType *t, const SeamAccessCode *ac)
{
	Datum		v[12];
	bool		set[12] = {0};

	set[0] = put_text(&v[0], ac->access_code_id);
	set[1] = put_text(&v[1], ac->device_id);
	set[2] = put_text(&v[2], ac->name);
	set[3] = put_text(&v[3], code_status_of_seam(ac->status));
	set[4] = put_text(&v[4], ac->status);
	set[5] = put_text(&v[5], ac->code);
	v[6] = BoolGetDatum(ac->waiting_for_code), set[6] = true;
	if ((set[7] = ac->has_starts_at))
		v[7] = TimestampTzGetDatum(ac->starts_at);
	if ((set[8] = ac->has_ends_at))
		v[8] = TimestampTzGetDatum(ac->ends_at);
	set[9] = put_jsonb(&v[9], ac->errors_json);
	set[10] = put_jsonb(&v[10], ac->warnings_json);
	if (ac->action_error_type)
		set[11] = put_jsonb(&v[11], action_attempt_error_json(ac));
	return form_row(t, v, set);
}

/* One apply statement's argument: an array of a result type, each row built by row(). */
typedef struct Contract
{
	RowType		seam_code;		/* the types, looked up in the statement's transaction */
	RowType		result;
	const void *rows;			/* the results, in C */
	int			n;
	Datum		(*row) (struct Contract *c, int i);	/* result i as a row of the result type */
} Contract;

#define ROW_TYPE(name, cols) {name, cols, lengthof(cols), InvalidOid, NULL}

/* WorkerArgs of the apply functions: the types looked up, then the array of results. */
static void
results_arg(void *arg, Datum *values, Oid *types, char *nulls)
{
	Contract   *c = (Contract *) arg;
	Datum	   *rows = palloc(sizeof(Datum) * Max(c->n, 1));
	int			i;

	row_type_lookup(&c->seam_code);
	row_type_lookup(&c->result);
	for (i = 0; i < c->n; i++)
		rows[i] = c->row(c, i);
	values[0] = row_array(&c->result, rows, c->n, &types[0]);
}

/* A CreateResult as an oracode.create_result row. */
static Datum
create_result_row(Contract *c, int i)
{
	const CreateResult *r = &((const CreateResult *) c->rows)[i];
	Datum		v[14];
	bool		set[14] = {0};

	v[0] = Int64GetDatum(r->id), set[0] = true;
	v[1] = CStringGetTextDatum(outcome_names[r->outcome]), set[1] = true;
	v[2] = BoolGetDatum(r->sent), set[2] = true;
	if ((set[3] = r->sent_at != 0))
		v[3] = TimestampTzGetDatum(r->sent_at);
	v[4] = BoolGetDatum(r->rate_limited), set[4] = true;
	set[5] = put_text(&v[5], r->request_id && r->request_id[0] ? r->request_id : NULL);
	set[6] = put_text(&v[6], r->error);
	if ((set[7] = r->retry_after >= 0))
		v[7] = Int32GetDatum(r->retry_after);
	set[8] = put_text(&v[8], r->answered_code_id);
	if ((set[9] = r->http_status != 0))
		v[9] = Int32GetDatum(r->http_status);
	set[10] = put_text(&v[10], r->error_type);
	set[11] = put_text(&v[11], r->error_message);
	set[12] = put_jsonb(&v[12], r->validation_errors_json);
	if ((set[13] = r->access_code != NULL))
		v[13] = seam_code_row(&c->seam_code, r->access_code);
	return form_row(&c->result, v, set);
}

/* A ReconcileResult as an oracode.reconcile_result row. */
static Datum
reconcile_result_row(Contract *c, int i)
{
	const ReconcileResult *r = &((const ReconcileResult *) c->rows)[i];
	Datum		v[6];
	bool		set[6] = {0};
	Datum	   *ids = palloc(sizeof(Datum) * Max(r->nids, 1));
	Datum	   *codes = palloc(sizeof(Datum) * Max(r->ncodes, 1));
	Oid			ignored;
	int			k;

	v[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(r->device_id)), set[0] = true;
	for (k = 0; k < r->nids; k++)
		ids[k] = Int64GetDatum(r->ids[k]);
	v[1] = PointerGetDatum(construct_array(ids, r->nids, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
										   TYPALIGN_DOUBLE));
	set[1] = true;
	v[2] = BoolGetDatum(r->ok), set[2] = true;
	set[3] = put_text(&v[3], r->error);
	if ((set[4] = r->retry_after >= 0))
		v[4] = Int32GetDatum(r->retry_after);
	for (k = 0; k < r->ncodes; k++)
		codes[k] = seam_code_row(&c->seam_code, r->codes[k]);
	v[5] = row_array(&c->seam_code, codes, r->ncodes, &ignored), set[5] = true;
	return form_row(&c->result, v, set);
}

/* A PollResult as an oracode.poll_result row. */
static Datum
poll_result_row(Contract *c, int i)
{
	const PollResult *r = &((const PollResult *) c->rows)[i];
	Datum		v[5];
	bool		set[5] = {0};

	v[0] = Int64GetDatum(r->id), set[0] = true;
	if ((set[1] = r->error == NULL))
		v[1] = BoolGetDatum(r->found);
	set[2] = put_text(&v[2], r->error);
	if ((set[3] = r->retry_after >= 0))
		v[3] = Int32GetDatum(r->retry_after);
	if ((set[4] = r->error == NULL && r->found))
		v[4] = seam_code_row(&c->seam_code, r->access_code);
	return form_row(&c->result, v, set);
}

/* Run an apply function (sql) over results, n rows of the result type, each built by row(). */
static void
apply_results(const char *sql, RowType result, const void *results, int n,
			  Datum (*row) (Contract *c, int i))
{
	Contract	c = {ROW_TYPE("seam_code", seam_code_columns), result, results, n, row};

	if (n > 0)
		worker_run(sql, 1, results_arg, NULL, &c);
}

/* Record what came of creates. */
void
worker_apply_creates(const CreateResult *results, int n)
{
	apply_results("SELECT oracode.worker_apply_create_results($1)",
				  (RowType) ROW_TYPE("create_result", create_result_columns), results, n, create_result_row);
}

/* Record what the devices' code lists said of unanswered creates. */
void
worker_apply_reconciles(const ReconcileResult *results, int n)
{
	apply_results("SELECT oracode.worker_apply_reconcile($1)",
				  (RowType) ROW_TYPE("reconcile_result", reconcile_result_columns), results, n,
				  reconcile_result_row);
}

/* Record what polls found. */
void
worker_apply_polls(const PollResult *results, int n)
{
	apply_results("SELECT oracode.worker_apply_poll_results($1)",
				  (RowType) ROW_TYPE("poll_result", poll_result_columns), results, n, poll_result_row);
}

/* A claim's arguments: the integers, the lease, and creates_only for a create claim. */
typedef struct ClaimArgs
{
	bool		creates;		/* a create claim (else a poll claim) */
	int			batch;
	int			rate;
	int			lease_seconds;
	bool		creates_only;
	void	   *rows;			/* CreateClaim or PollClaim array, grown by the reader */
} ClaimArgs;

/* WorkerArgs of both claims: (batch, [rate,] lease[, creates_only]), rate and creates_only for creates. */
static void
claim_args(void *arg, Datum *values, Oid *types, char *nulls)
{
	ClaimArgs  *a = (ClaimArgs *) arg;
	Interval   *lease = palloc0(sizeof(Interval));
	int			k = 0;

	lease->time = (int64) a->lease_seconds * USECS_PER_SEC;
	values[k] = Int32GetDatum(a->batch), types[k++] = INT4OID;
	if (a->creates)
		values[k] = Int32GetDatum(a->rate), types[k++] = INT4OID;
	values[k] = IntervalPGetDatum(lease), types[k++] = INTERVALOID;
	if (a->creates)
		values[k] = BoolGetDatum(a->creates_only), types[k++] = BOOLOID;
}

/* A column of a claimed row by name: its value, or NULL. */
static Datum
claim_column(HeapTuple tuple, TupleDesc desc, const char *name, bool *isnull)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "oracode worker: a claim returned no column \"%s\"", name);
	return SPI_getbinval(tuple, desc, attnum, isnull);
}

/* A text column of a claimed row, copied; NULL if NULL. */
static char *
claim_text(HeapTuple tuple, TupleDesc desc, const char *name)
{
	bool		isnull;
	Datum		d = claim_column(tuple, desc, name, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

/* WorkerRow of oracode.worker_claim_creates(): one CreateClaim. */
static void
create_claim_row(HeapTuple tuple, TupleDesc desc, int row, void *arg)
{
	ClaimArgs  *a = (ClaimArgs *) arg;
	CreateClaim *c;
	bool		isnull;
	Datum		d;
	char	   *bound;

	a->rows = row == 0 ? palloc(sizeof(CreateClaim) * SPI_processed) : a->rows;
	c = &((CreateClaim *) a->rows)[row];
	c->reconcile = DatumGetBool(claim_column(tuple, desc, "reconcile", &isnull));
	c->id = DatumGetInt64(claim_column(tuple, desc, "id", &isnull));
	c->device_id = DatumGetCString(DirectFunctionCall1(uuid_out, claim_column(tuple, desc, "device_id", &isnull)));
	c->seam_name = claim_text(tuple, desc, "seam_name");
	d = claim_column(tuple, desc, "starts_at", &isnull);
	c->starts_at = isnull ? 0 : DatumGetTimestampTz(d);
	d = claim_column(tuple, desc, "ends_at", &isnull);
	c->ends_at = isnull ? 0 : DatumGetTimestampTz(d);
	c->time_zone = claim_text(tuple, desc, "time_zone");
	bound = claim_text(tuple, desc, "bound");
	c->daily = bound != NULL && strcmp(bound, "daily") == 0;
}

/* WorkerRow of oracode.worker_claim_polls(): one PollClaim. */
static void
poll_claim_row(HeapTuple tuple, TupleDesc desc, int row, void *arg)
{
	ClaimArgs  *a = (ClaimArgs *) arg;
	PollClaim  *c;
	bool		isnull;

	a->rows = row == 0 ? palloc(sizeof(PollClaim) * SPI_processed) : a->rows;
	c = &((PollClaim *) a->rows)[row];
	c->id = DatumGetInt64(claim_column(tuple, desc, "id", &isnull));
	c->seam_access_code_id = claim_text(tuple, desc, "seam_access_code_id");
}

/*
 * Claim up to batch creates (at most rate per device), and the unanswered
 * creates due for reconciliation first unless creates_only: returns how
 * many rows *claims holds, reconciliations first.
 */
int
worker_claim_creates(int batch, int rate, int lease_seconds, bool creates_only, CreateClaim **claims)
{
	ClaimArgs	a = {true, batch, rate, lease_seconds, creates_only, NULL};
	int			n;

	n = worker_run("SELECT * FROM oracode.worker_claim_creates($1, $2, $3, $4)", 4,
				   claim_args, create_claim_row, &a);
	*claims = (CreateClaim *) a.rows;
	return n;
}

/* Claim up to batch codes due for a poll: returns how many rows *claims holds. */
int
worker_claim_polls(int batch, int lease_seconds, PollClaim **claims)
{
	ClaimArgs	a = {false, batch, 0, lease_seconds, false, NULL};
	int			n;

	n = worker_run("SELECT * FROM oracode.worker_claim_polls($1, $2)", 2,
				   claim_args, poll_claim_row, &a);
	*claims = (PollClaim *) a.rows;
	return n;
}
