-- A hold's particulars (whose data: subject; why: reason and the release reasons, free text) are
-- kept while it keeps data and gdpr.identifier_retention_days after it stopped (released or
-- ended), then erased by the worker's housekeeping: subject '{}', reasons '' or null, and this
-- set. What stays: its id, reference (the case's file number, named in the audit chain), basis,
-- window, dates and the staff who acted.
ALTER TABLE legal_holds ADD COLUMN identifiers_erased_at TEXT;
