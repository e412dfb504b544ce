//! `GET /services?q=` on DynamoDB: one Query of the probe's partition of
//! the word index (keys only), one consistent BatchGetItem per 100
//! candidates, then the domain's own matching and ranking, exactly as the
//! memory store applies them. Never a Scan.

use super::DynamoStore;
use super::codec::{Item, get_s, key_item};
use super::error::DynamoError;
use super::keys::{self, Key};
use super::{Q, service_of};
use aws_sdk_dynamodb::types::KeysAndAttributes;
use khamsa_app::ports::{Page, PageReq, SEARCH_CANDIDATES_MAX, StoreResult, ranked_page};
use khamsa_domain::ids::{ServiceId, UserId};
use khamsa_domain::search::SearchQuery;
use khamsa_domain::service::{Service, ServiceStats};

/// DynamoDB's BatchGetItem takes at most 100 keys.
const BATCH_KEYS: usize = 100;
/// Unprocessed keys are asked for again this many times.
const BATCH_ATTEMPTS: usize = 10;

impl DynamoStore {
    pub(super) async fn search(
        &self,
        q: &SearchQuery,
        category: Option<&str>,
        seller: Option<&UserId>,
        page: &PageReq,
    ) -> StoreResult<Page<(Service, ServiceStats)>> {
        let probe = Q::table(
            format!("{}{}", keys::SEARCH_PREFIX, q.probe()),
            "SVC#",
            true,
        );
        let entries = self.query_up_to(&probe, SEARCH_CANDIDATES_MAX).await?;
        let mut ids = Vec::with_capacity(entries.len());
        for e in &entries {
            let sk = get_s(e, keys::SK)?;
            if let Some(id) = sk.strip_prefix("SVC#") {
                ids.push(ServiceId::new(id));
            }
        }
        let found = self
            .services_by_id(&ids)
            .await?
            .into_iter()
            .filter(|(s, _)| category.is_none_or(|c| s.draft.category == c))
            .filter(|(s, _)| seller.is_none_or(|u| s.seller_id == *u))
            .collect();
        ranked_page(q.rank(found), page)
    }

    /// The services with these ids that exist, in no particular order.
    async fn services_by_id(
        &self,
        ids: &[ServiceId],
    ) -> Result<Vec<(Service, ServiceStats)>, DynamoError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(BATCH_KEYS) {
            let keys: Vec<Key> = chunk.iter().map(keys::service).collect();
            for item in self.batch_get(&keys).await? {
                if let Some(x) = service_of(item)? {
                    out.push(x);
                }
            }
        }
        Ok(out)
    }

    async fn batch_get(&self, keys: &[Key]) -> Result<Vec<Item>, DynamoError> {
        let mut pending: Vec<Item> = keys.iter().map(key_item).collect();
        let mut out = Vec::with_capacity(keys.len());
        for attempt in 0..BATCH_ATTEMPTS {
            let req = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| DynamoError::Build("batch get", e.to_string()))?;
            let res = self
                .client
                .batch_get_item()
                .request_items(&self.table, req)
                .send()
                .await
                .map_err(|e| DynamoError::sdk("BatchGetItem", &e))?;
            if let Some(mut by_table) = res.responses
                && let Some(mut items) = by_table.remove(&self.table)
            {
                out.append(&mut items);
            }
            pending = res
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(out);
            }
            // Unprocessed keys mean throttling: back off before asking again.
            tokio::time::sleep(std::time::Duration::from_millis(10 << attempt.min(5))).await;
        }
        Err(DynamoError::Exhausted(
            BATCH_ATTEMPTS,
            "BatchGetItem left keys unprocessed".into(),
        ))
    }
}
