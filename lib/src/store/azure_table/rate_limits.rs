//! Rate-limit states: one entity per limited thing (`rate:{limited}`, row
//! key `r`), the JSON of its [`RateState`] in its body. A reservation is
//! [`RateState::take`] inside a conditional write; a lost race decides
//! again on what the winner wrote, which is how one limit is shared by
//! every instance of the notifier.

use jiff::Timestamp;

use super::keys::partition;
use super::record::{body, read_modify_write, with_body, Decision};
use super::rest::{Entity, TableClient};
use super::webhook_api::EXPIRES_AT;
use crate::rate::{Ask, Limited, RateState, Rule};
use crate::store::StoreError;

const ROW: &str = "r";

pub async fn reserve(
    table: &TableClient,
    limited: &Limited,
    rule: &Rule,
    ask: &Ask,
) -> Result<Option<Timestamp>, StoreError> {
    if rule.is_unlimited() {
        return Ok(Some(ask.earliest));
    }
    let pk = partition("rate", &limited.to_string());
    read_modify_write(table, &pk, ROW, |found| {
        let mut state: RateState = found.map(body).transpose()?.unwrap_or_default();
        // Decided now, not when the caller asked: a lost race must not
        // hand out a slot that is already in the past.
        let slot = state.take(rule, Timestamp::now(), ask);
        let entity = Entity::new(&pk, ROW).with_i64(EXPIRES_AT, state.expires_at(rule).as_second());
        Ok(Decision::Write(with_body(entity, &state)?, slot))
    })
    .await
}
