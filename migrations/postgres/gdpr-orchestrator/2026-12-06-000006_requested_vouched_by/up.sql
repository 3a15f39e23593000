-- What vouched for the person who filed a request: 'provider' (a token of the bank's identity
-- provider, verified), 'development' (a bare X-Acting-User, development only) or 'caller' (a
-- client acting as itself). Four eyes compares persons by what vouched for them and their
-- subject, never by a bare name. Null: filed before it was recorded (such a FORGET is not
-- confirmed outside development: it has no verified filer).
ALTER TABLE gdpr_requests ADD COLUMN requested_vouched_by text;
