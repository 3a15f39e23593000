//! Calls to the participants' GDPR contract (`gdpr_participant`), each signed with
//! the orchestrator's key. Failures are reasons that name the participant and what went wrong,
//! never personal data.

use crate::settings::{GdprSettings, Participant};
use domain::gdpr::{ParticipantAction, ParticipantCall, ParticipantReport};
use gdpr_participant::{CallSigner, SIGNATURE_HEADER};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use uuid::Uuid;

pub struct Participants {
    http: reqwest_middleware::ClientWithMiddleware,
    token: SecretString,
    signer: CallSigner,
}

impl Participants {
    pub fn new(settings: &GdprSettings) -> anyhow::Result<Self> {
        Ok(Self {
            http: service_kit::telemetry::http_client(Duration::from_millis(settings.request_timeout_ms))?,
            token: settings.internal_token.clone(),
            signer: CallSigner::from_setting(&settings.signing_key)
                .map_err(|reason| service_kit::configuration::invalid(&format!("gdpr.signing_key: {reason}")))?,
        })
    }

    /// `request` (`method` to `url` with `body`) with the orchestrator's signature over them.
    fn signed(
        &self,
        request: reqwest_middleware::RequestBuilder,
        method: &str,
        url: &reqwest::Url,
        body: &[u8],
    ) -> reqwest_middleware::RequestBuilder {
        let path_and_query = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        request.header(SIGNATURE_HEADER, self.signer.sign(method, &path_and_query, body))
    }

    /// Whether the participant answers its readiness check.
    pub async fn ready(&self, participant: &Participant) -> Result<(), String> {
        let url = format!("{}/readyz", participant.url.trim_end_matches('/'));
        match self.http.get(url).send().await {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(format!("{} is not ready ({})", participant.name, response.status())),
            Err(_) => Err(format!("{} is unreachable", participant.name)),
        }
    }

    pub async fn act(
        &self,
        participant: &Participant,
        request_id: Uuid,
        action: ParticipantAction,
        call: &ParticipantCall,
    ) -> Result<ParticipantReport, String> {
        let url = Self::url(
            participant,
            &format!("/internal/gdpr/requests/{request_id}/{}", action.as_str()),
            None,
        )?;
        let body =
            serde_json::to_vec(call).map_err(|_| format!("{}: the call could not be written", participant.name))?;
        let request = self
            .http
            .post(url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.clone());
        let request = self.signed(request, "POST", &url, &body);
        self.send(participant, request).await
    }

    fn url(participant: &Participant, path: &str, external_ref: Option<&str>) -> Result<reqwest::Url, String> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", participant.url.trim_end_matches('/')))
            .map_err(|_| format!("{}: its URL is not valid", participant.name))?;
        if let Some(external_ref) = external_ref {
            url.query_pairs_mut().append_pair("ref", external_ref);
        }
        Ok(url)
    }

    /// Where external work (Genesys Cloud) submitted under `external_ref` stands.
    pub async fn status(
        &self,
        participant: &Participant,
        request_id: Uuid,
        external_ref: &str,
    ) -> Result<ParticipantReport, String> {
        let url = Self::url(
            participant,
            &format!("/internal/gdpr/requests/{request_id}"),
            Some(external_ref),
        )?;
        let request = self.http.get(url.clone());
        let request = self.signed(request, "GET", &url, b"");
        self.send(participant, request).await
    }

    async fn send(
        &self,
        participant: &Participant,
        request: reqwest_middleware::RequestBuilder,
    ) -> Result<ParticipantReport, String> {
        let response = request
            .bearer_auth(self.token.expose_secret())
            .send()
            .await
            .map_err(|e| {
                let what = if e.is_timeout() { "timed out" } else { "is unreachable" };
                format!("{} {what}", participant.name)
            })?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("{} answered {status}", participant.name));
        }
        response
            .json::<ParticipantReport>()
            .await
            .map_err(|_| format!("{} answered something unreadable", participant.name))
    }
}
