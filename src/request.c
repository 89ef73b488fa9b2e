/*
 * request.c — what writing a code request needs, whether one at a time
 * (create_code.c) or a statement's at once (booking_batch.c): its id, the
 * unique name Seam gets, the supersede of a booking's earlier requests, and
 * re-planning as the outbox grows.
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "storage/bufmgr.h"
#include "utils/builtins.h"
#include "utils/array.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "request.h"
#include "spi_plans.h"

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

/*
 * A changed booking supersedes its earlier requests for the same lock:
 * those still queued are cancelled (never sent); a sent one is only marked
 * (superseded_by), its PIN valid at the lock until its end. The same
 * booking_ref on another lock is another room of the same group booking,
 * and stands alongside. Kept generic (an unnest of unknown length joined
 * through the booking_ref index), which suits one request and a
 * statement's ten thousand alike.
 */
static SpiPlan supersede_plan = {
	"UPDATE oracode.access_codes a SET superseded_by = u.id, "
	"status = CASE WHEN a.status = 'queued' THEN 'cancelled' ELSE a.status END, "
	"status_detail = CASE WHEN a.status = 'queued' THEN 'superseded by request ' || u.id "
	"ELSE a.status_detail END "
	"FROM unnest($1::text[], $2::int8[], $3::uuid[]) AS u(booking_ref, id, device_id) "
	"WHERE a.booking_ref = u.booking_ref AND a.device_id = u.device_id AND a.id <> u.id "
	"AND a.superseded_by IS NULL AND a.status <> ALL (oracode.statuses('final'))",
	3, {TEXTARRAYOID, INT8ARRAYOID, UUIDARRAYOID},
	NULL, CURSOR_OPT_GENERIC_PLAN
};

/*
 * Supersede, for each new request (arrays of its booking_ref, id and
 * device), the earlier requests of its booking on its lock. Inside SPI, as
 * the owner.
 */
void
request_supersede(Datum refs, Datum ids, Datum devices)
{
	Datum		args[3] = {refs, ids, devices};

	spi_plan_run(&supersede_plan, args, NULL, 0);
}

/* request_supersede() for one new request. */
void
request_supersede_one(text *ref, int64 id, const pg_uuid_t *device)
{
	Datum		r = PointerGetDatum(ref),
				i = Int64GetDatum(id),
				d = UUIDPGetDatum((pg_uuid_t *) device);

	request_supersede(PointerGetDatum(construct_array(&r, 1, TEXTOID, -1, false, TYPALIGN_INT)),
					  PointerGetDatum(construct_array(&i, 1, INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
													  TYPALIGN_DOUBLE)),
					  PointerGetDatum(construct_array(&d, 1, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR)));
}
