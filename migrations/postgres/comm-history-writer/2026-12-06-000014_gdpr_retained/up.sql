-- Legal holds: the rows a purge kept although its FORGET holds them, because a retention covers
-- them (gdpr_participant::retention). They stay held (hidden from every read); this notes that
-- they are kept and on which basis, so that an export still finds them (right of access) and a
-- later purge of the request without the retention erases them.
CREATE TABLE gdpr_retained (
    request_id uuid NOT NULL,
    kind       text NOT NULL,
    row_id     uuid NOT NULL,
    basis      text NOT NULL,
    PRIMARY KEY (request_id, kind, row_id)
);
CREATE INDEX gdpr_retained_row ON gdpr_retained (kind, row_id);
