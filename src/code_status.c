/*
 * code_status.c — the status names of an access code request and the sets
 * of them the lifecycle speaks of, for C and, through oracode.statuses(),
 * for SQL.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "code_status.h"

PG_FUNCTION_INFO_V1(oracode_statuses);

/* In CodeStatus order; the names are the values of access_codes.status. */
static const char *const status_names[CODE_STATUS_COUNT] = {
	"queued", "sending", "unset", "setting", "set", "removing", "unknown",
	"failed", "expired", "cancelled",
};

/* The sets by the names SQL uses, with what each means. */
static const struct
{
	const char *kind;
	int			set;
}			status_sets[] = {
	{"all", CODE_SET_ALL},		/* every status a request can have */
	{"at_seam", CODE_SET_AT_SEAM},	/* Seam's own statuses: the code exists there, polled */
	{"final", CODE_SET_FINAL},	/* nothing more happens to the request */
	{"live", CODE_SET_LIVE},	/* not final: the worker still has work with it */
	{"pending", CODE_SET_PENDING},	/* live and not yet set at the lock */
	{"unsent", CODE_SET_UNSENT},	/* never reached Seam: the row may still change */
};

/* The name of a status. */
const char *
code_status_name(CodeStatus s)
{
	Assert(s >= 0 && s < CODE_STATUS_COUNT);
	return status_names[s];
}

/* The status of a name; false for a name that is not one. */
bool
code_status_parse(const char *name, CodeStatus *s)
{
	int			i;

	for (i = 0; i < CODE_STATUS_COUNT; i++)
		if (strcmp(status_names[i], name) == 0)
		{
			*s = (CodeStatus) i;
			return true;
		}
	return false;
}

/* Whether a status name belongs to a set (CODE_SET_...). */
bool
code_status_in(const char *name, int set)
{
	CodeStatus	s;

	return code_status_parse(name, &s) && (set & (1 << s)) != 0;
}

/*
 * Our status for the one Seam gave a code: Seam's own when it is one of
 * ours (at_seam), else "unknown" (a status Seam adds later, or none).
 */
const char *
code_status_of_seam(const char *seam_status)
{
	CodeStatus	s;

	if (seam_status != NULL && code_status_parse(seam_status, &s) && (CODE_SET_AT_SEAM & (1 << s)) != 0)
		return status_names[s];
	return status_names[CODE_UNKNOWN];
}

/*
 * oracode.statuses(kind text) → text[]: a set of status names, in the
 * lifecycle's order. IMMUTABLE, so the planner folds a call into a constant
 * array: a CHECK, an index predicate and a query that name the same set
 * read the same list, and partial indexes match as with a literal list.
 */
Datum
oracode_statuses(PG_FUNCTION_ARGS)
{
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	Datum		elems[CODE_STATUS_COUNT];
	int			n = 0;
	int			set = -1;
	int			i;

	for (i = 0; i < lengthof(status_sets); i++)
		if (strcmp(status_sets[i].kind, kind) == 0)
			set = status_sets[i].set;
	if (set < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown set of statuses \"%s\"", kind),
				 errhint("The sets are all, at_seam, final, live, pending and unsent.")));
	for (i = 0; i < CODE_STATUS_COUNT; i++)
		if (set & (1 << i))
			elems[n++] = CStringGetTextDatum(status_names[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT));
}
