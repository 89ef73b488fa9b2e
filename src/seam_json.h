/*
 * seam_json.h — Seam's JSON bodies ↔ C structs (cJSON).
 *
 * Parsing is tolerant: unknown fields and unknown enum values are kept or
 * ignored, never fatal; a body that is not the expected JSON makes the parse
 * function return false with a short problem description, never ERROR.
 * Everything is palloc'd in the current memory context (cJSON's allocator is
 * pointed at palloc), so a reset of that context frees it all.
 *
 * Strings in the parsed structs are UTF-8, as Seam sent them (the parsers
 * refuse a body that is not valid UTF-8); convert them with pg_any_to_server
 * before storing them in a database whose encoding is not UTF-8. The body
 * builders take server-encoded strings and send UTF-8.
 */
#ifndef ORACODE_SEAM_JSON_H
#define ORACODE_SEAM_JSON_H

#include "postgres.h"
#include "datatype/timestamp.h"

#include "time_slot.h"
#include "tod.h"

/* An error body {"error":{"type","message"}}; type "non_json" when the body was not JSON. */
typedef struct SeamError
{
	char	   *type;
	char	   *message;
	char	   *validation_errors_json;	/* error.validation_errors as JSON text, NULL if absent */
} SeamError;

typedef struct SeamAccessCode
{
	char	   *access_code_id;
	char	   *device_id;
	char	   *name;			/* NULL if absent */
	char	   *status;			/* Seam's status text as given, e.g. "unset"; NULL if absent */
	char	   *code;			/* the PIN, NULL if absent */
	bool		waiting_for_code;	/* is_waiting_for_code_assignment */
	bool		has_starts_at;
	TimestampTz starts_at;
	bool		has_ends_at;
	TimestampTz ends_at;
	char	   *errors_json;	/* the "errors" array as JSON text, NULL if absent */
	char	   *warnings_json;	/* the "warnings" array as JSON text, NULL if absent */
	/* a create's failed action_attempt ({"status":"error"}): its id and error; all NULL if none */
	char	   *action_attempt_id;
	char	   *action_error_type;	/* "action_attempt_error" when Seam gave none */
	char	   *action_error_message;
} SeamAccessCode;

typedef struct SeamDevice
{
	char	   *device_id;
	char	   *device_type;
	char	   *display_name;
	char	   *timezone;		/* dormakaba_oracode_metadata.iana_timezone, else location.timezone; NULL if none */
	char	   *site_name;		/* NULL if absent */
	char	   *door_name;		/* NULL if absent */
	bool		can_program_offline_access_codes;
	bool		is_oracode;		/* dormakaba_oracode_door, or has dormakaba_oracode_metadata */
	char	   *time_slots_json;	/* predefined_time_slots as JSON text, "[]" if absent */
	char	   *errors_json;	/* device errors array as JSON text, NULL if absent */
	int			code_name_max_length;	/* code_constraints name_length max_length, 0 if none */
	bool		code_names_unique;	/* code_constraints has name_must_be_unique */
} SeamDevice;

extern void seam_json_init(void);

extern bool seam_parse_error(const char *body, SeamError *err);
extern bool seam_parse_access_code(const char *body, SeamAccessCode *ac, const char **problem);
extern SeamAccessCode *seam_access_code_copy(const SeamAccessCode *ac);
extern bool seam_parse_access_codes(const char *body, SeamAccessCode **acs, int *n, char **next_cursor,
									const char **problem);
extern bool seam_parse_devices(const char *body, SeamDevice **devs, int *n, char **next_cursor,
							   const char **problem);
extern bool seam_parse_time_slots(const char *json, SeamTimeSlot **slots, int *n,
								  const char **problem);

extern char *seam_body_create_code(const char *device_id, const char *name, TimestampTz starts_at,
								   TimestampTz ends_at, const TodZone *zone, bool daily);
extern char *seam_body_list_codes_by_ids(char **ids, int n, const char *page_cursor);

/* The most pages of one listing the worker reads before it gives up on it. */
#define SEAM_LIST_MAX_PAGES 50
extern char *seam_body_list_codes_by_device(const char *device_id, const char *page_cursor);
extern char *seam_body_list_devices(const char *page_cursor);
extern char *seam_body_list_devices_page(const char *page_cursor, int limit);
extern char *seam_format_local_time(TimestampTz t, const TodZone *zone);
extern bool seam_parse_timestamp(const char *s, TimestampTz *out);

#endif							/* ORACODE_SEAM_JSON_H */
