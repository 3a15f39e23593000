//! The sweep: reads ended conversations from Genesys' analytics (through genesys-gateway) and
//! ingests each agent's result the webhook never delivered, through the same inbox, so nothing
//! is recorded twice. A sweep is a window of conversation start times, read a page at a time from
//! a cursor kept in the database; one replica sweeps at a time (the `sweeper` lease), the
//! schedule every `ingest.sweep_interval_seconds` from its watermark, operators on demand.
//!
//! A conversation counts once it ended `ingest.sweep_settle_seconds` ago; one read before that
//! holds the watermark at its start, so the next window reads it again.

mod page;
mod store;
mod sweeper;

pub use page::{support_result, ConversationPage, EndedConversation, PAGE_SIZE};
pub use store::{create, create_bounded, get, list, watermark, NewSweep};
pub use sweeper::Sweeper;

use domain::Timestamp;

/// Who asked for a sweep, where it stands and what it counted: the wire types
/// (`contracts::ingest`) are the sweep's own.
pub use contracts::ingest::{SweepCounts, SweepOrigin, SweepStatus};

/// A stored origin or status this version does not know: a corrupt row, an error.
fn unknown(what: &str, value: &str) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(format!("unknown sweep {what} {value:?}").into())
}

/// A sweep: what operators see of it (`contracts::ingest::Sweep`, served as it is) and where the
/// sweeper's cursor stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sweep {
    pub view: contracts::ingest::Sweep,
    /// The detail query page to read next from `view.read_up_to` (from 1).
    pub cursor_page: i32,
    /// Failed reads of the current page in a row.
    pub attempts: i32,
}

impl Sweep {
    /// How far `read_up_to` is through the window.
    fn progress(from: Timestamp, to: Timestamp, read_up_to: Timestamp, status: SweepStatus) -> u8 {
        if status == SweepStatus::Done {
            return 100;
        }
        let whole = (to.as_offset_date_time() - from.as_offset_date_time()).as_seconds_f64();
        let read = (read_up_to.as_offset_date_time() - from.as_offset_date_time()).as_seconds_f64();
        if whole <= 0.0 {
            return 0;
        }
        // Below 100 until done: the last page may still be unread.
        (read / whole * 100.0).clamp(0.0, 99.0) as u8
    }
}
