/*
 * match.c — pick the time slot for a booking (doc/reference.md, "Matching").
 *
 * For each usable slot the start is the occurrence of its check-in wall time
 * nearest to the booking's start, and the end the occurrence of its
 * check-out wall time nearest to the booking's end; each must lie within the
 * tolerance. Among qualifying slots the least total shift wins, then a window
 * that covers the booking, then the smallest name.
 *
 * Occurrences are computed with the zone's fixed UTC offset when that offset
 * does not change within days of the booking's ends, and with PostgreSQL's own
 * conversion otherwise, so DST days resolve exactly as the server resolves
 * "(date + time) AT TIME ZONE zone".
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "match.h"
#include "oracode.h"

/* An occurrence must be within this of the booking for the fast path to apply. */
#define STABLE_MARGIN	(3 * USECS_PER_DAY)

/* Tolerance in microseconds for a max_time_rounding value; 22023 otherwise. */
int64
match_tolerance(text *max_time_rounding)
{
	char	   *r;

	if (max_time_rounding == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_time_rounding must not be null"),
				 errhint("Use '1hour' (or '1h') or '1day' (or '1d').")));
	r = text_to_cstring(max_time_rounding);
	if (strcmp(r, "1hour") == 0 || strcmp(r, "1h") == 0)
		return USECS_PER_HOUR;
	if (strcmp(r, "1day") == 0 || strcmp(r, "1d") == 0)
		return USECS_PER_DAY;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid max_time_rounding \"%s\"", r),
			 errhint("Use '1hour' (or '1h') or '1day' (or '1d').")));
	return 0;					/* keep compiler quiet */
}

/* Raise 22023 unless the booking is a finite window of at most 744 hours. */
void
match_check_booking(TimestampTz starts_at, TimestampTz ends_at)
{
	if (TIMESTAMP_NOT_FINITE(starts_at) || TIMESTAMP_NOT_FINITE(ends_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("booking times must be finite")));
	if (ends_at <= starts_at)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ends_at must be after starts_at"),
				 /* timestamptz_to_str returns one static buffer: copy each */
				 errdetail("The booking starts at %s and ends at %s.",
						   pstrdup(timestamptz_to_str(starts_at)), pstrdup(timestamptz_to_str(ends_at)))));
	if (ends_at - starts_at > ORACODE_MAX_STAY_USECS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("booking is longer than 31 days"),
				 errdetail("Oracode codes last at most 744 hours; this booking lasts %.2f hours.",
						   (double) (ends_at - starts_at) / USECS_PER_HOUR),
				 errhint("Split the stay into bookings of at most 31 days.")));
}

/* Floor division of a by b (b > 0). */
static inline int64
floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Keep the better of two candidate occurrences of a wall time near x. */
static inline void
consider(TimestampTz cand, TimestampTz x, bool prefer_later,
		 TimestampTz *best, int64 *best_dist, bool *found)
{
	int64		d = cand > x ? cand - x : x - cand;

	if (!*found || d < *best_dist ||
		(d == *best_dist && (prefer_later ? cand > *best : cand < *best)))
	{
		*best = cand;
		*best_dist = d;
		*found = true;
	}
}

/*
 * The occurrence of wall time tod (µs after midnight) in the zone nearest to
 * instant x; on a tie the later one if prefer_later, else the earlier one.
 */
static TimestampTz
nearest_occurrence(SlotZone *sz, TimestampTz x, int64 tod, bool prefer_later)
{
	TimestampTz best = 0;
	int64		best_dist = 0;
	bool		found = false;
	int32		offset;
	TimestampTz until;
	int			k;

	if (!(sz->have_stable && x - STABLE_MARGIN >= sz->stable_lo &&
		  x + STABLE_MARGIN < sz->stable_hi))
	{
		sz->have_stable = zone_stable_offset(&sz->zone, x - STABLE_MARGIN, x + STABLE_MARGIN,
											 &offset, &until);
		if (sz->have_stable)
		{
			sz->stable_lo = x - STABLE_MARGIN;
			sz->stable_hi = until;
			sz->stable_offset = offset;
		}
	}

	if (sz->have_stable)
	{
		/* fast path: one offset covers every candidate, ±1 local day */
		int64		off = (int64) sz->stable_offset * USECS_PER_SEC;
		Timestamp	midnight = floor_div(x + off, USECS_PER_DAY) * USECS_PER_DAY;

		for (k = -1; k <= 1; k++)
			consider(midnight + k * USECS_PER_DAY + tod - off, x, prefer_later,
					 &best, &best_dist, &found);
	}
	else
	{
		/* near a DST change: convert each candidate exactly as PostgreSQL does */
		Timestamp	local = zone_utc_to_local(&sz->zone, x);
		Timestamp	midnight = floor_div(local, USECS_PER_DAY) * USECS_PER_DAY;

		for (k = -2; k <= 2; k++)
			consider(zone_local_to_utc(&sz->zone, midnight + k * USECS_PER_DAY + tod), x,
					 prefer_later, &best, &best_dist, &found);
	}
	return best;
}

/* Weigh one slot against the booking; fills *ev (verdict not yet final). */
static void
evaluate_slot(OracodeSlotSet *set, OracodeSlot *slot, TimestampTz starts_at,
			  TimestampTz ends_at, int64 tolerance, SlotEval *ev)
{
	SlotZone   *sz = &set->zones[slot->zone_index];

	ev->start = nearest_occurrence(sz, starts_at, slot->check_in, false);
	ev->end = nearest_occurrence(sz, ends_at, slot->check_out, true);
	ev->start_shift = ev->start - starts_at;
	ev->end_shift = ev->end - ends_at;

	if (slot->is_one_shot)
		ev->verdict = SLOT_ONE_SHOT;
	else if (slot->is_master)
		ev->verdict = SLOT_MASTER;
	else if (Abs(ev->start_shift) > tolerance)
		ev->verdict = SLOT_START_OUTSIDE;
	else if (Abs(ev->end_shift) > tolerance)
		ev->verdict = SLOT_END_OUTSIDE;
	else if (ev->start >= ev->end)
		ev->verdict = SLOT_EMPTY_WINDOW;
	else if (ev->end - ev->start > ORACODE_MAX_STAY_USECS)
		ev->verdict = SLOT_TOO_LONG;
	else
		ev->verdict = SLOT_QUALIFIES;
}

/* True if qualifying slot a (with eval ea) beats slot b (eval eb) per rule 6. */
static bool
better_slot(const OracodeSlot *a, const SlotEval *ea, const OracodeSlot *b,
			const SlotEval *eb, TimestampTz starts_at, TimestampTz ends_at)
{
	int64		ca = Abs(ea->start_shift) + Abs(ea->end_shift);
	int64		cb = Abs(eb->start_shift) + Abs(eb->end_shift);
	bool		cover_a,
				cover_b;

	if (ca != cb)
		return ca < cb;
	cover_a = ea->start <= starts_at && ea->end >= ends_at;
	cover_b = eb->start <= starts_at && eb->end >= ends_at;
	if (cover_a != cover_b)
		return cover_a;
	return strcmp(a->name, b->name) < 0;
}

/*
 * Weigh every slot of the set against a booking with finite times. Fills evals[i]
 * for each slot (the caller provides set->nslots entries) and returns the
 * index of the chosen slot, or -1 when none qualifies.
 */
int
match_slots(OracodeSlotSet *set, TimestampTz starts_at, TimestampTz ends_at,
			int64 tolerance, SlotEval *evals)
{
	int			best = -1;
	int			i;

	/*
	 * A booking no code can serve (dirty data in a report) is weighed like
	 * any other, so explain shows how far each slot is, but every slot's
	 * verdict says why none can serve it, and none is chosen.
	 */
	if (ends_at <= starts_at || ends_at - starts_at > ORACODE_MAX_STAY_USECS)
	{
		for (i = 0; i < set->nslots; i++)
		{
			evaluate_slot(set, &set->slots[i], starts_at, ends_at, tolerance, &evals[i]);
			evals[i].verdict = ends_at <= starts_at ? SLOT_BOOKING_BACKWARDS : SLOT_TOO_LONG;
		}
		return -1;
	}
	for (i = 0; i < set->nslots; i++)
	{
		evaluate_slot(set, &set->slots[i], starts_at, ends_at, tolerance, &evals[i]);
		if (evals[i].verdict == SLOT_QUALIFIES &&
			(best < 0 || better_slot(&set->slots[i], &evals[i], &set->slots[best],
									 &evals[best], starts_at, ends_at)))
			best = i;
	}
	if (best >= 0)
		evals[best].verdict = SLOT_CHOSEN;
	return best;
}

/* The word oracode_explain_match shows for a verdict. */
const char *
slot_verdict_name(SlotVerdict v)
{
	switch (v)
	{
		case SLOT_CHOSEN:
			return "chosen";
		case SLOT_QUALIFIES:
			return "qualifies, not nearest";
		case SLOT_ONE_SHOT:
			return "one-shot slot";
		case SLOT_MASTER:
			return "master slot";
		case SLOT_START_OUTSIDE:
			return "check-in outside tolerance";
		case SLOT_END_OUTSIDE:
			return "check-out outside tolerance";
		case SLOT_EMPTY_WINDOW:
			return "check-out not after check-in";
		case SLOT_TOO_LONG:
			return "over 31 days";
		case SLOT_BOOKING_BACKWARDS:
			return "booking ends before it starts";
	}
	return "unknown";
}
