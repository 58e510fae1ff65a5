//! A small client for the Table service's REST API: the calls the store
//! makes, signed by [`crate::azure_storage::Credential`].
//!
//! Written here because no maintained crate covers Table Storage (the
//! official SDK has none; the old community `azure_data_tables` is
//! archived). It speaks JSON with `odata=nometadata`; entities are
//! [`Entity`]: keys, an ETag, and properties of the JSON types the store
//! uses (strings, 64-bit integers as `Edm.Int64`, booleans).

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, IF_MATCH};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Map, Value};
use url::Url;

use super::keys;
use crate::azure_storage::Credential;

/// The service version nudge speaks (the first with Entra tokens for
/// tables is 2019-02-02).
pub const VERSION: &str = "2019-02-02";

/// The most entities one query page returns (the service's limit).
pub const MAX_PAGE: usize = 1000;

const JSON: &str = "application/json";
const NO_METADATA: &str = "application/json;odata=nometadata";

/// One entity: its keys (as stored, already encoded), the ETag it was read
/// with, and its other properties.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entity {
    /// `PartitionKey`.
    pub partition_key: String,
    /// `RowKey`.
    pub row_key: String,
    /// Set on entities read from the service.
    pub etag: Option<String>,
    /// Its other properties.
    pub properties: Map<String, Value>,
}

impl Entity {
    /// An entity with these keys and no properties yet.
    pub fn new(partition_key: impl Into<String>, row_key: impl Into<String>) -> Entity {
        Entity {
            partition_key: partition_key.into(),
            row_key: row_key.into(),
            ..Entity::default()
        }
    }

    /// Adds a string property.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Entity {
        self.properties
            .insert(name.to_owned(), Value::String(value.into()));
        self
    }

    /// Adds a 64-bit integer property (typed `Edm.Int64`, so it compares
    /// as a number in filters).
    pub fn with_i64(mut self, name: &str, value: i64) -> Entity {
        self.properties
            .insert(name.to_owned(), Value::String(value.to_string()));
        self.properties.insert(
            format!("{name}@odata.type"),
            Value::String("Edm.Int64".to_owned()),
        );
        self
    }

    /// A string property.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.properties.get(name)?.as_str()
    }

    /// A 64-bit integer property (the service sends it as a string).
    pub fn i64(&self, name: &str) -> Option<i64> {
        match self.properties.get(name)? {
            Value::String(text) => text.parse().ok(),
            Value::Number(number) => number.as_i64(),
            _ => None,
        }
    }

    /// The JSON the service takes for this entity.
    pub(crate) fn body(&self) -> Value {
        let mut body = self.properties.clone();
        body.insert(
            "PartitionKey".to_owned(),
            Value::String(self.partition_key.clone()),
        );
        body.insert("RowKey".to_owned(), Value::String(self.row_key.clone()));
        Value::Object(body)
    }

    fn from_json(mut object: Map<String, Value>, etag: Option<String>) -> Option<Entity> {
        let partition_key = object.remove("PartitionKey")?.as_str()?.to_owned();
        let row_key = object.remove("RowKey")?.as_str()?.to_owned();
        let etag = etag.or_else(|| {
            object
                .remove("odata.etag")
                .and_then(|e| e.as_str().map(str::to_owned))
        });
        object.remove("Timestamp");
        object.retain(|name, _| !name.starts_with("odata.") && !name.ends_with("@odata.type"));
        Some(Entity {
            partition_key,
            row_key,
            etag,
            properties: object,
        })
    }
}

/// Why a table call failed.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// An insert found the entity there already (409).
    #[error("the entity exists")]
    Exists,
    /// A conditional write found another ETag, or no entity (412, or 404
    /// on a conditional write).
    #[error("the entity changed or is gone")]
    Changed,
    /// The service refused or could not be reached.
    #[error("Azure Table Storage: {0}")]
    Backend(String),
}

/// The condition of a replace, merge or delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition<'a> {
    /// Whatever is there (or, for replace and merge, nothing: an upsert).
    None,
    /// Only while the entity has this ETag.
    Matches(&'a str),
    /// Only while the entity exists, whatever its ETag.
    Exists,
}

/// A page of a query: its entities, and where the next page starts.
#[derive(Debug, Default)]
pub struct QueryPage {
    /// The page's entities.
    pub entities: Vec<Entity>,
    /// Where the next page starts; `None` on the last.
    pub next: Option<Continuation>,
}

/// Where a query resumes (the service's continuation headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Continuation {
    partition_key: String,
    row_key: Option<String>,
}

/// One table of one account.
#[derive(Clone, Debug)]
pub struct TableClient {
    http: reqwest::Client,
    endpoint: Url,
    table: String,
    credential: Option<Credential>,
}

impl TableClient {
    /// Table `table` at the account's table `endpoint` (ending in `/`).
    pub fn new(
        http: reqwest::Client,
        endpoint: Url,
        table: &str,
        credential: Option<Credential>,
    ) -> TableClient {
        TableClient {
            http,
            endpoint,
            table: table.to_owned(),
            credential,
        }
    }

    /// The table's name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Creates the table unless it exists.
    pub async fn create_if_missing(&self) -> Result<(), TableError> {
        let body = serde_json::json!({ "TableName": self.table });
        let request = self.request(Method::POST, "Tables").await?;
        let response = send(request.header(CONTENT_TYPE, JSON).json(&body)).await?;
        match response.status() {
            status if status.is_success() => Ok(()),
            StatusCode::CONFLICT => Ok(()),
            _ => Err(refused(response).await),
        }
    }

    /// The entity at these (encoded) keys, if there is one.
    pub async fn get(
        &self,
        partition_key: &str,
        row_key: &str,
    ) -> Result<Option<Entity>, TableError> {
        let request = self
            .request(Method::GET, &self.address(partition_key, row_key))
            .await?;
        let response = send(request).await?;
        match response.status() {
            StatusCode::OK => {
                let etag = header(response.headers(), "etag");
                let object: Map<String, Value> = response
                    .json()
                    .await
                    .map_err(|e| TableError::Backend(e.to_string()))?;
                Ok(Entity::from_json(object, etag))
            }
            StatusCode::NOT_FOUND => no_entity(response).await.map(|()| None),
            _ => Err(refused(response).await),
        }
    }

    /// Inserts `entity`; [`TableError::Exists`] when it is there. Returns
    /// its ETag.
    pub async fn insert(&self, entity: &Entity) -> Result<String, TableError> {
        let request = self.request(Method::POST, &self.table).await?;
        let response = send(
            request
                .header(CONTENT_TYPE, JSON)
                .header("Prefer", "return-no-content")
                .json(&entity.body()),
        )
        .await?;
        match response.status() {
            status if status.is_success() => {
                Ok(header(response.headers(), "etag").unwrap_or_default())
            }
            StatusCode::CONFLICT => Err(TableError::Exists),
            _ => Err(refused(response).await),
        }
    }

    /// Replaces `entity` whole under `condition` (`None`: insert or
    /// replace). Returns its new ETag.
    pub async fn replace(
        &self,
        entity: &Entity,
        condition: Condition<'_>,
    ) -> Result<String, TableError> {
        self.write(Method::PUT, entity, condition).await
    }

    /// Merges `entity`'s properties into the stored one under `condition`
    /// (`None`: insert or merge). Returns its new ETag.
    pub async fn merge(
        &self,
        entity: &Entity,
        condition: Condition<'_>,
    ) -> Result<String, TableError> {
        self.write(merge_method(), entity, condition).await
    }

    async fn write(
        &self,
        method: Method,
        entity: &Entity,
        condition: Condition<'_>,
    ) -> Result<String, TableError> {
        let mut request = self
            .request(
                method,
                &self.address(&entity.partition_key, &entity.row_key),
            )
            .await?
            .header(CONTENT_TYPE, JSON)
            .json(&entity.body());
        if let Some(value) = if_match(condition) {
            request = request.header(IF_MATCH, value);
        }
        let response = send(request).await?;
        match response.status() {
            status if status.is_success() => {
                Ok(header(response.headers(), "etag").unwrap_or_default())
            }
            StatusCode::NOT_FOUND => no_entity(response).await.and(Err(TableError::Changed)),
            StatusCode::PRECONDITION_FAILED => Err(TableError::Changed),
            _ => Err(refused(response).await),
        }
    }

    /// Deletes the entity under `condition` (`None` and `Exists` alike:
    /// whatever its ETag). Deleting what is not there is not an error
    /// unless `condition` names an ETag.
    pub async fn delete(
        &self,
        partition_key: &str,
        row_key: &str,
        condition: Condition<'_>,
    ) -> Result<(), TableError> {
        let request = self
            .request(Method::DELETE, &self.address(partition_key, row_key))
            .await?
            .header(IF_MATCH, if_match(condition).unwrap_or("*"));
        let response = send(request).await?;
        match response.status() {
            status if status.is_success() => Ok(()),
            StatusCode::NOT_FOUND => {
                no_entity(response).await?;
                match condition {
                    Condition::Matches(_) => Err(TableError::Changed),
                    _ => Ok(()),
                }
            }
            StatusCode::PRECONDITION_FAILED => Err(TableError::Changed),
            _ => Err(refused(response).await),
        }
    }

    /// One page of the entities matching `filter` (an OData expression;
    /// build literals with [`keys::literal`]), at most `top`, in key order,
    /// from `from` (`None`: the start).
    pub async fn query(
        &self,
        filter: &str,
        top: usize,
        from: Option<&Continuation>,
    ) -> Result<QueryPage, TableError> {
        let mut request = self
            .request(Method::GET, &format!("{}()", self.table))
            .await?;
        let mut query = vec![
            ("$filter", filter.to_owned()),
            ("$top", top.clamp(1, MAX_PAGE).to_string()),
        ];
        if let Some(from) = from {
            query.push(("NextPartitionKey", from.partition_key.clone()));
            if let Some(row_key) = &from.row_key {
                query.push(("NextRowKey", row_key.clone()));
            }
        }
        request = request.query(&query);
        let response = send(request).await?;
        if response.status() != StatusCode::OK {
            return Err(refused(response).await);
        }
        let next =
            header(response.headers(), "x-ms-continuation-NextPartitionKey").map(|partition_key| {
                Continuation {
                    partition_key,
                    row_key: header(response.headers(), "x-ms-continuation-NextRowKey"),
                }
            });
        #[derive(serde::Deserialize)]
        struct Page {
            value: Vec<Map<String, Value>>,
        }
        let page: Page = response
            .json()
            .await
            .map_err(|e| TableError::Backend(e.to_string()))?;
        Ok(QueryPage {
            entities: page
                .value
                .into_iter()
                .filter_map(|object| Entity::from_json(object, None))
                .collect(),
            next,
        })
    }

    /// Every entity matching `filter`, page after page, at most `limit`.
    pub async fn query_all(&self, filter: &str, limit: usize) -> Result<Vec<Entity>, TableError> {
        let mut all = Vec::new();
        let mut from = None;
        loop {
            let page = self
                .query(filter, limit.saturating_sub(all.len()), from.as_ref())
                .await?;
            all.extend(page.entities);
            match page.next {
                Some(next) if all.len() < limit => from = Some(next),
                _ => return Ok(all),
            }
        }
    }

    /// The URL of an entity, for requests and for batch parts.
    pub(crate) fn entity_url(&self, partition_key: &str, row_key: &str) -> Url {
        self.url(&self.address(partition_key, row_key))
    }

    /// The URL of the table (inserts), for batch parts.
    pub(crate) fn table_url(&self) -> Url {
        self.url(&self.table)
    }

    fn address(&self, partition_key: &str, row_key: &str) -> String {
        format!(
            "{}(PartitionKey='{}',RowKey='{}')",
            self.table,
            keys::in_address(partition_key),
            keys::in_address(row_key)
        )
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.endpoint.clone();
        url.set_path(&format!("{}{path}", self.endpoint.path()));
        url
    }

    /// A signed request to `path` under the endpoint, with the headers
    /// every call carries.
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
    ) -> Result<RequestBuilder, TableError> {
        let mut url = self.url(path);
        let bearer = match &self.credential {
            Some(credential) => credential
                .authorize(&mut url)
                .await
                .map_err(|e| TableError::Backend(e.to_string()))?,
            None => None,
        };
        let mut request = self
            .http
            .request(method, url)
            .header("x-ms-version", VERSION)
            .header(ACCEPT, NO_METADATA)
            .header("DataServiceVersion", "3.0;NetFx")
            .header("MaxDataServiceVersion", "3.0;NetFx");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        Ok(request)
    }
}

/// The `If-Match` value of a condition, if it has one.
pub(crate) fn if_match(condition: Condition<'_>) -> Option<&str> {
    match condition {
        Condition::None => None,
        Condition::Matches(etag) => Some(etag),
        Condition::Exists => Some("*"),
    }
}

/// The OData `MERGE` verb.
pub(crate) fn merge_method() -> Method {
    Method::from_bytes(b"MERGE").expect("MERGE is a valid method")
}

pub(crate) async fn send(request: RequestBuilder) -> Result<reqwest::Response, TableError> {
    request
        .send()
        .await
        .map_err(|e| TableError::Backend(format!("request failed: {e}")))
}

/// A 404 that means "no such entity"; one about the table itself
/// (`TableNotFound`: not created yet, or deleted) is an error, never taken
/// for a missing entity or a lost race.
async fn no_entity(response: reqwest::Response) -> Result<(), TableError> {
    let code = header(response.headers(), "x-ms-error-code");
    let error = refused(response).await;
    let about_the_table = code.as_deref() == Some(TABLE_NOT_FOUND)
        || matches!(&error, TableError::Backend(detail) if detail.contains(TABLE_NOT_FOUND));
    if about_the_table {
        Err(error)
    } else {
        Ok(())
    }
}

const TABLE_NOT_FOUND: &str = "TableNotFound";

/// The error of a response the call did not expect: its status and the
/// service's error code and message.
pub(crate) async fn refused(response: reqwest::Response) -> TableError {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let detail = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            let error = v.get("odata.error")?;
            let code = error.get("code")?.as_str()?.to_owned();
            let message = error
                .get("message")
                .and_then(|m| m.get("value"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            Some(format!("{code}: {message}"))
        })
        .unwrap_or_else(|| text.chars().take(200).collect());
    TableError::Backend(format!("{status}: {detail}"))
}

fn header(headers: &HeaderMap<HeaderValue>, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}
