//! Downloading a transcript from its pre-signed URL. The URL comes from an upstream answer, so
//! before anything is sent it must pass `content.transcript_hosts` (and https outside
//! development); the request carries no credential of ours (the URL's signature is its own: the
//! Genesys token never goes to another host), follows no redirect, and reads at most
//! `content.transcript_max_bytes` within `content.transcript_timeout_ms`; outside development it
//! connects to public addresses only ([`crate::content::public_dns`]). Neither the URL (a
//! credential while it is valid) nor what it answers reaches a log.

use crate::content::public_dns::{refused_address, PublicOnly};
use crate::content::settings::{ContentSettings, UrlRefusal};
use crate::error::UpstreamError;
use crate::metrics::GatewayMetrics;
use reqwest::StatusCode;
use service_kit::configuration::Environment;
use std::sync::Arc;
use std::time::Duration;

/// The endpoint word (metrics, logs) of the download.
pub const ENDPOINT: &str = "speechandtextanalytics.transcript";

pub struct TranscriptDownloads {
    http: reqwest::Client,
    settings: ContentSettings,
    environment: Environment,
    metrics: Arc<GatewayMetrics>,
}

impl TranscriptDownloads {
    pub fn new(
        settings: ContentSettings,
        roots: &[reqwest::Certificate],
        environment: Environment,
        metrics: Arc<GatewayMetrics>,
    ) -> anyhow::Result<Self> {
        let builder = service_kit::tls::client_builder(roots)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.transcript_timeout())
            .connect_timeout(settings.transcript_timeout());
        // Development downloads from genesys-sim on loopback; elsewhere only public addresses.
        let builder = if environment == Environment::Development {
            builder
        } else {
            builder.dns_resolver(PublicOnly)
        };
        let http = builder.build()?;
        Ok(Self {
            http,
            settings,
            environment,
            metrics,
        })
    }

    /// The transcript file at `url`, whole; or why not.
    pub async fn fetch(&self, url: &reqwest::Url) -> Result<Vec<u8>, UpstreamError> {
        if let Err(refusal) = self.settings.check_url(url, self.environment) {
            return Err(self.refused(refusal.label(), refusal_detail(refusal, url)));
        }
        let deadline = self.settings.transcript_timeout();
        match tokio::time::timeout(deadline, self.read(url)).await {
            Ok(outcome) => outcome,
            Err(_) => {
                self.count("timeout");
                Err(unavailable(format!(
                    "the transcript did not arrive within {} ms",
                    deadline.as_millis()
                )))
            }
        }
    }

    async fn read(&self, url: &reqwest::Url) -> Result<Vec<u8>, UpstreamError> {
        let limit = self.settings.transcript_max_bytes.get();
        let mut response = match self.http.get(url.clone()).send().await {
            Ok(response) => response,
            Err(error) if refused_address(&error) => {
                return Err(self.refused(
                    UrlRefusal::Address.label(),
                    "the transcript URL's host resolves to an address that is not public".to_owned(),
                ));
            }
            Err(error) => {
                let label = if error.is_timeout() { "timeout" } else { "error" };
                self.count(label);
                return Err(unavailable(format!("the transcript could not be fetched ({label})")));
            }
        };
        let status = response.status();
        self.count(status.as_str());
        if status != StatusCode::OK {
            // An expired or refused URL, or storage failing: a new URL is asked for next time.
            return Err(unavailable(format!("the transcript's storage answered {status}")));
        }
        let announced = response.content_length().unwrap_or(0);
        if usize::try_from(announced).map_or(true, |announced| announced > limit) {
            return Err(self.too_large(limit));
        }
        let mut body = Vec::with_capacity(usize::try_from(announced).unwrap_or(0));
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > limit {
                        return Err(self.too_large(limit));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => return Ok(body),
                Err(_) => return Err(unavailable("the transcript did not arrive whole".to_owned())),
            }
        }
    }

    fn count(&self, status: &str) {
        self.metrics
            .upstream_requests
            .with_label_values(&[ENDPOINT, status])
            .inc();
    }

    fn too_large(&self, limit: usize) -> UpstreamError {
        self.refused(
            "size",
            format!("the transcript is larger than content.transcript_max_bytes ({limit} bytes)"),
        )
    }

    /// Counted by `reason`, logged without the URL, answered as a refusal (502): retrying will
    /// not help until Genesys or the configuration changes.
    fn refused(&self, reason: &'static str, detail: String) -> UpstreamError {
        self.metrics.transcript_refusals.with_label_values(&[reason]).inc();
        tracing::warn!(reason, detail = detail.as_str(), "a transcript was not downloaded");
        UpstreamError::Refused(detail)
    }
}

fn unavailable(reason: String) -> UpstreamError {
    UpstreamError::Unavailable {
        retry_after: Duration::from_secs(5),
        reason,
    }
}

/// What is wrong with the URL, naming its scheme or host (never its path or its signature).
fn refusal_detail(refusal: UrlRefusal, url: &reqwest::Url) -> String {
    match refusal {
        UrlRefusal::Scheme => format!("the transcript URL's scheme {:?} is not https", url.scheme()),
        UrlRefusal::Host => format!(
            "the transcript URL's host {:?} is not on content.transcript_hosts",
            url.host_str().unwrap_or("")
        ),
        UrlRefusal::Form => "the transcript URL names a user or (outside development) a port".to_owned(),
        UrlRefusal::Address => "the transcript URL's host is an address that is not public".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::settings::HostPattern;
    use actix_web::{web, App, HttpResponse, HttpServer};
    use std::num::{NonZeroU64, NonZeroUsize};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A storage on 127.0.0.1: `/chunked/{n}` streams n bytes without a `Content-Length`,
    /// `/moved` redirects to `/chunked/1`; `hits` counts what it served.
    async fn storage(hits: Arc<AtomicUsize>) -> String {
        let server = HttpServer::new(move || {
            let hits = hits.clone();
            App::new()
                .route(
                    "/chunked/{n}",
                    web::get().to({
                        let hits = hits.clone();
                        move |n: web::Path<usize>| {
                            hits.fetch_add(1, Ordering::SeqCst);
                            let chunks = (0..*n).map(|_| Ok::<_, std::io::Error>(web::Bytes::from_static(b"x")));
                            async move {
                                HttpResponse::Ok().streaming(futures_util::stream::iter(chunks.collect::<Vec<_>>()))
                            }
                        }
                    }),
                )
                .route(
                    "/moved",
                    web::get()
                        .to(|| async { HttpResponse::Found().insert_header(("Location", "/chunked/1")).finish() }),
                )
        })
        .workers(1)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let url = format!("http://127.0.0.1:{}", server.addrs()[0].port());
        tokio::spawn(server.run());
        url
    }

    fn downloads(max_bytes: usize) -> (TranscriptDownloads, Arc<GatewayMetrics>) {
        let metrics = Arc::new(GatewayMetrics::register(&prometheus::Registry::new()).unwrap());
        let settings = ContentSettings {
            transcript_hosts: vec![HostPattern::parse("127.0.0.1").unwrap()],
            transcript_max_bytes: NonZeroUsize::new(max_bytes).unwrap(),
            transcript_timeout_ms: NonZeroU64::new(5_000).unwrap(),
            communications_cache_ttl_seconds: 0,
            communications_cache_max_entries: NonZeroU64::MIN,
            budget_percent: std::num::NonZeroU8::MIN,
            email_max_messages: std::num::NonZeroU32::MIN,
        };
        let downloads = TranscriptDownloads::new(settings, &[], Environment::Development, metrics.clone()).unwrap();
        (downloads, metrics)
    }

    #[tokio::test]
    async fn a_body_without_its_length_is_cut_off_at_the_limit_while_it_is_read() {
        let url = storage(Arc::default()).await;
        let (downloads, metrics) = downloads(100);
        let at = |path: &str| reqwest::Url::parse(&format!("{url}{path}")).unwrap();
        assert_eq!(downloads.fetch(&at("/chunked/100")).await.unwrap().len(), 100);
        match downloads.fetch(&at("/chunked/101")).await {
            Err(UpstreamError::Refused(detail)) => assert!(detail.contains("(100 bytes)"), "{detail}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(metrics.transcript_refusals.with_label_values(&["size"]).get(), 1);
    }

    #[tokio::test]
    async fn outside_development_a_host_resolving_to_a_private_address_is_refused_and_counted() {
        let metrics = Arc::new(GatewayMetrics::register(&prometheus::Registry::new()).unwrap());
        let (development, _) = downloads(100);
        let mut settings = development.settings.clone();
        settings.transcript_hosts = vec![HostPattern::parse("localhost").unwrap()];
        let production = TranscriptDownloads::new(settings, &[], Environment::Production, metrics.clone()).unwrap();
        match production
            .fetch(&reqwest::Url::parse("https://localhost/t").unwrap())
            .await
        {
            Err(UpstreamError::Refused(detail)) => assert!(detail.contains("not public"), "{detail}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(metrics.transcript_refusals.with_label_values(&["address"]).get(), 1);
        assert_eq!(
            metrics.upstream_requests.with_label_values(&[ENDPOINT, "error"]).get(),
            0
        );
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let hits = Arc::new(AtomicUsize::new(0));
        let url = storage(hits.clone()).await;
        let (downloads, metrics) = downloads(100);
        let moved = reqwest::Url::parse(&format!("{url}/moved")).unwrap();
        assert!(matches!(
            downloads.fetch(&moved).await,
            Err(UpstreamError::Unavailable { .. })
        ));
        assert_eq!(hits.load(Ordering::SeqCst), 0, "the redirect's target was never asked");
        assert_eq!(metrics.upstream_requests.with_label_values(&[ENDPOINT, "302"]).get(), 1);
    }
}
