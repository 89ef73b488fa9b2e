/*
 * owner.c — run statements with the extension owner's rights, steered by
 * nothing of the caller's.
 *
 * Several entry points open to roles with few rights read or write
 * oracode's tables as the role that owns them: matching by device (open to
 * PUBLIC), oracode_create_code and the booking trigger's statement-end
 * write, oracode_cancel_code. Whatever SQL they run as the owner must not
 * resolve an operator, function, type or cast through the caller's
 * search_path: a role owning a schema could otherwise shadow "=" for uuid
 * or text and have its function run with the owner's (often a superuser's)
 * rights. So owner_enter() switches the user *and* pins search_path for
 * the statements run until owner_leave(), for their parse analysis as for
 * their execution (the plan cache plans a kept statement again when the
 * path it was planned under is not the current one). This is what fmgr
 * does for a SECURITY DEFINER function with a SET clause; the C entry
 * points do it themselves because they must know who called them (a PIN is
 * returned only to a caller who may read it).
 *
 * An ERROR between owner_enter() and owner_leave() needs no cleanup here:
 * (sub)transaction abort restores the user and unwinds the GUC nest level,
 * as it does for a SECURITY DEFINER call.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "owner.h"

/* The outbox, whose owner is the role the extension's tables belong to. */
static Oid
outbox_relid(void)
{
	Oid			nsp = get_namespace_oid("oracode", true);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid("access_codes", nsp) : InvalidOid;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("oracode.access_codes does not exist"),
				 errhint("Reinstall the extension with DROP EXTENSION oracode; CREATE EXTENSION oracode;.")));
	return relid;
}

/* The role that owns oracode's tables (the one that created the extension). */
Oid
oracode_owner(void)
{
	Oid			relid = outbox_relid();
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * Become the tables' owner with search_path pinned to pg_catalog, pg_temp
 * (pg_temp last, so a temporary object never shadows a catalog one; it is
 * never searched for functions or operators at all).
 */
void
owner_enter(OwnerScope *scope)
{
	Oid			owner = oracode_owner();

	GetUserIdAndSecContext(&scope->save_userid, &scope->save_sec_context);
	scope->guc_nest_level = NewGUCNestLevel();
	SetUserIdAndSecContext(owner, scope->save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	(void) set_config_option("search_path", ORACODE_PINNED_SEARCH_PATH, PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Inside an owner scope: plan only index paths where one exists. The
 * statements of the request path look a few rows up by key (booking_ref, id,
 * device) in an outbox that grows by thousands of rows per statement in a
 * backfill, and their plans are kept for the backend's life; planned from
 * statistics taken while the outbox was small, a sequential scan or a hash
 * of the whole outbox looks cheap and then costs a full pass per booking.
 * With these off the plan is the same whatever the statistics say: each
 * booking costs an index probe. Undone by owner_leave().
 */
void
owner_prefer_index_paths(void)
{
	static const char *const off[] = {"enable_seqscan", "enable_hashjoin", "enable_mergejoin"};
	int			i;

	for (i = 0; i < lengthof(off); i++)
		(void) set_config_option(off[i], "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
}

/* Back to the caller's user and search_path. */
void
owner_leave(OwnerScope *scope)
{
	AtEOXact_GUC(true, scope->guc_nest_level);
	SetUserIdAndSecContext(scope->save_userid, scope->save_sec_context);
}

/*
 * An oracode.access_codes row as role may see it: the PIN (column "code")
 * only if role may SELECT that column (or the whole table), else NULL. Every
 * function that returns such a row passes it through here, so that calling a
 * function never shows more than reading the table would.
 */
Datum
access_code_row_for_role(Datum row, Oid role)
{
	HeapTupleHeader header = DatumGetHeapTupleHeader(row);
	Oid			relid = outbox_relid();
	AttrNumber	attnum = get_attnum(relid, "code");
	TupleDesc	desc;
	HeapTupleData tuple;
	HeapTuple	masked;
	int			col;
	Datum		value = (Datum) 0;
	bool		isnull = true;

	if (attnum == InvalidAttrNumber)
		elog(ERROR, "oracode.access_codes has no column \"code\"");
	if (pg_attribute_aclcheck(relid, attnum, role, ACL_SELECT) == ACLCHECK_OK ||
		pg_class_aclcheck(relid, role, ACL_SELECT) == ACLCHECK_OK)
		return row;

	desc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(header), HeapTupleHeaderGetTypMod(header));
	tuple.t_len = HeapTupleHeaderGetDatumLength(header);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = header;
	col = attnum;
	masked = heap_modify_tuple_by_cols(&tuple, desc, 1, &col, &value, &isnull);
	ReleaseTupleDesc(desc);
	return HeapTupleGetDatum(masked);
}
