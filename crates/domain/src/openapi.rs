//! OpenAPI schemas of the domain's value types, so every service describes them alike. They are
//! written by hand because each type (de)serialises through a string it parses.

use crate::channel::Channel;
use crate::communication_record::RecordDomain;
use crate::direction::Direction;
use crate::handle::CustomerHandle;
use crate::ids::{CommunicationRecordId, CustomerId, GenesysUserId, InteractionId};
use crate::text::BoundedText;
use crate::timestamp::Timestamp;
use std::borrow::Cow;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

macro_rules! string_schema {
    ($type:ty, $name:literal, $build:expr) => {
        impl utoipa::PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                let build: fn(ObjectBuilder) -> ObjectBuilder = $build;
                RefOr::T(Schema::Object(build(string()).build()))
            }
        }
        impl utoipa::ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

fn uuid(builder: ObjectBuilder, description: &str) -> ObjectBuilder {
    builder
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .description(Some(description))
        .examples([serde_json::json!("5773eca4-0874-4617-a6e8-85591aa94609")])
}

string_schema!(CustomerId, "CustomerId", |b| uuid(
    b,
    "The bank's customer id (a UUID)."
));
string_schema!(InteractionId, "InteractionId", |b| uuid(
    b,
    "A Genesys interaction (conversation) id (a UUID)."
));
string_schema!(GenesysUserId, "GenesysUserId", |b| uuid(
    b,
    "A Genesys user (agent) id (a UUID)."
));
string_schema!(CommunicationRecordId, "CommunicationRecordId", |b| uuid(
    b,
    "A communication record's id (a UUID)."
));
string_schema!(Timestamp, "Timestamp", |b| b
    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
    .description(Some("RFC 3339, stored in UTC with microsecond precision."))
    .examples([serde_json::json!("2026-11-20T09:41:07.512Z")]));
string_schema!(Direction, "Direction", |b| b
    .enum_values(Some(["INBOUND", "OUTBOUND", "inbound", "outbound"]))
    .description(Some("Accepted in any letter case; answered in upper case.")));
string_schema!(Channel, "Channel", |b| b
    .enum_values(Some(["VOICE", "CHAT", "EMAIL", "SMS", "VIDEO", "OTHER"])));
string_schema!(RecordDomain, "RecordDomain", |b| b
    .pattern(Some("^[A-Z][A-Z0-9_]{0,63}$"))
    .examples([serde_json::json!("OTHER")]));
string_schema!(CustomerHandle, "CustomerHandle", |b| {
    b
    .min_length(Some(1))
    .max_length(Some(512))
    .pattern(Some(r"\S"))
    .description(Some(
        "How the customer was reached, as Genesys wrote it: tel:+420…, sip:+420…@host, an e-mail address. Personal data."
    ))
    .examples([serde_json::json!("tel:+420601123456")])
});

impl<const MIN: usize, const MAX: usize> utoipa::PartialSchema for BoundedText<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        let mut builder = string().max_length(Some(MAX)).description(Some(
            "Trimmed text without control characters other than line breaks and tabs.",
        ));
        if MIN > 0 {
            builder = builder.min_length(Some(MIN)).pattern(Some(r"\S"));
        }
        RefOr::T(Schema::Object(builder.build()))
    }
}

impl<const MIN: usize, const MAX: usize> utoipa::ToSchema for BoundedText<MIN, MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("Text{MIN}To{MAX}"))
    }
}
