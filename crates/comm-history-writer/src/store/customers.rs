//! Whose records an interaction's communication is: a customer assigned (filling in a record
//! without one, or a copy of their own when the interaction is shared) or withdrawn (a removed
//! pairing), one interaction at a time.

use super::*;

/// Locks the interaction's records until the transaction ends (PostgreSQL; SQLite's write
/// transaction holds its one writer lock already), so assignments and withdrawals of one
/// interaction happen one after the other.
fn lock_interaction(connection: &mut AnyConnection, interaction_id: InteractionId) -> QueryResult<()> {
    use communication_records::dsl;
    if let AnyConnection::Postgresql(pg) = connection {
        dsl::communication_records
            .filter(dsl::interaction_id.eq(DbUuid::from(interaction_id)))
            .select(dsl::id)
            .for_update()
            .load::<DbUuid>(pg)?;
    }
    Ok(())
}

/// The interaction's records every reader sees (not forgotten, not withdrawn).
fn visible_of(
    interaction_id: InteractionId,
) -> communication_records::BoxedQuery<'static, <AnyConnection as diesel::Connection>::Backend> {
    use communication_records::dsl;
    dsl::communication_records
        .filter(dsl::interaction_id.eq(DbUuid::from(interaction_id)))
        .filter(dsl::forgotten_by.is_null())
        .filter(dsl::withdrawn_at.is_null())
        .into_boxed()
}

/// Who the stand-in of a communication was withdrawn by when its customer's own record came back.
const RESTORED: &str = "ccbridge: the customer's own record came back";

/// What an assignment did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Assigned {
    /// Records the customer gained.
    pub gained: usize,
    /// Of those, records participant data had given another customer that a pairing made this
    /// one's (that customer keeps a copy).
    pub conflicts: usize,
}

/// Gives `customer` the interaction's communication: records without a customer get this one;
/// when every record has another customer (the interaction is shared), the customer gets a copy
/// of each (one per root record, `customer_source` as given; a copy withdrawn earlier comes back).
/// A pairing (`pairing`, `late_pairing`) of a root record participant data gave another customer
/// takes it over instead: a customer the back office paired is the record's, the one participant
/// data named gets a copy (counted as a conflict).
/// A record a GDPR forget holds is neither changed nor copied; after a purged forget of the
/// customer reached the communication (`fingerprint`, [`crate::suppression`]), the customer
/// gains nothing (`None`, logged nowhere: the caller counts it). Idempotent; answers how many
/// records the customer gained. With `deliver`,
/// each record created or changed is queued for the communication-history-manager.
pub fn assign_customer(
    connection: &mut AnyConnection,
    interaction_id: InteractionId,
    customer_id: CustomerId,
    source: CustomerSource,
    deliver: bool,
    fingerprint: &str,
) -> QueryResult<Option<Assigned>> {
    service_kit::database::write_transaction(connection, |c| {
        lock_interaction(c, interaction_id)?;
        // After the lock: a purge of the customer's records commits first, or waits for this.
        if crate::suppression::is_suppressed(c, fingerprint)? {
            return Ok(None);
        }
        let holders = crate::suppression::holding(c, fingerprint)?;
        let mut changes = Changes::default();
        let assigned = assign_locked(c, interaction_id, customer_id, source, &mut changes)?;
        hold_as_made(c, &holders, customer_id, &changes)?;
        changes.enqueue(c, deliver)?;
        Ok(Some(assigned))
    })
}

/// While a forget of the customer that reached this communication is not purged (`holders`), the
/// records the customer gains now are held by it as they are made: hidden, not delivered, purged
/// with the rest or let go by its undo (a late pairing still in interaction-pairing's outbox when
/// the forget came).
fn hold_as_made(
    c: &mut AnyConnection,
    holders: &[uuid::Uuid],
    customer_id: CustomerId,
    changes: &Changes,
) -> QueryResult<()> {
    use communication_records::dsl;
    let Some(&first) = holders.first() else {
        return Ok(());
    };
    let touched: Vec<DbUuid> = changes.created.iter().chain(&changes.changed).copied().collect();
    let gained: Vec<DbUuid> = dsl::communication_records
        .filter(dsl::id.eq_any(&touched))
        .filter(dsl::customer_id.eq(DbUuid::from(customer_id)))
        .filter(dsl::forgotten_by.is_null())
        .select(dsl::id)
        .load(c)?;
    if gained.is_empty() {
        return Ok(());
    }
    let rows: Vec<uuid::Uuid> = gained.iter().map(|id| id.0).collect();
    for &holder in holders {
        gdpr_participant::holds::hold(c, holder, crate::gdpr::HOLD_RECORD, &rows)?;
    }
    diesel::update(dsl::communication_records.filter(dsl::id.eq_any(&gained)))
        .set(dsl::forgotten_by.eq(Some(DbUuid(first))))
        .execute(c)
        .map(drop)
}

/// The records an assignment or withdrawal created and changed, for the delivery outbox.
#[derive(Default)]
struct Changes {
    created: Vec<DbUuid>,
    changed: Vec<DbUuid>,
}

impl Changes {
    fn enqueue(self, connection: &mut AnyConnection, deliver: bool) -> QueryResult<()> {
        if !deliver {
            return Ok(());
        }
        let now = Timestamp::now();
        deliveries::enqueue(connection, DeliveryKind::Create, &self.created, now)?;
        deliveries::enqueue(connection, DeliveryKind::Update, &self.changed, now)
    }
}

/// [`assign_customer`]'s work, the interaction locked.
fn assign_locked(
    c: &mut AnyConnection,
    interaction_id: InteractionId,
    customer_id: CustomerId,
    source: CustomerSource,
    changes: &mut Changes,
) -> QueryResult<Assigned> {
    use communication_records::dsl;
    {
        let gained = |gained| Assigned { gained, conflicts: 0 };
        let customer = DbUuid::from(customer_id);
        let has: i64 = visible_of(interaction_id)
            .filter(dsl::customer_id.eq(customer))
            .count()
            .get_result(c)?;
        if has > 0 {
            return Ok(gained(0));
        }
        let unassigned: Vec<RecordRow> = visible_of(interaction_id)
            .filter(dsl::customer_id.is_null())
            .select(RecordRow::as_select())
            .load(c)?;
        if !unassigned.is_empty() {
            let mut gained = 0;
            for row in &unassigned {
                let root = row.root();
                // The customer's own copy of this communication, if it had one before (withdrawn,
                // which left this one unassigned): it comes back, and this stand-in goes.
                let own: Vec<(DbUuid, Option<DbUuid>)> = dsl::communication_records
                    .filter(dsl::id.eq(root).or(dsl::copied_from.eq(root)))
                    .filter(dsl::customer_id.eq(customer))
                    .select((dsl::id, dsl::forgotten_by))
                    .load(c)?;
                if own.is_empty() {
                    gained += diesel::update(dsl::communication_records.find(row.id))
                        .set((
                            dsl::customer_id.eq(Some(customer)),
                            dsl::customer_source.eq(Some(source.as_str())),
                        ))
                        .execute(c)?;
                    changes.changed.push(row.id);
                } else if let Some((own_id, None)) = own.first() {
                    gained += diesel::update(dsl::communication_records.find(*own_id))
                        .set((
                            dsl::withdrawn_at.eq(None::<DbTimestamp>),
                            dsl::withdrawn_by.eq(None::<String>),
                        ))
                        .execute(c)?;
                    // The stand-in is withdrawn, not deleted: the manager may hold it too.
                    diesel::update(dsl::communication_records.find(row.id))
                        .set((
                            dsl::withdrawn_at.eq(Some(DbTimestamp::from(Timestamp::now()))),
                            dsl::withdrawn_by.eq(Some(RESTORED)),
                        ))
                        .execute(c)?;
                    changes.changed.extend([*own_id, row.id]);
                }
                // Otherwise a GDPR forget holds the customer's copy: it stays hidden, and so
                // does the customer's part in the communication.
            }
            return Ok(Assigned { gained, conflicts: 0 });
        }
        let others: Vec<RecordRow> = visible_of(interaction_id).select(RecordRow::as_select()).load(c)?;
        let mut roots: HashMap<DbUuid, &RecordRow> = HashMap::new();
        for row in &others {
            roots.entry(row.root()).or_insert(row);
        }
        let paired = matches!(source, CustomerSource::Pairing | CustomerSource::LatePairing);
        let (mut gained, mut conflicts) = (0, 0);
        for (root, row) in roots {
            let withdrawn: Vec<DbUuid> = dsl::communication_records
                .filter(dsl::id.eq(root).or(dsl::copied_from.eq(root)))
                .filter(dsl::customer_id.eq(customer))
                .filter(dsl::forgotten_by.is_null())
                .filter(dsl::withdrawn_at.is_not_null())
                .select(dsl::id)
                .load(c)?;
            if !withdrawn.is_empty() {
                gained += diesel::update(dsl::communication_records.filter(dsl::id.eq_any(&withdrawn)))
                    .set((
                        dsl::withdrawn_at.eq(None::<DbTimestamp>),
                        dsl::withdrawn_by.eq(None::<String>),
                    ))
                    .execute(c)?;
                changes.changed.extend(withdrawn);
                continue;
            }
            let held: i64 = dsl::communication_records
                .filter(dsl::id.eq(root).or(dsl::copied_from.eq(root)))
                .filter(dsl::customer_id.eq(customer))
                .count()
                .get_result(c)?;
            if held > 0 {
                continue;
            }
            // The root record as participant data named its customer, visible (a forget of
            // that customer holds it otherwise: then it is left as it is).
            let named = others.iter().find(|other| {
                other.id == root && other.customer_source.as_deref() == Some(CustomerSource::ParticipantData.as_str())
            });
            if let (true, Some(named)) = (paired, named) {
                let copy = named.copy_for(
                    named.customer_id.map(CustomerId::from),
                    Some(CustomerSource::ParticipantData),
                    Timestamp::now(),
                );
                diesel::update(dsl::communication_records.find(root))
                    .set((
                        dsl::customer_id.eq(Some(DbUuid::from(customer_id))),
                        dsl::customer_source.eq(Some(source.as_str())),
                    ))
                    .execute(c)?;
                changes.changed.push(root);
                changes.created.push(copy.id);
                diesel::insert_into(communication_records::table)
                    .values(copy)
                    .execute(c)?;
                conflicts += 1;
            } else {
                let copy = row.copy_for(Some(customer_id), Some(source), Timestamp::now());
                changes.created.push(copy.id);
                diesel::insert_into(communication_records::table)
                    .values(copy)
                    .execute(c)?;
            }
            gained += 1;
        }
        Ok(Assigned { gained, conflicts })
    }
}

/// Withdraws `customer`'s records of the interaction (a removed pairing), by `withdrawn_by` at
/// `now`; when no record of the interaction is left visible, the communication is unassigned
/// again (a copy without a customer). Idempotent; answers how many were withdrawn. With
/// `deliver`, each record changed or created is queued for the communication-history-manager.
pub fn withdraw_customer(
    connection: &mut AnyConnection,
    interaction_id: InteractionId,
    customer_id: CustomerId,
    withdrawn_by: &str,
    now: Timestamp,
    deliver: bool,
) -> QueryResult<usize> {
    use communication_records::dsl;
    service_kit::database::write_transaction(connection, |c| {
        lock_interaction(c, interaction_id)?;
        let rows: Vec<RecordRow> = visible_of(interaction_id)
            .filter(dsl::customer_id.eq(DbUuid::from(customer_id)))
            .select(RecordRow::as_select())
            .load(c)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let ids: Vec<DbUuid> = rows.iter().map(|row| row.id).collect();
        let mut changes = Changes {
            created: Vec::new(),
            changed: ids.clone(),
        };
        let withdrawn = diesel::update(dsl::communication_records.filter(dsl::id.eq_any(&ids)))
            .set((
                dsl::withdrawn_at.eq(Some(DbTimestamp::from(now))),
                dsl::withdrawn_by.eq(Some(withdrawn_by)),
            ))
            .execute(c)?;
        let left: i64 = visible_of(interaction_id).count().get_result(c)?;
        if left == 0 {
            let mut roots: HashMap<DbUuid, &RecordRow> = HashMap::new();
            for row in &rows {
                roots.entry(row.root()).or_insert(row);
            }
            let copies: Vec<RecordRow> = roots.values().map(|row| row.copy_for(None, None, now)).collect();
            per_backend!(c, |c| diesel::insert_into(communication_records::table)
                .values(&copies)
                .execute(c))?;
            changes.created = copies.iter().map(|copy| copy.id).collect();
        }
        changes.enqueue(c, deliver)?;
        Ok(withdrawn)
    })
}
