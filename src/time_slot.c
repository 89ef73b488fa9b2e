/*
 * time_slot.c — what makes one of Seam's time slot objects usable, decided
 * in one place for both readers of them: a name, two Seam times of day,
 * flags that are booleans (absent or null: false). The prefixes and the
 * user level id are informative and read as absent when malformed.
 */
#include "postgres.h"

#include "time_slot.h"

/*
 * True if s is a UUID in canonical 8-4-4-4-12 hexadecimal form: a slot's
 * user level id, and Seam's other ids (devices, workspaces) alike.
 */
bool
seam_is_uuid(const char *s)
{
	int			i;

	if (s == NULL || strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++)
	{
		if (i == 8 || i == 13 || i == 18 || i == 23)
		{
			if (s[i] != '-')
				return false;
		}
		else if (!isxdigit((unsigned char) s[i]))
			return false;
	}
	return true;
}

/* A string member, or NULL when it is absent or not a string. */
static char *
member_string(const void *obj, TimeSlotLookup lookup, const char *key)
{
	TimeSlotMember m;

	lookup(obj, key, &m);
	return m.type == TSM_STRING ? m.string : NULL;
}

/* A member that is a whole number in int range; false if absent or not one. */
static bool
member_int(const void *obj, TimeSlotLookup lookup, const char *key, int *out)
{
	TimeSlotMember m;

	lookup(obj, key, &m);
	if (m.type != TSM_NUMBER || !(m.number >= PG_INT32_MIN && m.number <= PG_INT32_MAX) ||
		m.number != (double) (int) m.number)
		return false;
	*out = (int) m.number;
	return true;
}

/* Read a slot's time of day; a problem sentence if it is not a Seam one. */
static char *
slot_time(const void *obj, TimeSlotLookup lookup, const char *key, char **text, TodValue *value)
{
	TodStatus	st;

	*text = member_string(obj, lookup, key);
	if (*text == NULL)
		return psprintf("It has no \"%s\" string.", key);
	st = tod_parse(*text, value);
	if (st != TOD_OK)
		return psprintf("Its \"%s\" \"%s\" is not a Seam time of day. %s", key, *text,
						tod_status_detail(st));
	return NULL;
}

/* Read a slot's flag; a problem sentence if it is neither boolean, null nor absent. */
static char *
slot_flag(const void *obj, TimeSlotLookup lookup, const char *key, bool *out)
{
	TimeSlotMember m;

	lookup(obj, key, &m);
	*out = false;
	if (m.type == TSM_ABSENT || m.type == TSM_NULL)
		return NULL;
	if (m.type != TSM_BOOL)
		return psprintf("Its \"%s\" is not a boolean.", key);
	*out = m.boolean;
	return NULL;
}

/*
 * Read one slot object (position left to the caller). Never raises: an
 * unusable slot comes back with problem set to the first reason found.
 */
void
time_slot_read(const void *obj, TimeSlotLookup lookup, SeamTimeSlot *slot)
{
	char	   *problem = NULL;
	char	   *p;

	slot->name = member_string(obj, lookup, "name");
	if (slot->name == NULL)
		problem = pstrdup("It has no \"name\" string.");
	if ((p = slot_time(obj, lookup, "check_in_time", &slot->check_in_time, &slot->check_in)) != NULL &&
		problem == NULL)
		problem = p;
	if ((p = slot_time(obj, lookup, "check_out_time", &slot->check_out_time, &slot->check_out)) != NULL &&
		problem == NULL)
		problem = p;
	if ((p = slot_flag(obj, lookup, "is_24_hour", &slot->is_24_hour)) != NULL && problem == NULL)
		problem = p;
	if ((p = slot_flag(obj, lookup, "is_biweekly_mode", &slot->is_biweekly_mode)) != NULL && problem == NULL)
		problem = p;
	if ((p = slot_flag(obj, lookup, "is_one_shot", &slot->is_one_shot)) != NULL && problem == NULL)
		problem = p;
	if ((p = slot_flag(obj, lookup, "is_master", &slot->is_master)) != NULL && problem == NULL)
		problem = p;
	slot->has_prefix = member_int(obj, lookup, "prefix", &slot->prefix);
	slot->has_user_level_prefix = member_int(obj, lookup, "ext_dormakaba_oracode_user_level_prefix",
											 &slot->user_level_prefix);
	slot->user_level_id = member_string(obj, lookup, "dormakaba_oracode_user_level_id");
	if (!seam_is_uuid(slot->user_level_id))
		slot->user_level_id = NULL;
	slot->problem = problem;
}
