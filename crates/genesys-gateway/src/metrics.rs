//! The gateway's own metrics, served by `/metrics` beside the HTTP ones. Labels are endpoint
//! names, statuses and fixed words, never ids or values.

use prometheus::{IntCounter, IntCounterVec, Opts, Registry};

pub struct GatewayMetrics {
    /// Upstream calls by `endpoint` (`users`, `wrapupcodes`, `token`, `gdpr.*`,
    /// `analytics.conversations.details`, `speechandtextanalytics.transcripturl`, the transcript's
    /// download `speechandtextanalytics.transcript`, `conversations.emails.*`) and `status`
    /// (HTTP status, `timeout` or `error`).
    pub upstream_requests: IntCounterVec,
    /// Cache lookups by `cache` (`users`, `wrapupcodes`, `communications`) and `result` (`hit`,
    /// `miss`, `system`).
    pub cache_lookups: IntCounterVec,
    /// 429 answers met from Genesys.
    pub rate_limited: IntCounter,
    /// OAuth tokens obtained.
    pub token_renewals: IntCounter,
    /// Genesys bodies that do not match their documented model, by `endpoint` (as above) and
    /// `body` (`answer`: a success's body; `error`: an error answer's `ErrorBody`).
    pub unparsed_bodies: IntCounterVec,
    /// Transcripts not downloaded, by `reason`: `scheme` (not https), `host` (off
    /// `content.transcript_hosts`), `form` (a user or a port in the URL), `address` (outside
    /// development: the host is, or resolves to, an address that is not public), `size` (over
    /// `content.transcript_max_bytes`).
    pub transcript_refusals: IntCounterVec,
}

impl GatewayMetrics {
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let upstream_requests = IntCounterVec::new(
            Opts::new(
                "ccbridge_genesys_upstream_requests_total",
                "Calls to Genesys Cloud by endpoint and status",
            ),
            &["endpoint", "status"],
        )?;
        let cache_lookups = IntCounterVec::new(
            Opts::new(
                "ccbridge_genesys_cache_lookups_total",
                "Gateway cache lookups by cache and result",
            ),
            &["cache", "result"],
        )?;
        let rate_limited = IntCounter::new(
            "ccbridge_genesys_rate_limited_total",
            "429 answers met from Genesys Cloud",
        )?;
        let token_renewals = IntCounter::new(
            "ccbridge_genesys_token_renewals_total",
            "OAuth tokens obtained from Genesys Cloud",
        )?;
        let unparsed_bodies = IntCounterVec::new(
            Opts::new(
                "ccbridge_genesys_unparsed_bodies_total",
                "Genesys Cloud bodies that do not match their documented model, by endpoint and body",
            ),
            &["endpoint", "body"],
        )?;
        let transcript_refusals = IntCounterVec::new(
            Opts::new(
                "ccbridge_genesys_transcript_refusals_total",
                "Transcripts not downloaded from the URL Genesys answered, by reason",
            ),
            &["reason"],
        )?;
        registry.register(Box::new(upstream_requests.clone()))?;
        registry.register(Box::new(transcript_refusals.clone()))?;
        registry.register(Box::new(unparsed_bodies.clone()))?;
        registry.register(Box::new(cache_lookups.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(token_renewals.clone()))?;
        Ok(Self {
            upstream_requests,
            cache_lookups,
            rate_limited,
            token_renewals,
            unparsed_bodies,
            transcript_refusals,
        })
    }
}
