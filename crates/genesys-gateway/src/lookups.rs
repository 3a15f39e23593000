//! Agent and wrap-up code names, cached: they change rarely, and the ingest path must cost
//! Genesys almost nothing. Concurrent misses for one id share one upstream call; a 404 is
//! remembered briefly; system wrap-up codes are answered without asking Genesys at all.

use crate::error::UpstreamError;
use crate::metrics::GatewayMetrics;
use crate::models;
use crate::settings::GenesysSettings;
use crate::upstream::GenesysApi;
use contracts::gateway::{AgentName, WrapupName};
use domain::GenesysUserId;
use moka::future::Cache;
use moka::Expiry;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A user or a wrap-up code as cached: its id and name.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Named {
    id: String,
    name: String,
}

#[derive(Debug, Clone)]
enum Cached {
    Found(Named),
    Missing,
}

struct FoundOrMissingExpiry {
    found: Duration,
    missing: Duration,
}

impl Expiry<String, Cached> for FoundOrMissingExpiry {
    fn expire_after_create(&self, _key: &String, value: &Cached, _created_at: Instant) -> Option<Duration> {
        Some(match value {
            Cached::Found(_) => self.found,
            Cached::Missing => self.missing,
        })
    }
}

pub struct Lookups {
    api: Arc<GenesysApi>,
    users: Cache<String, Cached>,
    wrapup_codes: Cache<String, Cached>,
    metrics: Arc<GatewayMetrics>,
}

impl Lookups {
    pub fn new(api: Arc<GenesysApi>, settings: &GenesysSettings, metrics: Arc<GatewayMetrics>) -> Self {
        let cache = || {
            Cache::builder()
                .max_capacity(settings.cache_max_entries.get())
                .expire_after(FoundOrMissingExpiry {
                    found: Duration::from_secs(settings.cache_ttl_seconds),
                    missing: Duration::from_secs(settings.negative_cache_ttl_seconds),
                })
                .build()
        };
        Self {
            api,
            users: cache(),
            wrapup_codes: cache(),
            metrics,
        }
    }

    /// The user's name, `None` when Genesys does not know the user.
    pub async fn user(&self, id: GenesysUserId) -> Result<Option<AgentName>, UpstreamError> {
        let id = id.to_string();
        let path = format!("/api/v2/users/{id}");
        let found = self
            .cached(&self.users, "users", id, path, |user: models::User| user.name)
            .await?;
        Ok(found.map(|Named { id, name }| AgentName { id, name }))
    }

    /// The wrap-up code's name, `None` when there is no such code.
    pub async fn wrapup_code(&self, code: &str) -> Result<Option<WrapupName>, UpstreamError> {
        if let Some(name) = system_wrapup_code_name(code) {
            self.metrics
                .cache_lookups
                .with_label_values(&["wrapupcodes", "system"])
                .inc();
            return Ok(Some(WrapupName {
                id: code.to_owned(),
                name,
            }));
        }
        // Codes an admin configures are UUIDs; anything else cannot be found, so do not ask.
        let Ok(uuid) = uuid::Uuid::try_parse(code) else {
            return Ok(None);
        };
        let id = uuid.hyphenated().to_string();
        let path = format!("/api/v2/routing/wrapupcodes/{id}");
        let found = self
            .cached(
                &self.wrapup_codes,
                "wrapupcodes",
                id,
                path,
                |code: models::WrapupCode| code.name,
            )
            .await?;
        Ok(found.map(|Named { id, name }| WrapupName { id, name }))
    }

    /// The name `name_of` reads from the model `M` Genesys answers at `path`, cached under `id`.
    async fn cached<M: serde::de::DeserializeOwned>(
        &self,
        cache: &Cache<String, Cached>,
        kind: &'static str,
        id: String,
        path: String,
        name_of: impl FnOnce(M) -> models::NonBlank,
    ) -> Result<Option<Named>, UpstreamError> {
        if let Some(cached) = cache.get(&id).await {
            self.metrics.cache_lookups.with_label_values(&[kind, "hit"]).inc();
            return Ok(found(cached));
        }
        self.metrics.cache_lookups.with_label_values(&[kind, "miss"]).inc();
        // `try_get_with` runs one fetch per key however many callers miss at once; errors are
        // handed to every waiting caller and not cached.
        let fetched = cache
            .try_get_with(id.clone(), async {
                match self.api.get::<M>(kind, &path, &[]).await {
                    Ok(model) => Ok(Cached::Found(Named {
                        id: id.clone(),
                        name: name_of(model).into_inner(),
                    })),
                    Err(UpstreamError::NotFound) => Ok(Cached::Missing),
                    Err(other) => Err(other),
                }
            })
            .await
            .map_err(|shared: Arc<UpstreamError>| (*shared).clone())?;
        Ok(found(fetched))
    }
}

fn found(cached: Cached) -> Option<Named> {
    match cached {
        Cached::Found(named) => Some(named),
        Cached::Missing => None,
    }
}

/// Readable names for the system wrap-up codes Genesys assigns itself (`ININ-…`); `None` for
/// anything else.
pub fn system_wrapup_code_name(code: &str) -> Option<String> {
    const KNOWN: [(&str, &str); 6] = [
        ("ININ-OUTBOUND-PREVIEW-SKIPPED", "Outbound preview skipped"),
        (
            "ININ-OUTBOUND-PREVIEW-ERROR-PHONE-NUMBER",
            "Outbound preview: phone number error",
        ),
        ("ININ-OUTBOUND-INVALID-PHONE-NUMBER", "Outbound: invalid phone number"),
        ("ININ-OUTBOUND-ON-DO-NOT-CALL-LIST", "Outbound: on the do-not-call list"),
        ("ININ-OUTBOUND-DNC-SKIPPED", "Outbound: skipped, do not call"),
        ("ININ-WRAP-UP-TIMEOUT", "Wrap-up timed out"),
    ];
    if let Some((_, name)) = KNOWN.iter().find(|(known, _)| known.eq_ignore_ascii_case(code)) {
        return Some((*name).to_owned());
    }
    let rest = code
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("ININ-"))
        .map(|_| &code[5..])?;
    let words = rest.replace('-', " ").to_lowercase();
    let mut chars = words.chars();
    let first = chars.next()?;
    Some(first.to_uppercase().chain(chars).collect())
}

#[cfg(test)]
mod tests {
    use super::system_wrapup_code_name;

    #[test]
    fn system_codes_get_readable_names() {
        assert_eq!(
            system_wrapup_code_name("ININ-OUTBOUND-PREVIEW-SKIPPED").unwrap(),
            "Outbound preview skipped"
        );
        assert_eq!(
            system_wrapup_code_name("ININ-WRAP-UP-TIMEOUT").unwrap(),
            "Wrap-up timed out"
        );
        assert_eq!(
            system_wrapup_code_name("ININ-OUTBOUND-MACHINE").unwrap(),
            "Outbound machine"
        );
        assert_eq!(system_wrapup_code_name("1ccb1c09-9495-4034-b377-b809f58d17da"), None);
        assert_eq!(system_wrapup_code_name("ININ-"), None);
        assert_eq!(system_wrapup_code_name("ININ"), None);
    }
}
