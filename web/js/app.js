// The shell: header, language switch, sign-in state and a History-API
// router whose paths are the links in emails (/orders/{id},
// /me/withdrawals) and the API's own resource paths.

import { applyLang, lang, setLang, t } from './i18n.js';
import { loadConfig, me } from './api.js';
import { signOut } from './auth.js';
import { h } from './ui.js';
import * as pages from './pages.js';

const routes = [
  [/^\/(services)?$/, pages.home],
  [/^\/signin$/, pages.signIn],
  [/^\/auth\/callback$/, pages.authCallback],
  [/^\/unsubscribe$/, pages.unsubscribe],
  [/^\/services\/new$/, pages.serviceForm],
  [/^\/services\/([^/]+)\/edit$/, pages.serviceForm],
  [/^\/services\/([^/]+)$/, pages.service],
  [/^\/orders\/([^/]+)$/, pages.order],
  [/^\/me\/services$/, pages.myServices],
  [/^\/me\/sales$/, (m) => pages.orders(m, 'sales')],
  [/^\/me\/purchases$/, (m) => pages.orders(m, 'purchases')],
  [/^\/me\/inbox$/, (m) => pages.orders(m, 'inbox')],
  [/^\/me(\/balance)?$/, pages.balance],
  [/^\/me\/ledger$/, pages.balance],
  [/^\/me\/withdrawals$/, pages.earnings],
  [/^\/requests$/, pages.requests],
  [/^\/requests\/([^/]+)$/, pages.request],
  [/^\/users\/([^/]+)$/, pages.user],
  [/^\/admin(\/services)?$/, pages.adminServices],
  [/^\/admin\/withdrawals$/, pages.adminWithdrawals],
  [/^\/admin\/disputes$/, pages.adminDisputes],
  [/^\/admin\/ledger$/, pages.adminLedger],
];

function header() {
  const user = me();
  const link = (href, key) => h('a', { href }, t(key));
  const nav = [
    link('/', 'nav_home'),
    link('/requests', 'nav_requests'),
  ];
  if (user) {
    nav.push(
      link('/services/new', 'nav_sell'),
      link('/me/services', 'nav_my_services'),
      link('/me/sales', 'nav_sales'),
      link('/me/purchases', 'nav_purchases'),
      link('/me/inbox', 'nav_inbox'),
      link('/me/balance', 'nav_balance'),
      link('/me/withdrawals', 'nav_earnings'),
    );
    if (user.operator) {
      nav.push(
        link('/admin/services', 'nav_admin_services'),
        link('/admin/withdrawals', 'nav_admin_withdrawals'),
        link('/admin/disputes', 'nav_admin_disputes'),
        link('/admin/ledger', 'nav_admin_ledger'),
      );
    }
  }
  const account = user
    ? [h('span', { class: 'who' }, `${t('signed_in_as')} ${user.name}`),
      h('button', {
        type: 'button', class: 'link', id: 'sign-out',
        onclick: () => { if (!signOut()) go('/'); },
      }, t('sign_out'))]
    : [h('a', { href: '/signin', id: 'sign-in' }, t('sign_in'))];
  return h('div', { class: 'bar' },
    h('a', { href: '/', class: 'brand' }, t('brand')),
    h('nav', { 'aria-label': t('brand') }, nav),
    h('div', { class: 'account' }, account,
      h('button', {
        type: 'button', class: 'lang', id: 'lang-switch',
        lang: lang() === 'ar' ? 'en' : 'ar',
        onclick: () => { setLang(lang() === 'ar' ? 'en' : 'ar'); render(); pages.syncLocale(); },
      }, t('switch_lang'))));
}

let renderSeq = 0;

export async function render() {
  const mySeq = ++renderSeq;
  applyLang();
  document.title = t('brand');
  document.getElementById('top').replaceChildren(header());
  const main = document.getElementById('main');
  const path = location.pathname.replace(/\/+$/, '') || '/';
  main.setAttribute('aria-busy', 'true');
  let view;
  try {
    const hit = routes.map(([re, page]) => [path.match(re), page]).find(([m]) => m);
    view = hit ? await hit[1](hit[0].slice(1).map(decodeURIComponent)) : h('p', {}, t('not_found_page'));
  } catch (err) {
    view = pages.failure(err);
  }
  if (mySeq !== renderSeq) return;
  main.replaceChildren(view);
  main.removeAttribute('aria-busy');
  main.dataset.path = path;
}

export async function go(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  window.scrollTo(0, 0);
  await render();
  // A new page: keyboard and screen-reader users start at its content.
  document.getElementById('main')?.focus({ preventScroll: true });
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest?.('a[href]');
  if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
  const href = a.getAttribute('href');
  if (!href.startsWith('/') || href.startsWith('//') || a.target) return;
  ev.preventDefault();
  go(href);
});

window.addEventListener('popstate', () => render());

await loadConfig();
render();
