/*
 * seam_json.c — Seam's JSON bodies ↔ C structs, through cJSON.
 *
 * Seam adds fields and enum values with every release, and its fake (and a
 * proxy in front of the real API) may answer with plain text, an empty body
 * or JSON of an unexpected shape. So every reader here is tolerant: unknown
 * fields are ignored, a field of the wrong type reads as absent, and only a
 * missing essential field (an access code's id, a device's id, the list
 * itself) makes a parse fail, with a problem text for the caller's message.
 * Nothing here raises an ERROR for anything Seam sends.
 *
 * cJSON allocates through palloc (seam_json_init), so a parse tree that an
 * ERROR interrupts is freed with the memory context like everything else.
 *
 * Parsing costs memory out of proportion to the text for some shapes: each
 * value is a 64-byte node (80 with palloc's header), so "[[],[],...]" costs
 * about 27 times its size and "[0,0,...]" 40. seam_http.c caps the size of
 * an answer (oracode.max_response_size); here, what one parse of an answer
 * allocates is counted, and once it passes PARSE_BUDGET_MULTIPLE times the
 * body's size the allocator hook answers NULL, which makes cJSON give up
 * cleanly (it frees what it built and returns NULL). Seam's real answers
 * need far less (see PARSE_BUDGET_MULTIPLE), so only a body built to
 * exhaust memory is refused, and it is refused as unreadable.
 */
#include "postgres.h"

#include <cjson/cJSON.h>

#include "mb/pg_wchar.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "seam_json.h"

/* How much of a non-JSON body is quoted back in a problem text. */
#define EXCERPT_LEN 120

/*
 * The memory one parse of a body may take, as a multiple of the body's size,
 * counted as palloc's chunk space (headers and rounding included), plus
 * PARSE_BUDGET_FLOOR for tiny bodies. Measured on the answers of Seam's fake
 * (@seamapi/fake-seam-connect 1.86.0), whose objects have Seam's full shape:
 * an access code 5.1-5.2 times its size, a list of 100 codes (61 kB) 5.0, a
 * page of 100 Oracode devices (250 kB) 4.9, a slot array 4.2-5.0, an error
 * body 3.6. So 10 leaves twice the room real answers need, and still
 * refuses the shapes that cost most ("[[],[],...]" 26.6, "[0,0,...]" 40)
 * long before they are built; at the default oracode.max_response_size
 * (32 MB) one parse takes at most 320 MB.
 */
#define PARSE_BUDGET_MULTIPLE 10
#define PARSE_BUDGET_FLOOR (64 * 1024)

#define PARSE_BUDGET_PROBLEM \
	"Parsing the response body would take more than " CppAsString2(PARSE_BUDGET_MULTIPLE) \
	" times its size in memory."

/*
 * The budget of the parse under way (0: none, for every other use of cJSON:
 * the worker's own JSON, request bodies), what it spent, and whether an
 * allocation was refused (over budget, or no memory left).
 */
static Size parse_budget = 0;
static Size parse_spent = 0;
static bool parse_refused = false;

/*
 * cJSON's allocator: palloc in the current memory context. During a
 * budgeted parse it never raises (an ERROR would leave the budget set):
 * out of memory or over budget, it answers NULL and cJSON fails cleanly.
 */
static void *
json_alloc(size_t size)
{
	void	   *p;

	if (parse_budget == 0)
		return palloc(size);
	if (parse_refused)
		return NULL;
	p = palloc_extended(size, MCXT_ALLOC_NO_OOM);
	if (p != NULL)
	{
		parse_spent += GetMemoryChunkSpace(p);
		if (parse_spent <= parse_budget)
			return p;
		pfree(p);
	}
	parse_refused = true;
	return NULL;
}

/* cJSON's deallocator: cJSON frees NULL in places, which pfree does not accept. */
static void
json_free(void *ptr)
{
	if (ptr != NULL)
		pfree(ptr);
}

/*
 * Point cJSON at palloc/pfree. Called from _PG_init, before any cJSON use;
 * cJSON then never uses realloc (it does only with the default hooks).
 */
void
seam_json_init(void)
{
	cJSON_Hooks hooks = {json_alloc, json_free};

	cJSON_InitHooks(&hooks);
}

/*
 * Parse a response body within the memory budget; NULL with *problem set if
 * it is not JSON at all, or would take too much memory to parse.
 */
static cJSON *
parse_body(const char *body, const char **problem)
{
	cJSON	   *root;
	size_t		len;

	if (body == NULL || body[0] == '\0')
	{
		*problem = "The response body is empty.";
		return NULL;
	}
	len = strlen(body);
	/* strings are handed on to the database, so refuse invalid UTF-8 up front */
	if (!pg_verify_mbstr(PG_UTF8, body, len, true))
	{
		*problem = "The response body is not valid UTF-8.";
		return NULL;
	}
	/* nothing between here and the reset can raise: json_alloc does not while a budget is set */
	parse_budget = (Size) len * PARSE_BUDGET_MULTIPLE + PARSE_BUDGET_FLOOR;
	parse_spent = 0;
	parse_refused = false;
	root = cJSON_ParseWithOpts(body, NULL, true);
	parse_budget = 0;
	if (root == NULL)
		*problem = parse_refused ? PARSE_BUDGET_PROBLEM : "The response body is not JSON.";
	return root;
}

/* A copy of the start of a body, printable ASCII only, for messages. */
static char *
body_excerpt(const char *body)
{
	size_t		len = body ? strlen(body) : 0;
	size_t		n = Min(len, EXCERPT_LEN);
	char	   *out;
	size_t		i;

	if (len == 0)
		return pstrdup("(empty body)");
	out = palloc(n + 4);
	for (i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) body[i];

		out[i] = (c >= 0x20 && c < 0x7f) ? (char) c : ' ';
	}
	strcpy(out + n, len > n ? "..." : "");
	return out;
}

/* A member that is a string, copied, or NULL (absent or another type). */
static char *
get_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) && v->valuestring ? pstrdup(v->valuestring) : NULL;
}

/* A member that is a boolean, or dflt (absent or another type). */
static bool
get_bool(const cJSON *obj, const char *key, bool dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

/* A member that is a whole number in int range; false if absent or not one. */
static bool
get_int(const cJSON *obj, const char *key, int *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	double		d;

	if (!cJSON_IsNumber(v))
		return false;
	d = v->valuedouble;
	if (!(d >= PG_INT32_MIN && d <= PG_INT32_MAX) || d != (double) (int) d)
		return false;
	*out = (int) d;
	return true;
}

/* A member that is an object, or NULL. */
static const cJSON *
get_object(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsObject(v) ? v : NULL;
}

/* A member that is an array, as compact JSON text, or NULL. */
static char *
get_array_text(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsArray(v) ? cJSON_PrintUnformatted(v) : NULL;
}

/* A member that is a timestamp Seam can send; false if absent or unreadable. */
static bool
get_timestamp(const cJSON *obj, const char *key, TimestampTz *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) && seam_parse_timestamp(v->valuestring, out);
}

/*
 * The next page's cursor of a list answer (pagination.has_next_page and
 * next_page_cursor), or NULL on the last page or without a pagination
 * object. False, with *problem set, when a next page is promised without a
 * cursor: then what the page lacks proves nothing, and nothing follows it.
 */
static bool
read_next_cursor(const cJSON *root, char **cursor, const char **problem)
{
	const cJSON *pagination = get_object(root, "pagination");

	*cursor = NULL;
	if (pagination == NULL || !get_bool(pagination, "has_next_page", false))
		return true;
	*cursor = get_string(pagination, "next_page_cursor");
	if (*cursor != NULL && (*cursor)[0] != '\0')
		return true;
	*cursor = NULL;
	*problem = "The response says there is a next page but gives no next_page_cursor.";
	return false;
}

/*
 * Read Seam's error body {"error":{"type","message"},"ok":false}. Returns
 * true when the body is such an error. Otherwise returns false and still
 * fills err, with type "non_json" (the body is not JSON: an empty 503, a
 * plain-text 404, ...) or "unexpected" (JSON without an error object), and
 * the start of the body as the message, so callers always have text to show.
 */
bool
seam_parse_error(const char *body, SeamError *err)
{
	const char *problem;
	cJSON	   *root = parse_body(body, &problem);
	const cJSON *error;
	bool		found = false;

	err->type = NULL;
	err->message = NULL;
	err->validation_errors_json = NULL;
	if (root == NULL)
	{
		err->type = pstrdup("non_json");
		err->message = body_excerpt(body);
		return false;
	}
	error = get_object(root, "error");
	if (error != NULL)
		err->type = get_string(error, "type");
	if (err->type != NULL)
	{
		err->message = get_string(error, "message");
		if (err->message == NULL)
			err->message = pstrdup("");
		/* invalid_input names each refused parameter: the reason a request failed */
		if (get_object(error, "validation_errors") != NULL)
			err->validation_errors_json = cJSON_PrintUnformatted(get_object(error, "validation_errors"));
		found = true;
	}
	else
	{
		err->type = pstrdup("unexpected");
		err->message = body_excerpt(body);
	}
	cJSON_Delete(root);
	return found;
}

/* True when member key of obj is absent, null, or of the cJSON type that check accepts. */
static bool
absent_or(const cJSON *obj, const char *key, cJSON_bool (*check) (const cJSON *))
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return v == NULL || cJSON_IsNull(v) || check(v);
}

/*
 * Why one access code object from Seam cannot be trusted, or NULL. Other
 * answers read a field of the wrong type as absent, which is right for
 * showing data but not for deciding that a code does not exist (and so
 * sending a create again): there a garbled code must not look like no code,
 * so an answer with one is refused whole.
 */
static const char *
code_problem(const cJSON *c)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "access_code_id");

	if (!cJSON_IsObject(c))
		return "an access code is not a JSON object";
	if (!cJSON_IsString(id) || id->valuestring[0] == '\0')
		return "an access code has no access_code_id string";
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "device_id")))
		return "an access code has no device_id string";
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(c, "status")))
		return "an access code has no status string";
	if (!absent_or(c, "name", cJSON_IsString) || !absent_or(c, "code", cJSON_IsString))
		return "an access code has a name or code that is not a string";
	if (!absent_or(c, "errors", cJSON_IsArray) || !absent_or(c, "warnings", cJSON_IsArray))
		return "an access code has errors or warnings that are not arrays";
	return NULL;
}

/* Fill ac from one access code object; false if it has no access_code_id. */
static bool
read_access_code(const cJSON *obj, SeamAccessCode *ac)
{
	memset(ac, 0, sizeof(*ac));
	if (!cJSON_IsObject(obj))
		return false;
	ac->access_code_id = get_string(obj, "access_code_id");
	if (ac->access_code_id == NULL || ac->access_code_id[0] == '\0')
		return false;
	ac->device_id = get_string(obj, "device_id");
	ac->name = get_string(obj, "name");
	ac->status = get_string(obj, "status");
	ac->code = get_string(obj, "code");
	ac->waiting_for_code = get_bool(obj, "is_waiting_for_code_assignment", false);
	ac->has_starts_at = get_timestamp(obj, "starts_at", &ac->starts_at);
	ac->has_ends_at = get_timestamp(obj, "ends_at", &ac->ends_at);
	ac->errors_json = get_array_text(obj, "errors");
	ac->warnings_json = get_array_text(obj, "warnings");
	return true;
}

/*
 * Note the error of a create's failed action attempt ({"status":"error",
 * "error":{type, message}}) in ac: Seam's reason why the code it answered
 * with will not be made. An attempt that is pending or succeeded adds nothing.
 */
static void
read_action_attempt_error(const cJSON *attempt, SeamAccessCode *ac)
{
	const cJSON *error = get_object(attempt, "error");
	const char *status = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(attempt, "status"));

	if (error == NULL || status == NULL || strcmp(status, "error") != 0)
		return;
	ac->action_error_type = get_string(error, "type");
	if (ac->action_error_type == NULL)
		ac->action_error_type = pstrdup("action_attempt_error");
	ac->action_error_message = get_string(error, "message");
	if (ac->action_error_message == NULL)
		ac->action_error_message = pstrdup("");
	ac->action_attempt_id = get_string(attempt, "action_attempt_id");
}

/*
 * Read {"access_code": {...}} (the answer of /access_codes/create and /get),
 * with the error of the create's action_attempt when it has one. False with
 * a problem when the code is missing or malformed (code_problem); ac keeps
 * what could be read, its access_code_id included.
 */
bool
seam_parse_access_code(const char *body, SeamAccessCode *ac, const char **problem)
{
	cJSON	   *root = parse_body(body, problem);
	const cJSON *obj;
	const char *bad;
	bool		ok;

	memset(ac, 0, sizeof(*ac));
	if (root == NULL)
		return false;
	obj = cJSON_GetObjectItemCaseSensitive(root, "access_code");
	ok = read_access_code(obj, ac);
	if (!ok)
		*problem = "The response has no access_code object with an access_code_id.";
	else if ((bad = code_problem(obj)) != NULL)
	{
		*problem = psprintf("1 of 1 access codes in the answer are malformed (%s).", bad);
		ok = false;
	}
	else
		read_action_attempt_error(get_object(root, "action_attempt"), ac);
	cJSON_Delete(root);
	return ok;
}

/*
 * Read one page of /access_codes/list: {"access_codes": [...], "pagination":
 * {...}}. *next_cursor is the next page's cursor, NULL on the last page.
 * False with a problem when the page cannot be read, promises a next page
 * without a cursor, or holds a malformed code (code_problem; the problem
 * says how many): a list with a garbled code proves nothing about which
 * codes exist.
 */
bool
seam_parse_access_codes(const char *body, SeamAccessCode **acs, int *n, char **next_cursor,
						const char **problem)
{
	cJSON	   *root = parse_body(body, problem);
	const cJSON *list;
	const cJSON *elem;
	const char *first = NULL;
	int			bad = 0,
				total = 0;

	*acs = NULL;
	*n = 0;
	*next_cursor = NULL;
	if (root == NULL)
		return false;
	list = cJSON_GetObjectItemCaseSensitive(root, "access_codes");
	if (!cJSON_IsArray(list))
	{
		*problem = "The response has no access_codes array.";
		cJSON_Delete(root);
		return false;
	}
	if (!read_next_cursor(root, next_cursor, problem))
	{
		cJSON_Delete(root);
		return false;
	}
	*acs = palloc0(sizeof(SeamAccessCode) * Max(cJSON_GetArraySize(list), 1));
	cJSON_ArrayForEach(elem, list)
	{
		const char *p = code_problem(elem);

		total++;
		if (p != NULL && bad++ == 0)
			first = p;
		if (p == NULL && read_access_code(elem, &(*acs)[*n]))
			(*n)++;
	}
	cJSON_Delete(root);
	if (bad > 0)
	{
		*problem = psprintf("%d of %d access codes in the answer are malformed (%s).", bad, total, first);
		return false;
	}
	return true;
}

/*
 * What properties.code_constraints says about a code's name: the longest
 * name the lock keeps (name_length's max_length) and whether names must be
 * unique. The worker builds names so that a cut keeps the request's id.
 */
static void
read_code_constraints(const cJSON *list, SeamDevice *dev)
{
	const cJSON *c;

	if (!cJSON_IsArray(list))
		return;
	cJSON_ArrayForEach(c, list)
	{
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "constraint_type"));
		int			max;

		if (type == NULL)
			continue;
		if (strcmp(type, "name_length") == 0 && get_int(c, "max_length", &max) && max > 0)
			dev->code_name_max_length = max;
		else if (strcmp(type, "name_must_be_unique") == 0)
			dev->code_names_unique = true;
	}
}

/* Fill dev from one device object; false if it has no device_id. */
static bool
read_device(const cJSON *obj, SeamDevice *dev)
{
	const cJSON *props;
	const cJSON *meta = NULL;
	const cJSON *location;

	memset(dev, 0, sizeof(*dev));
	if (!cJSON_IsObject(obj))
		return false;
	dev->device_id = get_string(obj, "device_id");
	if (dev->device_id == NULL || dev->device_id[0] == '\0')
		return false;
	dev->device_type = get_string(obj, "device_type");
	props = get_object(obj, "properties");
	if (props != NULL)
		meta = get_object(props, "dormakaba_oracode_metadata");
	dev->is_oracode = (dev->device_type && strcmp(dev->device_type, "dormakaba_oracode_door") == 0) ||
		meta != NULL;
	if (meta != NULL)
	{
		dev->timezone = get_string(meta, "iana_timezone");
		dev->site_name = get_string(meta, "site_name");
		dev->door_name = get_string(meta, "door_name");
		dev->time_slots_json = get_array_text(meta, "predefined_time_slots");
	}
	location = get_object(obj, "location");
	if (dev->timezone == NULL && location != NULL)
		dev->timezone = get_string(location, "timezone");
	if (dev->time_slots_json == NULL)
		dev->time_slots_json = pstrdup("[]");

	/* display_name is required by Seam; fall back to older names rather than none */
	dev->display_name = get_string(obj, "display_name");
	if (dev->display_name == NULL && props != NULL)
		dev->display_name = get_string(props, "name");
	if (dev->display_name == NULL)
		dev->display_name = dev->door_name ? pstrdup(dev->door_name) : pstrdup(dev->device_id);

	dev->can_program_offline_access_codes = get_bool(obj, "can_program_offline_access_codes", false);
	dev->errors_json = get_array_text(obj, "errors");
	if (props != NULL)
		read_code_constraints(cJSON_GetObjectItemCaseSensitive(props, "code_constraints"), dev);
	return true;
}

/*
 * Read one page of /devices/list: {"devices": [...], "pagination": {...}}.
 * *next_cursor is the cursor of the next page, or NULL on the last page
 * (has_next_page false or no pagination object). Devices without a
 * device_id are skipped. display_name is never NULL: it falls back to
 * properties.name, the Oracode door name, then the device id.
 */
bool
seam_parse_devices(const char *body, SeamDevice **devs, int *n, char **next_cursor,
				   const char **problem)
{
	cJSON	   *root = parse_body(body, problem);
	const cJSON *list;
	const cJSON *elem;

	*devs = NULL;
	*n = 0;
	*next_cursor = NULL;
	if (root == NULL)
		return false;
	list = cJSON_GetObjectItemCaseSensitive(root, "devices");
	if (!cJSON_IsArray(list))
	{
		*problem = "The response has no devices array.";
		cJSON_Delete(root);
		return false;
	}
	if (!read_next_cursor(root, next_cursor, problem))
	{
		cJSON_Delete(root);
		return false;
	}
	*devs = palloc0(sizeof(SeamDevice) * Max(cJSON_GetArraySize(list), 1));
	cJSON_ArrayForEach(elem, list)
	{
		if (read_device(elem, &(*devs)[*n]))
			(*n)++;
	}
	cJSON_Delete(root);
	return true;
}

/* TimeSlotLookup over a cJSON object. */
static void
cjson_slot_member(const void *obj, const char *key, TimeSlotMember *m)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive((const cJSON *) obj, key);

	memset(m, 0, sizeof(TimeSlotMember));
	if (v == NULL)
		m->type = TSM_ABSENT;
	else if (cJSON_IsNull(v))
		m->type = TSM_NULL;
	else if (cJSON_IsString(v) && v->valuestring)
	{
		m->type = TSM_STRING;
		m->string = pstrdup(v->valuestring);
	}
	else if (cJSON_IsBool(v))
	{
		m->type = TSM_BOOL;
		m->boolean = cJSON_IsTrue(v);
	}
	else if (cJSON_IsNumber(v))
	{
		m->type = TSM_NUMBER;
		m->number = v->valuedouble;
	}
	else
		m->type = TSM_OTHER;
}

/*
 * Read a predefined_time_slots array (SeamDevice.time_slots_json). Returns
 * false only when json is not an array; each element comes back with
 * problem set when it is unusable, so the caller decides what to do.
 */
bool
seam_parse_time_slots(const char *json, SeamTimeSlot **slots, int *n, const char **problem)
{
	cJSON	   *root = parse_body(json, problem);
	const cJSON *elem;

	*slots = NULL;
	*n = 0;
	if (root == NULL)
		return false;
	if (!cJSON_IsArray(root))
	{
		*problem = "predefined_time_slots is not an array.";
		cJSON_Delete(root);
		return false;
	}
	*slots = palloc0(sizeof(SeamTimeSlot) * Max(cJSON_GetArraySize(root), 1));
	cJSON_ArrayForEach(elem, root)
	{
		SeamTimeSlot *slot = &(*slots)[*n];

		slot->position = ++(*n);
		if (cJSON_IsObject(elem))
			time_slot_read(elem, cjson_slot_member, slot);
		else
			slot->problem = pstrdup("It is not a JSON object.");
	}
	cJSON_Delete(root);
	return true;
}

/* Read exactly ndigits decimal digits at *p into *val; advance on success. */
static bool
read_digits(const char **p, int ndigits, int *val)
{
	int			v = 0;
	int			i;

	for (i = 0; i < ndigits; i++)
	{
		if (!isdigit((unsigned char) (*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += ndigits;
	*val = v;
	return true;
}

/* Read a zone designator: Z, ±HH, ±HHMM or ±HH:MM; seconds east of UTC. */
static bool
read_utc_offset(const char **p, int *offset)
{
	int			sign,
				hh,
				mm = 0;

	if (**p == 'Z' || **p == 'z')
	{
		(*p)++;
		*offset = 0;
		return true;
	}
	if (**p != '+' && **p != '-')
		return false;
	sign = (**p == '-') ? -1 : 1;
	(*p)++;
	if (!read_digits(p, 2, &hh))
		return false;
	if (**p == ':')
	{
		(*p)++;
		if (!read_digits(p, 2, &mm))
			return false;
	}
	else if (isdigit((unsigned char) **p) && !read_digits(p, 2, &mm))
		return false;
	if (hh > 23 || mm > 59)
		return false;
	*offset = sign * (hh * SECS_PER_HOUR + mm * SECS_PER_MINUTE);
	return true;
}

/*
 * Parse an ISO 8601 date-time with a zone designator, as Seam sends them
 * ("2026-12-01T23:30:00.000Z", or with an offset), into a TimestampTz. The
 * arithmetic is done here rather than by timestamptz_in, so the session's
 * TimeZone and DateStyle play no part. A value without a designator is
 * refused: its instant would depend on a guess.
 */
bool
seam_parse_timestamp(const char *s, TimestampTz *out)
{
	const char *p = s;
	int			year,
				month,
				day,
				hour,
				minute,
				second = 0,
				offset;
	int64		frac = 0;
	TimestampTz t;

	if (s == NULL)
		return false;
	while (isspace((unsigned char) *p))
		p++;
	if (!read_digits(&p, 4, &year) || *p++ != '-' || !read_digits(&p, 2, &month) ||
		*p++ != '-' || !read_digits(&p, 2, &day))
		return false;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return false;
	p++;
	if (!read_digits(&p, 2, &hour) || *p++ != ':' || !read_digits(&p, 2, &minute))
		return false;
	if (*p == ':')
	{
		p++;
		if (!read_digits(&p, 2, &second))
			return false;
		if (*p == '.' || *p == ',')
		{
			int64		scale = USECS_PER_SEC;

			p++;
			if (!isdigit((unsigned char) *p))
				return false;
			/* keep microseconds, drop finer digits */
			for (; isdigit((unsigned char) *p); p++)
			{
				if (scale > 1)
				{
					scale /= 10;
					frac += (*p - '0') * scale;
				}
			}
		}
	}
	if (!read_utc_offset(&p, &offset))
		return false;
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		return false;

	if (year < 1 || month < 1 || month > MONTHS_PER_YEAR ||
		day < 1 || day > day_tab[isleap(year)][month - 1] ||
		hour > 23 || minute > 59 || second > 59)
		return false;
	t = ((int64) (date2j(year, month, day) - POSTGRES_EPOCH_JDATE)) * USECS_PER_DAY +
		((int64) hour * SECS_PER_HOUR + minute * SECS_PER_MINUTE + second - offset) * USECS_PER_SEC +
		frac;
	if (!IS_VALID_TIMESTAMP(t))
		return false;
	*out = t;
	return true;
}

/*
 * The instant t as wall-clock time in zone with the zone's UTC offset at
 * that instant, e.g. "2024-09-10T16:00:00-07:00" — the form Seam's guide
 * uses for Oracode codes, so the lock-local time is visible in the request.
 * An offset that is not whole minutes (local mean time, before 1900) is not
 * expressible in ISO 8601, so then the instant is written in UTC instead.
 */
char *
seam_format_local_time(TimestampTz t, const TodZone *zone)
{
	Timestamp	local = zone_utc_to_local(zone, t);
	int64		offset = (local - t) / USECS_PER_SEC;
	struct pg_tm tm;
	fsec_t		fsec;
	char		frac[16] = "";
	char		designator[16];

	if ((local - t) % (SECS_PER_MINUTE * USECS_PER_SEC) != 0)
	{
		local = t;
		offset = 0;
		strcpy(designator, "Z");
	}
	else
	{
		int64		a = Abs(offset);

		snprintf(designator, sizeof(designator), "%c%02d:%02d", offset < 0 ? '-' : '+',
				 (int) (a / SECS_PER_HOUR), (int) ((a % SECS_PER_HOUR) / SECS_PER_MINUTE));
	}
	if (timestamp2tm(local, NULL, &tm, &fsec, NULL, NULL) != 0 ||
		tm.tm_year < 1 || tm.tm_year > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range for Seam")));
	if (fsec != 0)
		snprintf(frac, sizeof(frac), ".%06d", (int) fsec);
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02d%s%s", tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec, frac, designator);
}

/* A server-encoded string as UTF-8 for a request body. */
static char *
to_utf8(const char *s)
{
	return pg_server_to_any(s, strlen(s), PG_UTF8);
}

/* Serialise a request body and free its tree; the text is palloc'd. */
static char *
finish_body(cJSON *obj)
{
	char	   *text = cJSON_PrintUnformatted(obj);

	cJSON_Delete(obj);
	/* with palloc behind cJSON, allocation failures raise instead of returning NULL */
	if (text == NULL)
		elog(ERROR, "could not serialise a Seam request body");
	return text;
}

/*
 * Body of /access_codes/create for an Oracode offline code: the slot's
 * times in the lock's local time with its offset, and the rounding Seam
 * must allow (a daily-bound slot needs 1day: doc/architecture.md, "Talking to Seam").
 */
char *
seam_body_create_code(const char *device_id, const char *name, TimestampTz starts_at,
					  TimestampTz ends_at, const TodZone *zone, bool daily)
{
	cJSON	   *obj = cJSON_CreateObject();

	cJSON_AddStringToObject(obj, "device_id", to_utf8(device_id));
	if (name != NULL)
		cJSON_AddStringToObject(obj, "name", to_utf8(name));
	cJSON_AddStringToObject(obj, "starts_at", seam_format_local_time(starts_at, zone));
	cJSON_AddStringToObject(obj, "ends_at", seam_format_local_time(ends_at, zone));
	cJSON_AddBoolToObject(obj, "is_offline_access_code", true);
	cJSON_AddStringToObject(obj, "max_time_rounding", daily ? "1day" : "1hour");
	return finish_body(obj);
}

/*
 * Body of /access_codes/list for a batch of Seam access code ids: the first
 * page (page_cursor NULL), or the one a previous page's next_page_cursor
 * names, with the same ids.
 */
char *
seam_body_list_codes_by_ids(char **ids, int n, const char *page_cursor)
{
	cJSON	   *obj = cJSON_CreateObject();
	cJSON	   *arr = cJSON_AddArrayToObject(obj, "access_code_ids");
	int			i;

	for (i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(to_utf8(ids[i])));
	if (page_cursor != NULL)
		cJSON_AddStringToObject(obj, "page_cursor", page_cursor);
	return finish_body(obj);
}

/*
 * Body of /access_codes/list for all codes of one device: the first page
 * (page_cursor NULL), or the page a previous one's next_page_cursor names
 * (Seam wants the first page's parameters repeated with it).
 */
char *
seam_body_list_codes_by_device(const char *device_id, const char *page_cursor)
{
	cJSON	   *obj = cJSON_CreateObject();

	cJSON_AddStringToObject(obj, "device_id", to_utf8(device_id));
	if (page_cursor != NULL)
		cJSON_AddStringToObject(obj, "page_cursor", to_utf8(page_cursor));
	return finish_body(obj);
}

/*
 * Body of /devices/list: {} or {"page_cursor": ...}, plus "limit" when
 * limit > 0. No device_type filter: Seam's fake refuses the Oracode type in
 * it, and the caller filters on SeamDevice.is_oracode anyway. Seam requires
 * every page of a listing to repeat the first page's parameters.
 */
char *
seam_body_list_devices_page(const char *page_cursor, int limit)
{
	cJSON	   *obj = cJSON_CreateObject();

	if (limit > 0)
		cJSON_AddNumberToObject(obj, "limit", limit);
	if (page_cursor != NULL)
		cJSON_AddStringToObject(obj, "page_cursor", page_cursor);
	return finish_body(obj);
}

/* Body of /devices/list with Seam's default page size. */
char *
seam_body_list_devices(const char *page_cursor)
{
	return seam_body_list_devices_page(page_cursor, 0);
}

/* A copy of a parsed access code, in the current memory context. */
SeamAccessCode *
seam_access_code_copy(const SeamAccessCode *ac)
{
	SeamAccessCode *c = palloc(sizeof(SeamAccessCode));

#define COPY_STRING(field) (c->field = ac->field ? pstrdup(ac->field) : NULL)
	*c = *ac;
	COPY_STRING(access_code_id);
	COPY_STRING(device_id);
	COPY_STRING(name);
	COPY_STRING(status);
	COPY_STRING(code);
	COPY_STRING(errors_json);
	COPY_STRING(warnings_json);
	COPY_STRING(action_attempt_id);
	COPY_STRING(action_error_type);
	COPY_STRING(action_error_message);
#undef COPY_STRING
	return c;
}
