//! In-order messages between the buyer and the seller.

use super::files::{self, FileIds};
use super::input::{Input, MessageText};
use super::visible_order;
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::AppResult;
use crate::ids::new_id;
use crate::ports::{Message, Page, PageReq, UnitOfWork, Write};
use khamsa_domain::DomainError;
use khamsa_domain::file::Attachment;
use khamsa_domain::ids::MessageId;
use khamsa_domain::order::Party;

pub async fn send(
    app: &App,
    caller: &Caller,
    order_id: &str,
    text: Input<MessageText>,
    file_ids: Input<FileIds>,
) -> AppResult<Outcome<Message>> {
    let (order, party) = visible_order(app, caller, order_id).await?;
    // Operators read conversations but take no part in them.
    if party == Party::Operator {
        return Err(DomainError::NotAllowed("the order's buyer or seller").into());
    }
    let MessageText(text) = text?;
    let FileIds(file_ids) = file_ids?;
    let now = app.now();
    let mut m = Message::new(
        MessageId::new(new_id("msg", now)),
        order.id.clone(),
        caller.id.clone(),
        text,
        now,
    );
    let mut writes = files::attach(
        app,
        &order,
        caller,
        &file_ids,
        Attachment::Message(m.id.clone()),
    )
    .await?;
    m.file_ids = file_ids;
    writes.push(Write::Message(m.clone()));
    let mut uow = UnitOfWork {
        writes,
        ..Default::default()
    };
    // The other party hears of it by email, throttled per order (domain).
    if let Some((marked, told)) = order.message_notice(party, now) {
        uow.writes.push(Write::Order(marked));
        uow.outbox = super::outbox_rows(vec![told], now);
    }
    Ok(Outcome::new(m, uow))
}

/// An order's messages, for its buyer, seller or an operator. A bad page
/// (`?limit=`) is refused after the 404.
pub async fn list(
    app: &App,
    caller: &Caller,
    order_id: &str,
    page: AppResult<PageReq>,
) -> AppResult<Page<Message>> {
    let (order, _) = visible_order(app, caller, order_id).await?;
    Ok(app.store.messages(&order.id, &page?).await?)
}
