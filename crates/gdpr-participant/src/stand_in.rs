//! A stand-in for gdpr-orchestrator's retentions route (`GET /internal/gdpr/retentions`), on a
//! real server on 127.0.0.1, for the tests of a participant's expiry (feature `stand-in`).

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use contracts::participant::{Retentions, RETENTIONS_ROUTE};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

/// Answers its retentions to the bearer of `token` (503 while it has none), 401 to anyone else.
pub struct Orchestrator {
    pub url: url::Url,
    /// The answers to come, one a call; the last stays.
    answers: Arc<Mutex<VecDeque<Option<Retentions>>>>,
}

impl Orchestrator {
    /// Started on a free port, answering `answer`.
    pub fn start(token: &'static str, answer: Option<Retentions>) -> std::io::Result<Self> {
        let answers = Arc::new(Mutex::new(VecDeque::from([answer])));
        let served = answers.clone();
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let url = url::Url::parse(&format!("http://{}", listener.local_addr()?)).map_err(std::io::Error::other)?;
        let server = HttpServer::new(move || {
            let served = served.clone();
            App::new().route(
                RETENTIONS_ROUTE,
                web::get().to(move |request: HttpRequest| {
                    let bearer = format!("Bearer {token}");
                    let authorised = request
                        .headers()
                        .get("authorization")
                        .is_some_and(|value| value.as_bytes() == bearer.as_bytes());
                    let answer = authorised.then(|| next(&served));
                    async move {
                        match answer {
                            None => HttpResponse::Unauthorized().finish(),
                            Some(Some(body)) => HttpResponse::Ok().json(body),
                            Some(None) => HttpResponse::ServiceUnavailable().finish(),
                        }
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)?
        .run();
        tokio::spawn(server);
        Ok(Self { url, answers })
    }

    /// From now on answers `answer` (`None`: 503).
    pub fn answers(&self, answer: Option<Retentions>) {
        self.answers_in_turn(vec![answer]);
    }

    /// Answers each of `answers` to one call, in turn, then the last to every call after.
    pub fn answers_in_turn(&self, answers: Vec<Option<Retentions>>) {
        *self.answers.lock().unwrap_or_else(PoisonError::into_inner) = answers.into();
    }
}

/// The next answer: the first of those to come, the last staying.
fn next(answers: &Mutex<VecDeque<Option<Retentions>>>) -> Option<Retentions> {
    let mut answers = answers.lock().unwrap_or_else(PoisonError::into_inner);
    if answers.len() > 1 {
        answers.pop_front().flatten()
    } else {
        answers.front().cloned().flatten()
    }
}
