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

use std::collections::HashMap;
use std::fmt::Debug;
use std::time::Duration;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, Select};
use aws_sdk_dynamodb::Client;
use rand::RngExt;

use super::keys::{Index, PK, REV, SK};
use crate::store::StoreError;

pub type Item = HashMap<String, AttributeValue>;

/// How often [`Table::read_modify_write`] reads again after losing a race
/// before it gives up. Each lost race means another writer succeeded, so
/// this bounds waiting on a hot item, not correctness.
const MAX_RACES: u32 = 20;

/// What a write expects to find.
#[derive(Debug, Clone)]
pub enum Expect {
    /// Nothing: write whatever is there.
    Anything,
    /// No item with this key.
    Absent,
    /// The item at exactly this revision (as read).
    Revision(u64),
    /// An item whose attributes have these values.
    Values(Vec<(&'static str, AttributeValue)>),
}

/// The attributes one write sets and removes.
#[derive(Debug, Clone, Default)]
pub struct Change {
    pub set: Vec<(&'static str, AttributeValue)>,
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
    client: Client,
    name: String,
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
        let mut expression = Expression::default();
        let sets: Vec<String> = change
            .set
            .iter()
            .map(|(name, value)| expression.compare(name, "=", value.clone()))
            .collect();
        let removes: Vec<String> = change.remove.iter().map(|n| expression.name(n)).collect();
        let mut update = format!(
            "ADD {} {}",
            expression.name(REV),
            expression.value(number(1))
        );
        if !sets.is_empty() {
            update.push_str(&format!(" SET {}", sets.join(", ")));
        }
        if !removes.is_empty() {
            update.push_str(&format!(" REMOVE {}", removes.join(", ")));
        }
        let condition = match expect {
            Expect::Anything => None,
            Expect::Absent => Some(format!("attribute_not_exists({})", expression.name(PK))),
            Expect::Revision(0) => Some(format!(
                "attribute_exists({}) AND attribute_not_exists({})",
                expression.name(PK),
                expression.name(REV)
            )),
            Expect::Revision(rev) => Some(expression.compare(REV, "=", number(*rev))),
            Expect::Values(values) => Some(
                values
                    .iter()
                    .map(|(name, value)| expression.compare(name, "=", value.clone()))
                    .collect::<Vec<_>>()
                    .join(" AND "),
            ),
        };
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
            let expect = match &current {
                None => Expect::Absent,
                Some(item) => Expect::Revision(revision(item)?),
            };
            if self.write(pk.to_owned(), sk, &change, &expect).await? {
                return Ok(answer);
            }
            // Another writer got there first: let it finish, then look again.
            let jitter = rand::rng().random_range(0..=10 * u64::from(race + 1));
            tokio::time::sleep(Duration::from_millis(jitter)).await;
        }
        Err(StoreError::Backend(format!(
            "gave up on {pk} after losing {MAX_RACES} races with other writers"
        )))
    }

    /// Deletes an item; returns whether there was one.
    pub async fn delete(&self, pk: String, sk: &str) -> Result<bool, StoreError> {
        let output = self
            .client
            .delete_item()
            .table_name(&self.name)
            .key(PK, AttributeValue::S(pk))
            .key(SK, AttributeValue::S(sk.to_owned()))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(backend)?;
        Ok(output.attributes.is_some_and(|old| !old.is_empty()))
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

    /// Counts the items a query matches, reading every page.
    pub async fn count(&self, query: Query) -> Result<u64, StoreError> {
        let mut pages = self.pages(query);
        let mut total = 0u64;
        while !pages.done {
            let output = pages.request().select(Select::Count).send().await;
            let output = output.map_err(backend)?;
            total += u64::try_from(output.count).unwrap_or_default();
            pages.advance(output.last_evaluated_key);
        }
        Ok(total)
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

/// Placeholders for an expression's attribute names and values.
#[derive(Default)]
struct Expression {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
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
}

pub fn number(n: impl ToString) -> AttributeValue {
    AttributeValue::N(n.to_string())
}

/// An item's revision: 0 for an item written before revisions existed.
fn revision(item: &Item) -> Result<u64, StoreError> {
    match item.get(REV) {
        None => Ok(0),
        Some(AttributeValue::N(n)) => n
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("revision {n:?} is not a count"))),
        Some(other) => Err(StoreError::Corrupt(format!(
            "revision is not a number: {other:?}"
        ))),
    }
}

/// A failed call, as a backend error with the service's code and message.
pub fn backend<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: Debug,
{
    StoreError::Backend(DisplayErrorContext(&error).to_string())
}
