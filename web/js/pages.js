// Every page. Each is an async function of the route's captures that
// returns an element; actions call the API and re-render on success, and a
// refusal stays on screen next to the untouched form (ui.js `form`).

import { api, cfg, get, me, patch, post, Problem, token } from './api.js';
import { cognitoCallback, cognitoSignIn, localSignIn } from './auth.js';
import { fmtMoney, fmtTime, lang, problemText, t } from './i18n.js';
import { actionButton, alertBox, field, form, h, notice, section, showProblem, status } from './ui.js';
import { go, render } from './app.js';

const CATEGORIES = [
  'design', 'writing-translation', 'marketing', 'programming', 'video', 'audio',
  'business', 'engineering', 'teaching', 'data', 'lifestyle',
];
const PRICES = ['5.00', '10.00', '15.00', '20.00', '25.00'];
const CHECKOUT = 'khamsa.checkout';

/** "10.50" → 1050: money is added in whole cents, never floats. */
export function cents(s) {
  const m = /^(\d+)(?:\.(\d{1,2}))?$/.exec(String(s).trim());
  if (!m) return NaN;
  return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
}

export function fromCents(c) {
  return `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`;
}

const money = (s) => h('span', { class: 'money', dir: 'ltr' }, fmtMoney(s));
const catName = (c) => t(`cat_${c}`);

function needSignIn() {
  const back = location.pathname + location.search;
  return h('div', { class: 'card' },
    h('p', {}, t('sign_in_needed')),
    h('a', { href: `/signin?back=${encodeURIComponent(back)}`, class: 'button' }, t('sign_in')));
}

export function failure(err) {
  if (err instanceof Problem && err.code === 'unauthorized') return needSignIn();
  const p = err instanceof Problem ? err.problem : { code: 'network' };
  return h('div', { class: 'problem', role: 'alert', 'data-code': p.code }, problemText(p));
}

function page(title, ...children) {
  return h('div', { class: 'page' }, h('h1', {}, title), children);
}

// ---------------------------------------------------------------- sign-in

export async function signIn() {
  const back = new URLSearchParams(location.search).get('back') || '/';
  if (cfg().mode === 'cognito') {
    await cognitoSignIn(back);
    return h('p', {}, t('loading'));
  }
  return page(t('sign_in'),
    h('p', { class: 'hint' }, t('sign_in_hint')),
    form({ name: 'signin', class: 'card' }, [
      field('user', t('name_label'), { autocomplete: 'username', required: true, dir: 'ltr' }),
      field('operator', t('operator_label'), { type: 'checkbox', value: 'yes' }),
    ], t('sign_in'), async (fd) => {
      const r = await localSignIn(String(fd.get('user')).trim(), fd.get('operator') === 'yes');
      if (r.problem) throw new Problem(r.problem);
      await syncLocale();
      await go(back.startsWith('/') ? back : '/');
    }));
}

/**
 * `/unsubscribe?token=`: where an optional email's footer link lands. It
 * asks first and only the button's POST changes anything: mail scanners
 * open links too. The token, not a sign-in, says whose emails.
 */
export async function unsubscribe() {
  const tok = new URLSearchParams(location.search).get('token') || '';
  const done = h('div', { id: 'unsub-done' });
  return page(t('unsub_title'),
    h('p', {}, t('unsub_ask')),
    actionButton(t('unsub_confirm'), async () => {
      const r = await post(`/unsubscribe?token=${encodeURIComponent(tok)}`);
      done.replaceChildren(notice(`${t('unsub_done')} ${t(`topic_${r.unsubscribed}`)}`));
    }, { id: 'unsub-confirm' }),
    done);
}

/** Emails follow the language the person reads the site in. */
export async function syncLocale() {
  if (me()) await patch('/me', { locale: lang() }).catch(() => {});
}

export async function authCallback() {
  const back = await cognitoCallback();
  await syncLocale();
  await go(back, { replace: true });
  return h('p', {}, t('loading'));
}

// ---------------------------------------------------------------- browsing

function serviceCard(s) {
  return h('article', { class: 'svc card', 'data-id': s.id },
    h('h3', {}, h('a', { href: `/services/${s.id}` }, s.title)),
    h('p', { class: 'meta' },
      h('span', { class: 'cat' }, catName(s.category)), ' · ',
      h('span', { class: 'rating', title: t('rating') }, `★ ${s.rating.average} (${s.rating.count})`), ' · ',
      h('a', { href: `/users/${s.seller_id}`, class: 'seller' }, `${t('seller')}: ${s.seller_id}`)),
    h('p', { class: 'price' }, money(s.price)));
}

export async function home() {
  const q = new URLSearchParams(location.search);
  const category = q.get('category');
  const words = (q.get('q') || '').trim();
  const params = new URLSearchParams({ limit: '50' });
  if (category) params.set('category', category);
  if (words) params.set('q', words);
  // A search the server refuses (a lone letter, too many words) says why
  // above an empty list, and keeps what was typed in the box.
  const box = alertBox();
  let list = { items: [] };
  try {
    list = await get(`/services?${params}`);
  } catch (err) {
    showProblem(box, err);
  }
  const search = h('form', { role: 'search', class: 'search', action: '/', method: 'get' },
    h('label', { for: 'q' }, t('search_label')),
    h('input', { id: 'q', name: 'q', type: 'search', value: words, maxlength: '100', autocomplete: 'off' }),
    category ? h('input', { type: 'hidden', name: 'category', value: category }) : null,
    h('button', { type: 'submit' }, t('search')));
  const catHref = (c) => {
    const p = new URLSearchParams();
    if (c) p.set('category', c);
    if (words) p.set('q', words);
    const s = p.toString();
    return s ? `/?${s}` : '/';
  };
  const cats = h('nav', { class: 'cats', 'aria-label': t('categories') },
    h('a', { href: catHref(null), 'aria-current': category ? undefined : 'page' }, t('all_categories')),
    CATEGORIES.map((c) => h('a', { href: catHref(c), 'aria-current': c === category ? 'page' : undefined }, catName(c))));
  return h('div', { class: 'page' },
    h('header', { class: 'hero' }, h('h1', {}, t('brand')), h('p', {}, t('tagline')), search),
    box,
    h('h2', {}, t('categories')), cats,
    words ? h('h2', {}, `${t('results_for')} «${words}»`) : null,
    list.items.length
      ? h('div', { class: 'grid' }, list.items.map(serviceCard))
      : h('p', {}, t(words ? 'no_results' : 'no_services')));
}

/** The order total as place_order computes it: (price + chosen upgrades) × quantity. */
export function orderTotal(service, chosen, quantity) {
  const unit = cents(service.price) + chosen.reduce((sum, i) => sum + cents(service.upgrades[i].price), 0);
  return unit * quantity;
}

export async function service([id]) {
  const s = await get(`/services/${id}`);
  const reviews = await get(`/services/${id}/reviews?limit=20`).catch(() => ({ items: [] }));
  const user = me();
  const totalOut = h('output', { id: 'total', name: 'total', 'aria-live': 'polite' });
  const daysOut = h('output', { id: 'days' });
  const recompute = (f) => {
    const fd = new FormData(f);
    const chosen = fd.getAll('upgrade').map(Number);
    const qty = Math.max(1, Math.min(10, Number(fd.get('quantity')) || 1));
    totalOut.replaceChildren(money(fromCents(orderTotal(s, chosen, qty))));
    daysOut.replaceChildren(`${s.delivery_days + chosen.reduce((d, i) => d + s.upgrades[i].extra_days, 0)} ${t('days')}`);
  };
  const orderFields = [
    s.upgrades.length ? h('fieldset', {}, h('legend', {}, t('upgrades')),
      s.upgrades.map((u) => field('upgrade', `${u.title} (+${fmtMoney(u.price)}, +${u.extra_days} ${t('days')})`,
        { type: 'checkbox', value: u.index }))) : null,
    field('quantity', t('quantity'), { type: 'number', min: 1, max: 10, value: 1, inputmode: 'numeric' }),
    h('p', { class: 'total' }, `${t('total')}: `, totalOut, ' · ', `${t('delivery_days')}: `, daysOut),
  ];
  const payload = (fd) => ({
    service_id: s.id,
    upgrades: fd.getAll('upgrade').map(Number),
    quantity: Number(fd.get('quantity')) || 1,
  });
  let orderForm = null;
  // Short of money: PayPal can pay exactly the difference (payments.md),
  // and the order is placed when the payment settles.
  const payBox = h('div', { class: 'card paypal-box', hidden: true });
  if (!user) {
    orderForm = needSignIn();
  } else if (user.id !== s.seller_id && s.status === 'active') {
    const methods = await get('/payment-methods').catch(() => ({ items: [] }));
    orderForm = form({ name: 'order', class: 'card order-box' }, orderFields, t('order_now'), async (fd) => {
      try {
        const o = await post('/orders', payload(fd));
        await go(`/orders/${o.id}`);
      } catch (err) {
        if (err.code === 'insufficient_funds' && methods.items.includes('paypal')) payBox.hidden = false;
        throw err;
      }
    });
    orderForm.addEventListener('input', () => recompute(orderForm));
    recompute(orderForm);
    const cont = h('div', { hidden: true }, h('p', { class: 'hint' }, t('paypal_then_continue')),
      actionButton(t('paypal_continue'), async () => {
        const id = sessionStorage.getItem(CHECKOUT);
        const tp = await post(`/me/topups/${id}/capture`);
        sessionStorage.removeItem(CHECKOUT);
        await go(tp.status === 'settled' ? '/me/purchases' : '/me/balance');
      }, { name: 'paypal-continue' }));
    payBox.append(actionButton(t('pay_paypal'), async () => {
      const r = await api('POST', '/orders', { ...payload(new FormData(orderForm)), pay_with: 'paypal' });
      if (r.status === 201) {
        await go(`/orders/${r.data.id}`);
        return;
      }
      sessionStorage.setItem(CHECKOUT, r.data.checkout.topup_id);
      window.open(r.data.checkout.approve_url, '_blank', 'noopener');
      cont.hidden = false;
    }, { name: 'pay-paypal' }), cont);
  }
  return h('div', { class: 'page service' },
    h('h1', {}, s.title),
    h('p', { class: 'meta' }, status(s.status), ' · ', catName(s.category), ' · ',
      h('a', { href: `/users/${s.seller_id}` }, `${t('seller')}: ${s.seller_id}`), ' · ',
      `★ ${s.rating.average} (${s.rating.count}) · ${s.orders_completed} ${t('orders_completed')}`),
    h('p', { class: 'price' }, `${t('price')}: `, money(s.price), ` · ${s.delivery_days} ${t('days')}`),
    h('p', { class: 'desc' }, s.description),
    s.instructions ? h('p', { class: 'hint' }, `${t('instructions_needed')}: ${s.instructions}`) : null,
    user && user.id === s.seller_id ? h('a', { href: `/services/${s.id}/edit`, class: 'button' }, t('edit')) : null,
    orderForm,
    payBox,
    section(t('reviews'), reviews.items.length ? reviews.items.map(reviewView) : h('p', {}, t('no_reviews'))));
}

function reviewView(r) {
  return h('div', { class: 'review' },
    h('p', {}, h('strong', {}, '★'.repeat(r.rating)), ` ${r.text}`),
    h('p', { class: 'meta' }, h('bdi', {}, r.buyer_id), ` · ${fmtTime(r.created_at)}`),
    r.reply ? h('p', { class: 'reply' }, `${t('seller_reply')}: ${r.reply.text}`) : null);
}

export async function user([id]) {
  const u = await get(`/users/${id}`);
  return page(u.display_name || u.id,
    h('p', { class: 'meta' }, `★ ${u.rating.average} (${u.rating.count}) · ${u.orders_completed} ${t('orders_completed')}`),
    h('h2', {}, t('services')),
    u.services.length ? h('div', { class: 'grid' }, u.services.map(serviceCard)) : h('p', {}, t('no_services')));
}

// ---------------------------------------------------------------- seller

function upgradeRow(u = {}) {
  const row = h('fieldset', { class: 'upgrade' },
    h('legend', {}, t('upgrades')),
    field('up_title', t('upgrade_title'), { value: u.title || '' }),
    field('up_price', t('upgrade_price'), { value: u.price || '5.00', inputmode: 'decimal', dir: 'ltr' }),
    field('up_days', t('extra_days'), { type: 'number', min: 0, max: 30, value: u.extra_days ?? 0 }));
  row.append(h('button', { type: 'button', class: 'link', onclick: () => row.remove() }, t('remove')));
  return row;
}

export async function serviceForm([id]) {
  if (!me()) return needSignIn();
  let s = {};
  if (id) {
    const got = await get(`/services/${id}`);
    s = { ...got, ...(got.pending_revision || {}) };
  }
  const ups = h('div', { class: 'upgrades' }, (s.upgrades || []).map(upgradeRow));
  const fields = [
    field('title', t('title'), { value: s.title || '', required: true, maxlength: 120 }),
    field('description', t('description'), { kind: 'textarea', required: true }),
    field('category', t('category'), { kind: 'select', options: CATEGORIES.map((c) => [c, catName(c)]) }),
    field('price', t('price'), { kind: 'select', options: PRICES.map((p) => [p, fmtMoney(p)]) }),
    field('delivery_days', t('delivery_days'), { type: 'number', min: 1, max: 30, value: s.delivery_days || 2 }),
    field('instructions', t('instructions'), { kind: 'textarea' }),
    ups,
    h('button', { type: 'button', class: 'secondary', id: 'add-upgrade', onclick: () => ups.append(upgradeRow()) }, t('add_upgrade')),
  ];
  const f = form({ name: 'service', class: 'card' }, fields, t('save'), async (fd) => {
    const titles = fd.getAll('up_title');
    const prices = fd.getAll('up_price');
    const days = fd.getAll('up_days');
    const body = {
      title: fd.get('title'),
      description: fd.get('description'),
      category: fd.get('category'),
      price: fd.get('price'),
      delivery_days: Number(fd.get('delivery_days')),
      upgrades: titles.map((title, i) => ({ title, price: prices[i], extra_days: Number(days[i]) })),
    };
    const instr = String(fd.get('instructions') || '').trim();
    if (instr) body.instructions = instr;
    const saved = id ? await patch(`/services/${id}`, body) : await post('/services', body);
    await go(`/me/services?saved=${saved.id}`);
  });
  f.elements.description.value = s.description || '';
  f.elements.instructions.value = s.instructions || '';
  if (s.category) f.elements.category.value = s.category;
  if (s.price) f.elements.price.value = s.price;
  return page(id ? t('edit_service') : t('new_service'), f);
}

export async function myServices() {
  if (!me()) return needSignIn();
  const list = await get('/me/services?limit=100');
  const saved = new URLSearchParams(location.search).get('saved');
  const rows = list.items.map((s) => h('article', { class: 'card svc', 'data-id': s.id },
    h('h3', {}, h('a', { href: `/services/${s.id}` }, s.title)),
    h('p', {}, status(s.status), ' · ', money(s.price)),
    s.rejection_reason ? h('p', { class: 'reason' }, `${t('rejection_reason')}: ${s.rejection_reason}`) : null,
    s.pending_revision ? h('p', { class: 'hint' }, `${t('pending_revision')}: ${s.pending_revision.title}`) : null,
    h('div', { class: 'actions' },
      h('a', { href: `/services/${s.id}/edit`, class: 'button secondary' }, t('edit')),
      s.status === 'active' ? actionButton(t('pause'), async () => { await post(`/services/${s.id}/pause`); await render(); }) : null,
      s.status === 'paused' ? actionButton(t('resume'), async () => { await post(`/services/${s.id}/resume`); await render(); }) : null)));
  return page(t('nav_my_services'),
    saved ? notice(t('saved_pending')) : null,
    h('a', { href: '/services/new', class: 'button' }, t('new_service')),
    rows.length ? rows : h('p', {}, t('no_services')));
}

export async function orders(_m, which) {
  if (!me()) return needSignIn();
  const list = await get(`/me/${which}?limit=100`);
  const title = { sales: 'nav_sales', purchases: 'nav_purchases', inbox: 'nav_inbox' }[which];
  // Each order shows the caller's unread messages; the inbox lists only those.
  const unread = (o) => (o.unread > 0
    ? h('span', { class: 'unread', 'data-unread': String(o.unread) }, ` ${o.unread} ${t('unread')}`)
    : null);
  return page(t(title),
    list.items.length ? h('ul', { class: 'list' }, list.items.map((o) => h('li', { class: 'card', 'data-id': o.id },
      h('a', { href: `/orders/${o.id}` }, o.service_title), ' ', status(o.status), ' ', money(o.total),
      unread(o),
      h('span', { class: 'meta' }, ` · ${fmtTime(o.placed_at)}`))))
      : h('p', {}, t(which === 'inbox' ? 'no_unread' : 'no_orders')));
}

// ---------------------------------------------------------------- orders

// ---------------------------------------------------------------- files

/**
 * Uploads the chosen files of an order (product.md "Files"): the API hands
 * out a presigned URL per file, the bytes go straight to it; the ids come
 * back for the message or delivery that attaches them.
 */
async function uploadFiles(orderId, input) {
  const ids = [];
  for (const f of input?.files || []) {
    const up = await post(`/orders/${orderId}/files`, {
      name: f.name, content_type: f.type || 'application/octet-stream', size: f.size,
    });
    let r;
    try {
      // Exactly the headers the API lists: they are signed into the URL.
      r = await fetch(up.upload_url, { method: 'PUT', headers: up.upload_headers, body: f });
    } catch {
      throw new Problem({ code: 'network', status: 0 });
    }
    if (!r.ok) throw new Problem({ code: 'upload_failed', status: r.status });
    ids.push(up.file_id);
  }
  return ids;
}

/**
 * A download button: the API checks who asks (bearer token), then
 * redirects to a short-lived URL that serves the file as an attachment;
 * the browser drops the token on a cross-origin redirect.
 */
function fileLink(orderId, fileId, n) {
  return h('button', {
    type: 'button', class: 'link file', 'data-file': fileId,
    onclick: async () => {
      const r = await fetch(`${cfg().api}/orders/${orderId}/files/${fileId}`, {
        headers: { Authorization: `Bearer ${token()}` },
      });
      if (!r.ok) return;
      const cd = r.headers.get('Content-Disposition') || '';
      const m = cd.match(/filename\*=UTF-8''([^;]+)/);
      const a = h('a', { href: URL.createObjectURL(await r.blob()), download: m ? decodeURIComponent(m[1]) : `file-${n}` });
      document.body.append(a);
      a.click();
      a.remove();
    },
  }, `📎 ${t('attachment')} ${n}`);
}

const fileInput = () => h('div', { class: 'field' },
  h('label', {}, t('attach_files'), h('input', { type: 'file', name: 'files', multiple: true })));

/** Placed → (instructions) → due → delivered → completed, or → cancelled. */
function timeline(o) {
  const reached = {
    placed_at: true,
    due_at: Boolean(o.delivered_at || o.completed_at),
    delivered_at: Boolean(o.delivered_at),
    completed_at: Boolean(o.completed_at),
    cancelled_at: Boolean(o.cancelled_at),
  };
  const steps = o.status === 'cancelled'
    ? ['placed_at', 'cancelled_at']
    : ['placed_at', 'due_at', 'delivered_at', 'completed_at'];
  const next = steps.find((k) => !reached[k]);
  return h('ol', { class: 'timeline', 'aria-label': t('timeline') },
    steps.map((k) => h('li', {
      class: reached[k] ? 'done' : (k === next ? 'next' : ''),
      'aria-current': k === next ? 'step' : undefined,
    }, h('span', { class: 'step' }, t(k)), ' ', h('time', { datetime: o[k] || '' }, o[k] ? fmtTime(o[k]) : '—'))));
}

export async function order([id]) {
  const user = me();
  if (!user) return needSignIn();
  const o = await get(`/orders/${id}`);
  const msgs = await get(`/orders/${id}/messages?limit=100`);
  const isBuyer = user.id === o.buyer_id;
  const isSeller = user.id === o.seller_id;
  const open = o.status !== 'completed' && o.status !== 'cancelled';
  const act = (path, body) => async () => { await post(`/orders/${id}/${path}`, body); await render(); };
  const textAction = (name, label, submit, path, key = 'text', required = true) =>
    form({ name, class: 'card' }, [field(key, label, { kind: 'textarea', required })], submit, async (fd) => {
      const v = String(fd.get(key) || '').trim();
      await post(`/orders/${id}/${path}`, required || v ? { [key]: v } : {});
      await render();
    });

  const actions = [];
  if (isBuyer && o.status === 'awaiting_instructions') {
    actions.push(textAction('instructions', t('instructions_needed'), t('give_instructions'), 'instructions'));
  }
  if (isSeller && o.status === 'in_progress') {
    const f = form({ name: 'deliver', class: 'card' },
      [field('text', t('delivery_text'), { kind: 'textarea' }), fileInput()], t('deliver'), async (fd) => {
        const fileIds = await uploadFiles(id, f.elements.files);
        const text = String(fd.get('text') || '').trim();
        await post(`/orders/${id}/deliver`, { ...(text ? { text } : {}), ...(fileIds.length ? { file_ids: fileIds } : {}) });
        await render();
      });
    actions.push(f);
  }
  if (isBuyer && o.status === 'delivered') {
    actions.push(actionButton(t('receive'), act('receive'), { name: 'receive', class: 'primary' }));
    actions.push(textAction('changes', t('changes_text'), t('ask_changes'), 'changes'));
  }
  if (o.can_cancel) {
    actions.push(textAction('cancel', t('cancel_reason'), t('cancel_order'), 'cancel', 'reason', false));
  } else if (isBuyer && o.status === 'in_progress' && o.due_at) {
    // Why there is no cancel button yet: the server's own refusal sentence.
    actions.push(h('p', { class: 'problem', role: 'note', id: 'cancel-note', 'data-code': 'not_late_yet' },
      `${problemText({ code: 'not_late_yet' })} ${t('due_at')}: ${fmtTime(o.due_at)}`));
  }
  // Disputes arrive with the order's `dispute` field; until the API has it,
  // no button shows.
  if ('dispute' in o && !o.dispute && (isBuyer || isSeller) && ['in_progress', 'delivered'].includes(o.status)) {
    actions.push(textAction('dispute', t('dispute_reason'), t('dispute'), 'dispute', 'reason'));
  }
  // An open dispute holds the order: operators end it here with a reason.
  const disputeOpen = o.dispute && o.dispute.status === 'open';
  if (user.operator && !isBuyer && !isSeller && disputeOpen) {
    actions.push(form({ name: 'resolve', class: 'card' }, [
      field('outcome', t('dispute_outcome'), {
        kind: 'select', options: [['complete', t('dispute_complete')], ['cancel', t('dispute_cancel')]],
      }),
      field('reason', t('reason'), { required: true }),
    ], t('dispute_resolve'), async (fd) => {
      await post(`/admin/disputes/${id}/resolve`, { outcome: fd.get('outcome'), reason: fd.get('reason') });
      await render();
    }));
  }
  if (user.operator && !isBuyer && !isSeller && open && !disputeOpen) {
    const adminAct = (name, label, path) => form({ name, class: 'card' },
      [field('reason', t('reason'), { required: true })], label, async (fd) => {
        await post(`/admin/orders/${id}/${path}`, { reason: fd.get('reason') });
        await render();
      });
    actions.push(adminAct('admin-cancel', t('admin_cancel'), 'cancel'), adminAct('admin-complete', t('admin_complete'), 'complete'));
  }

  const disputePart = o.dispute ? section(t('dispute_title'),
    h('p', { id: 'dispute-status', 'data-status': o.dispute.status },
      `${t(o.dispute.status === 'open' ? 'dispute_open' : 'dispute_resolved')} · ${fmtTime(o.dispute.opened_at)}`),
    h('blockquote', {}, o.dispute.reason),
    o.dispute.resolution_reason
      ? h('p', {}, `${t(o.dispute.outcome === 'cancel' ? 'dispute_cancel' : 'dispute_complete')}: ${o.dispute.resolution_reason}`)
      : null) : null;

  let reviewPart = null;
  if (o.status === 'completed') {
    const rs = await get(`/services/${o.service_id}/reviews?limit=100`).catch(() => ({ items: [] }));
    const mine = rs.items.find((r) => r.order_id === o.id);
    if (mine) {
      reviewPart = section(t('reviews'), reviewView(mine),
        isSeller && !mine.reply ? form({ name: 'reply', class: 'inline' },
          [field('text', t('reply_text'), { kind: 'textarea', required: true })], t('reply'), async (fd) => {
            await post(`/orders/${id}/review/reply`, { text: fd.get('text') });
            await render();
          }) : null);
    } else if (isBuyer) {
      reviewPart = form({ name: 'review', class: 'card' }, [
        h('h2', {}, t('review')),
        field('rating', t('your_rating'), { kind: 'select', options: [5, 4, 3, 2, 1].map((n) => [n, '★'.repeat(n)]) }),
        field('text', t('review_text'), { kind: 'textarea', required: true }),
      ], t('review'), async (fd) => {
        await post(`/orders/${id}/review`, { rating: Number(fd.get('rating')), text: fd.get('text') });
        await render();
      });
    }
  }

  const messageForm = () => {
    const f = form({ name: 'message', class: 'message-form' },
      [field('text', t('message'), { kind: 'textarea', required: true }), fileInput()], t('send'), async (fd) => {
        const fileIds = await uploadFiles(id, f.elements.files);
        await post(`/orders/${id}/messages`, { text: fd.get('text'), ...(fileIds.length ? { file_ids: fileIds } : {}) });
        await render();
      });
    return f;
  };
  const who = (sender) => (sender === user.id ? t('you') : sender === o.buyer_id ? t('buyer') : t('seller'));
  const messages = section(t('messages'),
    msgs.items.length
      // Newest first, as the API lists them: the latest is on top.
      ? h('ol', { class: 'messages' }, msgs.items.map((m) => h('li', {
        class: m.sender_id === user.id ? 'mine' : 'theirs',
      }, h('p', { class: 'meta' }, `${who(m.sender_id)} · ${fmtTime(m.at)}`), h('p', {}, m.text),
      (m.file_ids || []).length ? h('p', { class: 'files' }, m.file_ids.map((f, i) => fileLink(id, f, i + 1))) : null)))
      : h('p', {}, t('no_messages')),
    isBuyer || isSeller ? messageForm() : null);

  return h('div', { class: 'page order', 'data-status': o.status },
    h('h1', {}, `${t('order')}: `, h('a', { href: `/services/${o.service_id}` }, o.service_title)),
    h('p', { class: 'meta' }, status(o.status), ' · ', `${t('buyer')}: ${o.buyer_id} · ${t('seller')}: ${o.seller_id}`),
    h('dl', { class: 'facts' },
      h('dt', {}, t('total')), h('dd', { id: 'order-total' }, money(o.total)),
      h('dt', {}, t('quantity')), h('dd', {}, String(o.quantity)),
      o.upgrades.length ? [h('dt', {}, t('upgrades')), h('dd', {}, o.upgrades.map((u) => u.title).join('، '))] : null,
      isSeller || user.operator ? [h('dt', {}, t('fee')), h('dd', {}, money(o.fee)),
        h('dt', {}, t('seller_net')), h('dd', {}, money(o.seller_net))] : null,
      o.instructions ? [h('dt', {}, t('instructions_needed')), h('dd', {}, o.instructions)] : null,
      o.delivery_text ? [h('dt', {}, t('delivery')), h('dd', {}, o.delivery_text)] : null,
      (o.delivery_files || []).length ? [h('dt', {}, t('delivery_files')),
        h('dd', { id: 'delivery-files' }, o.files_expired_at
          ? problemText({ code: 'file_expired' })
          : o.delivery_files.map((f, i) => fileLink(id, f, i + 1)))] : null,
      o.cancel_reason ? [h('dt', {}, t('reason')), h('dd', {}, o.cancel_reason)] : null),
    timeline(o),
    disputePart,
    (o.changes || []).length ? section(t('change_requests'),
      h('ol', { class: 'changes', id: 'change-requests' }, o.changes.map((c) => h('li', {},
        h('p', { class: 'meta' }, fmtTime(c.at)), h('p', {}, c.text))))) : null,
    actions.length ? h('div', { class: 'actions-block' }, actions) : null,
    reviewPart,
    messages);
}

// ---------------------------------------------------------------- money

const TOPUP = 'khamsa.topup';

function balances(p) {
  return h('dl', { class: 'facts balances' },
    h('dt', {}, t('balance')), h('dd', { id: 'balance' }, money(p.balance)),
    h('dt', {}, t('earnings_pending')), h('dd', { id: 'earnings-pending' }, money(p.earnings_pending)),
    h('dt', {}, t('earnings_available')), h('dd', { id: 'earnings-available' }, money(p.earnings_available)),
    h('dt', {}, t('withdrawals_in_flight')), h('dd', {}, money(p.withdrawals_in_flight)));
}

function ledgerTable(lines) {
  if (!lines.length) return h('p', {}, t('no_lines'));
  return h('div', { class: 'scroll' }, h('table', { class: 'ledger' },
    h('thead', {}, h('tr', {}, ['at', 'account', 'kind', 'amount', 'balance_after'].map((k) => h('th', { scope: 'col' }, t(`col_${k}`))))),
    h('tbody', {}, lines.map((l) => h('tr', {},
      h('td', {}, fmtTime(l.at)), h('td', { dir: 'ltr' }, l.account), h('td', { dir: 'ltr' }, l.kind),
      h('td', { dir: 'ltr' }, l.amount), h('td', { dir: 'ltr' }, l.balance_after))))));
}

export async function balance() {
  if (!me()) return needSignIn();
  const q = new URLSearchParams(location.search);
  let done = null;
  // Back from PayPal's approval page: capture the top-up that was waiting.
  const pending = sessionStorage.getItem(TOPUP);
  if (q.get('paypal') === 'return' && pending) {
    sessionStorage.removeItem(TOPUP);
    try {
      const tp = await post(`/me/topups/${pending}/capture`);
      done = tp.status === 'settled' ? notice(t('topup_settled')) : notice(t(`st_${tp.status}`));
    } catch (err) {
      done = failure(err);
    }
    history.replaceState(null, '', '/me/balance');
  } else if (q.get('paypal') === 'cancel') {
    sessionStorage.removeItem(TOPUP);
    history.replaceState(null, '', '/me/balance');
  }
  const [p, methods, ledger] = await Promise.all([
    get('/me'), get('/payment-methods'), get('/me/ledger?limit=100'),
  ]);
  const topup = form({ name: 'topup', class: 'card' }, [
    h('h2', {}, t('top_up')),
    field('amount', t('amount'), { inputmode: 'decimal', dir: 'ltr', required: true, value: '' }),
    field('method', t('method'), { kind: 'select', options: methods.items.map((m) => [m, m === 'paypal' ? 'PayPal' : m]) }),
  ], t('topup_go'), async (fd) => {
    const back = `${location.origin}/me/balance`;
    const r = await post('/me/topups', {
      amount: String(fd.get('amount')).trim(),
      method: fd.get('method'),
      return_url: `${back}?paypal=return`,
      cancel_url: `${back}?paypal=cancel`,
    });
    if (r.approve_url) {
      sessionStorage.setItem(TOPUP, r.id);
      location.assign(r.approve_url);
      return;
    }
    await render();
  });
  return page(t('nav_balance'), done, balances(p), topup, section(t('ledger'), ledgerTable(ledger.items)));
}

export async function earnings() {
  if (!me()) return needSignIn();
  const [p, list] = await Promise.all([get('/me'), get('/me/withdrawals?limit=100')]);
  const f = form({ name: 'withdraw', class: 'card' }, [
    h('h2', {}, t('withdraw')),
    field('amount', t('amount'), { inputmode: 'decimal', dir: 'ltr', required: true, value: p.earnings_available }),
    field('paypal_email', t('paypal_email'), { type: 'email', dir: 'ltr', value: p.paypal_email || p.email || '' }),
  ], t('withdraw_go'), async (fd) => {
    const body = { amount: String(fd.get('amount')).trim() };
    const email = String(fd.get('paypal_email') || '').trim();
    if (email) body.paypal_email = email;
    await post('/withdrawals', body);
    await render();
  });
  return page(t('nav_earnings'), balances(p), f, section(t('withdrawals'), withdrawalList(list.items)));
}

function withdrawalList(items, admin = false) {
  if (!items.length) return h('p', {}, t('none'));
  return h('ul', { class: 'list' }, items.map((w) => h('li', { class: 'card', 'data-id': w.id },
    money(w.amount), ' ', status(w.status), ` · ${w.paypal_email} · ${fmtTime(w.created_at)}`,
    w.reason ? h('p', { class: 'reason' }, `${t('reason')}: ${w.reason}`) : null,
    admin && w.status === 'requested' ? h('div', { class: 'actions' },
      actionButton(t('approve'), async () => { await post(`/admin/withdrawals/${w.id}/approve`); await render(); }, { name: 'approve' }),
      form({ name: 'reject', class: 'inline' }, [field('reason', t('reason'), { required: true })], t('reject'), async (fd) => {
        await post(`/admin/withdrawals/${w.id}/reject`, { reason: fd.get('reason') });
        await render();
      })) : null)));
}

// ---------------------------------------------------------------- requests

export async function requests() {
  const list = await get('/requests?limit=50');
  const user = me();
  return page(t('requests_board'),
    user ? form({ name: 'request', class: 'card' }, [
      h('h2', {}, t('post_request')),
      field('title', t('title'), { required: true }),
      field('description', t('description'), { kind: 'textarea', required: true }),
      field('budget', t('budget'), { inputmode: 'decimal', dir: 'ltr' }),
    ], t('post_request'), async (fd) => {
      const body = { title: fd.get('title'), description: fd.get('description') };
      const budget = String(fd.get('budget') || '').trim();
      if (budget) body.budget = budget;
      const r = await post('/requests', body);
      await go(`/requests/${r.id}`);
    }) : null,
    list.items.length ? h('ul', { class: 'list' }, list.items.map((r) => h('li', { class: 'card' },
      h('a', { href: `/requests/${r.id}` }, r.title), ' ', status(r.status),
      r.budget ? [' · ', money(r.budget)] : null))) : h('p', {}, t('none')));
}

export async function request([id]) {
  const r = await get(`/requests/${id}`);
  const user = me();
  const mine = user && user.id === r.author_id;
  return page(r.title,
    h('p', { class: 'meta' }, status(r.status), ` · ${r.author_id} · ${fmtTime(r.created_at)}`, r.budget ? [' · ', money(r.budget)] : null),
    h('p', { class: 'desc' }, r.description),
    mine && r.status === 'open' ? actionButton(t('close_request'), async () => { await post(`/requests/${id}/close`); await render(); }) : null,
    section(t('offers'), (r.offers || []).length ? h('ul', { class: 'list' }, r.offers.map((o) => h('li', {},
      h('p', {}, o.text),
      h('p', { class: 'meta' }, h('a', { href: `/users/${o.seller_id}` }, o.seller_id),
        o.service_id ? [' · ', h('a', { href: `/services/${o.service_id}` }, t('services'))] : null)))) : h('p', {}, t('none'))),
    user && !mine && r.status === 'open' ? form({ name: 'offer', class: 'card' }, [
      field('text', t('offer_text'), { kind: 'textarea', required: true }),
      field('service_id', t('service_id_opt'), { dir: 'ltr' }),
    ], t('make_offer'), async (fd) => {
      const body = { text: fd.get('text') };
      const sid = String(fd.get('service_id') || '').trim();
      if (sid) body.service_id = sid;
      await post(`/requests/${id}/offers`, body);
      await render();
    }) : null);
}

// ---------------------------------------------------------------- operators

function needOperator() {
  const user = me();
  if (!user) return needSignIn();
  if (!user.operator) return failure(new Problem({ code: 'operators_only', status: 403 }));
  return null;
}

export async function adminServices() {
  const stop = needOperator();
  if (stop) return stop;
  const [pending, revisions] = await Promise.all([
    get('/admin/services?status=pending_review&limit=100'),
    get('/admin/services?status=pending_revision&limit=100'),
  ]);
  const card = (s, revision) => {
    const d = revision ? s.pending_revision : s;
    const base = revision ? `/admin/services/${s.id}/revision` : `/admin/services/${s.id}`;
    return h('article', { class: 'card svc', 'data-id': s.id },
      h('h3', {}, h('a', { href: `/services/${s.id}` }, d.title)),
      h('p', { class: 'meta' }, `${catName(d.category)} · ${s.seller_id} · `, money(d.price), ` · ${d.delivery_days} ${t('days')}`),
      h('p', { class: 'desc' }, d.description),
      d.upgrades.length ? h('ul', {}, d.upgrades.map((u) => h('li', {}, `${u.title} +`, money(u.price)))) : null,
      h('div', { class: 'actions' },
        actionButton(revision ? t('approve_revision') : t('approve'), async () => { await post(`${base}/approve`); await render(); }, { name: 'approve' }),
        revision
          ? actionButton(t('reject_revision'), async () => { await post(`${base}/reject`); await render(); }, { name: 'reject' })
          : form({ name: 'reject', class: 'inline' }, [field('reason', t('reason'), { required: true })], t('reject'), async (fd) => {
            await post(`${base}/reject`, { reason: fd.get('reason') });
            await render();
          })));
  };
  return page(t('moderation'),
    pending.items.length ? pending.items.map((s) => card(s, false)) : h('p', {}, t('none')),
    section(t('revisions'), revisions.items.length ? revisions.items.map((s) => card(s, true)) : h('p', {}, t('none'))));
}

export async function adminDisputes() {
  const stop = needOperator();
  if (stop) return stop;
  const list = await get('/admin/disputes?limit=100');
  return page(t('nav_admin_disputes'),
    list.items.length ? h('ul', { class: 'list' }, list.items.map((o) => h('li', { class: 'card', 'data-id': o.id },
      h('a', { href: `/orders/${o.id}` }, o.service_title), ' ', status(o.status),
      h('span', { class: 'meta' }, ` · ${fmtTime(o.dispute.opened_at)} · `), o.dispute.reason))) : h('p', {}, t('no_disputes')));
}

export async function adminWithdrawals() {
  const stop = needOperator();
  if (stop) return stop;
  const list = await get('/admin/withdrawals?status=requested&limit=100');
  return page(t('nav_admin_withdrawals'), withdrawalList(list.items, true));
}

export async function adminLedger() {
  const stop = needOperator();
  if (stop) return stop;
  const r = await get('/admin/ledger/check');
  return page(t('ledger_check'),
    h('p', { id: 'ledger-result', class: r.ok ? 'ok' : 'problem', 'data-ok': String(r.ok) },
      r.ok ? t('ledger_ok') : t('ledger_bad')),
    r.ok ? null : h('ul', {}, r.violations.map((v) => h('li', {}, JSON.stringify(v)))),
    h('p', { class: 'meta' }, `accounts_total: ${r.accounts_total}`),
    actionButton(t('run_check'), () => render()));
}

