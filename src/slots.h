/*
 * slots.h — a lock's time slots in C form, read from Seam's JSON or the
 * synced table, and matched against bookings (match.c).
 */
#ifndef ORACODE_SLOTS_H
#define ORACODE_SLOTS_H

#include "postgres.h"
#include "utils/jsonb.h"
#include "utils/uuid.h"

#include "tod.h"

/* One distinct zone of a slot set, with the span where its offset is known constant. */
typedef struct SlotZone
{
	TodZone		zone;
	bool		have_stable;
	TimestampTz stable_lo;		/* offset is stable_offset on [stable_lo, stable_hi) */
	TimestampTz stable_hi;
	int32		stable_offset;
} SlotZone;

/* One predefined time slot (an Oracode user level). */
typedef struct OracodeSlot
{
	char	   *name;
	int64		check_in;		/* microseconds after local midnight */
	int64		check_out;
	int			zone_index;		/* the check-in time's zone, in OracodeSlotSet.zones */
	bool		is_24_hour;
	bool		is_biweekly_mode;
	bool		is_one_shot;
	bool		is_master;
	bool		has_user_level_id;
	pg_uuid_t	user_level_id;
} OracodeSlot;

/* What a request needs of the device row (synced slots only; NULL for JSON slots). */
typedef struct OracodeDeviceInfo
{
	char	   *display_name;
	bool		can_program_offline;
	bool		removed;
	TimestampTz removed_at;
	bool		has_code_limit;
	int32		code_limit;
} OracodeDeviceInfo;

typedef struct OracodeSlotSet
{
	OracodeDeviceInfo *device;	/* the device row, for the device_id entry points */
	int			nslots;
	OracodeSlot *slots;
	int			nzones;
	SlotZone   *zones;
} OracodeSlotSet;

extern OracodeSlotSet *slots_from_jsonb(Jsonb *jb);
extern OracodeSlotSet *slots_new(int capacity);
extern int	slots_zone_index(OracodeSlotSet *set, const TodZone *zone);

#endif							/* ORACODE_SLOTS_H */
