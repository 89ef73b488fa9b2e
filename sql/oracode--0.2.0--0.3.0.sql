-- oracode 0.2.0 → 0.3.0: the costs a PMS pays (issue 6). The booking
-- trigger and the queueing path of oracode_create_code() move to C, and the
-- worker's claims and records become index-shaped and set-based.
--
-- As with 0.2.0 there is no full script: CREATE EXTENSION oracode runs
-- 0.1.0, 0.1.0 → 0.2.0 and this script.
\echo Use "ALTER EXTENSION oracode UPDATE TO '0.3.0'" to load this file. \quit

---------------------------------------------------------------------------
-- Requests and the booking trigger in C (src/create_code.c, src/booking_trigger.c)
---------------------------------------------------------------------------

---------------------------------------------------------------------------
-- The worker's steps: claims walk an index, results are applied set-based
---------------------------------------------------------------------------
