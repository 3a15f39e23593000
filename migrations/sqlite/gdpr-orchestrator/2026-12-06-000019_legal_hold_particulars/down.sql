ALTER TABLE legal_holds DROP COLUMN identifiers_erased_at;
