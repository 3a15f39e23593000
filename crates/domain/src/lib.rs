//! Typed models shared by every ccbridge service.
//!
//! Everything that crosses a service boundary is parsed into these types once, at the edge
//! ("parse, don't validate"): a value of `CustomerId`, `Timestamp` or `CustomerHandle` is valid by
//! construction, so nothing further in must check it again. This crate does no I/O.

mod channel;
mod communication_record;
mod direction;
pub mod gdpr;
mod handle;
mod ids;
mod openapi;
mod support_interaction;
mod support_result;
pub mod text;
mod timestamp;

pub use channel::{Channel, UnknownChannel};
pub use communication_record::{CommunicationRecord, CustomerSource, NewCommunicationRecord, RecordDomain};
pub use direction::{Direction, UnknownDirection};
pub use handle::{CustomerHandle, HandleKey, HandleNormaliser};
pub use ids::{BankUserId, CommunicationRecordId, CustomerId, GenesysUserId, InteractionId, InvalidId};
pub use support_interaction::SupportInteraction;
pub use support_result::{
    AgentOnRecord, InvalidParticipantData, ParticipantData, RecordTitle, SupportResult, WrapupCode,
};
pub use text::{BoundedText, InvalidText, CUT_MARK};
pub use timestamp::{InvalidTimestamp, Timestamp};
