//! Rate-limit states: one item per limited thing (`RATE#{conversation#key}`
//! `RATE#tenant#{tenantId}`, `RATE#global`; sort key `RATE`), the JSON of its
//! [`RateState`] in `body`.
//!
//! A reservation is [`RateState::reserve`] applied to a consistent read and
//! written back only if the item is still at the revision read; a lost race
//! decides again on what the winner wrote ([`Table::read_modify_write`]).
//! That is what shares one limit between concurrent Lambda invocations.
//! Items expire through the table's TTL (`expires_at`) once no window can
//! see their sends.
//!
//! A tenant's item takes every reservation of the bot in that tenant, so its
//! write rate is the tenant's send rate (50 a second by default): well
//! within what one DynamoDB item sustains, with races resolved by the retry
//! above. The optional cap over all tenants (`RATE#global`) takes every
//! reservation; keep it within an item's write rate (about 1,000 a second).

use jiff::Timestamp;

use super::codec::{decode, encode};
use super::keys::{BODY, EXPIRES_AT};
use super::table::{number, Change, Table};
use crate::rate::{Ask, Limited, RateState, Rule};
use crate::store::StoreError;

const RATE_SK: &str = "RATE";

pub async fn reserve(
    table: &Table,
    limited: &Limited,
    rule: &Rule,
    ask: &Ask,
) -> Result<Option<Timestamp>, StoreError> {
    if rule.is_unlimited() {
        return Ok(Some(ask.earliest));
    }
    let pk = format!("RATE#{limited}");
    table
        .read_modify_write(&pk, RATE_SK, |item| {
            let mut state: RateState = item.map(decode).transpose()?.unwrap_or_default();
            // Decided now, not when the caller asked: a lost race must not
            // hand out a slot that is already in the past.
            let slot = state.take(rule, Timestamp::now(), ask);
            let change = Change::default()
                .set(BODY, encode(&state)?)
                .set(EXPIRES_AT, number(state.expires_at(rule).as_second()));
            Ok((slot, Some(change)))
        })
        .await
}
