//! Records in and out of items.
//!
//! A record is kept whole as JSON in [`BODY`], exactly as the embedded store
//! keeps it, so that a reference keeps every field the channel sent and
//! numbers inside it never pass through DynamoDB's decimal type. The other
//! attributes of an item exist to be keyed, indexed or compared.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::keys::BODY;
use super::table::Item;
use crate::ids::ConversationKey;
use crate::store::StoreError;

pub fn encode<T: Serialize>(record: &T) -> Result<AttributeValue, StoreError> {
    serde_json::to_string(record)
        .map(AttributeValue::S)
        .map_err(|e| StoreError::Backend(format!("cannot encode a record: {e}")))
}

/// The record in an item's [`BODY`].
pub fn decode<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let body = string(item, BODY)?;
    serde_json::from_str(body)
        .map_err(|e| StoreError::Corrupt(format!("stored record does not decode: {e}")))
}

/// A string attribute that must be there.
pub fn string<'i>(item: &'i Item, name: &str) -> Result<&'i str, StoreError> {
    match item.get(name) {
        Some(AttributeValue::S(value)) => Ok(value),
        Some(other) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a string: {other:?}"
        ))),
        None => Err(StoreError::Corrupt(format!("attribute {name} is missing"))),
    }
}

/// A number attribute that counts something: 0 when absent (nothing
/// counted yet).
pub fn count<T: std::str::FromStr + Default>(item: &Item, name: &str) -> Result<T, StoreError> {
    match item.get(name) {
        None => Ok(T::default()),
        Some(AttributeValue::N(n)) => n
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("attribute {name} is {n:?}, not a count"))),
        Some(other) => Err(StoreError::Corrupt(format!(
            "attribute {name} is not a number: {other:?}"
        ))),
    }
}

pub fn text(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

/// A conversation key read back from an attribute.
pub fn conversation_key(raw: &str) -> Result<ConversationKey, StoreError> {
    raw.parse()
        .map_err(|e| StoreError::Corrupt(format!("stored conversation key {raw:?}: {e}")))
}
