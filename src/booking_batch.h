/*
 * booking_batch.h — the requests of one statement's bookings, buffered and
 * written together at the end of that statement (booking_batch.c).
 */
#ifndef ORACODE_BOOKING_BATCH_H
#define ORACODE_BOOKING_BATCH_H

#include "postgres.h"
#include "nodes/extensible.h"

#include "request.h"

/*
 * Passed by the booking trigger as the context of its oracode_create_code()
 * call: the request may be buffered, if a statement is collecting them.
 */
typedef struct BatchOffer
{
	ExtensibleNode node;
	bool		batch;			/* the request may wait for the end of the statement */
	bool		keep_siblings;	/* a piece of a split stay: supersede no other piece */
} BatchOffer;

extern void booking_batch_install_hooks(void);
extern void booking_batch_offer_init(BatchOffer *offer);
extern BatchOffer *booking_batch_offer(Node *context);
extern bool booking_batch_add(const CodeRequest *req);
extern void booking_batch_flush_ref(text *booking_ref);
extern bool booking_batch_wrote_event(int64 access_code_id);

#endif							/* ORACODE_BOOKING_BATCH_H */
