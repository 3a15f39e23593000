//! What the console reads from the services: their readiness and a few of their metrics (the
//! status page), and their APIs in the signed-in person's name.

use crate::settings::ServiceUrls;
use std::time::Duration;

/// One service as the status page shows it.
pub struct ServiceStatus {
    pub name: &'static str,
    pub ready: bool,
}

/// The figures the status page shows; `None` where the service did not answer.
#[derive(Default)]
pub struct Figures {
    pub pending_events: Option<f64>,
    pub dead_events: Option<f64>,
    pub oldest_pending_seconds: Option<f64>,
    pub unassigned_records: Option<f64>,
    pub pending_deliveries: Option<f64>,
    pub overdue_requests: Option<f64>,
}

pub struct Services {
    urls: ServiceUrls,
    http: reqwest::Client,
}

impl Services {
    /// `ca_bundle`: `console.oidc.ca_bundle`, the bank's CA trusted besides the public roots.
    pub fn new(urls: ServiceUrls, ca_bundle: &str) -> anyhow::Result<Self> {
        let roots = service_kit::tls::ca_bundle("console.oidc.ca_bundle", ca_bundle).map_err(anyhow::Error::msg)?;
        let http = service_kit::tls::client_builder(&roots)
            // A redirect is never followed: reqwest drops `Authorization` on a redirect to another
            // host but would forward the person's `X-Person-Token`; a service never redirects the
            // console, so a 3xx is only the service's answer.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self { urls, http })
    }

    /// Each service's `/readyz`.
    pub async fn readiness(&self) -> Vec<ServiceStatus> {
        let mut statuses = Vec::new();
        for (name, url) in self.urls.all() {
            let ready = matches!(
                self.http.get(format!("{}/readyz", url.trim_end_matches('/'))).send().await,
                Ok(response) if response.status().is_success()
            );
            statuses.push(ServiceStatus { name, ready });
        }
        statuses
    }

    async fn metrics(&self, url: &str) -> Option<String> {
        let response = self
            .http
            .get(format!("{}/metrics", url.trim_end_matches('/')))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.text().await.ok()
    }

    pub async fn figures(&self) -> Figures {
        let ingest = self.metrics(&self.urls.result_ingest_url).await;
        let writer = self.metrics(&self.urls.comm_history_writer_url).await;
        let gdpr = self.metrics(&self.urls.gdpr_orchestrator_url).await;
        Figures {
            pending_events: ingest
                .as_deref()
                .and_then(|m| sample(m, "ccbridge_ingest_queue_depth", Some(("status", "pending")))),
            dead_events: ingest
                .as_deref()
                .and_then(|m| sample(m, "ccbridge_ingest_queue_depth", Some(("status", "dead")))),
            oldest_pending_seconds: ingest
                .as_deref()
                .and_then(|m| sample(m, "ccbridge_ingest_oldest_pending_age_seconds", None)),
            unassigned_records: writer
                .as_deref()
                .and_then(|m| sample(m, "ccbridge_records_unassigned", None)),
            pending_deliveries: writer
                .as_deref()
                .and_then(|m| sample(m, "ccbridge_records_delivery_pending", None)),
            overdue_requests: gdpr
                .as_deref()
                .and_then(|m| sample(m, "ccbridge_gdpr_overdue_requests", None)),
        }
    }
}

/// The value of `metric` (with `label` = value, when given) in Prometheus' text format.
fn sample(text: &str, metric: &str, label: Option<(&str, &str)>) -> Option<f64> {
    text.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let rest = line.strip_prefix(metric)?;
        let (labels, value) = match rest.strip_prefix('{') {
            Some(rest) => {
                let (labels, value) = rest.split_once('}')?;
                (labels, value)
            }
            None if rest.starts_with(' ') => ("", rest),
            None => return None,
        };
        if let Some((name, wanted)) = label {
            if !labels.split(',').any(|pair| pair == format!("{name}=\"{wanted}\"")) {
                return None;
            }
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::sample;

    #[test]
    fn a_sample_is_found_by_name_and_label() {
        let text = "# HELP x\nccbridge_ingest_queue_depth{service=\"result-ingest\",status=\"dead\"} 2\n\
                    ccbridge_ingest_queue_depth{service=\"result-ingest\",status=\"pending\"} 7\n\
                    ccbridge_ingest_queue_depth_other 9\nccbridge_gdpr_overdue_requests 1\n";
        assert_eq!(
            sample(text, "ccbridge_ingest_queue_depth", Some(("status", "pending"))),
            Some(7.0)
        );
        assert_eq!(sample(text, "ccbridge_gdpr_overdue_requests", None), Some(1.0));
        assert_eq!(sample(text, "ccbridge_records_unassigned", None), None);
    }
}

/// A service's answer to one of the console's calls: its status and JSON body (a problem's
/// `detail` is shown to the person: services never put personal data in it).
pub struct Answer {
    pub status: reqwest::StatusCode,
    pub body: serde_json::Value,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// What a refusal says, for the page.
    pub fn reason(&self) -> String {
        self.body["detail"]
            .as_str()
            .or(self.body["title"].as_str())
            .unwrap_or("the service refused")
            .to_owned()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("{0} is not reachable")]
    Unreachable(&'static str),
    #[error("{0} answered something that is not JSON")]
    NotJson(&'static str),
    #[error("the signed-in person cannot be named to the service")]
    Person,
}

/// How a call names the signed-in person of the request being handled: their access token from
/// the identity provider in `X-Person-Token` (the service verifies it and takes the person from
/// it), or, for a person of the development sign-in, their name in `X-Acting-User` (which the
/// services accept in development only). The credentials are those the request's renewal set
/// (renewal.rs); a call made outside a signed-in person's request names nobody and is not sent.
fn person_header() -> Result<(&'static str, reqwest::header::HeaderValue), CallError> {
    use crate::renewal::{Delegation, DELEGATION};
    let delegation = DELEGATION.try_with(Clone::clone).map_err(|_| CallError::Person)?;
    let (header, value) = match &delegation {
        Delegation::Token(token) => ("X-Person-Token", token.as_str()),
        Delegation::Development(subject) => ("X-Acting-User", subject.as_str()),
    };
    let mut value = reqwest::header::HeaderValue::from_str(value).map_err(|_| CallError::Person)?;
    value.set_sensitive(true);
    Ok((header, value))
}

/// A service whose API the console's pages call.
#[derive(Debug, Clone, Copy)]
pub enum Api {
    GdprOrchestrator,
    CommHistoryWriter,
    InteractionPairing,
    ResultIngest,
}

impl Services {
    /// Calls gdpr-orchestrator as the console, for the request's signed-in person.
    pub async fn gdpr(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, CallError> {
        self.call(Api::GdprOrchestrator, method, path, body).await
    }

    /// Calls a service as the console, for the signed-in person of the request being handled (see
    /// `person_header`: what the service records names them).
    pub async fn call(
        &self,
        api: Api,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Answer, CallError> {
        use secrecy::ExposeSecret;
        let (name, url, token) = match api {
            Api::GdprOrchestrator => (
                "gdpr-orchestrator",
                &self.urls.gdpr_orchestrator_url,
                &self.urls.gdpr_orchestrator_token,
            ),
            Api::CommHistoryWriter => (
                "comm-history-writer",
                &self.urls.comm_history_writer_url,
                &self.urls.comm_history_writer_token,
            ),
            Api::InteractionPairing => (
                "interaction-pairing",
                &self.urls.interaction_pairing_url,
                &self.urls.interaction_pairing_token,
            ),
            Api::ResultIngest => (
                "result-ingest",
                &self.urls.result_ingest_url,
                &self.urls.result_ingest_token,
            ),
        };
        let (header, person) = person_header()?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", url.trim_end_matches('/')))
            .bearer_auth(token.expose_secret())
            .header(header, person);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|_| CallError::Unreachable(name))?;
        let status = response.status();
        let body = response.json().await.map_err(|_| CallError::NotJson(name))?;
        Ok(Answer { status, body })
    }
}

#[cfg(test)]
mod redirect_tests {
    use super::{Api, Services};
    use crate::renewal::{Delegation, DELEGATION};
    use crate::settings::ServiceUrls;
    use secrecy::SecretString;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// Answers one request on `listener` with `answer`; hands back the request's head.
    fn answer_once(listener: TcpListener, answer: String) -> std::thread::JoinHandle<String> {
        std::thread::spawn(move || {
            let Ok((stream, _)) = listener.accept() else {
                return String::new();
            };
            let mut reader = BufReader::new(stream);
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let _ = reader.get_mut().write_all(answer.as_bytes());
            head
        })
    }

    /// The console's call to gdpr-orchestrator at `url`, trusting `ca_bundle` besides the public
    /// roots, for a person whose token is `the-persons-token`.
    async fn call_at(url: &str, ca_bundle: &str) -> Result<super::Answer, super::CallError> {
        let token = || SecretString::from("caller-token".to_owned());
        let services = Services::new(
            ServiceUrls {
                interaction_pairing_url: url.to_owned(),
                comm_history_writer_url: url.to_owned(),
                genesys_gateway_url: url.to_owned(),
                result_ingest_url: url.to_owned(),
                gdpr_orchestrator_url: url.to_owned(),
                gdpr_orchestrator_token: token(),
                comm_history_writer_token: token(),
                interaction_pairing_token: token(),
                result_ingest_token: token(),
            },
            ca_bundle,
        )
        .unwrap();
        DELEGATION
            .scope(
                Delegation::Token("the-persons-token".to_owned()),
                services.call(Api::GdprOrchestrator, reqwest::Method::GET, "/gdpr/requests", None),
            )
            .await
    }

    #[tokio::test]
    async fn a_service_behind_the_banks_ca_is_reached_with_console_oidc_ca_bundle_and_not_without() {
        let ca = test_support::tls::TestCa::new("the bank's CA");
        let service = TcpListener::bind("127.0.0.1:0").unwrap();
        let upstream = service.local_addr().unwrap();
        let answered = answer_once(service, json_answer("200 OK", ""));
        let front = test_support::tls::TlsFront::start(&ca, upstream).await;
        let untrusted = call_at(&front.url, "").await;
        println!("without the bank's CA: {:?}", untrusted.as_ref().err());
        assert!(matches!(untrusted, Err(super::CallError::Unreachable(_))));
        let bundle = ca.pem_file();
        let trusted = call_at(&front.url, bundle.to_str().unwrap()).await.unwrap();
        assert_eq!(trusted.status, reqwest::StatusCode::OK);
        assert!(answered
            .join()
            .unwrap()
            .to_ascii_lowercase()
            .contains("x-person-token: the-persons-token"));
    }

    fn json_answer(status: &str, extra: &str) -> String {
        format!("HTTP/1.1 {status}\r\n{extra}content-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}")
    }

    #[tokio::test]
    async fn a_redirect_to_another_host_is_not_followed_and_the_persons_token_goes_nowhere_else() {
        // The other host: localhost, where the service is 127.0.0.1.
        let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
        let elsewhere_port = elsewhere.local_addr().unwrap().port();
        let service = TcpListener::bind("127.0.0.1:0").unwrap();
        let service_url = format!("http://127.0.0.1:{}", service.local_addr().unwrap().port());
        let redirected = answer_once(
            service,
            json_answer(
                "307 Temporary Redirect",
                &format!("location: http://localhost:{elsewhere_port}/stolen\r\n"),
            ),
        );
        let stolen = answer_once(elsewhere, json_answer("200 OK", ""));
        let answer = call_at(&service_url, "").await.unwrap();
        assert_eq!(answer.status, reqwest::StatusCode::TEMPORARY_REDIRECT);
        let head = redirected.join().unwrap().to_ascii_lowercase();
        assert!(head.contains("x-person-token: the-persons-token"), "{head}");
        // Nobody went to the other host: wake its listener with a plain connection and look.
        drop(std::net::TcpStream::connect(("127.0.0.1", elsewhere_port)).unwrap());
        let elsewhere_saw = stolen.join().unwrap();
        assert!(
            !elsewhere_saw.to_ascii_lowercase().contains("x-person-token"),
            "{elsewhere_saw}"
        );
        assert!(elsewhere_saw.is_empty(), "{elsewhere_saw}");
    }
}
