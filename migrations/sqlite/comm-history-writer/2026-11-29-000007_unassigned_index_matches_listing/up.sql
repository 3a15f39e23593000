-- The unassigned listing and gauges ask for records with no customer, not forgotten and not
-- withdrawn: the partial index says exactly that, so the planner walks it in order and stops at
-- the page's end instead of fetching every unassigned row to filter and sort them.
DROP INDEX communication_records_unassigned;
CREATE INDEX communication_records_unassigned ON communication_records (communicated_at DESC, id DESC)
    WHERE customer_id IS NULL AND forgotten_by IS NULL AND withdrawn_at IS NULL;
