-- The GDPR steps on service-kit's one queue (issue #29): a request is the queue's entry.
-- claimed_until: the end of the lease a worker's claim took (its renewals move next_attempt_at,
-- not this), which fences the claim's settlement, so a worker whose lease another took over
-- settles nothing. retry_since: when the current run of failed attempts began (the budget's
-- start; null while none failed). dead_at, last_error: a request out of its retry budget is a
-- dead letter until an operator retries it; last_error holds fixed words and status codes only.
ALTER TABLE gdpr_requests ADD COLUMN claimed_until text;
ALTER TABLE gdpr_requests ADD COLUMN retry_since text;
ALTER TABLE gdpr_requests ADD COLUMN dead_at text;
ALTER TABLE gdpr_requests ADD COLUMN last_error text;
