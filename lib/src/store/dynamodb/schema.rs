//! The table's definition, for tests and local experiments: the same key
//! schema, indexes and TTL attribute that `template.yaml` declares for a
//! deployment (where CloudFormation, not the function, creates the table).

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use aws_sdk_dynamodb::Client;

use super::keys::{EXPIRES_AT, INDEXES, PK, SK};
use super::table::backend;
use crate::store::StoreError;

/// Creates the table, on demand billing, and waits until it is active.
pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
    let mut attributes = vec![string_attribute(PK)?, string_attribute(SK)?];
    let mut indexes = Vec::new();
    for index in INDEXES {
        attributes.push(string_attribute(index.pk)?);
        attributes.push(string_attribute(index.sk)?);
        indexes.push(
            GlobalSecondaryIndex::builder()
                .index_name(index.name)
                .set_key_schema(Some(key_schema(index.pk, index.sk)?))
                .projection(
                    Projection::builder()
                        .projection_type(if index.keys_only {
                            ProjectionType::KeysOnly
                        } else {
                            ProjectionType::All
                        })
                        .build(),
                )
                .build()
                .map_err(invalid)?,
        );
    }
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_schema(PK, SK)?))
        .set_global_secondary_indexes(Some(indexes))
        .send()
        .await
        .map_err(backend)?;
    wait_until_active(client, name).await?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(EXPIRES_AT)
                .build()
                .map_err(invalid)?,
        )
        .send()
        .await
        .map_err(backend)?;
    Ok(())
}

async fn wait_until_active(client: &Client, name: &str) -> Result<(), StoreError> {
    for _ in 0..120 {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(backend)?;
        let status = described.table.and_then(|t| t.table_status);
        if status == Some(TableStatus::Active) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(StoreError::Backend(format!(
        "table {name} did not become active"
    )))
}

fn string_attribute(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(invalid)
}

fn key_schema(pk: &str, sk: &str) -> Result<Vec<KeySchemaElement>, StoreError> {
    [(pk, KeyType::Hash), (sk, KeyType::Range)]
        .into_iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(invalid)
        })
        .collect()
}

fn invalid(error: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(format!("invalid table definition: {error}"))
}
