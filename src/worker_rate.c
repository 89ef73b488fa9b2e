/*
 * worker_rate.c — how long a 429 to a request that is not a create holds
 * the worker back.
 *
 * Seam limits creates per device: the worker keeps each device within
 * oracode.create_rate_limit by itself (oracode.create_attempts, counted from
 * the moment each create left), and a 429 to a create holds that device
 * alone (oracode.devices.send_after, set where the answer is recorded), so
 * that other locks' creates go on. A 429 to anything else (a code list, for
 * a poll or a reconciliation) is no device's limit: it is the workspace's,
 * or the key's, and then the worker sends and polls nothing at all until
 * its Retry-After has passed, or without one for an exponential delay that
 * grows with each such 429 in a row (2, 4, 8 ... s, at most
 * oracode.retry_max_delay). The hold lives in the worker's memory: a
 * restarted worker asks again, and a new 429 holds it again.
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "guc.h"
#include "shmem.h"
#include "worker_rate.h"

/* No request to the workspace before this moment (0: none held). */
static TimestampTz workspace_until = 0;

/* 429s to the workspace in a row, for the delay when Seam gives no Retry-After. */
static int	workspace_strikes = 0;

/* Heed the answer to a code list (worker.c's answer hook): a 429 holds the workspace. */
void
worker_rate_note(const SeamResponse *resp)
{
	int			secs;

	if (resp->status != 429)
	{
		/* any other answer means the workspace is served again */
		if (resp->status != 0)
			workspace_strikes = 0;
		return;
	}
	workspace_strikes = Min(workspace_strikes + 1, 16);
	secs = resp->retry_after >= 0 ? resp->retry_after
		: Min(1 << workspace_strikes, oracode_retry_max_delay);
	workspace_until = Max(workspace_until,
						  TimestampTzPlusMilliseconds(GetCurrentTimestamp(), (int64) secs * 1000));
	oracode_shared_set_error("Seam answered 429 to a request of the workspace; nothing is sent or polled for %d s",
							 secs);
}

/* Milliseconds until the workspace may be asked again; 0 when it may now. */
long
worker_rate_workspace_wait_ms(void)
{
	TimestampTz now;

	if (workspace_until == 0)
		return 0;
	now = GetCurrentTimestamp();
	if (now >= workspace_until)
	{
		workspace_until = 0;
		return 0;
	}
	return (long) ((workspace_until - now + 999) / 1000);
}
