//! Writes to several items that happen together or not at all
//! (`TransactWriteItems`): a record and the counters that tally it.
//!
//! A transaction is built from the same [`Change`]s and [`Expect`]ations as
//! a single [`Table::write`], so each step counts a revision and can be
//! conditioned on the item being as read. When any step's condition fails,
//! or another transaction holds one of the items (DynamoDB's
//! `TransactionConflict`), nothing is written and [`Outcome::Cancelled`]
//! says which steps' conditions failed: the caller either has its answer
//! there (the subscription already existed) or lost a race and reads and
//! decides again through [`Table::racing`]. Any other cancellation reason
//! (throttling, validation) is a backend error.
//!
//! The SDK gives every transaction an idempotency token
//! (`ClientRequestToken`), so when it retries one whose answer was lost,
//! DynamoDB answers as it did the first time instead of applying it twice.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update as UpdateStep};

use super::keys::{PK, SK};
use super::table::{backend, Change, Expect, Expression, Table, Update};
use crate::store::StoreError;

/// DynamoDB's limit on the steps of one transaction.
const MAX_STEPS: usize = 100;

/// Steps to commit together, in order; [`Outcome::Cancelled`] refers to
/// them by position.
pub struct Transaction<'t> {
    table: &'t Table,
    steps: Vec<TransactWriteItem>,
    /// The first step that could not be built, reported by `commit`.
    invalid: Option<StoreError>,
}

/// What became of a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Committed,
    /// Nothing was written: `failed[n]` says whether step `n`'s condition
    /// failed (all `false`: only a conflict with another transaction).
    Cancelled {
        failed: Vec<bool>,
    },
}

impl Outcome {
    /// Whether step `n`'s condition failed.
    pub fn failed(&self, n: usize) -> bool {
        match self {
            Outcome::Committed => false,
            Outcome::Cancelled { failed } => failed.get(n).copied().unwrap_or(false),
        }
    }
}

impl Table {
    /// Starts a transaction on this table.
    pub fn transaction(&self) -> Transaction<'_> {
        Transaction {
            table: self,
            steps: Vec::new(),
            invalid: None,
        }
    }
}

impl Transaction<'_> {
    /// Adds a [`Table::write`] of `change` to the item, if it is as
    /// `expect`ed.
    pub fn write(&mut self, pk: String, sk: &str, change: &Change, expect: &Expect) -> &mut Self {
        let Update {
            expression,
            update,
            condition,
        } = Update::new(change, expect);
        let step = UpdateStep::builder()
            .table_name(&self.table.name)
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk.to_owned()))
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(expression.names))
            .set_expression_attribute_values(Some(expression.values))
            .build();
        self.push(step.map(|step| TransactWriteItem::builder().update(step).build()))
    }

    /// Adds the deletion of the item, if it is as `expect`ed.
    pub fn delete(&mut self, pk: String, sk: &str, expect: &Expect) -> &mut Self {
        let mut expression = Expression::default();
        let condition = expression.condition(expect);
        let step = Delete::builder()
            .table_name(&self.table.name)
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk.to_owned()))
            .set_condition_expression(condition)
            .set_expression_attribute_names(nonempty(expression.names))
            .set_expression_attribute_values(nonempty(expression.values))
            .build();
        self.push(step.map(|step| TransactWriteItem::builder().delete(step).build()))
    }

    fn push(
        &mut self,
        step: Result<TransactWriteItem, aws_sdk_dynamodb::error::BuildError>,
    ) -> &mut Self {
        match step {
            Ok(step) => self.steps.push(step),
            Err(e) => {
                let error = StoreError::Backend(format!("cannot build a transaction step: {e}"));
                self.invalid.get_or_insert(error);
            }
        }
        self
    }

    /// Writes every step, or none.
    pub async fn commit(self) -> Result<Outcome, StoreError> {
        if let Some(invalid) = self.invalid {
            return Err(invalid);
        }
        if self.steps.len() > MAX_STEPS {
            return Err(StoreError::Backend(format!(
                "a transaction of {} steps is over DynamoDB's limit of {MAX_STEPS}",
                self.steps.len()
            )));
        }
        let result = self
            .table
            .client
            .transact_write_items()
            .set_transact_items(Some(self.steps))
            .send()
            .await;
        let error = match result {
            Ok(_) => return Ok(Outcome::Committed),
            Err(error) => error,
        };
        let reasons: Option<Vec<Option<String>>> = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => Some(
                cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|reason| reason.code().map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        };
        let Some(reasons) = reasons else {
            return Err(backend(error));
        };
        let mut failed = Vec::with_capacity(reasons.len());
        for code in reasons {
            match code.as_deref() {
                None | Some("None") | Some("TransactionConflict") => failed.push(false),
                Some("ConditionalCheckFailed") => failed.push(true),
                Some(_) => return Err(backend(error)),
            }
        }
        Ok(Outcome::Cancelled { failed })
    }
}

/// DynamoDB refuses an empty map of placeholders: none at all, then.
fn nonempty<V>(map: HashMap<String, V>) -> Option<HashMap<String, V>> {
    (!map.is_empty()).then_some(map)
}
