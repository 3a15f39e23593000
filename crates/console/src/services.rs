//! What the console reads from the services: their readiness and a few of their metrics (the
//! status page), and their APIs in the signed-in person's name.

use crate::settings::ServiceUrls;
use secrecy::SecretString;
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
    /// gdpr-orchestrator (the GDPR pages).
    pub gdpr: Api,
    /// comm-history-writer (the unassigned communications).
    pub history: Api,
    /// interaction-pairing (assigning a communication is pairing it).
    pub pairing: Api,
    /// result-ingest (the inbox and the sweeps).
    pub ingest: Api,
    /// Each service's `/readyz` and `/metrics`, read without a token, in the status page's order.
    probes: Vec<(&'static str, contracts::Client)>,
}

impl Services {
    /// `ca_bundle`: `console.oidc.ca_bundle`, the bank's CA trusted besides the public roots.
    pub fn new(urls: &ServiceUrls, ca_bundle: &str) -> anyhow::Result<Self> {
        let roots = service_kit::tls::ca_bundle("console.oidc.ca_bundle", ca_bundle).map_err(anyhow::Error::msg)?;
        let http = service_kit::tls::client_builder(&roots)
            // A redirect is never followed: reqwest drops `Authorization` on a redirect to another
            // host but would forward the person's `X-Person-Token`; a service never redirects the
            // console, so a 3xx is only the service's answer.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self {
            gdpr: Api::new(
                "gdpr-orchestrator",
                &http,
                &urls.gdpr_orchestrator_url,
                &urls.gdpr_orchestrator_token,
            ),
            history: Api::new(
                "comm-history-writer",
                &http,
                &urls.comm_history_writer_url,
                &urls.comm_history_writer_token,
            ),
            pairing: Api::new(
                "interaction-pairing",
                &http,
                &urls.interaction_pairing_url,
                &urls.interaction_pairing_token,
            ),
            ingest: Api::new(
                "result-ingest",
                &http,
                &urls.result_ingest_url,
                &urls.result_ingest_token,
            ),
            probes: urls
                .all()
                .into_iter()
                .map(|(name, url)| (name, contracts::Client::plain(http.clone(), url.clone())))
                .collect(),
        })
    }

    fn probe(&self, name: &str) -> Option<&contracts::Client> {
        self.probes.iter().find(|(n, _)| *n == name).map(|(_, client)| client)
    }

    /// Each service's `/readyz`.
    pub async fn readiness(&self) -> Vec<ServiceStatus> {
        let mut statuses = Vec::new();
        for (name, client) in &self.probes {
            let ready = client.get("/readyz").send_empty().await.is_ok();
            statuses.push(ServiceStatus { name, ready });
        }
        statuses
    }

    /// A service's `/metrics` (Prometheus' text format), `None` when it did not answer.
    async fn metrics(&self, name: &str) -> Option<String> {
        let answer = self.probe(name)?.get("/metrics").send_bytes().await.ok()?;
        String::from_utf8(answer.body).ok()
    }

    pub async fn figures(&self) -> Figures {
        let ingest = self.metrics("result-ingest").await;
        let writer = self.metrics("comm-history-writer").await;
        let gdpr = self.metrics("gdpr-orchestrator").await;
        // Each queue's figures as service-kit's queues export them: `ccbridge_queue_*{queue}`.
        let inbox = |metric: &str| {
            ingest
                .as_deref()
                .and_then(|m| sample(m, metric, Some(("queue", "ingest_inbox"))))
        };
        Figures {
            pending_events: inbox("ccbridge_queue_depth"),
            dead_events: inbox("ccbridge_queue_dead"),
            oldest_pending_seconds: inbox("ccbridge_queue_oldest_pending_age_seconds"),
            unassigned_records: writer
                .as_deref()
                .and_then(|m| sample(m, "ccbridge_records_unassigned", None)),
            pending_deliveries: writer
                .as_deref()
                .and_then(|m| sample(m, "ccbridge_queue_depth", Some(("queue", "delivery_outbox")))),
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
        let text = "# HELP x\nccbridge_queue_depth{queue=\"delivery_outbox\",service=\"comm-history-writer\"} 2\n\
                    ccbridge_queue_depth{queue=\"ingest_inbox\",service=\"result-ingest\"} 7\n\
                    ccbridge_queue_depth_other 9\nccbridge_gdpr_overdue_requests 1\n";
        assert_eq!(
            sample(text, "ccbridge_queue_depth", Some(("queue", "ingest_inbox"))),
            Some(7.0)
        );
        assert_eq!(sample(text, "ccbridge_gdpr_overdue_requests", None), Some(1.0));
        assert_eq!(sample(text, "ccbridge_records_unassigned", None), None);
    }
}

/// Why a call in the signed-in person's name gave no answer the page can use.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The call was not sent: the request being handled has no signed-in person to name.
    #[error("the signed-in person cannot be named to the service")]
    Person,
    /// The service's answer, or its absence (the typed client's cases).
    #[error("{service}: {error}")]
    Service {
        service: &'static str,
        #[source]
        error: Box<contracts::ClientError>,
    },
}

impl CallError {
    /// The service's problem body, when it answered with one.
    pub fn problem(&self) -> Option<&contracts::Problem> {
        match self {
            Self::Service { error, .. } => error.problem(),
            Self::Person => None,
        }
    }

    /// The service's answer's status, when it answered.
    pub fn status(&self) -> Option<reqwest::StatusCode> {
        match self {
            Self::Service { error, .. } => error.status(),
            Self::Person => None,
        }
    }
}

/// How a call names the signed-in person of the request being handled: their access token from
/// the identity provider in `X-Person-Token` (the service verifies it and takes the person from
/// it), or, for a person of the development sign-in, their name in `X-Acting-User` (which the
/// services accept in development only). The credentials are those the request's renewal set
/// (renewal.rs); a call made outside a signed-in person's request names nobody and is not sent.
fn delegation() -> Result<crate::renewal::Delegation, CallError> {
    crate::renewal::DELEGATION
        .try_with(Clone::clone)
        .map_err(|_| CallError::Person)
}

/// One service whose API the console's pages call: its name (for pages and logs) and the typed
/// client holding its address and the console's token there.
pub struct Api {
    pub name: &'static str,
    client: contracts::Client,
}

/// A call being built, in the signed-in person's name (named when it is sent: see
/// [`Call::send`]).
pub struct Call {
    service: &'static str,
    request: contracts::client::Request,
}

impl Call {
    pub fn query<Q: serde::Serialize + ?Sized>(self, query: &Q) -> Self {
        Self {
            request: self.request.query(query),
            ..self
        }
    }

    pub fn json<B: serde::Serialize + ?Sized>(self, body: &B) -> Self {
        Self {
            request: self.request.json(body),
            ..self
        }
    }

    /// The request, naming the signed-in person of the request being handled (see
    /// `delegation`: what the service records names them).
    fn in_persons_name(self) -> Result<(&'static str, contracts::client::Request), CallError> {
        use crate::renewal::Delegation;
        let request = match delegation()? {
            Delegation::Token(token) => self.request.person_token(&token),
            Delegation::Development(subject) => self.request.header("X-Acting-User", &subject),
        };
        Ok((self.service, request))
    }

    /// Makes the call: a 2xx body as the contract's `T`.
    pub async fn send<T: serde::de::DeserializeOwned>(self) -> Result<T, CallError> {
        let (service, request) = self.in_persons_name()?;
        request.send::<T>().await.map_err(|e| failed(service, e))
    }

    /// Makes the call: a 2xx answer whose body is not needed.
    pub async fn send_empty(self) -> Result<(), CallError> {
        let (service, request) = self.in_persons_name()?;
        request.send_empty().await.map(drop).map_err(|e| failed(service, e))
    }
}

fn failed(service: &'static str, error: contracts::ClientError) -> CallError {
    CallError::Service {
        service,
        error: Box::new(error),
    }
}

impl Api {
    fn new(name: &'static str, http: &reqwest::Client, base: &url::Url, token: &SecretString) -> Self {
        Self {
            name,
            client: contracts::Client::plain(http.clone(), base.clone()).with_token(token.clone()),
        }
    }

    pub fn get(&self, path: &str) -> Call {
        self.call(reqwest::Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Call {
        self.call(reqwest::Method::POST, path)
    }

    /// A call of `path` as the console, for the signed-in person of the request being handled.
    pub fn call(&self, method: reqwest::Method, path: &str) -> Call {
        Call {
            service: self.name,
            request: self.client.request(method, path),
        }
    }
}

#[cfg(test)]
mod redirect_tests {
    use super::{CallError, Services};
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
    async fn call_at(url: &str, ca_bundle: &str) -> Result<(), CallError> {
        let token = || SecretString::from("caller-token".to_owned());
        let url: url::Url = url.parse().unwrap();
        let services = Services::new(
            &ServiceUrls {
                interaction_pairing_url: url.clone(),
                comm_history_writer_url: url.clone(),
                genesys_gateway_url: url.clone(),
                result_ingest_url: url.clone(),
                gdpr_orchestrator_url: url,
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
                services.gdpr.get("/gdpr/requests").send_empty(),
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
        assert!(
            matches!(&untrusted, Err(CallError::Service { error, .. }) if matches!(**error, contracts::ClientError::Transport { .. })),
            "{untrusted:?}"
        );
        let bundle = ca.pem_file();
        call_at(&front.url, bundle.to_str().unwrap()).await.unwrap();
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
        let answer = call_at(&service_url, "").await;
        // The 3xx is the service's answer, not one to follow: not a 2xx, so no answer the page uses.
        assert_eq!(
            answer.unwrap_err().status(),
            Some(reqwest::StatusCode::TEMPORARY_REDIRECT)
        );
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
