//! Entity group transactions: up to 100 writes in one partition, all or
//! none (`$batch`, a multipart request with one change set).
//!
//! The service answers 202 with one part per write on success; on failure
//! one part, the failed write's response, whose error message begins with
//! its index (`"2:The update condition specified in the request was not
//! satisfied."`). Azurite answers the same way.

use rand::RngExt;
use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};

use super::rest::{self, Condition, Entity, TableClient, TableError};

/// The most writes one transaction may hold.
pub const MAX_WRITES: usize = 100;

/// One write of a transaction.
#[derive(Debug, Clone)]
pub enum Write<'a> {
    /// Insert; fails the transaction if the entity exists.
    Insert(Entity),
    /// Replace whole under the condition (`None`: insert or replace).
    Replace(Entity, Condition<'a>),
    /// Merge properties under the condition (`None`: insert or merge).
    Merge(Entity, Condition<'a>),
    /// Delete under the condition (`None` means `Exists`: a transaction
    /// cannot delete what is absent).
    Delete {
        /// The entity's partition key.
        partition_key: String,
        /// Its row key.
        row_key: String,
        /// The condition.
        condition: Condition<'a>,
    },
}

/// Why a transaction did nothing.
#[derive(Debug, thiserror::Error)]
#[error("write {index} of the transaction failed: {error}")]
pub struct BatchError {
    /// The failed write's position (0 when the service does not say).
    pub index: usize,
    /// Why it failed.
    pub error: TableError,
}

impl TableClient {
    /// Applies `writes` (one partition, at most [`MAX_WRITES`]) together.
    pub async fn transact(&self, writes: &[Write<'_>]) -> Result<(), BatchError> {
        let whole = |error| BatchError { index: 0, error };
        if writes.is_empty() {
            return Ok(());
        }
        if writes.len() > MAX_WRITES {
            return Err(whole(TableError::Backend(format!(
                "{} writes in one transaction (limit {MAX_WRITES})",
                writes.len()
            ))));
        }
        let tag: u64 = rand::rng().random();
        let batch = format!("batch_{tag:016x}");
        let changeset = format!("changeset_{tag:016x}");
        let body = self.multipart(writes, &batch, &changeset);
        let request = self
            .request(Method::POST, "$batch")
            .await
            .map_err(whole)?
            .header(CONTENT_TYPE, format!("multipart/mixed; boundary={batch}"))
            .body(body);
        let response = rest::send(request).await.map_err(whole)?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(whole(rest::refused(response).await));
        }
        let text = response
            .text()
            .await
            .map_err(|e| whole(TableError::Backend(e.to_string())))?;
        match first_failure(&text) {
            None => Ok(()),
            Some((status, detail)) => {
                let index = failed_index(&detail).unwrap_or(0);
                let error = match (status, &writes[index.min(writes.len() - 1)]) {
                    (409, _) => TableError::Exists,
                    (412, _)
                    | (404, Write::Replace(..) | Write::Merge(..) | Write::Delete { .. }) => {
                        TableError::Changed
                    }
                    _ => TableError::Backend(format!("{status}: {detail}")),
                };
                Err(BatchError { index, error })
            }
        }
    }

    fn multipart(&self, writes: &[Write<'_>], batch: &str, changeset: &str) -> String {
        let mut body =
            format!("--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n");
        for write in writes {
            let (method, url, condition, entity) = match write {
                Write::Insert(entity) => ("POST".to_owned(), self.table_url(), None, Some(entity)),
                Write::Replace(entity, condition) => (
                    "PUT".to_owned(),
                    self.entity_url(&entity.partition_key, &entity.row_key),
                    rest::if_match(*condition),
                    Some(entity),
                ),
                Write::Merge(entity, condition) => (
                    rest::merge_method().to_string(),
                    self.entity_url(&entity.partition_key, &entity.row_key),
                    rest::if_match(*condition),
                    Some(entity),
                ),
                Write::Delete {
                    partition_key,
                    row_key,
                    condition,
                } => (
                    "DELETE".to_owned(),
                    self.entity_url(partition_key, row_key),
                    Some(rest::if_match(*condition).unwrap_or("*")),
                    None,
                ),
            };
            body.push_str(&format!(
                "--{changeset}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n{method} {url} HTTP/1.1\r\nAccept: application/json;odata=nometadata\r\nDataServiceVersion: 3.0;\r\n"
            ));
            if let Some(etag) = condition {
                body.push_str(&format!("If-Match: {etag}\r\n"));
            }
            match entity {
                Some(entity) => {
                    body.push_str(
                        "Content-Type: application/json\r\nPrefer: return-no-content\r\n\r\n",
                    );
                    body.push_str(&entity.body().to_string());
                    body.push_str("\r\n");
                }
                None => body.push_str("\r\n"),
            }
        }
        body.push_str(&format!("--{changeset}--\r\n--{batch}--\r\n"));
        body
    }
}

/// The status and body of the first part that is not a success.
fn first_failure(response: &str) -> Option<(u16, String)> {
    let mut parts = response.split("HTTP/1.1 ").skip(1);
    parts.find_map(|part| {
        let status: u16 = part.get(..3)?.parse().ok()?;
        (status >= 300).then(|| {
            let body = part.split("\r\n\r\n").nth(1).unwrap_or_default();
            (status, body.to_owned())
        })
    })
}

/// The index the service puts before a failed write's error message.
fn failed_index(detail: &str) -> Option<usize> {
    let value = detail.find("\"value\"")?;
    let rest = &detail[value..];
    let start = rest.find(':')? + 1;
    let text = rest[start..].trim_start().trim_start_matches('"');
    let digits: String = text.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty() && text[digits.len()..].starts_with(':')).then(|| digits.parse().ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_part_gives_its_status_and_index() {
        let response = "--batchresponse_1\r\nContent-Type: multipart/mixed; boundary=changesetresponse_2\r\n\r\n--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nHTTP/1.1 412 Precondition Failed\r\nContent-Type: application/json;odata=nometadata;streaming=true;charset=utf-8\r\n\r\n{\"odata.error\":{\"code\":\"UpdateConditionNotSatisfied\",\"message\":{\"lang\":\"en-US\",\"value\":\"2:The update condition specified in the request was not satisfied.\\nRequestId:x\"}}}\r\n--changesetresponse_2--\r\n--batchresponse_1--\r\n";
        let (status, detail) = first_failure(response).unwrap();
        assert_eq!(status, 412);
        assert_eq!(failed_index(&detail), Some(2));
    }

    #[test]
    fn all_successes_are_no_failure() {
        let response =
            "--b\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n--c\r\nHTTP/1.1 201 Created\r\n\r\n";
        assert!(first_failure(response).is_none());
    }
}
