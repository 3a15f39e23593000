-- A record's copies by their root, whichever customer they name (a copy without one is an
-- interaction unassigned again): the body's and the pairing's `id = root OR copied_from = root`
-- reads both branches by index (communication_records_copies covers copies naming a customer only).
CREATE INDEX communication_records_copied_from ON communication_records (copied_from)
    WHERE copied_from IS NOT NULL;
