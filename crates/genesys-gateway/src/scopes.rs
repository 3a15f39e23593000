//! What a caller may do here.

service_kit::scopes! {
    /// `GET /users/{userId}`, `GET /wrapupcodes/{codeId}`.
    GenesysLookup => "genesys:lookup",
    /// `GET /conversations/results`: result-ingest's sweep.
    GenesysConversations => "genesys:conversations",
    /// `GET /conversations/{conversationId}/content`: what was said or written (personal data),
    /// for result-ingest's content queue alone.
    ContentRead => "content:read",
    // `/internal/gdpr/…`: the GDPR participant contract, for gdpr-orchestrator alone.
    ; also gdpr_participant::GdprParticipant
}
