//! The in-memory backend's `GET /services` pages, kept as rendered.
//!
//! Rendering a page of 20 services to JSON (escaping, decimals, dates,
//! allocations) was most of that route's cost on the local server: with
//! the store's index it still served 16% of a bare hyper server's
//! requests per second (issue 11 asks for 50%). The page is a function of
//! the query string and the store's contents alone (the route is public:
//! no caller, no header changes it), so a page rendered since the store's
//! last commit is the page. Any commit empties the cache, so a listing is
//! never older than the store: a service approved, paused or ordered shows
//! on the next request.
//!
//! Only the memory backend has it: DynamoDB has no cheap "nothing changed"
//! number, and the Lambda functions render each page afresh.

use hyper::body::Bytes;
use hyper::header::HeaderMap;
use khamsa_app::memory::MemoryStore;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The route whose pages are kept.
pub const PATH: &str = "/services";

/// How many different query strings are kept between two commits: enough
/// for every category, page and search a browsing crowd asks for; one
/// crawler walking cursors cannot grow it past this.
const MAX_PAGES: usize = 1024;

pub struct Catalogue {
    store: Arc<MemoryStore>,
    /// The store's commit count the pages were rendered at (or after), and
    /// the pages by query string.
    pages: Mutex<(u64, HashMap<String, Page>)>,
}

/// A `200` as the handler answered it.
#[derive(Clone)]
pub struct Page {
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A read of the cache: the page if there is one, else a ticket to store
/// the page about to be rendered.
pub enum Lookup {
    Hit(Page),
    Miss(Ticket),
}

/// The commit count read before the page is rendered: what is rendered
/// after it is at least that new.
pub struct Ticket {
    commits: u64,
    query: String,
}

impl Catalogue {
    pub fn new(store: Arc<MemoryStore>) -> Self {
        Self {
            store,
            pages: Mutex::new((0, HashMap::new())),
        }
    }

    pub fn lookup(&self, query: &str) -> Lookup {
        let commits = self.store.commits();
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        match pages.1.get(query) {
            Some(p) if pages.0 == commits => Lookup::Hit(p.clone()),
            _ => Lookup::Miss(Ticket {
                commits,
                query: query.to_owned(),
            }),
        }
    }

    /// Keeps `page`, rendered after `ticket` was taken, unless the store
    /// has committed since the pages kept were rendered (they all go) or
    /// since the ticket (this one is not kept: it may predate the commit).
    pub fn keep(&self, ticket: Ticket, page: Page) {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if ticket.commits != self.store.commits() {
            return;
        }
        if pages.0 != ticket.commits {
            *pages = (ticket.commits, HashMap::new());
        }
        if pages.1.len() < MAX_PAGES {
            pages.1.insert(ticket.query, page);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use khamsa_app::ports::{Store, UnitOfWork};

    fn page(body: &'static str) -> Page {
        Page {
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    fn miss(c: &Catalogue, query: &str) -> Ticket {
        match c.lookup(query) {
            Lookup::Miss(t) => t,
            Lookup::Hit(p) => panic!("{query:?}: a page was kept: {:?}", p.body),
        }
    }

    fn hit(c: &Catalogue, query: &str) -> Bytes {
        match c.lookup(query) {
            Lookup::Hit(p) => p.body,
            Lookup::Miss(_) => panic!("{query:?}: no page kept"),
        }
    }

    #[tokio::test]
    async fn a_page_is_kept_per_query_until_the_next_commit() {
        let store = Arc::new(MemoryStore::new());
        let c = Catalogue::new(store.clone());
        let t = miss(&c, "");
        c.keep(t, page("all"));
        let t = miss(&c, "category=design");
        c.keep(t, page("design"));
        assert_eq!(hit(&c, ""), "all");
        assert_eq!(hit(&c, "category=design"), "design");
        miss(&c, "category=programming");

        store.commit(UnitOfWork::default()).await.unwrap();
        miss(&c, "");
        miss(&c, "category=design");
    }

    #[tokio::test]
    async fn a_page_rendered_across_a_commit_is_not_kept() {
        let store = Arc::new(MemoryStore::new());
        let c = Catalogue::new(store.clone());
        let t = miss(&c, "");
        // The page was read from the store, then a commit lands before it
        // is kept: it may show the store before that commit.
        store.commit(UnitOfWork::default()).await.unwrap();
        c.keep(t, page("maybe old"));
        miss(&c, "");
    }

    #[tokio::test]
    async fn no_more_than_max_pages_are_kept() {
        let c = Catalogue::new(Arc::new(MemoryStore::new()));
        for i in 0..MAX_PAGES + 10 {
            let q = format!("cursor={i}");
            let t = miss(&c, &q);
            c.keep(t, page("p"));
        }
        assert_eq!(c.pages.lock().unwrap().1.len(), MAX_PAGES);
        hit(&c, "cursor=0");
        miss(&c, &format!("cursor={}", MAX_PAGES + 5));
    }
}
