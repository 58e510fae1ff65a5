//! The few DynamoDB operations the store is built from, with the SDK's
//! errors turned into [`StoreError`]s.
//!
//! Every write is an `UpdateItem` that bumps the item's revision ([`REV`]),
//! guarded by an [`Expect`]ation. That gives the store one primitive for all
//! of its atomic operations: a write that happens only if the item is still
//! as the caller last saw it. [`Table::read_modify_write`] builds the
//! optimistic loop on top of it (read, decide, write if unchanged, else
//! read again), which is how rules that need the current record (claiming a
//! delivery, moving a job) run "inside" a conditional write.
//!
//! Writes that must move more than one item at once (a record and the
//! counters that tally it) go through [`super::transaction`], which builds
//! its steps from the same [`Change`]s and [`Expect`]ations and retries
//! through the same loop ([`Table::racing`]).

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use aws_sdk_dynamodb::Client;
use rand::RngExt;

use super::codec::count;
use super::keys::{Index, EXPIRES_AT, PK, REV, SK};
use crate::store::StoreError;

pub type Item = HashMap<String, AttributeValue>;

/// How often [`Table::racing`] (and [`Table::read_modify_write`]) tries
/// again after losing a race before it gives up. Each lost race means
/// another writer succeeded, so this bounds waiting on a hot item, not
/// correctness.
const MAX_RACES: u32 = 20;

/// What a write expects to find.
#[derive(Debug, Clone)]
pub enum Expect {
    /// Nothing: write whatever is there.
    Anything,
    /// No item with this key.
    Absent,
    /// No item with this key, or one whose `expires_at` (epoch seconds)
    /// is at or before this second: expired, though the table's TTL, which
    /// may take days, has not deleted it yet.
    AbsentOrExpired(i64),
    /// Some item with this key, whatever it holds.
    Present,
    /// The item at exactly this revision (as read).
    Revision(u64),
    /// An item whose attributes have these values.
    Values(Vec<(&'static str, AttributeValue)>),
}

impl Expect {
    /// What a write that decided on `current` (as read; `None`: there was no
    /// item) must find: the item unchanged since.
    pub fn unchanged(current: Option<&Item>) -> Result<Expect, StoreError> {
        Ok(match current {
            None => Expect::Absent,
            Some(item) => Expect::Revision(revision(item)?),
        })
    }
}

/// The attributes one write sets, adds to and removes.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub set: Vec<(&'static str, AttributeValue)>,
    /// Numbers added to (an absent attribute counts as 0): counters.
    pub add: Vec<(&'static str, i64)>,
    pub remove: Vec<&'static str>,
}

impl Change {
    pub fn set(mut self, name: &'static str, value: AttributeValue) -> Self {
        self.set.push((name, value));
        self
    }

    /// Sets `name` to `value` if there is one, else removes it.
    pub fn set_or_remove(self, name: &'static str, value: Option<AttributeValue>) -> Self {
        match value {
            Some(value) => self.set(name, value),
            None => self.remove(name),
        }
    }

    pub fn remove(mut self, name: &'static str) -> Self {
        self.remove.push(name);
        self
    }

    /// Adds `n` (which may be negative) to the number `name`.
    pub fn add(mut self, name: &'static str, n: i64) -> Self {
        self.add.push((name, n));
        self
    }
}

/// One write's expressions: what it changes and what it expects.
pub(super) struct Update {
    pub expression: Expression,
    pub update: String,
    pub condition: Option<String>,
}

impl Update {
    /// The `UpdateItem` that applies `change`, counts a revision, and
    /// happens only if the item is as `expect`ed.
    pub fn new(change: &Change, expect: &Expect) -> Update {
        let mut expression = Expression::default();
        let sets: Vec<String> = change
            .set
            .iter()
            .map(|(name, value)| expression.compare(name, "=", value.clone()))
            .collect();
        let removes: Vec<String> = change.remove.iter().map(|n| expression.name(n)).collect();
        let mut adds = vec![format!(
            "{} {}",
            expression.name(REV),
            expression.value(number(1))
        )];
        for (name, n) in &change.add {
            adds.push(format!(
                "{} {}",
                expression.name(name),
                expression.value(number(n))
            ));
        }
        let mut update = format!("ADD {}", adds.join(", "));
        if !sets.is_empty() {
            update.push_str(&format!(" SET {}", sets.join(", ")));
        }
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let condition = expression.condition(expect);
        Update {
            expression,
            update,
            condition,
        }
    }
}

/// Where a query reads and which sort keys it wants.
#[derive(Debug, Clone)]
pub struct Query {
    /// `None`: the table itself.
    pub index: Option<Index>,
    pub partition: String,
    pub range: Range,
    /// Ascending sort key order, else descending.
    pub forward: bool,
}

#[derive(Debug, Clone)]
pub enum Range {
    All,
    /// Sort keys greater than this.
    After(String),
    /// Sort keys less than this.
    Before(String),
    BeginsWith(String),
}

impl Query {
    fn key_names(&self) -> (&'static str, &'static str) {
        self.index.map_or((PK, SK), |index| (index.pk, index.sk))
    }
}

/// One table, and the client that reaches it.
#[derive(Clone)]
pub struct Table {
    pub(super) client: Client,
    pub(super) name: String,
}

impl Table {
    pub fn new(client: Client, name: String) -> Self {
        Self { client, name }
    }

    /// Reads one item, strongly consistent.
    pub async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.item)
    }

    /// Applies `change` to the item (creating it if it is absent and `expect`
    /// allows) and counts a revision. Returns `false`, writing nothing, when
    /// the item is not as expected.
    pub async fn write(
        &self,
        pk: String,
        sk: &str,
        change: &Change,
        expect: &Expect,
    ) -> Result<bool, StoreError> {
        let Update {
            expression,
            update,
            condition,
        } = Update::new(change, expect);
        let result = self
            .client
            .update_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk.to_owned()))
            .update_expression(update)
            .set_condition_expression(condition)
            .set_expression_attribute_names(Some(expression.names))
            .set_expression_attribute_values(Some(expression.values))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(backend(e)),
        }
    }

    /// Reads the item, asks `decide` what to do about it, and writes the
    /// change it returns only if the item has not changed since the read;
    /// when it has, reads and decides again. `decide` returns its answer and
    /// the change to make, if any.
    pub async fn read_modify_write<T>(
        &self,
        pk: &str,
        sk: &str,
        mut decide: impl FnMut(Option<&Item>) -> Result<(T, Option<Change>), StoreError>,
    ) -> Result<T, StoreError> {
        for race in 0..MAX_RACES {
            let current = self.get(pk.to_owned(), sk).await?;
            let (answer, change) = decide(current.as_ref())?;
            let Some(change) = change else {
                return Ok(answer);
            };
            let expect = Expect::unchanged(current.as_ref())?;
            if self.write(pk.to_owned(), sk, &change, &expect).await? {
                return Ok(answer);
            }
            lost_race(race).await;
        }
        Err(gave_up(pk))
    }

    /// Runs `attempt` until it has an answer: `None` means it lost a race
    /// (another writer changed what it read), so it waits a jittered moment
    /// for the winner to finish and tries again, at most [`MAX_RACES`]
    /// times. `what` names the contended item in the error.
    pub async fn racing<T, F>(
        &self,
        what: &str,
        mut attempt: impl FnMut() -> F,
    ) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<Option<T>, StoreError>>,
    {
        for race in 0..MAX_RACES {
            if let Some(answer) = attempt().await? {
                return Ok(answer);
            }
            lost_race(race).await;
        }
        Err(gave_up(what))
    }

    /// Reads a few items by key in one request, strongly consistent: those
    /// that exist, in no particular order. At most 100 keys.
    pub async fn get_many(&self, keys: &[(String, &str)]) -> Result<Vec<Item>, StoreError> {
        let keys: Vec<Item> = keys
            .iter()
            .map(|(pk, sk)| {
                Item::from([
                    (PK.to_owned(), AttributeValue::S(pk.clone())),
                    (SK.to_owned(), AttributeValue::S((*sk).to_owned())),
                ])
            })
            .collect();
        let mut wanted = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?,
        );
        let mut items = Vec::new();
        for race in 0..MAX_RACES {
            let Some(request) = wanted.take() else {
                return Ok(items);
            };
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.name, request)
                .send()
                .await
                .map_err(backend)?;
            items.extend(
                output
                    .responses
                    .and_then(|mut tables| tables.remove(&self.name))
                    .unwrap_or_default(),
            );
            wanted = output
                .unprocessed_keys
                .and_then(|mut tables| tables.remove(&self.name))
                .filter(|rest| !rest.keys.is_empty());
            if wanted.is_some() {
                // DynamoDB was busy: back off before asking for the rest.
                lost_race(race).await;
            }
        }
        Err(StoreError::Backend(format!(
            "DynamoDB left keys of {} unread {MAX_RACES} times",
            self.name
        )))
    }

    /// Starts reading a query page by page.
    pub fn pages(&self, query: Query) -> Pages<'_> {
        Pages {
            table: self,
            query,
            start: None,
            done: false,
        }
    }
}

/// A query read a page at a time, following `LastEvaluatedKey`.
pub struct Pages<'t> {
    table: &'t Table,
    query: Query,
    start: Option<Item>,
    done: bool,
}

impl Pages<'_> {
    /// The next page, at most `limit` items; `None` once every page has been
    /// read. A page can be empty and still not be the last.
    pub async fn next(&mut self, limit: usize) -> Result<Option<Vec<Item>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let limit = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let output = self.request().limit(limit).send().await.map_err(backend)?;
        self.advance(output.last_evaluated_key);
        Ok(Some(output.items.unwrap_or_default()))
    }

    fn request(&self) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (pk, sk) = self.query.key_names();
        let mut expression = Expression::default();
        let text = |s: &String| AttributeValue::S(s.clone());
        let partition = expression.compare(pk, "=", text(&self.query.partition));
        let range = match &self.query.range {
            Range::All => None,
            Range::After(bound) => Some(expression.compare(sk, ">", text(bound))),
            Range::Before(bound) => Some(expression.compare(sk, "<", text(bound))),
            Range::BeginsWith(prefix) => Some(format!(
                "begins_with({}, {})",
                expression.name(sk),
                expression.value(text(prefix))
            )),
        };
        let condition = match range {
            Some(range) => format!("{partition} AND {range}"),
            None => partition,
        };
        self.table
            .client
            .query()
            .table_name(&self.table.name)
            .set_index_name(self.query.index.map(|index| index.name.to_owned()))
            .key_condition_expression(condition)
            .set_expression_attribute_names(Some(expression.names))
            .set_expression_attribute_values(Some(expression.values))
            .scan_index_forward(self.query.forward)
            .set_exclusive_start_key(self.start.clone())
    }

    fn advance(&mut self, last: Option<Item>) {
        self.done = last.as_ref().is_none_or(HashMap::is_empty);
        self.start = last;
    }
}

/// Waits a jittered moment after losing race number `race` (from 0), so
/// the writer that won can finish before the loser looks again.
async fn lost_race(race: u32) {
    let jitter = rand::rng().random_range(0..=10 * u64::from(race + 1));
    tokio::time::sleep(Duration::from_millis(jitter)).await;
}

fn gave_up(what: &str) -> StoreError {
    StoreError::Backend(format!(
        "gave up on {what} after losing {MAX_RACES} races with other writers"
    ))
}

/// Placeholders for an expression's attribute names and values.
#[derive(Default)]
pub(super) struct Expression {
    pub names: HashMap<String, String>,
    pub values: HashMap<String, AttributeValue>,
}

impl Expression {
    fn name(&mut self, name: &str) -> String {
        let placeholder = format!("#{name}");
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// `#name {operator} :value`.
    fn compare(&mut self, name: &str, operator: &str, value: AttributeValue) -> String {
        format!("{} {operator} {}", self.name(name), self.value(value))
    }

    /// The condition that holds when an item is as `expect`ed; `None`
    /// when anything will do.
    pub fn condition(&mut self, expect: &Expect) -> Option<String> {
        match expect {
            Expect::Anything => None,
            Expect::Absent => Some(format!("attribute_not_exists({})", self.name(PK))),
            Expect::AbsentOrExpired(now) => {
                let absent = format!("attribute_not_exists({})", self.name(PK));
                let expired = self.compare(EXPIRES_AT, "<=", number(now));
                Some(format!("{absent} OR {expired}"))
            }
            Expect::Present => Some(format!("attribute_exists({})", self.name(PK))),
            Expect::Revision(0) => Some(format!(
                "attribute_exists({}) AND attribute_not_exists({})",
                self.name(PK),
                self.name(REV)
            )),
            Expect::Revision(rev) => Some(self.compare(REV, "=", number(*rev))),
            Expect::Values(values) => Some(
                values
                    .iter()
                    .map(|(name, value)| self.compare(name, "=", value.clone()))
                    .collect::<Vec<_>>()
                    .join(" AND "),
            ),
        }
    }
}

pub fn number(n: impl ToString) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// An item's revision: 0 for an item written before revisions existed.
fn revision(item: &Item) -> Result<u64, StoreError> {
    count(item, REV)
}

/// A failed call, as a backend error with the service's code and message.
pub fn backend<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug,
{
    StoreError::Backend(DisplayErrorContext(&error).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_counts_a_revision_adds_sets_and_removes_under_its_condition() {
        let change = Change::default()
            .set("body", AttributeValue::S("{}".into()))
            .add("sent", 1)
            .add("pending", -1)
            .remove("lease");
        let Update {
            expression,
            update,
            condition,
        } = Update::new(&change, &Expect::Revision(7));
        assert_eq!(
            update,
            "ADD #rev :v1, #sent :v2, #pending :v3 SET #body = :v0 REMOVE #lease"
        );
        assert_eq!(condition.as_deref(), Some("#rev = :v4"));
        assert_eq!(expression.values[":v3"], number(-1));
        assert_eq!(expression.values[":v4"], number(7));
        assert_eq!(expression.names.len(), 5);
    }

    #[test]
    fn conditions_say_what_a_write_expects() {
        let condition = |expect| Expression::default().condition(&expect);
        assert_eq!(condition(Expect::Anything), None);
        assert_eq!(
            condition(Expect::Absent).as_deref(),
            Some("attribute_not_exists(#pk)")
        );
        assert_eq!(
            condition(Expect::Present).as_deref(),
            Some("attribute_exists(#pk)")
        );
        assert_eq!(
            condition(Expect::AbsentOrExpired(1_700_000_000)).as_deref(),
            Some("attribute_not_exists(#pk) OR #expires_at <= :v0")
        );
        let read = Item::from([(REV.to_owned(), number(3))]);
        assert!(matches!(
            Expect::unchanged(Some(&read)),
            Ok(Expect::Revision(3))
        ));
        assert!(matches!(Expect::unchanged(None), Ok(Expect::Absent)));
    }
}
