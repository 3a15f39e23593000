//! The connection pool on both backends (`TEST_DATABASE_URL` picks PostgreSQL): what comes back
//! to it is only handed out again if the next caller can use it as new.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use diesel::connection::{Connection, TransactionManager};
use service_kit::configuration::DatabaseSettings;
use service_kit::database::{AnyConnection, DbPool};

type Transactions = <AnyConnection as Connection>::TransactionManager;

fn open_transactions(connection: &mut AnyConnection) -> Option<u32> {
    Transactions::transaction_manager_status_mut(connection)
        .transaction_depth()
        .unwrap()
        .map(std::num::NonZeroU32::get)
}

#[test]
fn a_connection_returned_inside_a_transaction_is_not_handed_out_again() {
    let database = test_support::TestDatabase::create();
    let pool = DbPool::new(&DatabaseSettings {
        url: service_kit::database::DatabaseUrl::parse(database.url()).unwrap(),
        max_connections: 1,
        connect_timeout_seconds: 5,
        sqlite_busy_timeout_ms: 1000,
        migrate_on_start: false,
        runtime_role: None,
    })
    .unwrap();

    let mut left_open = pool.get_blocking().unwrap();
    Transactions::begin_transaction(&mut left_open).unwrap();
    assert_eq!(open_transactions(&mut left_open), Some(1));
    drop(left_open);

    // The pool's only connection came back mid-transaction: the next caller gets a new one
    // rather than one whose statements would join (and die with) a transaction it never began.
    let mut next = pool.get_blocking().unwrap();
    assert_eq!(open_transactions(&mut next), None);
    assert!(next
        .transaction(|c| diesel::connection::SimpleConnection::batch_execute(c, "SELECT 1"))
        .is_ok());
}
