/*
 * fuzz_slots.c — libFuzzer target for the slot JSON reader (src/slots.c).
 *
 * Each input is the text of a time_slots argument of oracode_match_slot.
 * Inputs that jsonb_in would refuse (not valid UTF-8, a NUL byte, not JSON)
 * never reach slots.c in a server and are skipped. The rest are parsed with
 * cJSON and handed to the real slots_from_jsonb through shim_jsonb.c. Checks:
 *   - slots_from_jsonb either returns a slot set or raises 22023 "malformed
 *     time slot JSON" (doc/reference.md, "Matching") — any other ERROR is a finding;
 *   - a returned set has one slot per element, each with a name, times
 *     within the day, a valid zone index, and the flags, name and user level
 *     id that the JSON says;
 *   - it agrees with the device sync's reader (seam_parse_time_slots in
 *     src/seam_json.c, which promises "the rules of the jsonb form"): the
 *     same arrays are usable, with the same names, times and flags. Inputs
 *     with a repeated key are left out of this comparison only, because
 *     jsonb keeps the last value and cJSON the first.
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "pg_shim.h"
#include "seam_json.h"
#include "slots.h"

extern int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern int	LLVMFuzzerInitialize(int *argc, char ***argv);

/* Arguments and result of one slots_from_jsonb call under shim_try. */
typedef struct SlotsCall
{
	Jsonb	   *jb;
	OracodeSlotSet *set;
} SlotsCall;

/* Arguments and result of one seam_parse_time_slots call under shim_try. */
typedef struct SeamCall
{
	const char *json;
	bool		ok;
	SeamTimeSlot *slots;
	int			n;
	const char *problem;
} SeamCall;

/* Read the slots as oracode_match_slot does. */
static void
call_slots_from_jsonb(void *arg)
{
	SlotsCall  *call = arg;

	call->set = slots_from_jsonb(call->jb);
}

/* Read the slots as the device sync does. */
static void
call_seam_parse_time_slots(void *arg)
{
	SeamCall   *call = arg;

	call->ok = seam_parse_time_slots(call->json, &call->slots, &call->n, &call->problem);
}

/* The last member named key of an object node (jsonb's view of a repeated key). */
static const cJSON *
last_member(const cJSON *obj, const char *key)
{
	const cJSON *m,
			   *found = NULL;

	for (m = obj->child; m != NULL; m = m->next)
		if (strcmp(m->string, key) == 0)
			found = m;
	return found;
}

/* True if the member is a JSON true. */
static bool
member_true(const cJSON *obj, const char *key)
{
	return cJSON_IsTrue(last_member(obj, key));
}

/* Check one slot of a returned set against its JSON element. */
static void
check_slot(const OracodeSlotSet *set, int i, const cJSON *elem)
{
	const OracodeSlot *slot = &set->slots[i];
	const cJSON *name = last_member(elem, "name");
	const cJSON *ulid = last_member(elem, "dormakaba_oracode_user_level_id");
	bool		want_ulid = cJSON_IsString(ulid) && seam_is_uuid(ulid->valuestring);

	if (slot->name == NULL || !cJSON_IsString(name) || strcmp(slot->name, name->valuestring) != 0)
		shim_fail("slot %d: the name is not the JSON's", i + 1);
	if (slot->check_in < 0 || slot->check_in >= USECS_PER_DAY ||
		slot->check_out < 0 || slot->check_out >= USECS_PER_DAY)
		shim_fail("slot %d: a time outside the day", i + 1);
	if (slot->zone_index < 0 || slot->zone_index >= set->nzones)
		shim_fail("slot %d: zone index %d of %d", i + 1, slot->zone_index, set->nzones);
	if (slot->is_24_hour != member_true(elem, "is_24_hour") ||
		slot->is_biweekly_mode != member_true(elem, "is_biweekly_mode") ||
		slot->is_one_shot != member_true(elem, "is_one_shot") ||
		slot->is_master != member_true(elem, "is_master"))
		shim_fail("slot %d: a flag is not the JSON's", i + 1);
	if (slot->has_user_level_id != want_ulid)
		shim_fail("slot %d: user level id %s, but the JSON %s one", i + 1,
				  slot->has_user_level_id ? "read" : "not read", want_ulid ? "has" : "has no");
}

/* Check a returned slot set: one slot per element, distinct zones. */
static void
check_set(const OracodeSlotSet *set, const cJSON *root)
{
	const cJSON *elem;
	int			i = 0,
				j;

	if (set->nslots != cJSON_GetArraySize(root))
		shim_fail("%d slots read from an array of %d", set->nslots, cJSON_GetArraySize(root));
	if (set->nzones < 0 || set->nzones > Max(set->nslots, 0))
		shim_fail("%d zones for %d slots", set->nzones, set->nslots);
	cJSON_ArrayForEach(elem, root)
		check_slot(set, i++, elem);
	for (i = 0; i < set->nzones; i++)
		for (j = i + 1; j < set->nzones; j++)
			if (set->zones[i].zone.tz == set->zones[j].zone.tz &&
				(set->zones[i].zone.tz != NULL ||
				 set->zones[i].zone.offset == set->zones[j].zone.offset))
				shim_fail("zones %d and %d are the same zone", i, j);
}

/* Compare with the device sync's reader of the same text. */
static void
compare_with_sync(const char *json, const cJSON *root, const OracodeSlotSet *set)
{
	SeamCall	call = {json};
	bool		all_usable = true;
	int			i;

	if (shim_try(call_seam_parse_time_slots, &call) != 0)
		shim_fail("seam_parse_time_slots raised: %s", shim_last_error()->message);
	if (call.ok != cJSON_IsArray(root))
		shim_fail("seam_parse_time_slots %s a %s", call.ok ? "accepts" : "refuses",
				  cJSON_IsArray(root) ? "JSON array" : "JSON non-array");
	if (!call.ok)
	{
		if (set != NULL)
			shim_fail("slots_from_jsonb accepts what seam_parse_time_slots refuses (%s)", call.problem);
		return;
	}
	for (i = 0; i < call.n; i++)
		all_usable &= call.slots[i].problem == NULL;
	if (all_usable != (set != NULL))
		shim_fail("the sync reader finds the slots %s, slots_from_jsonb %s them",
				  all_usable ? "usable" : "unusable", set ? "accepts" : "refuses");
	if (set == NULL)
		return;
	for (i = 0; i < call.n; i++)
	{
		const SeamTimeSlot *s = &call.slots[i];
		const OracodeSlot *o = &set->slots[i];
		TodValue	in,
					out;

		if (tod_parse(s->check_in_time, &in) != TOD_OK || tod_parse(s->check_out_time, &out) != TOD_OK)
			shim_fail("slot %d: the sync reader passes a time that does not parse", i + 1);
		if (strcmp(s->name, o->name) != 0 || in.time != o->check_in || out.time != o->check_out ||
			s->is_24_hour != o->is_24_hour || s->is_biweekly_mode != o->is_biweekly_mode ||
			s->is_one_shot != o->is_one_shot || s->is_master != o->is_master ||
			(s->user_level_id != NULL) != o->has_user_level_id)
			shim_fail("slot %d: the two readers disagree", i + 1);
	}
}

/* cJSON allocates through palloc, as in the server (seam_json_init, called from _PG_init). */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	seam_json_init();
	return 0;
}

/* One fuzz iteration: the input is the text of a jsonb time_slots argument. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *json;
	cJSON	   *root;
	SlotsCall	call = {NULL, NULL};
	int			sqlstate;

	/* what jsonb_in would refuse before slots.c is called */
	if (memchr(data, '\0', size) != NULL ||
		pg_encoding_verifymbstr(PG_UTF8, (const char *) data, (int) size) != (int) size)
		return 0;
	json = malloc(size + 1);
	memcpy(json, data, size);
	json[size] = '\0';
	root = cJSON_ParseWithOpts(json, NULL, true);
	if (root == NULL)
	{
		shim_memory_reset();
		free(json);
		return 0;
	}

	call.jb = shim_jsonb_from_cjson(root);
	sqlstate = shim_try(call_slots_from_jsonb, &call);
	if (sqlstate != 0)
	{
		const ShimError *e = shim_last_error();

		if (sqlstate != ERRCODE_INVALID_PARAMETER_VALUE ||
			strcmp(e->message, "malformed time slot JSON") != 0 || e->detail[0] == '\0')
			shim_fail("slots_from_jsonb raised %s \"%s\" (%s:%d), not 22023 \"malformed time slot JSON\"",
					  e->sqlstate, e->message, e->filename, e->lineno);
		call.set = NULL;
	}
	else
		check_set(call.set, root);

	if (!shim_cjson_has_duplicate_keys(root))
		compare_with_sync(json, root, call.set);

	shim_memory_reset();
	free(json);
	return 0;
}
