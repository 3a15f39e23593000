//! What the sweep asks of the inbox: which of the results it found are stored already, and
//! which of those the webhook delivered and the sweep now confirms (once each).

use super::*;

/// A stored result, by its identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownResult {
    pub id: Uuid,
    pub origin: Origin,
    /// The sweep found it before (it recovered it, or confirmed the webhook's delivery).
    pub confirmed: bool,
}

/// A result's identity: conversation, agent, wrap-up code.
pub type ResultIdentity = (InteractionId, GenesysUserId, String);

/// The stored results of these conversations, forgotten ones too (a forget hides a result; the
/// sweep must still know it, or it would bring it back).
pub fn known_results(
    connection: &mut AnyConnection,
    conversations: &[InteractionId],
) -> QueryResult<HashMap<ResultIdentity, KnownResult>> {
    let ids: Vec<DbUuid> = conversations.iter().map(|&id| DbUuid::from(id)).collect();
    let rows: Vec<(DbUuid, DbUuid, DbUuid, String, String, Option<DbTimestamp>)> = dsl::inbox_events
        .filter(dsl::conversation_id.eq_any(&ids))
        .select((
            dsl::id,
            dsl::conversation_id,
            dsl::user_id,
            dsl::wrapup_code,
            dsl::origin,
            dsl::confirmed_at,
        ))
        .load(connection)?;
    rows.into_iter()
        .map(|(id, conversation, user, wrapup_code, origin, confirmed_at)| {
            let origin = Origin::parse(&origin)?;
            Ok((
                (conversation.into(), user.into(), wrapup_code),
                KnownResult {
                    id: id.0,
                    origin,
                    confirmed: origin == Origin::Sweep || confirmed_at.is_some(),
                },
            ))
        })
        .collect()
}

/// Marks results the webhook delivered as confirmed by the sweep; answers how many were not
/// confirmed before.
pub fn confirm(connection: &mut AnyConnection, ids: &[Uuid], now: Timestamp) -> QueryResult<usize> {
    if ids.is_empty() {
        return Ok(0);
    }
    let ids: Vec<DbUuid> = ids.iter().map(|&id| DbUuid(id)).collect();
    diesel::update(dsl::inbox_events)
        .filter(dsl::id.eq_any(&ids))
        .filter(dsl::origin.eq(Origin::Webhook.as_str()))
        .filter(dsl::confirmed_at.is_null())
        .set(dsl::confirmed_at.eq(Some(DbTimestamp::from(now))))
        .execute(connection)
}
