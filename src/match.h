/*
 * match.h — the booking → time slot rule (doc/reference.md, "Matching").
 */
#ifndef ORACODE_MATCH_H
#define ORACODE_MATCH_H

#include "postgres.h"
#include "utils/timestamp.h"

#include "slots.h"

/* Why a slot was or was not chosen (oracode_explain_match shows these). */
typedef enum SlotVerdict
{
	SLOT_CHOSEN,
	SLOT_QUALIFIES,				/* qualified, but another slot was closer */
	SLOT_ONE_SHOT,
	SLOT_MASTER,
	SLOT_START_OUTSIDE,			/* nearest check-in further than the tolerance */
	SLOT_END_OUTSIDE,			/* nearest check-out further than the tolerance */
	SLOT_EMPTY_WINDOW,			/* start not before end */
	SLOT_TOO_LONG,				/* over 744 hours (the slot's window, or the booking itself) */
	SLOT_BOOKING_BACKWARDS		/* the booking ends before it starts (or when it starts) */
} SlotVerdict;

/* One slot weighed against one booking. */
typedef struct SlotEval
{
	TimestampTz start;			/* nearest check-in occurrence to starts_at */
	TimestampTz end;			/* nearest check-out occurrence to ends_at */
	int64		start_shift;	/* start - starts_at, microseconds */
	int64		end_shift;		/* end - ends_at */
	SlotVerdict verdict;
} SlotEval;

extern int64 match_tolerance(text *max_time_rounding);
extern void match_check_booking(TimestampTz starts_at, TimestampTz ends_at);
extern int	match_slots(OracodeSlotSet *set, TimestampTz starts_at, TimestampTz ends_at,
						int64 tolerance, SlotEval *evals);
extern const char *slot_verdict_name(SlotVerdict v);

#endif							/* ORACODE_MATCH_H */
