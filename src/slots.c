/*
 * slots.c — read Seam's predefined_time_slots JSON array into C structs.
 *
 * The array is what Seam returns in
 * device.properties.dormakaba_oracode_metadata.predefined_time_slots.
 * Each slot object is read by the rules the device sync reads it by
 * (time_slot.c); where the sync skips a malformed slot with a warning, this
 * raises 22023 naming the problem, since the caller passed the slots.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "slots.h"
#include "time_slot.h"

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

/* TimeSlotLookup over a jsonb object container. */
static void
jsonb_slot_member(const void *obj, const char *key, TimeSlotMember *m)
{
	JsonbValue	v;

	memset(m, 0, sizeof(TimeSlotMember));
	if (getKeyJsonValueFromContainer((JsonbContainer *) obj, key, strlen(key), &v) == NULL)
		m->type = TSM_ABSENT;
	else if (v.type == jbvNull)
		m->type = TSM_NULL;
	else if (v.type == jbvString)
	{
		m->type = TSM_STRING;
		m->string = pnstrdup(v.val.string.val, v.val.string.len);
	}
	else if (v.type == jbvBool)
	{
		m->type = TSM_BOOL;
		m->boolean = v.val.boolean;
	}
	else if (v.type == jbvNumeric)
	{
		m->type = TSM_NUMBER;
		/* a number beyond a double's range reads as one out of int range, never an error */
		m->number = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
													   NumericGetDatum(v.val.numeric)));
	}
	else
		m->type = TSM_OTHER;
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
		OracodeSlot *slot = &set->slots[set->nslots];
		SeamTimeSlot read;
		TodZone		zone;

		if (elem == NULL || elem->type != jbvBinary ||
			!JsonContainerIsObject(elem->val.binary.data))
			bad_slots("Element %d of time_slots is not an object.", i + 1);
		/* the device sync's rules (time_slot.c): what it would skip, this refuses */
		time_slot_read(elem->val.binary.data, jsonb_slot_member, &read);
		if (read.problem != NULL)
			bad_slots("Time slot %d is malformed. %s", i + 1, read.problem);

		slot->name = read.name;
		slot->check_in = read.check_in.time;
		slot->check_out = read.check_out.time;
		/* the slot's zone is its check-in time's zone (doc/reference.md, "Matching", rule 3) */
		zone = tod_value_zone(&read.check_in);
		slot->zone_index = slots_zone_index(set, &zone);
		slot->is_24_hour = read.is_24_hour;
		slot->is_biweekly_mode = read.is_biweekly_mode;
		slot->is_one_shot = read.is_one_shot;
		slot->is_master = read.is_master;
		if (read.user_level_id != NULL)
		{
			pg_uuid_t  *u = DatumGetUUIDP(DirectFunctionCall1(uuid_in, CStringGetDatum(read.user_level_id)));

			slot->user_level_id = *u;
			slot->has_user_level_id = true;
		}
		set->nslots++;
	}
	return set;
}
