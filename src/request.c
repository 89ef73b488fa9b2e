/*
 * request.c — what writing a code request needs, whether one at a time
 * (create_code.c) or a statement's at once (booking_batch.c): its id, the
 * unique name Seam gets, and re-planning as the outbox grows.
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "commands/sequence.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "request.h"

/* The outbox's identity sequence, looked up once per write (it is found by name). */
Oid
request_id_sequence(void)
{
	return RangeVarGetRelid(makeRangeVar("oracode", "access_codes_id_seq", -1), NoLock, false);
}

/* The next request id, from the outbox's identity sequence. */
int64
request_next_id(Oid seq)
{
	return DatumGetInt64(DirectFunctionCall1(nextval_oid, ObjectIdGetDatum(seq)));
}

/*
 * The name sent to Seam, unique per request: "#", the id, a space, and the
 * first 80 characters of the guest's name (else the booking reference, else
 * "oracode"). The id comes first because a lock may cut a name to its own
 * length (code_constraints): a cut then keeps what reconciliation finds the
 * code by. The worker cuts it to the device's name_length before sending.
 */
char *
request_seam_name(text *name, text *ref, int64 id)
{
	text	   *base = name ? name : ref;
	const char *s = base ? VARDATA_ANY(base) : "oracode";
	int			len = base ? VARSIZE_ANY_EXHDR(base) : strlen("oracode");

	len = pg_mbcharcliplen(s, len, 80);
	return psprintf("#" INT64_FORMAT " %.*s", id, len, s);
}

/*
 * Plans made while the outbox was small scan it sequentially, and a plan
 * cache keeps them until the table changes shape: a first backfill into an
 * outbox analyzed while empty (after a TRUNCATE, or a new install) then
 * costs more with every row — the idempotency lookup, the supersede and the
 * foreign-key check of every history row each read the whole outbox. So
 * whenever the outbox has doubled since this backend last looked, its
 * relcache entry is invalidated, and every cached plan that reads it (ours,
 * and PostgreSQL's own foreign-key plans) is planned again at its new size.
 */
void
request_replan_if_outbox_grew(void)
{
	static BlockNumber seen = InvalidBlockNumber;
	Oid			relid = get_relname_relid("access_codes", get_namespace_oid("oracode", false));
	Relation	rel;
	BlockNumber blocks;

	if (!OidIsValid(relid))
		elog(ERROR, "oracode.access_codes does not exist");
	/* the insert before this holds a lock on it */
	rel = table_open(relid, NoLock);
	blocks = RelationGetNumberOfBlocks(rel);
	table_close(rel, NoLock);
	if (seen == InvalidBlockNumber || blocks < seen)
		seen = blocks;
	else if (blocks >= 2 * seen + 8)
	{
		CacheInvalidateRelcacheByRelid(relid);
		seen = blocks;
	}
}
