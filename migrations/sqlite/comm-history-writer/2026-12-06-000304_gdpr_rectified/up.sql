-- A RECTIFY's rewritten rows here, per request and category (gdpr_participant::rectified): each
-- rectify adds what it rewrote in the transaction that rewrites and answers the totals, so a call
-- asked again (its answer lost) answers the same. Ids and counts only, no personal data.
CREATE TABLE gdpr_rectified (
    request_id TEXT NOT NULL,
    category   TEXT NOT NULL,
    rewritten  BIGINT NOT NULL,
    PRIMARY KEY (request_id, category)
);
