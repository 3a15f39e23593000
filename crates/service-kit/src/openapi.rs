//! Each service's OpenAPI 3.1 description, generated from its code (utoipa) and served at
//! `GET /openapi.json` to any authenticated caller. The kit adds what every service shares: the
//! service's name and version, the two ways to authenticate, the health endpoints, and the
//! problem+json answers any operation can give.

use crate::problem::{FieldProblem, Problem};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{ResponseBuilder, Responses};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, InfoBuilder, OpenApi, Ref, RefOr};
use utoipa::{OpenApi as _, ToSchema};

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(crate::health::healthz, crate::health::readyz),
    components(schemas(Problem, FieldProblem))
)]
struct Shared;

fn problem_response(description: &str) -> RefOr<utoipa::openapi::response::Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                crate::problem::PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(Ref::from_schema_name(Problem::name()))))
                    .build(),
            )
            .build(),
    )
}

fn add_problems(operation: &mut Operation, authenticated: bool) {
    let responses: &mut Responses = &mut operation.responses;
    let mut add = |status: &str, description: &str| {
        responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| problem_response(description));
    };
    if authenticated {
        add(
            "401",
            "No valid credentials (Bearer token, or Basic with the caller's name)",
        );
        add("403", "The caller lacks the scope this operation requires");
    }
    add(
        "4XX",
        "The request was refused; the problem names the field or parameter",
    );
    add(
        "5XX",
        "A server fault (details in the service's log, never in the body)",
    );
}

/// The service's full description: its own paths and schemas plus the shared parts.
pub fn describe(service_name: &str, mut api: OpenApi) -> OpenApi {
    api.merge(Shared::openapi());
    api.info = InfoBuilder::new()
        .title(format!("ccbridge {service_name}"))
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some(
            "Part of ccbridge (docs/architecture.md). Every operation but /healthz and /readyz needs a \
             caller's token: `Authorization: Bearer <token>`, or HTTP Basic with the caller's name and token. \
             Errors are RFC 9457 problem+json.",
        ))
        .build();
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.add_security_scheme(
        "basic",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Basic).build()),
    );
    api.security = Some(vec![
        SecurityRequirement::new("bearer", Vec::<String>::new()),
        SecurityRequirement::new("basic", Vec::<String>::new()),
    ]);
    for (path, item) in api.paths.paths.iter_mut() {
        let authenticated = !matches!(path.as_str(), "/healthz" | "/readyz");
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            add_problems(operation, authenticated);
            if !authenticated {
                // Probes need no token.
                operation.security = Some(vec![SecurityRequirement::default()]);
            }
        }
    }
    api
}

/// The description as committed under `docs/openapi/` and served: pretty JSON with a final newline.
pub fn to_json(api: &OpenApi) -> String {
    let mut text = api.to_pretty_json().unwrap_or_default();
    text.push('\n');
    text
}
