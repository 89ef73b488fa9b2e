/*
 * match_device.c — oracode_match_slot(device_id uuid, ...): match a booking
 * against the synced slots of a device (oracode.time_slots).
 *
 * Reporting queries call this once per booking, so the slots of each device
 * are read once into a backend-local cache (a hash table keyed by device id
 * holding an OracodeSlotSet) and the per-call work is a hash lookup — or
 * nothing, when the call site's previous row was for the same device —
 * plus the arithmetic in match.c: no slower than the jsonb form.
 *
 * The cache is dropped as a whole whenever oracode.time_slots or
 * oracode.devices changes. PostgreSQL sends a relcache invalidation for a
 * table on TRUNCATE and DDL but not on INSERT/UPDATE/DELETE, so
 * statement-level triggers on both tables call
 * oracode_slot_cache_invalidate(), which issues one; a relcache callback
 * here then flushes the cache in every backend (at commit for others, at
 * the next command for the writer itself, and again if it rolls back).
 *
 * Policy: a device that is not in oracode.devices raises OC004, as
 * oracode_create_code does (doc/reference.md, "SQLSTATEs"); a known device without synced slots
 * returns NULL like any booking without a qualifying slot. A device Seam no
 * longer lists (removed_at set) keeps its last slots and is still matched:
 * this is a pure computation, and oracode_create_code refuses such devices
 * itself. A NULL device_id returns NULL, as a NULL slot array does.
 *
 * The slots are read with the rights of the tables' owner (the role that
 * created the extension), so that any role, even one with no grant at all,
 * can match its bookings in reports: what it learns is what the jsonb form
 * computes from the slots. The slot query is prepared and run inside
 * owner_enter() (owner.c), with search_path pinned, so nothing in it can be
 * resolved through the caller's path.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/uuid.h"

#include "device_slots.h"
#include "match.h"
#include "match_slot.h"
#include "oracode.h"
#include "owner.h"
#include "slots.h"

PG_FUNCTION_INFO_V1(oracode_match_slot_device);
PG_FUNCTION_INFO_V1(oracode_slot_cache_invalidate);

/* How often a load that an invalidation overtook is retried before going uncached. */
#define LOAD_ATTEMPTS 3

/* One cached device. */
typedef struct DeviceSlotsEntry
{
	pg_uuid_t	device_id;		/* hash key */
	OracodeSlotSet *set;		/* lives in its own child of cache_cxt */
} DeviceSlotsEntry;

/* What a call site keeps in fn_extra. */
typedef struct DeviceMatchState
{
	MatchOutput out;
	bool		have_last;		/* last_set is the cached set of last_device */
	uint64		last_generation;	/* cache_generation when it was looked up */
	pg_uuid_t	last_device;
	OracodeSlotSet *last_set;
} DeviceMatchState;

static MemoryContext cache_cxt = NULL;
static HTAB *cache = NULL;
static uint64 cache_generation = 1;	/* bumped by every flush */
static Oid	devices_relid = InvalidOid;
static Oid	slots_relid = InvalidOid;
static bool callbacks_registered = false;
static bool cache_has_transient = false;	/* entries read under an old snapshot */
static SPIPlanPtr load_plan = NULL;

/* Forget every cached device (and the table oids, which DROP EXTENSION may change). */
static void
cache_flush(void)
{
	if (cache_cxt != NULL)
		MemoryContextReset(cache_cxt);
	cache = NULL;
	cache_generation++;
	cache_has_transient = false;
	devices_relid = InvalidOid;
	slots_relid = InvalidOid;
}

/* Relcache invalidation: flush when one of our tables (or everything) changed. */
static void
relcache_callback(Datum arg, Oid relid)
{
	if (relid == InvalidOid ||
		(OidIsValid(slots_relid) && relid == slots_relid) ||
		(OidIsValid(devices_relid) && relid == devices_relid))
		cache_flush();
}

/* End of transaction: drop entries that were read under the query's (older) snapshot. */
static void
xact_callback(XactEvent event, void *arg)
{
	if (cache_has_transient &&
		(event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		 event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		 event == XACT_EVENT_PREPARE))
		cache_flush();
}

/* Register the callbacks once per backend (they cannot be unregistered). */
static void
register_callbacks(void)
{
	if (callbacks_registered)
		return;
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
	RegisterXactCallback(xact_callback, NULL);
	callbacks_registered = true;
}

/* Look up the oids of oracode.devices and oracode.time_slots, for the callback. */
static void
lookup_relids(void)
{
	Oid			nsp = get_namespace_oid("oracode", false);
	Oid			devices = get_relname_relid("devices", nsp);
	Oid			slots = get_relname_relid("time_slots", nsp);

	if (!OidIsValid(devices) || !OidIsValid(slots))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("oracode.devices or oracode.time_slots does not exist"),
				 errhint("Reinstall the extension with DROP EXTENSION oracode; CREATE EXTENSION oracode;.")));
	/* assigned last: the lookups themselves may run a flush that clears them */
	devices_relid = devices;
	slots_relid = slots;
}

/* Copy one row of the load query into the next slot of set. */
static void
add_slot_row(OracodeSlotSet *set, HeapTuple tuple, TupleDesc desc)
{
	OracodeSlot *slot = &set->slots[set->nslots];
	bool		isnull;
	OracodeTod *in;
	OracodeTod *out;
	TodZone		zone;
	Datum		d;

	slot->name = TextDatumGetCString(SPI_getbinval(tuple, desc, 1, &isnull));
	in = DatumGetOracodeTodP(SPI_getbinval(tuple, desc, 2, &isnull));
	out = DatumGetOracodeTodP(SPI_getbinval(tuple, desc, 3, &isnull));
	slot->check_in = in->time;
	slot->check_out = out->time;
	/* the slot's zone is its check-in time's zone (doc/reference.md, "Matching", rule 3) */
	zone = tod_zone(in);
	slot->zone_index = slots_zone_index(set, &zone);
	slot->is_24_hour = DatumGetBool(SPI_getbinval(tuple, desc, 4, &isnull));
	slot->is_biweekly_mode = DatumGetBool(SPI_getbinval(tuple, desc, 5, &isnull));
	slot->is_one_shot = DatumGetBool(SPI_getbinval(tuple, desc, 6, &isnull));
	slot->is_master = DatumGetBool(SPI_getbinval(tuple, desc, 7, &isnull));
	d = SPI_getbinval(tuple, desc, 8, &isnull);
	slot->has_user_level_id = !isnull;
	if (!isnull)
		slot->user_level_id = *DatumGetUUIDP(d);
	set->nslots++;
}

/* The device columns of a load query row (they repeat on every row). */
static OracodeDeviceInfo *
device_info(HeapTuple tuple, TupleDesc desc)
{
	OracodeDeviceInfo *dev = palloc0(sizeof(OracodeDeviceInfo));
	bool		isnull;
	Datum		d;

	dev->display_name = TextDatumGetCString(SPI_getbinval(tuple, desc, 9, &isnull));
	dev->can_program_offline = DatumGetBool(SPI_getbinval(tuple, desc, 10, &isnull));
	d = SPI_getbinval(tuple, desc, 11, &isnull);
	dev->removed = !isnull;
	if (!isnull)
		dev->removed_at = DatumGetTimestampTz(d);
	d = SPI_getbinval(tuple, desc, 12, &isnull);
	dev->has_code_limit = !isnull;
	if (!isnull)
		dev->code_limit = DatumGetInt32(d);
	return dev;
}

/*
 * Read the device's slots into a new memory context under the current one.
 * Returns NULL for a device that is not in oracode.devices. The snapshot is
 * the latest one, so that a cache entry outlives the transaction correctly
 * (under REPEATABLE READ the transaction's snapshot may predate changes
 * whose invalidation this backend has already processed); inside a
 * parallel query, where no new snapshot may be taken, it is the query's and
 * the entry is marked transient.
 */
static OracodeSlotSet *
load_device(const pg_uuid_t *device_id, MemoryContext *set_cxt)
{
	static const char *sql =
		"SELECT s.name, s.check_in_time, s.check_out_time, s.is_24_hour, s.is_biweekly_mode, "
		"       s.is_one_shot, s.is_master, s.user_level_id, "
		"       d.display_name, d.can_program_offline_access_codes, d.removed_at, d.code_limit "
		"FROM oracode.devices d LEFT JOIN oracode.time_slots s ON s.device_id = d.device_id "
		"WHERE d.device_id = $1 ORDER BY s.position";
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext, "oracode device slots",
											  ALLOCSET_SMALL_SIZES);
	OracodeSlotSet *set = NULL;
	Oid			argtypes[1] = {UUIDOID};
	Datum		values[1];
	OwnerScope	owner;
	int			rc;
	uint64		i;

	values[0] = UUIDPGetDatum(device_id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* prepared and run as the owner, under the pinned path: see owner.c */
	owner_enter(&owner);
	if (load_plan == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(sql, 1, argtypes);

		if (plan == NULL || SPI_keepplan(plan) != 0)
			elog(ERROR, "could not prepare the time slot query: %s", SPI_result_code_string(SPI_result));
		load_plan = plan;
	}
	rc = SPI_execute_snapshot(load_plan, values, NULL,
							  IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot(),
							  InvalidSnapshot, true, false, 0);
	owner_leave(&owner);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "time slot query failed: %s", SPI_result_code_string(rc));

	if (SPI_processed > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		set = slots_new((int) SPI_processed);
		set->device = device_info(SPI_tuptable->vals[0], SPI_tuptable->tupdesc);
		for (i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			/* the LEFT JOIN's lone all-NULL row: a known device without slots */
			SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			if (!isnull)
				add_slot_row(set, SPI_tuptable->vals[i], SPI_tuptable->tupdesc);
		}
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	*set_cxt = cxt;
	return set;
}

/* Put a freshly loaded set into the cache (its context moves under cache_cxt). */
static void
cache_insert(const pg_uuid_t *device_id, OracodeSlotSet *set, MemoryContext set_cxt)
{
	DeviceSlotsEntry *entry;
	bool		found;

	if (cache_cxt == NULL)
		cache_cxt = AllocSetContextCreate(CacheMemoryContext, "oracode slot cache",
										  ALLOCSET_DEFAULT_SIZES);
	if (cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(pg_uuid_t);
		ctl.entrysize = sizeof(DeviceSlotsEntry);
		ctl.hcxt = cache_cxt;
		cache = hash_create("oracode slot cache", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	MemoryContextSetParent(set_cxt, cache_cxt);
	entry = hash_search(cache, device_id, HASH_ENTER, &found);
	entry->set = set;
	if (IsInParallelMode())
		cache_has_transient = true;
}

/*
 * The slots of a device, or NULL if the device is not in oracode.devices.
 * *cached says whether the set lives in the cache (valid until the next
 * flush, i.e. until the next catalog access) or only in the current memory
 * context, which happens when invalidations kept overtaking the load.
 */
OracodeSlotSet *
device_slot_set(const pg_uuid_t *device_id, bool *cached)
{
	int			attempt;
	OracodeSlotSet *set = NULL;

	*cached = false;
	if (cache != NULL)
	{
		DeviceSlotsEntry *entry = hash_search(cache, device_id, HASH_FIND, NULL);

		if (entry != NULL)
		{
			*cached = true;
			return entry->set;
		}
	}

	register_callbacks();
	for (attempt = 0; attempt < LOAD_ATTEMPTS; attempt++)
	{
		uint64		generation;
		MemoryContext set_cxt;

		if (!OidIsValid(slots_relid) || !OidIsValid(devices_relid))
			lookup_relids();
		generation = cache_generation;
		set = load_device(device_id, &set_cxt);
		/* a flush during the load means a change the snapshot may have missed */
		if (set != NULL && generation == cache_generation)
		{
			cache_insert(device_id, set, set_cxt);
			*cached = true;
			return set;
		}
		if (set == NULL)
		{
			MemoryContextDelete(set_cxt);
			return NULL;
		}
		if (attempt + 1 < LOAD_ATTEMPTS)
			MemoryContextDelete(set_cxt);
	}
	return set;
}

/* Raise OC004 for a device not (or, with dev->removed, no longer) in oracode.devices. */
void
device_unknown_error(const pg_uuid_t *device_id, const OracodeDeviceInfo *dev)
{
	ereport(ERROR,
			(errcode(ERRCODE_ORACODE_UNKNOWN_DEVICE),
			 errmsg("unknown device %s", device_id ?
					DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(device_id))) : "NULL"),
			 dev && dev->removed ?
			 errdetail("Seam stopped listing the device at %s.",
					   DatumGetCString(DirectFunctionCall1(timestamptz_out,
														   TimestampTzGetDatum(dev->removed_at)))) :
			 errdetail("The device is not in oracode.devices."),
			 errhint("Run oracode_sync_devices() to fetch devices from Seam.")));
	pg_unreachable();
}

/*
 * oracode_match_slot(device_id uuid, starts_at timestamptz,
 *                    ends_at timestamptz, max_time_rounding text)
 * → oracode_slot_match, or NULL when no slot qualifies (or the device has
 * none). Raises OC004 for a device not in oracode.devices.
 */
Datum
oracode_match_slot_device(PG_FUNCTION_ARGS)
{
	DeviceMatchState *state = (DeviceMatchState *) fcinfo->flinfo->fn_extra;
	TimestampTz starts_at,
				ends_at;
	int64		tolerance;
	pg_uuid_t  *device_id;
	OracodeSlotSet *set;
	SlotEval   *evals;
	int			chosen;

	if (!match_args(fcinfo, &starts_at, &ends_at, &tolerance) || PG_ARGISNULL(0))
		PG_RETURN_NULL();
	device_id = PG_GETARG_UUID_P(0);

	/* before the lookup: building the row type may read catalogs, which may flush */
	if (state == NULL)
	{
		state = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(DeviceMatchState));
		match_output_init(&state->out, fcinfo);
		fcinfo->flinfo->fn_extra = state;

		/*
		 * Once per statement (fn_extra starts empty with each execution):
		 * take in committed changes, as a new snapshot would. Other backends'
		 * invalidations are otherwise read only when a lock is first taken,
		 * and a transaction holds its locks on our tables from its first call.
		 */
		AcceptInvalidationMessages();
	}

	if (state->have_last && state->last_generation == cache_generation &&
		memcmp(&state->last_device, device_id, sizeof(pg_uuid_t)) == 0)
		set = state->last_set;
	else
	{
		bool		cached;

		state->have_last = false;
		set = device_slot_set(device_id, &cached);
		if (set == NULL)
			device_unknown_error(device_id, NULL);
		if (cached)
		{
			state->have_last = true;
			state->last_generation = cache_generation;
			state->last_device = *device_id;
			state->last_set = set;
		}
	}

	evals = match_output_evals(&state->out, fcinfo, set->nslots);
	chosen = match_slots(set, starts_at, ends_at, tolerance, evals);
	if (chosen < 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(match_output_row(&state->out, set, &set->slots[chosen], &evals[chosen]));
}

/*
 * Statement-level trigger on oracode.time_slots and oracode.devices: send a
 * relcache invalidation for the table, so every backend's slot cache is
 * flushed once the change is visible to it.
 */
Datum
oracode_slot_cache_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("oracode.slot_cache_invalidate() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	return PointerGetDatum(NULL);
}
