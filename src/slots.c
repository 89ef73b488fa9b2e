/*
 * slots.c — read Seam's predefined_time_slots JSON array into C structs.
 *
 * The array is what Seam returns in
 * device.properties.dormakaba_oracode_metadata.predefined_time_slots.
 * Unknown fields are ignored; a missing flag reads as false; anything that
 * would make a match meaningless (not an array, no name, no times, a time
 * that is not a Seam TOD) raises 22023 naming the problem.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "seam_json.h"
#include "slots.h"

/* Raise 22023 for malformed slot JSON, with a detail sentence. */
static void bad_slots(const char *fmt,...) pg_attribute_printf(1, 2) pg_attribute_noreturn();

static void
bad_slots(const char *fmt,...)
{
	char		detail[512];
	va_list		args;

	va_start(args, fmt);
	vsnprintf(detail, sizeof(detail), fmt, args);
	va_end(args);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("malformed time slot JSON"),
			 errdetail("%s", detail),
			 errhint("Pass the predefined_time_slots array exactly as Seam returns it on the device.")));
}

/* An empty slot set with room for capacity slots. */
OracodeSlotSet *
slots_new(int capacity)
{
	OracodeSlotSet *set = palloc0(sizeof(OracodeSlotSet));

	set->slots = palloc0(sizeof(OracodeSlot) * Max(capacity, 1));
	set->zones = palloc0(sizeof(SlotZone) * Max(capacity, 1));
	return set;
}

/* Index of the zone in the set, adding it if new (slots usually share one). */
int
slots_zone_index(OracodeSlotSet *set, const TodZone *zone)
{
	int			i;

	for (i = 0; i < set->nzones; i++)
	{
		const TodZone *z = &set->zones[i].zone;

		if (z->tz == zone->tz && (z->tz != NULL || z->offset == zone->offset))
			return i;
	}
	set->zones[set->nzones].zone = *zone;
	set->zones[set->nzones].have_stable = false;
	return set->nzones++;
}

/* The string value of a required key in a slot object; raises if absent, null or not a string. */
static char *
slot_string(JsonbContainer *obj, const char *key, int n)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), &v) == NULL ||
		v.type == jbvNull)
		bad_slots("Time slot %d has no \"%s\".", n, key);
	if (v.type != jbvString)
		bad_slots("In time slot %d, \"%s\" is not a string.", n, key);
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/*
 * The string value of an informative key, or NULL when it is absent or not
 * a string: like the device sync (seam_parse_time_slots), a malformed
 * informative field reads as absent rather than making the slot unusable.
 */
static char *
slot_informative_string(JsonbContainer *obj, const char *key)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), &v) == NULL ||
		v.type != jbvString)
		return NULL;
	return pnstrdup(v.val.string.val, v.val.string.len);
}

/* The boolean value of key in a slot object; absent or null reads as false. */
static bool
slot_flag(JsonbContainer *obj, const char *key, int n)
{
	JsonbValue	v;

	if (getKeyJsonValueFromContainer(obj, key, strlen(key), &v) == NULL ||
		v.type == jbvNull)
		return false;
	if (v.type != jbvBool)
		bad_slots("In time slot %d, \"%s\" is not a boolean.", n, key);
	return v.val.boolean;
}

/* Parse one of a slot's TOD strings, raising 22023 with the reason. */
static TodValue
slot_time(JsonbContainer *obj, const char *key, int n)
{
	char	   *text = slot_string(obj, key, n);
	TodValue	v;
	TodStatus	st = tod_parse(text, &v);

	if (st != TOD_OK)
		bad_slots("In time slot %d, \"%s\" is \"%s\", which is not a Seam time of day. %s",
				  n, key, text, tod_status_detail(st));
	return v;
}

/*
 * Read a predefined_time_slots array. Slot numbers in messages count from 1.
 * The result is palloc'd in the current memory context.
 */
OracodeSlotSet *
slots_from_jsonb(Jsonb *jb)
{
	JsonbContainer *root = &jb->root;
	OracodeSlotSet *set;
	int			count,
				i;

	if (JB_ROOT_IS_SCALAR(jb) || !JsonContainerIsArray(root))
		bad_slots("time_slots must be a JSON array of slot objects.");
	count = JsonContainerSize(root);
	set = slots_new(count);

	for (i = 0; i < count; i++)
	{
		JsonbValue *elem = getIthJsonbValueFromContainer(root, i);
		JsonbContainer *obj;
		OracodeSlot *slot = &set->slots[set->nslots];
		TodValue	in,
					out;
		TodZone		zone;
		char	   *uuid;

		if (elem == NULL || elem->type != jbvBinary ||
			!JsonContainerIsObject(elem->val.binary.data))
			bad_slots("Element %d of time_slots is not an object.", i + 1);
		obj = elem->val.binary.data;

		slot->name = slot_string(obj, "name", i + 1);
		in = slot_time(obj, "check_in_time", i + 1);
		out = slot_time(obj, "check_out_time", i + 1);
		slot->check_in = in.time;
		slot->check_out = out.time;
		/* the slot's zone is its check-in time's zone (doc/reference.md, "Matching", rule 3) */
		zone = tod_value_zone(&in);
		slot->zone_index = slots_zone_index(set, &zone);
		slot->is_24_hour = slot_flag(obj, "is_24_hour", i + 1);
		slot->is_biweekly_mode = slot_flag(obj, "is_biweekly_mode", i + 1);
		slot->is_one_shot = slot_flag(obj, "is_one_shot", i + 1);
		slot->is_master = slot_flag(obj, "is_master", i + 1);

		uuid = slot_informative_string(obj, "dormakaba_oracode_user_level_id");
		/* a user level id is informative only; ignore one that is not a UUID string */
		if (uuid != NULL && seam_is_uuid(uuid))
		{
			pg_uuid_t  *u = DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(uuid)));

			slot->user_level_id = *u;
			slot->has_user_level_id = true;
		}
		set->nslots++;
	}
	return set;
}
