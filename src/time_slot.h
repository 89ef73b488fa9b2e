/*
 * time_slot.h — one of Seam's predefined_time_slots objects, read by one
 * set of rules whichever JSON holds it: cJSON for the device sync
 * (seam_json.c), jsonb for the jsonb form of matching (slots.c).
 */
#ifndef ORACODE_TIME_SLOT_H
#define ORACODE_TIME_SLOT_H

#include "postgres.h"

#include "tod.h"

/* One element of predefined_time_slots, checked but not yet stored. */
typedef struct SeamTimeSlot
{
	int			position;		/* 1-based index in Seam's array */
	char	   *name;
	bool		has_prefix;
	int			prefix;
	char	   *check_in_time;	/* a valid Seam TOD when problem is NULL */
	char	   *check_out_time;
	TodValue	check_in;		/* the two parsed, when problem is NULL */
	TodValue	check_out;
	bool		is_24_hour;
	bool		is_biweekly_mode;
	bool		is_one_shot;
	bool		is_master;
	bool		has_user_level_prefix;
	int			user_level_prefix;
	char	   *user_level_id;	/* canonical UUID text, NULL if absent or not a UUID */
	char	   *problem;		/* NULL if usable, else why (a sentence) */
} SeamTimeSlot;

/* What a slot object holds under one key. */
typedef enum TimeSlotMemberType
{
	TSM_ABSENT,
	TSM_NULL,
	TSM_STRING,
	TSM_BOOL,
	TSM_NUMBER,
	TSM_OTHER					/* an object or an array */
} TimeSlotMemberType;

typedef struct TimeSlotMember
{
	TimeSlotMemberType type;
	char	   *string;			/* TSM_STRING: palloc'd, NUL-terminated */
	bool		boolean;		/* TSM_BOOL */
	double		number;			/* TSM_NUMBER */
} TimeSlotMember;

/* Look key up in a slot object of one JSON library. */
typedef void (*TimeSlotLookup) (const void *obj, const char *key, TimeSlotMember *member);

extern void time_slot_read(const void *obj, TimeSlotLookup lookup, SeamTimeSlot *slot);
extern bool seam_is_uuid(const char *s);

#endif							/* ORACODE_TIME_SLOT_H */
