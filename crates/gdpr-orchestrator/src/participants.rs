//! Calls to the participants' GDPR contract (`service_kit::gdpr_participant`). Failures are
//! reasons that name the participant and what went wrong, never personal data.

use crate::settings::{GdprSettings, Participant};
use domain::gdpr::{ParticipantAction, ParticipantCall, ParticipantReport};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;
use uuid::Uuid;

pub struct Participants {
    http: reqwest_middleware::ClientWithMiddleware,
    token: SecretString,
}

impl Participants {
    pub fn new(settings: &GdprSettings) -> anyhow::Result<Self> {
        Ok(Self {
            http: service_kit::telemetry::http_client(Duration::from_millis(settings.request_timeout_ms))?,
            token: settings.internal_token.clone(),
        })
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
        let url = format!(
            "{}/internal/gdpr/requests/{request_id}/{}",
            participant.url.trim_end_matches('/'),
            action.as_str()
        );
        let request = self.http.post(url).json(call);
        self.send(participant, request).await
    }

    /// Where external work (Genesys Cloud) submitted under `external_ref` stands.
    pub async fn status(
        &self,
        participant: &Participant,
        request_id: Uuid,
        external_ref: &str,
    ) -> Result<ParticipantReport, String> {
        let url = format!(
            "{}/internal/gdpr/requests/{request_id}",
            participant.url.trim_end_matches('/')
        );
        let request = self.http.get(url).query(&[("ref", external_ref)]);
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
