// The README's walk-through, by clicking, in Debian's Chromium: in Arabic,
// then in English; the refusals a person meets; right-to-left layout; and
// screenshots at phone and desktop width. Run by run.sh, which starts
// khamsa-local and passes its address in KHAMSA_URL.

import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const BASE = process.env.KHAMSA_URL || 'http://127.0.0.1:8080';
const OUT = process.env.KHAMSA_WEB_OUT || join(process.cwd(), 'out');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
mkdirSync(OUT, { recursive: true });

// Playwright gives every launch a fresh, empty profile of its own.
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
let failures = 0;
const RUN = Date.now().toString(36);
const started = Date.now();

async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n${e.stack || e}`);
    throw e;
  }
}

/** One person: their own browser context (their own sessionStorage). */
async function person(lang) {
  const ctx = await browser.newContext({ viewport: DESKTOP, locale: lang === 'ar' ? 'ar' : 'en-US' });
  ctx.setDefaultTimeout(10_000);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => { console.log(`page error: ${e}`); failures++; });
  await page.goto(`${BASE}/`);
  await page.waitForSelector('#main[data-path]');
  if (lang === 'en') {
    await page.click('#lang-switch');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
  }
  return { ctx, page };
}

/** Waits for the page's router to finish rendering `path`. */
async function settled(page, path) {
  await page.waitForFunction((p) => {
    const m = document.getElementById('main');
    return m && !m.hasAttribute('aria-busy') && (!p || m.dataset.path === p);
  }, path);
}

async function signIn(page, user, operator = false) {
  await page.click('#sign-in');
  await settled(page, '/signin');
  if (operator) await page.check('form[name=signin] [name=operator]');
  // By keyboard: type the name, Enter submits.
  await page.focus('form[name=signin] [name=user]');
  await page.keyboard.type(user);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#sign-out');
}

async function nav(page, href) {
  await page.click(`.bar nav a[href="${href}"]`);
  await settled(page, href);
}

async function shot(page, name) {
  for (const [label, vp] of [['phone', PHONE], ['desktop', DESKTOP]]) {
    await page.setViewportSize(vp);
    await page.evaluate(() => { document.activeElement?.blur(); window.scrollTo(0, 0); });
    await page.screenshot({ path: join(OUT, `${name}-${label}.png`), fullPage: label === 'desktop' });
  }
  await page.setViewportSize(DESKTOP);
}

async function problemCode(page, formSel) {
  const box = page.locator(`${formSel} .problem[role=alert]`);
  await box.waitFor({ state: 'visible' });
  return { code: await box.getAttribute('data-code'), text: (await box.textContent()).trim() };
}

async function walk(lang) {
  const T = lang === 'ar'
    ? { title: 'شعار احترافي لمشروعك', upgrade: 'ملفات المصدر', desc: 'أصمم شعارًا نظيفًا في يومين.' }
    : { title: 'A professional logo for your project', upgrade: 'Source files', desc: 'I design a clean logo in two days.' };
  const shots = lang === 'ar';
  const seller = await person(lang);
  const buyer = await person(lang);
  const op = await person(lang);
  // Fresh names each run, so a re-used server starts them with nothing.
  const sara = `sara-${lang}-${RUN}`;
  const omar = `omar-${lang}-${RUN}`;
  let serviceId;
  let orderUrl;

  await step(`${lang}: the page is ${lang === 'ar' ? 'right-to-left' : 'left-to-right'}`, async () => {
    const p = buyer.page;
    const dir = await p.evaluate(() => document.documentElement.dir);
    const htmlLang = await p.evaluate(() => document.documentElement.lang);
    const style = await p.evaluate(() => {
      const m = getComputedStyle(document.getElementById('main'));
      return { direction: m.direction, textAlign: m.textAlign };
    });
    const brand = await p.locator('.brand').boundingBox();
    const account = await p.locator('.account').boundingBox();
    if (lang === 'ar') {
      assert.equal(dir, 'rtl');
      assert.equal(htmlLang, 'ar');
      assert.equal(style.direction, 'rtl');
      // The brand starts the bar: on the right in Arabic.
      assert.ok(brand.x > account.x, `brand ${brand.x} should be right of account ${account.x}`);
    } else {
      assert.equal(dir, 'ltr');
      assert.equal(style.direction, 'ltr');
      assert.ok(brand.x < account.x);
    }
    assert.equal(style.textAlign, 'start');
  });

  await step(`${lang}: the seller lists a service with an upgrade`, async () => {
    const p = seller.page;
    await signIn(p, sara);
    await nav(p, '/services/new');
    await p.fill('form[name=service] [name=title]', T.title);
    await p.fill('form[name=service] [name=description]', T.desc);
    await p.selectOption('form[name=service] [name=category]', 'design');
    await p.selectOption('form[name=service] [name=price]', '10.00');
    await p.fill('form[name=service] [name=delivery_days]', '2');
    await p.click('#add-upgrade');
    await p.fill('form[name=service] [name=up_title]', T.upgrade);
    await p.fill('form[name=service] [name=up_price]', '5.00');
    await p.fill('form[name=service] [name=up_days]', '1');
    if (shots) await shot(p, 'service-form');
    await p.click('form[name=service] > button[type=submit]');
    await settled(p, '/me/services');
    serviceId = new URL(p.url()).searchParams.get('saved');
    assert.ok(serviceId);
    const card = p.locator(`article.svc[data-id="${serviceId}"]`);
    await card.locator('.st-pending_review').waitFor();
    assert.match(await card.textContent(), new RegExp(T.title));
  });

  await step(`${lang}: the operator approves it`, async () => {
    const p = op.page;
    await signIn(p, `ops-${lang}-${RUN}`, true);
    await nav(p, '/admin/services');
    if (shots) await shot(p, 'moderation');
    await p.click(`article[data-id="${serviceId}"] button[name=approve]`);
    await p.locator(`article[data-id="${serviceId}"]`).waitFor({ state: 'detached' });
  });

  await step(`${lang}: the buyer finds it; the total adds the upgrade; too little money is refused`, async () => {
    const p = buyer.page;
    await signIn(p, omar);
    await nav(p, '/');
    if (shots) await shot(p, 'home');
    // Search folds spelling: a hamza on the alef and a cut-off word still find it.
    await p.fill('form[role=search] [name=q]', lang === 'ar' ? 'إحترافي لمشروع' : 'LOGO proj');
    await p.click('form[role=search] button[type=submit]');
    await p.waitForURL((u) => u.searchParams.has('q'));
    await settled(p, '/');
    await p.locator(`article[data-id="${serviceId}"]`).waitFor();
    if (shots) await shot(p, 'search');
    await p.click(`article[data-id="${serviceId}"] h3 a`);
    await settled(p, `/services/${serviceId}`);
    await p.check('form[name=order] [name=upgrade]');
    await p.waitForFunction(() => document.getElementById('total').textContent.match(/15/));
    if (shots) await shot(p, 'service');
    await p.click('form[name=order] button[type=submit]');
    const r = await problemCode(p, 'form[name=order]');
    assert.equal(r.code, 'insufficient_funds');
    assert.match(r.text, lang === 'ar' ? /رصيدك لا يكفي/ : /balance is not enough/);
    // The refusal keeps the form as it was.
    assert.ok(await p.isChecked('form[name=order] [name=upgrade]'));
    assert.equal(p.url(), `${BASE}/services/${serviceId}`);
  });

  await step(`${lang}: the buyer tops up $50 with (the fake) PayPal`, async () => {
    const p = buyer.page;
    await nav(p, '/me/balance');
    await p.fill('form[name=topup] [name=amount]', '50.00');
    await p.selectOption('form[name=topup] [name=method]', 'paypal');
    await p.click('form[name=topup] button[type=submit]');
    await p.waitForURL(/checkoutnow/);
    await p.click('button[value=approve]');
    await p.waitForURL(`${BASE}/me/balance`);
    await settled(p, '/me/balance');
    await p.locator('.notice').waitFor();
    assert.match(await p.textContent('#balance'), /50/);
    if (shots) await shot(p, 'balance');
  });

  await step(`${lang}: the buyer orders with the upgrade`, async () => {
    const p = buyer.page;
    await p.goto(`${BASE}/services/${serviceId}`);
    await settled(p, `/services/${serviceId}`);
    await p.check('form[name=order] [name=upgrade]');
    await p.click('form[name=order] button[type=submit]');
    await p.waitForURL(/\/orders\//);
    await settled(p);
    orderUrl = p.url();
    assert.match(await p.textContent('#order-total'), /15/);
    await p.locator('.st-in_progress').first().waitFor();
  });

  await step(`${lang}: cancelling too early is explained, with no cancel button`, async () => {
    const p = buyer.page;
    const note = p.locator('#cancel-note');
    await note.waitFor();
    assert.equal(await note.getAttribute('data-code'), 'not_late_yet');
    assert.match(await note.textContent(), lang === 'ar' ? /لا يمكنك الإلغاء بعد/ : /cannot cancel yet/);
    assert.equal(await p.locator('form[name=cancel]').count(), 0);
  });

  await step(`${lang}: they message; contact details are refused and the text stays`, async () => {
    const p = buyer.page;
    const msg = lang === 'ar' ? 'أزرق وأبيض من فضلك' : 'Blue and white, please';
    await p.fill('form[name=message] [name=text]', msg);
    await p.click('form[name=message] button[type=submit]');
    await p.locator('.messages li', { hasText: msg }).waitFor();
    const bad = 'write to me at omar.direct@gmail.com';
    await p.fill('form[name=message] [name=text]', bad);
    await p.click('form[name=message] button[type=submit]');
    const r = await problemCode(p, 'form[name=message]');
    assert.equal(r.code, 'contact_details');
    assert.equal(await p.inputValue('form[name=message] [name=text]'), bad);
    // The seller reads it from the link in the new-order email.
    const emails = await (await p.request.get(`${BASE}/dev/emails?to=${sara}@example.com`)).json();
    const link = emails.items.map((e) => e.text).join('\n').match(/https?:\/\/\S+\/orders\/[A-Za-z0-9_-]+/);
    assert.ok(link, 'the new-order email links to the order');
    // Her inbox lists the order with one unread message; reading clears it.
    const oid = link[0].split('/orders/')[1];
    await seller.page.goto(`${BASE}/me/inbox`);
    await settled(seller.page, '/me/inbox');
    assert.equal(await seller.page.locator(`li[data-id="${oid}"] .unread`).getAttribute('data-unread'), '1');
    await seller.page.goto(link[0]);
    await settled(seller.page);
    await seller.page.locator('.messages li', { hasText: msg }).waitFor();
    await seller.page.goto(`${BASE}/me/inbox`);
    await settled(seller.page, '/me/inbox');
    assert.equal(await seller.page.locator(`li[data-id="${oid}"]`).count(), 0);
    await seller.page.goto(link[0]);
    await settled(seller.page);
    await shot(p, lang === 'ar' ? 'order' : 'order-en');
  });

  await step(`${lang}: the seller delivers, the buyer receives and reviews`, async () => {
    const s = seller.page;
    await s.fill('form[name=deliver] [name=text]', lang === 'ar' ? 'هذا شعارك' : 'Here is your logo');
    // The deliverable itself: a file, uploaded straight to its presigned URL.
    const logo = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    await s.setInputFiles('form[name=deliver] input[type=file]', { name: 'logo.png', mimeType: 'image/png', buffer: logo });
    await s.click('form[name=deliver] button[type=submit]');
    await s.locator('.page.order[data-status=delivered]').waitFor();
    const p = buyer.page;
    await p.reload();
    await settled(p);
    // The buyer downloads it, under its own name, with the same bytes.
    const download = p.waitForEvent('download');
    await p.click('#delivery-files button.file');
    const got = await download;
    assert.equal(got.suggestedFilename(), 'logo.png');
    const path = await got.path();
    assert.ok((await readFile(path)).equals(logo));
    await p.click('button[name=receive]');
    await p.locator('.page.order[data-status=completed]').waitFor();
    await p.selectOption('form[name=review] [name=rating]', '5');
    await p.fill('form[name=review] [name=text]', lang === 'ar' ? 'عمل ممتاز' : 'Excellent work');
    await p.click('form[name=review] button[type=submit]');
    await p.locator('.review').waitFor();
    if (shots) await shot(p, 'order-completed');
    await s.reload();
    await settled(s);
    await s.fill('form[name=reply] [name=text]', lang === 'ar' ? 'شكرًا لك' : 'Thank you');
    await s.click('form[name=reply] button[type=submit]');
    await s.locator('.review .reply').waitFor();
  });

  await step(`${lang}: fourteen days later the seller withdraws; the operator approves; it is paid`, async () => {
    const r = await seller.page.request.post(`${BASE}/dev/clock`, { data: { advance_seconds: 14 * 86400 + 60 } });
    assert.equal(r.status(), 200);
    const s = seller.page;
    await nav(s, '/me/withdrawals');
    assert.match(await s.textContent('#earnings-available'), /12/);
    await s.fill('form[name=withdraw] [name=amount]', '12.00');
    await s.click('form[name=withdraw] button[type=submit]');
    await s.locator('.list li .st-requested').waitFor();
    const wid = await s.locator('.list li').first().getAttribute('data-id');
    if (shots) await shot(s, 'earnings');
    const o = op.page;
    await nav(o, '/admin/withdrawals');
    if (shots) await shot(o, 'admin-withdrawals');
    await o.click(`li[data-id="${wid}"] button[name=approve]`);
    await o.locator(`li[data-id="${wid}"]`).waitFor({ state: 'detached' });
    for (let i = 0; i < 20; i++) {
      await s.reload();
      await settled(s, '/me/withdrawals');
      if (await s.locator('.list li .st-paid').count()) break;
      await s.waitForTimeout(300);
    }
    await s.locator('.list li .st-paid').waitFor();
    await nav(o, '/admin/ledger');
    assert.equal(await o.getAttribute('#ledger-result', 'data-ok'), 'true');
    if (shots) await shot(o, 'ledger-check');
  });

  if (lang === 'en') {
    await step(`${lang}: the seller edits the live service; the operator approves the revision`, async () => {
      const p = seller.page;
      await p.goto(`${BASE}/services/${serviceId}/edit`);
      await settled(p);
      await p.fill('form[name=service] [name=title]', `${T.title}, revised`);
      await p.click('form[name=service] > button[type=submit]');
      await settled(p, '/me/services');
      await p.locator(`article[data-id="${serviceId}"] .hint`, { hasText: 'revised' }).waitFor();
      const o = op.page;
      await nav(o, '/admin/services');
      await o.click(`section article[data-id="${serviceId}"] button[name=approve]`);
      await o.locator(`article[data-id="${serviceId}"]`).waitFor({ state: 'detached' });
      await p.goto(`${BASE}/services/${serviceId}`);
      await settled(p);
      assert.match(await p.textContent('h1'), /revised/);
    });

    await step(`${lang}: the requests board: post, offer, close; a public seller profile`, async () => {
      const b = buyer.page;
      await nav(b, '/requests');
      await b.fill('form[name=request] [name=title]', 'A menu for my cafe');
      await b.fill('form[name=request] [name=description]', 'Two pages, Arabic and English.');
      await b.fill('form[name=request] [name=budget]', '20.00');
      await b.click('form[name=request] button[type=submit]');
      await b.waitForURL(/\/requests\/[^/]+$/);
      await settled(b);
      const url = b.url();
      const s = seller.page;
      await s.goto(url);
      await settled(s);
      await s.fill('form[name=offer] [name=text]', 'I can do this in two days.');
      await s.fill('form[name=offer] [name=service_id]', serviceId);
      await s.click('form[name=offer] button[type=submit]');
      await s.locator('.list li', { hasText: 'two days' }).waitFor();
      await b.reload();
      await settled(b);
      await b.click(`.list li a[href="/users/${sara}"]`);
      await settled(b, `/users/${sara}`);
      await b.locator(`article[data-id="${serviceId}"]`).waitFor();
      await b.goBack();
      await settled(b);
      await b.click('.page > .action button');
      await b.locator('.st-closed').waitFor();
    });

    await step(`${lang}: $10 short, the buyer pays the difference with PayPal and the order is placed`, async () => {
      const p = buyer.page;
      await p.goto(`${BASE}/services/${serviceId}`);
      await settled(p, `/services/${serviceId}`);
      await p.check('form[name=order] [name=upgrade]');
      await p.fill('form[name=order] [name=quantity]', '3');
      await p.click('form[name=order] button[type=submit]');
      assert.equal((await problemCode(p, 'form[name=order]')).code, 'insufficient_funds');
      const popup = buyer.ctx.waitForEvent('page');
      await p.click('button[name=pay-paypal]');
      const paypal = await popup;
      await paypal.waitForLoadState();
      assert.match(await paypal.textContent('body'), /10\.00/);
      await paypal.click('button[value=approve]');
      await paypal.close();
      // The webhook places the order whether or not the buyer comes back to
      // click Continue; once (of many runs) the button never showed within
      // the test's patience, so a missing button goes to purchases instead
      // and says so, and the order must be there either way.
      const cont = p.locator('button[name=paypal-continue]');
      try {
        await cont.waitFor({ state: 'visible', timeout: 15000 });
        await cont.click();
      } catch (err) {
        console.log(`note: no Continue button (${err.message.split('\n')[0]}); opening purchases`);
        await p.goto(`${BASE}/me/purchases`);
      }
      await settled(p, '/me/purchases');
      assert.equal(await p.locator('.list li').count(), 2);
    });
  }

  await step(`${lang}: the approval email's footer link stops such emails, after asking`, async () => {
    const p = seller.page;
    const emails = await (await p.request.get(`${BASE}/dev/emails?to=${sara}@example.com`)).json();
    const link = emails.items.map((e) => e.text).join('\n').match(/https?:\/\/\S+\/unsubscribe\?token=[A-Za-z0-9_.-]+/);
    assert.ok(link, 'the approval email shows its way out');
    await p.goto(link[0]);
    await settled(p, '/unsubscribe');
    assert.equal(await p.locator('#unsub-done .notice').count(), 0, 'opening the link changes nothing');
    await p.click('#unsub-confirm');
    await p.locator('#unsub-done .notice').waitFor();
    assert.match(await p.textContent('#unsub-done'), lang === 'ar' ? /مراجعة خدماتك/ : /review of your services/);
  });

  for (const x of [seller, buyer, op]) await x.ctx.close();
}

/** Deployed sign-in: Cognito's hosted UI, code flow with PKCE. Cognito is
 * stubbed in the browser (page.route); the client is the real one. */
async function cognito() {
  await step('cognito: hosted-UI sign-in with PKCE (S256), the ID token in sessionStorage only', async () => {
    const ctx = await browser.newContext({ viewport: DESKTOP });
    const page = await ctx.newPage();
    const HOSTED = 'https://khamsa-test.auth.us-east-1.amazoncognito.com';
    let challenge = null;
    let tokenForm = null;
    await page.route(`${BASE}/config.json`, (r) => r.fulfill({
      json: { mode: 'cognito', api: '', cognito_domain: HOSTED, cognito_client_id: 'client123' },
    }));
    await page.route(`${HOSTED}/oauth2/authorize?**`, (r) => {
      const u = new URL(r.request().url());
      assert.equal(u.searchParams.get('response_type'), 'code');
      assert.equal(u.searchParams.get('client_id'), 'client123');
      assert.equal(u.searchParams.get('code_challenge_method'), 'S256');
      assert.equal(u.searchParams.get('redirect_uri'), `${BASE}/auth/callback`);
      challenge = u.searchParams.get('code_challenge');
      const state = u.searchParams.get('state');
      r.fulfill({ status: 302, headers: { location: `${BASE}/auth/callback?code=the-code&state=${state}` } });
    });
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const idToken = `${b64({ alg: 'none' })}.${b64({
      sub: 'cognito-user-1', email: 'c@example.com', 'cognito:username': 'layla',
      exp: Math.floor(Date.now() / 1000) + 3600,
    })}.sig`;
    await page.route(`${HOSTED}/oauth2/token`, (r) => {
      tokenForm = new URLSearchParams(r.request().postData());
      r.fulfill({ json: { id_token: idToken }, headers: { 'access-control-allow-origin': '*' } });
    });
    // The stub token is not one the local server signed: answer the
    // locale update the client sends after signing in.
    await page.route(`${BASE}/me`, (r) => r.fulfill({ json: {} }));
    await page.goto(`${BASE}/signin?back=/requests`);
    await page.waitForURL(`${BASE}/requests`);
    await page.waitForSelector('#sign-out');
    assert.equal(tokenForm.get('grant_type'), 'authorization_code');
    assert.equal(tokenForm.get('code'), 'the-code');
    const { createHash } = await import('node:crypto');
    const verifier = tokenForm.get('code_verifier');
    assert.equal(createHash('sha256').update(verifier).digest('base64url'), challenge);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('khamsa.token')), idToken);
    assert.equal((await ctx.cookies()).length, 0);
    assert.match(await page.textContent('.who'), /layla/);
    await ctx.close();
  });
}

/** The other actions, in Arabic: a rejection and its reason, pause and
 * resume, instructions, asking for changes, and the seller cancelling. */
async function moreActions() {
  const seller = await person('ar');
  const buyer = await person('ar');
  const op = await person('ar');
  const sellerName = `hala-${RUN}`;
  let first;
  let second;
  const listService = async (title, instructions) => {
    const p = seller.page;
    await nav(p, '/services/new');
    await p.fill('form[name=service] [name=title]', title);
    await p.fill('form[name=service] [name=description]', 'ترجمة صفحة واحدة من العربية إلى الإنجليزية.');
    await p.selectOption('form[name=service] [name=category]', 'writing-translation');
    await p.selectOption('form[name=service] [name=price]', '5.00');
    if (instructions) await p.fill('form[name=service] [name=instructions]', instructions);
    await p.click('form[name=service] > button[type=submit]');
    await settled(p, '/me/services');
    return new URL(p.url()).searchParams.get('saved');
  };
  await step('ar: an operator rejects a service with a reason; the seller sees it', async () => {
    await signIn(seller.page, sellerName);
    first = await listService('ترجمة سريعة');
    second = await listService('ترجمة مع مراجعة', 'أرسل النص المراد ترجمته');
    await signIn(op.page, `ops2-${RUN}`, true);
    await nav(op.page, '/admin/services');
    const card = op.page.locator(`article[data-id="${first}"]`);
    await card.locator('form[name=reject] [name=reason]').fill('الوصف غير كافٍ');
    await card.locator('form[name=reject] button[type=submit]').click();
    await card.waitFor({ state: 'detached' });
    await op.page.click(`article[data-id="${second}"] button[name=approve]`);
    await op.page.locator(`article[data-id="${second}"]`).waitFor({ state: 'detached' });
    await seller.page.reload();
    await settled(seller.page, '/me/services');
    const mine = seller.page.locator(`article[data-id="${first}"]`);
    await mine.locator('.st-rejected').waitFor();
    assert.match(await mine.locator('.reason').textContent(), /الوصف غير كافٍ/);
  });
  await step('ar: pause and resume', async () => {
    const card = seller.page.locator(`article[data-id="${second}"]`);
    await card.locator('.action button', { hasText: 'إيقاف مؤقت' }).click();
    await card.locator('.st-paused').waitFor();
    await seller.page.locator(`article[data-id="${second}"] .action button`, { hasText: 'تفعيل' }).click();
    await seller.page.locator(`article[data-id="${second}"] .st-active`).waitFor();
  });
  await step('ar: instructions, asking for changes, and the seller cancelling', async () => {
    const b = buyer.page;
    await signIn(b, `nour-${RUN}`);
    await nav(b, '/me/balance');
    await b.fill('form[name=topup] [name=amount]', '20');
    await b.selectOption('form[name=topup] [name=method]', 'sandbox');
    await b.click('form[name=topup] button[type=submit]');
    await b.waitForFunction(() => document.getElementById('balance')?.textContent.includes('20'));
    await b.goto(`${BASE}/services/${second}`);
    await settled(b);
    await b.click('form[name=order] button[type=submit]');
    await b.waitForURL(/\/orders\//);
    await settled(b);
    await b.locator('.page.order[data-status=awaiting_instructions]').waitFor();
    await b.fill('form[name=instructions] [name=text]', 'النص في الملف المرفق بالرسالة');
    await b.click('form[name=instructions] button[type=submit]');
    await b.locator('.page.order[data-status=in_progress]').waitFor();
    const s = seller.page;
    await s.goto(b.url());
    await settled(s);
    await s.click('form[name=deliver] button[type=submit]');
    await s.locator('.page.order[data-status=delivered]').waitFor();
    await b.reload();
    await settled(b);
    await b.fill('form[name=changes] [name=text]', 'أرجو تصحيح العنوان');
    await b.click('form[name=changes] button[type=submit]');
    await b.locator('.page.order[data-status=in_progress]').waitFor();
    await s.reload();
    await settled(s);
    // The seller sees the change request's text on the order.
    assert.match(await s.textContent('#change-requests'), /أرجو تصحيح العنوان/);
    await s.fill('form[name=cancel] [name=reason]', 'لا أستطيع إكماله');
    await s.click('form[name=cancel] button[type=submit]');
    await s.locator('.page.order[data-status=cancelled]').waitFor();
    await nav(b, '/me/balance');
    assert.match(await b.textContent('#balance'), /20\.00/);
  });

  await step('ar: a dispute holds the order; an operator resolves it with a reason', async () => {
    const b = buyer.page;
    await b.goto(`${BASE}/services/${second}`);
    await settled(b);
    await b.click('form[name=order] button[type=submit]');
    await b.waitForURL(/\/orders\//);
    await settled(b);
    const orderId = new URL(b.url()).pathname.split('/').pop();
    await b.fill('form[name=instructions] [name=text]', 'التفاصيل في الرسالة');
    await b.click('form[name=instructions] button[type=submit]');
    await b.locator('.page.order[data-status=in_progress]').waitFor();
    await b.fill('form[name=dispute] [name=reason]', 'البائع لا يرد على رسائلي');
    await b.click('form[name=dispute] button[type=submit]');
    await b.locator('#dispute-status[data-status=open]').waitFor();
    assert.equal(await b.locator('form[name=dispute]').count(), 0);
    const o = op.page;
    await nav(o, '/admin/disputes');
    await shot(o, 'admin-disputes');
    await o.click(`li[data-id="${orderId}"] a`);
    await settled(o, `/orders/${orderId}`);
    await o.selectOption('form[name=resolve] [name=outcome]', 'cancel');
    await o.fill('form[name=resolve] [name=reason]', 'لم يبدأ البائع العمل');
    await o.click('form[name=resolve] button[type=submit]');
    await o.locator('#dispute-status[data-status=resolved]').waitFor();
    await b.reload();
    await settled(b);
    await b.locator('.page.order[data-status=cancelled]').waitFor();
    assert.match(await b.textContent('#main'), /لم يبدأ البائع العمل/);
    await nav(b, '/me/balance');
    assert.match(await b.textContent('#balance'), /20\.00/);
  });
  for (const x of [seller, buyer, op]) await x.ctx.close();
}

try {
  await walk('ar');
  await walk('en');
  await cognito();
  await moreActions();
} catch {
  // step() has printed it.
} finally {
  await browser.close();
}
console.log(`${failures ? 'FAILED' : 'passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s; screenshots in ${OUT}`);
process.exit(failures ? 1 : 0);
