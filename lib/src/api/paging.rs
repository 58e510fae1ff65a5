//! `?after=&limit=` on the listing routes: parsed strictly, with a 400
//! `InvalidQuery` for anything else, never the framework's plain text.

use axum::extract::rejection::QueryRejection;
use axum::extract::Query;
use serde::Deserialize;

use super::ApiError;

/// Items per page when the caller does not say.
pub const DEFAULT_LIMIT: usize = 100;
/// The most items one page may hold.
pub const MAX_LIMIT: usize = 1000;

/// The query string of a listing route.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// A page request: start after `after` (the previous page's `next`), at
/// most `limit` items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paging {
    pub after: Option<String>,
    pub limit: usize,
}

pub fn invalid_query(message: impl Into<String>) -> ApiError {
    ApiError::bad_request("InvalidQuery", message)
}

impl Paging {
    /// Reads the extracted query (or why it could not be).
    pub fn from_query(query: Result<Query<PageQuery>, QueryRejection>) -> Result<Paging, ApiError> {
        let Query(raw) = query.map_err(|e| invalid_query(e.body_text()))?;
        let limit = raw.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(invalid_query(format!("limit is 1 to {MAX_LIMIT}")));
        }
        Ok(Paging {
            after: raw.after.filter(|a| !a.is_empty()),
            limit,
        })
    }

    /// The cursor parsed as `T`, or a 400.
    pub fn cursor<T: std::str::FromStr>(&self) -> Result<Option<T>, ApiError>
    where
        T::Err: std::fmt::Display,
    {
        self.after
            .as_deref()
            .map(|raw| {
                raw.parse()
                    .map_err(|e| invalid_query(format!("after: {e}")))
            })
            .transpose()
    }
}
