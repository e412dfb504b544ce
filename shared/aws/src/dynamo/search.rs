//! `GET /services?q=` on DynamoDB: one Query of the probe's partition of
//! the word index (keys only), one consistent BatchGetItem per 100
//! candidates, then the domain's own matching and ranking, exactly as the
//! memory store applies them. Never a Scan.

use super::DynamoStore;
use super::codec::get_s;
use super::error::DynamoError;
use super::keys::{self, Key};
use super::{Q, service_of};
use khamsa_app::ports::{Page, PageReq, SEARCH_CANDIDATES_MAX, StoreResult, ranked_page};
use khamsa_domain::ids::{ServiceId, UserId};
use khamsa_domain::search::SearchQuery;
use khamsa_domain::service::{Service, ServiceStats};

/// DynamoDB's BatchGetItem takes at most 100 keys (`batch_get` reads one
/// chunk, following unprocessed keys).
const BATCH_KEYS: usize = 100;

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
}
