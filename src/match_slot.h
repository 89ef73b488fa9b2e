/*
 * match_slot.h — shared pieces of the two oracode_match_slot forms.
 */
#ifndef ORACODE_MATCH_SLOT_H
#define ORACODE_MATCH_SLOT_H

#include "postgres.h"
#include "access/tupdesc.h"
#include "fmgr.h"

#include "match.h"

/* What a call site keeps to build result rows cheaply. */
typedef struct MatchOutput
{
	TupleDesc	tupdesc;
	SlotEval   *evals;
	int			evals_len;
} MatchOutput;

extern void match_output_init(MatchOutput *out, FunctionCallInfo fcinfo);
extern SlotEval *match_output_evals(MatchOutput *out, FunctionCallInfo fcinfo, int n);
extern Datum match_output_row(MatchOutput *out, const OracodeSlotSet *set,
							  const OracodeSlot *slot, const SlotEval *ev);
extern bool match_args(FunctionCallInfo fcinfo, TimestampTz *starts_at, TimestampTz *ends_at,
					   int64 *tolerance);
extern void explain_emit(FunctionCallInfo fcinfo, OracodeSlotSet *set, TimestampTz starts_at,
						 TimestampTz ends_at, int64 tolerance);

#endif							/* ORACODE_MATCH_SLOT_H */
