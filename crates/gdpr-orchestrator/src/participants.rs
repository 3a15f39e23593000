//! Calls to the participants' GDPR contract (`contracts::participant`) with `contracts::Client`,
//! each signed with the orchestrator's key. Failures are reasons that name the participant and
//! what went wrong, never personal data.

use crate::settings::{GdprSettings, Participant};
use contracts::participant::{call_path, status_path, ParticipantAction, ParticipantCall, ParticipantReport};
use contracts::{Client, ClientError};
use gdpr_participant::{CallSigner, SIGNATURE_HEADER};
use reqwest::Url;
use std::collections::HashMap;
use std::time::Duration;
use uuid::Uuid;

/// A participant's clients: with the participants' bearer token for its contract, without for
/// its readiness.
struct Target {
    calls: Client,
    readiness: Client,
}

pub struct Participants {
    targets: HashMap<&'static str, Target>,
    signer: CallSigner,
}

impl Participants {
    pub fn new(settings: &GdprSettings) -> anyhow::Result<Self> {
        let http = service_kit::telemetry::http_client(Duration::from_millis(settings.request_timeout_ms.get()))?;
        let mut targets = HashMap::new();
        for participant in settings.participants() {
            let base = Url::parse(participant.url.as_str()).map_err(|_| {
                service_kit::configuration::invalid(&format!("gdpr: the URL of {} is not a URL", participant.name))
            })?;
            let readiness = Client::new(http.clone(), base);
            let calls = readiness.clone().with_token(settings.internal_token.clone());
            targets.insert(participant.name, Target { calls, readiness });
        }
        Ok(Self {
            targets,
            signer: CallSigner::from_setting(&settings.signing_key)
                .map_err(|reason| service_kit::configuration::invalid(&format!("gdpr.signing_key: {reason}")))?,
        })
    }

    /// The clients of `participant`; one the settings do not name is an error, never a default.
    fn target(&self, participant: &Participant) -> Result<&Target, String> {
        self.targets
            .get(participant.name)
            .ok_or_else(|| format!("{} is not among gdpr.order's participants", participant.name))
    }

    /// The signature header of `method` on `relative` (a path with its query, as sent) at
    /// `client`'s service, over `body`: the path signed is the one the participant sees.
    fn signature(&self, client: &Client, method: &str, relative: &str, body: &[u8]) -> Result<String, ClientError> {
        let url = client.url(relative)?;
        let path_and_query = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        Ok(self.signer.sign(method, &path_and_query, body))
    }

    /// Whether the participant answers its readiness check.
    pub async fn ready(&self, participant: &Participant) -> Result<(), String> {
        let target = self.target(participant)?;
        match target.readiness.get("/readyz").send_empty().await {
            Ok(_) => Ok(()),
            Err(error) => match error.status() {
                Some(status) => Err(format!("{} is not ready ({status})", participant.name)),
                None => Err(reason(participant, &error)),
            },
        }
    }

    pub async fn act(
        &self,
        participant: &Participant,
        request_id: Uuid,
        action: ParticipantAction,
        call: &ParticipantCall,
    ) -> Result<ParticipantReport, String> {
        let client = &self.target(participant)?.calls;
        let path = call_path(request_id, action);
        // `json` sends `serde_json::to_vec` of the same call: the bytes signed are the bytes sent.
        let body =
            serde_json::to_vec(call).map_err(|_| format!("{}: the call could not be written", participant.name))?;
        let signature = self
            .signature(client, "POST", &path, &body)
            .map_err(|error| reason(participant, &error))?;
        client
            .post(&path)
            .header(SIGNATURE_HEADER, &signature)
            .json(call)
            .send::<ParticipantReport>()
            .await
            .map_err(|error| reason(participant, &error))
    }

    /// Where external work (Genesys Cloud) submitted under `external_ref` stands.
    pub async fn status(
        &self,
        participant: &Participant,
        request_id: Uuid,
        external_ref: &str,
    ) -> Result<ParticipantReport, String> {
        let client = &self.target(participant)?.calls;
        let path = status_path(request_id);
        // The query (`contracts::participant::StatusQuery`) written once, into the path that is
        // both signed and sent.
        let mut url = client.url(&path).map_err(|error| reason(participant, &error))?;
        url.query_pairs_mut().append_pair("ref", external_ref);
        let query = url
            .query()
            .ok_or_else(|| format!("{}: the status query was not written", participant.name))?;
        let relative = format!("{path}?{query}");
        let signature = self
            .signature(client, "GET", &relative, b"")
            .map_err(|error| reason(participant, &error))?;
        client
            .get(&relative)
            .header(SIGNATURE_HEADER, &signature)
            .send::<ParticipantReport>()
            .await
            .map_err(|error| reason(participant, &error))
    }
}

/// Why a call to `participant` gave no report: its name and what went wrong (a status, a field's
/// path), never a body's values.
fn reason(participant: &Participant, error: &ClientError) -> String {
    let name = participant.name;
    match error {
        ClientError::Transport { timeout: true, .. } => format!("{name} timed out"),
        ClientError::Transport { .. } => format!("{name} is unreachable"),
        ClientError::Problem { status, .. } | ClientError::UnexpectedStatus { status, .. } => {
            format!("{name} answered {status}")
        }
        ClientError::UnexpectedBody { path, category, .. } => {
            format!("{name} answered something unreadable (at {path:?}: {category})")
        }
        ClientError::InvalidPath { .. } => format!("{name}: its URL is not valid"),
        ClientError::InvalidHeader { name: header } => format!("{name}: the {header} header cannot be sent"),
    }
}
