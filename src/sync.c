/*
 * sync.c — oracode_sync_devices(): refresh oracode.devices and
 * oracode.time_slots from Seam's /devices/list (doc/reference.md, "oracode_sync_devices").
 *
 * All HTTP comes first (sync_fetch_devices), then all writes, in a few
 * set-based statements (sync_apply_devices): a failure at Seam leaves the
 * tables untouched, and a sync of many locks costs four statements, not
 * four per lock (each statement on the two tables also flushes every
 * backend's slot cache, see match_device.c).
 *
 * What a sync writes:
 *  - every Oracode device Seam lists is upserted (display_name, type,
 *    zone, site, door, can_program_offline_access_codes, errors,
 *    synced_at = now(), removed_at = NULL); code_limit and send_after
 *    belong to the operator and the worker and are never touched;
 *  - the time slots of every listed device are replaced by Seam's, in
 *    Seam's order (position = 1-based index in predefined_time_slots);
 *  - devices Seam no longer lists get removed_at = now() (once) but are not
 *    deleted: access code requests refer to them, and their slots stay.
 *
 * Malformed slots: a slot that the jsonb form of oracode_match_slot would
 * refuse (no name, a time that is not a Seam time of day, a flag that is
 * not a boolean) is skipped with a WARNING naming the device and the slot,
 * and the device's other slots are stored. Every stored slot is then still
 * one of the lock's real user levels, so a code we request always fits a
 * real slot; the only effect is that bookings that only the bad slot would
 * fit come out unmatched (OC001) instead of the whole lock being unusable,
 * or its stale slots being kept.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/uuid.h"

#include "guc.h"
#include "owner.h"
#include "seam_http.h"
#include "seam_json.h"
#include "seam_text.h"
#include "redact.h"
#include "sync.h"

PG_FUNCTION_INFO_V1(oracode_sync_devices);

/* Upper bound on pages, against a server that never says "last page". */
#define MAX_PAGES 100000

/* A device already seen in this sync, and where it is in SyncFetch.devices. */
typedef struct SeenDevice
{
	pg_uuid_t	id;				/* hash key */
	int			index;
} SeenDevice;

/* The columns of one multi-row statement, built up value by value. */
typedef struct Columns
{
	int			n;
	Oid			types[12];		/* element types */
	ArrayBuildState *arrays[12];
} Columns;


/*
 * Text from Seam for a message: secrets masked (seam_http.c masked the key
 * sent and bearer tokens already; this also masks the configured secrets),
 * control characters escaped so that it cannot forge log lines.
 */
static char *
for_log(const char *s)
{
	return seam_text_for_log(oracode_redact(s));
}

/* Seam's request id for messages. */
static const char *
request_id(const SeamResponse *resp)
{
	return resp->request_id[0] ? for_log(resp->request_id) : "none";
}

/*
 * Raise the ERROR for a request that got no 200: no answer at all (08001
 * when it surely never reached Seam, else 08006), an answer larger than
 * oracode.max_response_size (54000), a rejected key (28000), or another
 * status (38000, Seam being the external routine), with the status, Seam's
 * error type and message and the seam-request-id.
 */
static void
raise_http_failure(const SeamRequest *req)
{
	const SeamResponse *resp = &req->resp;
	SeamError	err;
	char	   *what;

	if (resp->too_large)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("answer from Seam to %s is too large", req->path),
				 errdetail("The answer was refused: %s.", for_log(resp->error)),
				 errhint("Raise oracode.max_response_size, or lower oracode.batch_size so that each page of devices is smaller.")));
	if (resp->status == 0)
		ereport(ERROR,
				(errcode(resp->maybe_sent ? ERRCODE_CONNECTION_FAILURE
						 : ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION),
				 resp->timed_out ? errmsg("request to Seam timed out") : errmsg("could not reach Seam"),
				 errdetail("POST %s failed: %s.", req->path, for_log(resp->error)),
				 errhint("Check oracode.api_url and the network; oracode.connect_timeout and "
						 "oracode.request_timeout bound the wait.")));

	/* a body that is not Seam's error JSON (a proxy's page, an empty 503) is quoted instead */
	if (seam_parse_error(resp->body.data, &err))
		what = psprintf("Seam's error is %s: %s", for_log(err.type), for_log(err.message));
	else
		what = psprintf("The body is not a Seam error: %s", for_log(err.message));
	if (resp->status == 401)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the Seam API key was rejected"),
				 errdetail("Seam answered HTTP 401 to %s. %s (request id %s).", req->path, what,
						   request_id(resp)),
				 errhint("Set oracode.api_key to an API key of the Seam workspace and reload the configuration.")));
	if (resp->status == 400 && strcmp(err.type, "missing_workspace_id") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the Seam key needs a workspace"),
				 errdetail("Seam answered HTTP 400 to %s. %s (request id %s).", req->path, what,
						   request_id(resp)),
				 errhint("The key is a personal access token: set oracode.workspace_id to the workspace's id and reload the configuration.")));
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("unexpected HTTP status %ld from Seam for %s", resp->status, req->path),
			 errdetail("%s (request id %s).", what, request_id(resp)),
			 resp->status == 429 && resp->retry_after >= 0
			 ? errhint("Seam is limiting the request rate; try again in %d seconds.", resp->retry_after)
			 : resp->status >= 500 || resp->status == 429
			 ? errhint("This is likely temporary; try again later.") : 0));
}

/* Raise the ERROR for a 200 whose body is not the expected JSON. */
static void
raise_bad_body(const SeamRequest *req, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("unexpected response from Seam to %s", req->path),
			 errdetail("%s Seam's request id is %s.", problem, request_id(&req->resp))));
}

/* One /devices/list request for the page after cursor; returns the parsed page. */
static void
fetch_page(const char *cursor, SeamDevice **devs, int *n, char **next_cursor)
{
	SeamRequest req;
	const char *problem = NULL;

	memset(&req, 0, sizeof(req));
	req.path = "/devices/list";
	/* oracode.batch_size is the page size: small pages keep each request short */
	req.body = seam_body_list_devices_page(cursor, oracode_batch_size);
	seam_http_perform(&req, 1);
	if (req.resp.status != 200)
		raise_http_failure(&req);
	if (!seam_parse_devices(req.resp.body.data, devs, n, next_cursor, &problem))
		raise_bad_body(&req, problem);
	pfree(req.resp.body.data);
	pfree((char *) req.body);
}

/* Parse a canonical UUID (checked by seam_is_uuid) into *out. */
static void
uuid_from_text(const char *s, pg_uuid_t *out)
{
	*out = *DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(s)));
}

/*
 * Page through /devices/list until Seam says there is no next page and
 * keep the Oracode devices, once each (a later listing of the same id
 * wins). A device whose id is not a UUID cannot be stored and is skipped
 * with a WARNING. A cursor Seam already gave is an ERROR, not a loop.
 */
SyncFetch *
sync_fetch_devices(void)
{
	SyncFetch  *fetch = palloc0(sizeof(SyncFetch));
	List	   *cursors = NIL;
	char	   *cursor = NULL;
	HTAB	   *seen;
	HASHCTL		ctl;
	int			cap = 16;

	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(SeenDevice);
	ctl.hcxt = CurrentMemoryContext;
	seen = hash_create("oracode sync devices", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	fetch->devices = palloc(sizeof(SeamDevice) * cap);

	do
	{
		SeamDevice *page;
		int			npage,
					i;
		char	   *next = NULL;
		ListCell   *lc;

		if (++fetch->pages > MAX_PAGES)
			ereport(ERROR,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("Seam's device list did not end after %d pages", MAX_PAGES)));
		fetch_page(cursor, &page, &npage, &next);
		for (i = 0; i < npage; i++)
		{
			SeamDevice *dev = &page[i];
			pg_uuid_t	id;
			SeenDevice *entry;
			bool		found;

			if (!dev->is_oracode)
				continue;
			if (!seam_is_uuid(dev->device_id))
			{
				ereport(WARNING,
						(errcode(ERRCODE_WARNING),
						 errmsg("skipping Oracode device \"%s\" with a device_id that is not a UUID",
								for_log(dev->display_name)),
						 errdetail("Seam gave device_id \"%s\"; oracode.devices keys devices by uuid.",
								   for_log(dev->device_id))));
				continue;
			}
			uuid_from_text(dev->device_id, &id);
			entry = hash_search(seen, &id, HASH_ENTER, &found);
			if (found)
			{
				fetch->devices[entry->index] = *dev;
				continue;
			}
			if (fetch->ndevices == cap)
			{
				cap *= 2;
				fetch->devices = repalloc(fetch->devices, sizeof(SeamDevice) * cap);
			}
			entry->index = fetch->ndevices;
			fetch->devices[fetch->ndevices++] = *dev;
		}
		foreach(lc, cursors)
		{
			if (next != NULL && strcmp((char *) lfirst(lc), next) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
						 errmsg("Seam's device list repeats a page"),
						 errdetail("Page %d gave a next_page_cursor that an earlier page already gave.",
								   fetch->pages)));
		}
		if (next != NULL)
			cursors = lappend(cursors, next);
		cursor = next;
	} while (cursor != NULL);

	hash_destroy(seen);
	return fetch;
}

/* Start an empty column of element type elemtype. */
static void
column_add(Columns *cols, Oid elemtype)
{
	if (cols->n >= lengthof(cols->types))
		elog(ERROR, "too many columns in one statement");
	cols->types[cols->n] = elemtype;
	cols->arrays[cols->n] = initArrayResult(elemtype, CurrentMemoryContext, false);
	cols->n++;
}

/* Append a value (or NULL) to column i. */
static void
column_push(Columns *cols, int i, Datum value, bool isnull)
{
	cols->arrays[i] = accumArrayResult(cols->arrays[i], isnull ? (Datum) 0 : value, isnull,
									   cols->types[i], CurrentMemoryContext);
}

/* Append a string from Seam (UTF-8) as text in the server encoding, or NULL. */
static void
column_push_text(Columns *cols, int i, const char *utf8)
{
	if (utf8 == NULL)
		column_push(cols, i, (Datum) 0, true);
	else
		column_push(cols, i, CStringGetTextDatum(pg_any_to_server(utf8, strlen(utf8), PG_UTF8)),
					false);
}

/* Append a uuid given as canonical text, or NULL. */
static void
column_push_uuid(Columns *cols, int i, const char *text)
{
	if (text == NULL)
		column_push(cols, i, (Datum) 0, true);
	else
		column_push(cols, i, DirectFunctionCall1(uuid_in, CStringGetDatum(text)), false);
}

/* Run one statement whose parameters are the columns, as arrays. */
static uint64
execute_columns(const char *sql, Columns *cols)
{
	Datum		values[12];
	Oid			types[12];
	int			i;
	int			rc;

	for (i = 0; i < cols->n; i++)
	{
		values[i] = makeArrayResult(cols->arrays[i], CurrentMemoryContext);
		types[i] = get_array_type(cols->types[i]);
		if (!OidIsValid(types[i]))
			elog(ERROR, "no array type for type %u", cols->types[i]);
	}
	rc = SPI_execute_with_args(sql, cols->n, types, values, NULL, false, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute_with_args failed (%s) for: %s", SPI_result_code_string(rc), sql);
	return SPI_processed;
}

/* The oracode_tod type, found through the column that stores it (search_path plays no part). */
static Oid
tod_type(void)
{
	Oid			relid = get_relname_relid("time_slots", get_namespace_oid("oracode", false));
	AttrNumber	attnum = OidIsValid(relid) ? get_attnum(relid, "check_in_time") : InvalidAttrNumber;

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("oracode.time_slots does not exist or has no check_in_time column"),
				 errhint("Reinstall the extension with DROP EXTENSION oracode; CREATE EXTENSION oracode;.")));
	return get_atttype(relid, attnum);
}

/* Add the usable slots of one device to the slot columns, warning about the others. */
static void
collect_slots(Columns *slots, const SeamDevice *dev, Oid todtype)
{
	SeamTimeSlot *list;
	int			n,
				i;
	const char *problem;
	Oid			typinput,
				typioparam;

	getTypeInputInfo(todtype, &typinput, &typioparam);
	if (!seam_parse_time_slots(dev->time_slots_json, &list, &n, &problem))
	{
		ereport(WARNING,
				(errcode(ERRCODE_WARNING),
				 errmsg("storing no time slots for device \"%s\" (%s)", for_log(dev->display_name),
						dev->device_id),
				 errdetail("%s", for_log(problem))));
		return;
	}
	for (i = 0; i < n; i++)
	{
		SeamTimeSlot *s = &list[i];

		if (s->problem != NULL)
		{
			ereport(WARNING,
					(errcode(ERRCODE_WARNING),
					 errmsg("skipping malformed time slot %d (\"%s\") of device \"%s\" (%s)",
							s->position, s->name ? for_log(s->name) : "no name",
							for_log(dev->display_name), dev->device_id),
					 errdetail("%s", for_log(s->problem)),
					 errhint("Bookings that only this slot would fit will not match until the slot is fixed in Seam.")));
			continue;
		}
		column_push_uuid(slots, 0, dev->device_id);
		column_push(slots, 1, Int32GetDatum(s->position), false);
		column_push_text(slots, 2, s->name);
		column_push(slots, 3, Int32GetDatum(s->prefix), !s->has_prefix);
		/* the TODs are ASCII apart from the zone name, and checked by tod_parse already */
		column_push(slots, 4, OidInputFunctionCall(typinput, s->check_in_time, typioparam, -1), false);
		column_push(slots, 5, OidInputFunctionCall(typinput, s->check_out_time, typioparam, -1), false);
		column_push(slots, 6, BoolGetDatum(s->is_24_hour), false);
		column_push(slots, 7, BoolGetDatum(s->is_biweekly_mode), false);
		column_push(slots, 8, BoolGetDatum(s->is_one_shot), false);
		column_push(slots, 9, BoolGetDatum(s->is_master), false);
		column_push(slots, 10, Int32GetDatum(s->user_level_prefix), !s->has_user_level_prefix);
		column_push_uuid(slots, 11, s->user_level_id);
	}
}

/* Write what sync_fetch_devices returned; returns the number of devices written. */
int
sync_apply_devices(const SyncFetch *fetch)
{
	Columns		devs = {0};
	Columns		ids = {0};
	Columns		slots = {0};
	Oid			todtype = tod_type();
	OwnerScope	owner;
	int			i;

	/* the columns in the order of the statements' unnest() calls below */
	column_add(&devs, UUIDOID);		/* device_id */
	column_add(&devs, TEXTOID);		/* display_name */
	column_add(&devs, TEXTOID);		/* device_type */
	column_add(&devs, TEXTOID);		/* timezone */
	column_add(&devs, TEXTOID);		/* site_name */
	column_add(&devs, TEXTOID);		/* door_name */
	column_add(&devs, BOOLOID);		/* can_program_offline_access_codes */
	column_add(&devs, TEXTOID);		/* errors, as JSON text */
	column_add(&devs, INT4OID);		/* code_name_max_length */
	column_add(&devs, BOOLOID);		/* code_names_unique */
	column_add(&ids, UUIDOID);
	column_add(&slots, UUIDOID);	/* device_id */
	column_add(&slots, INT4OID);	/* position */
	column_add(&slots, TEXTOID);	/* name */
	column_add(&slots, INT4OID);	/* prefix */
	column_add(&slots, todtype);	/* check_in_time */
	column_add(&slots, todtype);	/* check_out_time */
	column_add(&slots, BOOLOID);	/* is_24_hour */
	column_add(&slots, BOOLOID);	/* is_biweekly_mode */
	column_add(&slots, BOOLOID);	/* is_one_shot */
	column_add(&slots, BOOLOID);	/* is_master */
	column_add(&slots, INT4OID);	/* user_level_prefix */
	column_add(&slots, UUIDOID);	/* user_level_id */

	for (i = 0; i < fetch->ndevices; i++)
	{
		const SeamDevice *dev = &fetch->devices[i];

		column_push_uuid(&devs, 0, dev->device_id);
		column_push_text(&devs, 1, dev->display_name);
		column_push_text(&devs, 2, dev->device_type);
		column_push_text(&devs, 3, dev->timezone);
		column_push_text(&devs, 4, dev->site_name);
		column_push_text(&devs, 5, dev->door_name);
		column_push(&devs, 6, BoolGetDatum(dev->can_program_offline_access_codes), false);
		column_push_text(&devs, 7, dev->errors_json);
		column_push(&devs, 8, Int32GetDatum(dev->code_name_max_length), dev->code_name_max_length == 0);
		column_push(&devs, 9, BoolGetDatum(dev->code_names_unique), false);
		column_push_uuid(&ids, 0, dev->device_id);
		collect_slots(&slots, dev, todtype);
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/*
	 * Written as the tables' owner with search_path pinned (owner.c): the
	 * role granted oracode_sync_devices() needs no rights on the tables, and
	 * its search_path cannot steer these statements.
	 */
	owner_enter(&owner);
	/* one sync at a time: a concurrent one would insert the same slot keys */
	if (SPI_execute("LOCK TABLE oracode.time_slots IN SHARE ROW EXCLUSIVE MODE", false, 0) < 0)
		elog(ERROR, "could not lock oracode.time_slots");
	execute_columns("INSERT INTO oracode.devices AS d (device_id, display_name, device_type, timezone, "
					"    site_name, door_name, can_program_offline_access_codes, errors, synced_at, removed_at, "
					"    code_name_max_length, code_names_unique) "
					"SELECT u.id, u.display_name, u.device_type, u.timezone, u.site_name, u.door_name, "
					"       u.can_program, u.errors::jsonb, now(), NULL, u.name_max, u.names_unique "
					"FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
					"     AS u(id, display_name, device_type, timezone, site_name, door_name, can_program, errors, "
					"          name_max, names_unique) "
					"ON CONFLICT (device_id) DO UPDATE SET display_name = excluded.display_name, "
					"    device_type = excluded.device_type, timezone = excluded.timezone, "
					"    site_name = excluded.site_name, door_name = excluded.door_name, "
					"    can_program_offline_access_codes = excluded.can_program_offline_access_codes, "
					"    errors = excluded.errors, synced_at = excluded.synced_at, removed_at = NULL, "
					"    code_name_max_length = excluded.code_name_max_length, "
					"    code_names_unique = excluded.code_names_unique",
					&devs);
	execute_columns("UPDATE oracode.devices SET removed_at = now() "
					"WHERE removed_at IS NULL AND device_id <> ALL ($1)", &ids);
	execute_columns("DELETE FROM oracode.time_slots WHERE device_id = ANY ($1)", &ids);
	execute_columns("INSERT INTO oracode.time_slots (device_id, position, name, prefix, check_in_time, "
					"    check_out_time, is_24_hour, is_biweekly_mode, is_one_shot, is_master, "
					"    user_level_prefix, user_level_id) "
					"SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
					&slots);
	owner_leave(&owner);
	SPI_finish();
	return fetch->ndevices;
}

/*
 * Fetch from Seam, then write. The caller provides the transaction and an
 * active snapshot (any SQL call has both; a background worker starts a
 * transaction and pushes a snapshot first); SPI is connected here, nested
 * if the caller is connected already.
 */
int
oracode_sync_devices_internal(void)
{
	SyncFetch  *fetch = sync_fetch_devices();

	return sync_apply_devices(fetch);
}

/*
 * oracode_sync_devices() → integer: refresh devices and slots from Seam at
 * once, in the caller's transaction; returns how many Oracode devices Seam
 * listed (and were written).
 */
Datum
oracode_sync_devices(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(oracode_sync_devices_internal());
}
