// Small DOM helpers: elements built with text nodes (never innerHTML from
// data), labelled fields, and forms that show a refusal without losing
// what the person typed.

import { problemText, t } from './i18n.js';
import { Problem } from './api.js';

/** h('a', {href: '/x'}, 'text', child...) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let seq = 0;

/** A labelled input: field('amount', t('amount'), {type: 'text'}). */
export function field(name, label, attrs = {}) {
  const id = `f-${name}-${++seq}`;
  const kind = attrs.kind || 'input';
  const { kind: _k, options, ...rest } = attrs;
  let control;
  if (kind === 'select') {
    control = h('select', { id, name, ...rest },
      options.map(([v, l]) => h('option', { value: v }, l)));
  } else if (kind === 'textarea') {
    control = h('textarea', { id, name, rows: 3, ...rest });
  } else {
    control = h('input', { id, name, type: 'text', ...rest });
  }
  if (kind === 'checkbox' || rest.type === 'checkbox') {
    return h('div', { class: 'check' }, control, h('label', { for: id }, label));
  }
  return h('div', { class: 'field' }, h('label', { for: id }, label), control);
}

/** Where a refusal is shown: announced to screen readers. */
export function alertBox() {
  return h('div', { class: 'problem', role: 'alert', hidden: true });
}

export function showProblem(box, err) {
  const p = err instanceof Problem ? err.problem : { code: 'network' };
  box.replaceChildren(problemText(p));
  box.dataset.code = p.code || '';
  box.hidden = false;
  box.scrollIntoView?.({ block: 'nearest' });
}

/**
 * A form whose submit runs `action(formData)`. A refusal is shown above
 * the button and the fields keep their values; only success moves on.
 */
export function form(attrs, fields, submitLabel, action) {
  const box = alertBox();
  const button = h('button', { type: 'submit' }, submitLabel);
  const f = h('form', { ...attrs, novalidate: true }, fields, box, button);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    box.hidden = true;
    button.disabled = true;
    f.setAttribute('aria-busy', 'true');
    try {
      await action(new FormData(f), f);
    } catch (err) {
      showProblem(box, err);
    } finally {
      button.disabled = false;
      f.removeAttribute('aria-busy');
    }
  });
  return f;
}

/** A single button that runs `action`; a refusal shows next to it. */
export function actionButton(label, action, attrs = {}) {
  const box = alertBox();
  const b = h('button', { type: 'button', ...attrs }, label);
  b.addEventListener('click', async () => {
    box.hidden = true;
    b.disabled = true;
    try {
      await action();
    } catch (err) {
      showProblem(box, err);
    } finally {
      b.disabled = false;
    }
  });
  return h('div', { class: 'action' }, b, box);
}

export function status(s) {
  return h('span', { class: `status st-${s}` }, t(`st_${s}`));
}

export function notice(text) {
  return h('p', { class: 'notice', role: 'status' }, text);
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), children);
}
