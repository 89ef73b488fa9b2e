/*
 * status_notify.c — NOTIFY oracode_code_status for every status change a
 * transaction records, sent when it commits, several changes to a
 * notification.
 *
 * status_events.c hands over every change it sees (the ones that write
 * oracode.access_code_events, the first change of the requests a
 * statement's bookings write together, and a PIN reaching a code already
 * set, as set to set). A worker batch or a bulk import
 * records hundreds of changes in one transaction; one NOTIFY each would
 * cost each its own queue entry, and its own comparison against every
 * notification already pending. So the changes are kept here as JSON
 * objects, in the order they happened: a rolled-back subtransaction takes
 * its own with it, a rolled-back transaction all. At XACT_EVENT_PRE_COMMIT,
 * which runs before PreCommit_Notify() queues a transaction's
 * notifications, they become payloads of as many changes as fit under
 * ORACODE_NOTIFY_MAX_PAYLOAD bytes, in order. Each payload carries its part
 * number: NOTIFY sends two identical payloads of one transaction once, and
 * two parts may hold the same changes (a row toggled back and forth).
 * The PIN is never read here.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/async.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "status_notify.h"

/* A buffered change: where its JSON object ends in pending_json, and who recorded it. */
typedef struct PendingChange
{
	int			end;			/* offset just past its object in pending_json.data */
	SubTransactionId subid;		/* the subtransaction that recorded it */
} PendingChange;

/* The running transaction's changes (all NULL/0 when it recorded none). */
static MemoryContext pending_cxt = NULL;
static StringInfoData pending_json;
static PendingChange *pending = NULL;
static int	npending = 0;
static int	maxpending = 0;

/* Room for {"part":N,"parts":N,"changes":[ and ]} with 10-digit part numbers. */
#define PAYLOAD_FRAME 64

/* Forget the transaction's changes (their memory goes with the transaction). */
static void
pending_reset(void)
{
	pending_cxt = NULL;
	pending = NULL;
	npending = 0;
	maxpending = 0;
}

/* The JSON object of change i and its length. */
static const char *
change_json(int i, int *len)
{
	int			start = i == 0 ? 0 : pending[i - 1].end;

	*len = pending[i].end - start;
	return pending_json.data + start;
}

/*
 * The number of consecutive changes from first that fit in one payload
 * (at least one: a change is always far shorter than a payload).
 */
static int
chunk_length(int first)
{
	int			size = PAYLOAD_FRAME;
	int			i;

	for (i = first; i < npending; i++)
	{
		int			len;

		change_json(i, &len);
		size += len + (i > first ? 1 : 0);
		if (size > ORACODE_NOTIFY_MAX_PAYLOAD && i > first)
			break;
	}
	return i - first;
}

/* Queue the buffered changes as notifications, in order, and forget them. */
static void
send_pending(void)
{
	StringInfoData payload;
	int			parts = 0;
	int			part;
	int			first;

	for (first = 0; first < npending; first += chunk_length(first))
		parts++;
	initStringInfo(&payload);
	first = 0;
	for (part = 1; part <= parts; part++)
	{
		int			n = chunk_length(first);
		int			i;

		resetStringInfo(&payload);
		appendStringInfo(&payload, "{\"part\":%d,\"parts\":%d,\"changes\":[", part, parts);
		for (i = first; i < first + n; i++)
		{
			int			len;
			const char *obj = change_json(i, &len);

			if (i > first)
				appendStringInfoChar(&payload, ',');
			appendBinaryStringInfo(&payload, obj, len);
		}
		appendStringInfoString(&payload, "]}");
		Async_Notify(ORACODE_NOTIFY_CHANNEL, payload.data);
		first += n;
	}
	pfree(payload.data);
}

/* Commit sends the changes; any other end of the transaction drops them. */
static void
notify_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (npending > 0)
			{
				MemoryContext cxt = pending_cxt;

				send_pending();
				pending_reset();
				MemoryContextDelete(cxt);
			}
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (npending > 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that changed the status of a code request"),
						 errdetail("Status changes are announced with NOTIFY %s when their transaction commits, and a prepared transaction cannot send notifications.",
								   ORACODE_NOTIFY_CHANNEL)));
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			pending_reset();
			break;
		default:
			break;
	}
}

/*
 * A rolled-back subtransaction drops the changes it recorded, its own
 * subtransactions' included: subtransaction ids grow within a transaction,
 * and all started after the one rolled back are inside it, so those are
 * the ones from the end of the buffer with an id at least its own.
 */
static void
notify_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB || npending == 0)
		return;
	while (npending > 0 && pending[npending - 1].subid >= mySubid)
		npending--;
	pending_json.len = npending == 0 ? 0 : pending[npending - 1].end;
	pending_json.data[pending_json.len] = '\0';
}

/* Register the callbacks once per process, when it first records a change. */
static void
register_callbacks(void)
{
	static bool registered = false;

	if (!registered)
	{
		RegisterXactCallback(notify_xact_callback, NULL);
		RegisterSubXactCallback(notify_subxact_callback, NULL);
		registered = true;
	}
}

/* Append text as a JSON string, or null. */
static void
append_json_text(StringInfo buf, text *t)
{
	char	   *s;

	if (t == NULL)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	s = text_to_cstring(t);
	escape_json(buf, s);
	pfree(s);
}

/*
 * Buffer one status change of request id for the commit of the running
 * transaction; old_status is NULL for a new request, booking_ref may be;
 * pin_ready says whether the row has its PIN (never the PIN itself).
 */
void
status_notify_add(int64 id, text *booking_ref, const pg_uuid_t *device_id,
				  text *old_status, text *new_status, bool pin_ready)
{
	static const char hex[] = "0123456789abcdef";
	MemoryContext old;
	int			ref_at;
	int			i;

	register_callbacks();
	if (pending_cxt == NULL)
	{
		pending_cxt = AllocSetContextCreate(TopTransactionContext, "oracode status notifications",
											ALLOCSET_DEFAULT_SIZES);
		old = MemoryContextSwitchTo(pending_cxt);
		initStringInfo(&pending_json);
		maxpending = 64;
		pending = palloc(sizeof(PendingChange) * maxpending);
		MemoryContextSwitchTo(old);
	}
	old = MemoryContextSwitchTo(pending_cxt);
	if (npending == maxpending)
	{
		maxpending *= 2;
		pending = repalloc(pending, sizeof(PendingChange) * maxpending);
	}

	appendStringInfo(&pending_json, "{\"id\":" INT64_FORMAT ",\"booking_ref\":", id);
	ref_at = pending_json.len;
	append_json_text(&pending_json, booking_ref);
	if (pending_json.len - ref_at > ORACODE_NOTIFY_MAX_REF)
	{
		/* too long for a payload's share: the listener reads it from the row */
		pending_json.len = ref_at;
		pending_json.data[ref_at] = '\0';
		appendStringInfoString(&pending_json, "null,\"booking_ref_omitted\":true");
	}
	appendStringInfoString(&pending_json, ",\"device_id\":\"");
	for (i = 0; i < UUID_LEN; i++)
	{
		if (i == 4 || i == 6 || i == 8 || i == 10)
			appendStringInfoChar(&pending_json, '-');
		appendStringInfoChar(&pending_json, hex[device_id->data[i] >> 4]);
		appendStringInfoChar(&pending_json, hex[device_id->data[i] & 0x0f]);
	}
	appendStringInfoString(&pending_json, "\",\"old_status\":");
	append_json_text(&pending_json, old_status);
	appendStringInfoString(&pending_json, ",\"new_status\":");
	append_json_text(&pending_json, new_status);
	appendStringInfoString(&pending_json, pin_ready ? ",\"pin_ready\":true}" : ",\"pin_ready\":false}");

	pending[npending].end = pending_json.len;
	pending[npending].subid = GetCurrentSubTransactionId();
	npending++;
	MemoryContextSwitchTo(old);
}
