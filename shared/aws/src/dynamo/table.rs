//! Creating the table and its indexes: local mode and tests only (in AWS
//! the table is declared in `template.yaml`).

use super::DynamoStore;
use super::error::DynamoError;
use super::keys::{GSIS, PK, SK, TTL};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TableStatus, TimeToLiveSpecification,
};
use std::time::Duration;

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, DynamoError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(|e| DynamoError::Build("key schema", e.to_string()))
}

fn text_attr(name: &str) -> Result<AttributeDefinition, DynamoError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| DynamoError::Build("attribute definition", e.to_string()))
}

impl DynamoStore {
    /// Creates the table with every GSI (on-demand billing) and turns on
    /// TTL for idempotency records. Idempotent: an existing table is left
    /// as it is. Returns once the table is `ACTIVE`.
    pub async fn create_table(&self) -> Result<(), DynamoError> {
        let mut attrs = vec![text_attr(PK)?, text_attr(SK)?];
        let mut indexes = Vec::new();
        for g in GSIS {
            attrs.push(text_attr(g.pk)?);
            attrs.push(text_attr(g.sk)?);
            indexes.push(
                GlobalSecondaryIndex::builder()
                    .index_name(g.name)
                    .key_schema(key(g.pk, KeyType::Hash)?)
                    .key_schema(key(g.sk, KeyType::Range)?)
                    // Lists return whole entities: one Query, no follow-up reads.
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(|e| DynamoError::Build("index", e.to_string()))?,
            );
        }
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .set_attribute_definitions(Some(attrs))
            .key_schema(key(PK, KeyType::Hash)?)
            .key_schema(key(SK, KeyType::Range)?)
            .set_global_secondary_indexes(Some(indexes))
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        if let Err(e) = created {
            let in_use = e
                .as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception());
            if !in_use {
                return Err(DynamoError::sdk("CreateTable", &e));
            }
        }
        self.wait_active().await?;
        self.enable_ttl().await
    }

    async fn wait_active(&self) -> Result<(), DynamoError> {
        let mut last = String::from("unknown");
        for _ in 0..300 {
            let d = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| DynamoError::sdk("DescribeTable", &e))?;
            if let Some(t) = d.table() {
                let indexes_ready = t.global_secondary_indexes().iter().all(|g| {
                    g.index_status() == Some(&aws_sdk_dynamodb::types::IndexStatus::Active)
                });
                if t.table_status() == Some(&TableStatus::Active) && indexes_ready {
                    return Ok(());
                }
                last = format!("{:?}", t.table_status());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(DynamoError::TableNotActive(self.table.clone(), last))
    }

    async fn enable_ttl(&self) -> Result<(), DynamoError> {
        let d = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| DynamoError::sdk("DescribeTimeToLive", &e))?;
        let on = d
            .time_to_live_description()
            .and_then(|t| t.attribute_name())
            .is_some_and(|a| a == TTL);
        if on {
            return Ok(());
        }
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(TTL)
                    .enabled(true)
                    .build()
                    .map_err(|e| DynamoError::Build("time to live", e.to_string()))?,
            )
            .send()
            .await
            .map_err(|e| DynamoError::sdk("UpdateTimeToLive", &e))?;
        Ok(())
    }
}
