//! In-order messages between the buyer and the seller.

use super::files::{self, FileIds};
use super::input::{Input, MessageText};
use super::visible_order;
use crate::app::{App, Outcome};
use crate::caller::Caller;
use crate::error::AppResult;
use crate::ids::new_id;
use crate::ports::{CommitError, InboxEntry, Message, Page, PageReq, UnitOfWork, Write};
use khamsa_domain::DomainError;
use khamsa_domain::file::Attachment;
use khamsa_domain::ids::MessageId;
use khamsa_domain::order::{Order, Party};

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
    let marked = match order.message_notice(party, now) {
        Some((marked, told)) => {
            uow.outbox = super::outbox_rows(vec![told], now);
            marked
        }
        None => order.clone(),
    };
    // Unread for the other party, and first in their inbox: the count, the
    // entry and the message in one commit (the order's version guards the
    // count against a concurrent message or read).
    let to = match party {
        Party::Buyer => order.seller_id.clone(),
        _ => order.buyer_id.clone(),
    };
    uow.writes.push(Write::Order(marked.count_message(party)));
    uow.inbox.push(InboxEntry {
        user: to,
        order_id: order.id.clone(),
        at: Some(now),
    });
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
    let (order, party) = visible_order(app, caller, order_id).await?;
    let messages = app.store.messages(&order.id, &page?).await?;
    // Reading marks the caller's unread ones read (never for an operator).
    // A message or a read that lands meanwhile changes the order's version:
    // then nothing is marked and the count shows on the next read, which is
    // the safe side (never a message counted read that was not listed).
    if let Some(read) = order.mark_read(party) {
        let uow = UnitOfWork {
            writes: vec![Write::Order(read)],
            inbox: vec![InboxEntry {
                user: caller.id.clone(),
                order_id: order.id.clone(),
                at: None,
            }],
            ..Default::default()
        };
        match app.store.commit(uow).await {
            Ok(()) => {}
            Err(CommitError::Conflict(what)) => {
                tracing::info!(order = %order.id, %what, "messages read meanwhile changed; left unread");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(messages)
}

/// The caller's orders with messages they have not read, newest first.
pub async fn inbox(app: &App, caller: &Caller, page: &PageReq) -> AppResult<Page<Order>> {
    Ok(app.store.inbox(&caller.id, page).await?)
}
