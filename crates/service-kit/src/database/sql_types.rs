//! Column types that are native on PostgreSQL (`uuid`, `timestamptz`) and text on SQLite, so one
//! `schema.rs` serves both backends. The text forms sort like the native ones (lower-case
//! hyphenated UUIDs; fixed-width UTC timestamps), which keyset pagination relies on.

use super::MultiBackend;
use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{HasSqlType, Text};
use diesel::sqlite::Sqlite;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// `uuid` on PostgreSQL, `TEXT` on SQLite.
#[derive(Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(name = "uuid"))]
#[diesel(sqlite_type(name = "Text"))]
pub struct Uuid;

/// `timestamptz` on PostgreSQL, `TEXT` (fixed-width RFC 3339 UTC, microseconds) on SQLite.
#[derive(Debug, Clone, Copy, Default, diesel::sql_types::SqlType, diesel::query_builder::QueryId)]
#[diesel(postgres_type(name = "timestamptz"))]
#[diesel(sqlite_type(name = "Text"))]
pub struct UtcTimestamp;

/// Both forms order as time does (SQLite's text is fixed-width), so `max`/`min` apply.
impl diesel::sql_types::SqlOrd for UtcTimestamp {}

/// A UUID as stored in a [`Uuid`] column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = Uuid)]
pub struct DbUuid(pub uuid::Uuid);

/// An instant as stored in a [`UtcTimestamp`] column, always UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, AsExpression, FromSqlRow)]
#[diesel(sql_type = UtcTimestamp)]
pub struct DbTimestamp(pub OffsetDateTime);

// --- Uuid -------------------------------------------------------------------------------------

impl ToSql<Uuid, Pg> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <uuid::Uuid as ToSql<diesel::sql_types::Uuid, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<Uuid, Pg> for DbUuid {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <uuid::Uuid as FromSql<diesel::sql_types::Uuid, Pg>>::from_sql(value).map(Self)
    }
}

impl ToSql<Uuid, Sqlite> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.hyphenated().to_string());
        Ok(IsNull::No)
    }
}

impl FromSql<Uuid, Sqlite> for DbUuid {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Ok(Self(uuid::Uuid::try_parse(&text)?))
    }
}

impl ToSql<Uuid, MultiBackend> for DbUuid {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((Uuid, self));
        Ok(IsNull::No)
    }
}

impl FromSql<Uuid, MultiBackend> for DbUuid {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, Uuid>()
    }
}

impl HasSqlType<Uuid> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<Uuid>(lookup)
    }
}

// --- UtcTimestamp --------------------------------------------------------------------------------

/// Fixed width, so that text order is time order.
const SQLITE_TIMESTAMP: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

impl DbTimestamp {
    pub fn to_sqlite_text(&self) -> Result<String, time::error::Format> {
        self.0.to_offset(UtcOffset::UTC).format(SQLITE_TIMESTAMP)
    }

    fn from_sqlite_text(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        if let Ok(parsed) = PrimitiveDateTime::parse(
            text.trim_end_matches('Z'),
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]"),
        ) {
            return Ok(Self(parsed.assume_utc()));
        }
        // Written by hand (a data fix, an older row): any RFC 3339 is read correctly.
        Ok(Self(OffsetDateTime::parse(text, &Rfc3339)?.to_offset(UtcOffset::UTC)))
    }
}

impl ToSql<UtcTimestamp, Pg> for DbTimestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <OffsetDateTime as ToSql<diesel::sql_types::Timestamptz, Pg>>::to_sql(&self.0, out)
    }
}

impl FromSql<UtcTimestamp, Pg> for DbTimestamp {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <OffsetDateTime as FromSql<diesel::sql_types::Timestamptz, Pg>>::from_sql(value).map(Self)
    }
}

impl ToSql<UtcTimestamp, Sqlite> for DbTimestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.to_sqlite_text()?);
        Ok(IsNull::No)
    }
}

impl FromSql<UtcTimestamp, Sqlite> for DbTimestamp {
    fn from_sql(value: <Sqlite as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        let text = <String as FromSql<Text, Sqlite>>::from_sql(value)?;
        Self::from_sqlite_text(&text)
    }
}

impl ToSql<UtcTimestamp, MultiBackend> for DbTimestamp {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
        out.set_value((UtcTimestamp, self));
        Ok(IsNull::No)
    }
}

impl FromSql<UtcTimestamp, MultiBackend> for DbTimestamp {
    fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
        bytes.from_sql::<Self, UtcTimestamp>()
    }
}

impl HasSqlType<UtcTimestamp> for MultiBackend {
    fn metadata(lookup: &mut Self::MetadataLookup) -> Self::TypeMetadata {
        MultiBackend::lookup_sql_type::<UtcTimestamp>(lookup)
    }
}

// --- Conversions at the repository edge ----------------------------------------------------------

impl From<domain::Timestamp> for DbTimestamp {
    fn from(value: domain::Timestamp) -> Self {
        Self(value.as_offset_date_time())
    }
}

impl DbTimestamp {
    /// Back to the domain type; a stored value outside years 1..=9999 is a corrupt row.
    pub fn into_domain(self) -> Result<domain::Timestamp, diesel::result::Error> {
        domain::Timestamp::from_offset_date_time(self.0)
            .ok_or_else(|| diesel::result::Error::DeserializationError("stored timestamp is out of range".into()))
    }
}

macro_rules! uuid_conversions {
    ($($id:ty),*) => {$(
        impl From<$id> for DbUuid {
            fn from(value: $id) -> Self {
                Self(*value.as_uuid())
            }
        }
        impl From<DbUuid> for $id {
            fn from(value: DbUuid) -> Self {
                <$id>::from_uuid(value.0)
            }
        }
    )*};
}

uuid_conversions!(
    domain::CustomerId,
    domain::InteractionId,
    domain::GenesysUserId,
    domain::CommunicationRecordId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_text_is_fixed_width_and_sorts_in_time_order() {
        let earlier = DbTimestamp(OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap());
        let later = DbTimestamp(earlier.0 + time::Duration::microseconds(1));
        let (a, b) = (earlier.to_sqlite_text().unwrap(), later.to_sqlite_text().unwrap());
        assert_eq!(a, "2023-11-14T22:13:20.000000Z");
        assert_eq!(a.len(), b.len());
        assert!(a < b);
        assert_eq!(DbTimestamp::from_sqlite_text(&b).unwrap(), later);
    }

    #[test]
    fn sqlite_text_reads_any_rfc3339() {
        let read = DbTimestamp::from_sqlite_text("2026-11-20T10:41:07.512+01:00").unwrap();
        assert_eq!(read.to_sqlite_text().unwrap(), "2026-11-20T09:41:07.512000Z");
    }
}
