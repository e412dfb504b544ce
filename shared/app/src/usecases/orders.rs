//! The caller's orders: what they bought and what they sold.

use crate::app::App;
use crate::caller::Caller;
use crate::error::AppResult;
use crate::ports::{OrderQuery, Page, PageReq};
use khamsa_domain::order::{Order, OrderStatus};

/// `GET /me/purchases`, optionally in one status.
pub async fn purchases(
    app: &App,
    caller: &Caller,
    status: Option<OrderStatus>,
    page: &PageReq,
) -> AppResult<Page<Order>> {
    let q = OrderQuery::Purchases(caller.id.clone(), status);
    Ok(app.store.orders(&q, page).await?)
}

/// `GET /me/sales`, optionally in one status.
pub async fn sales(
    app: &App,
    caller: &Caller,
    status: Option<OrderStatus>,
    page: &PageReq,
) -> AppResult<Page<Order>> {
    let q = OrderQuery::Sales(caller.id.clone(), status);
    Ok(app.store.orders(&q, page).await?)
}
