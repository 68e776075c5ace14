/* The 引用 block of a speech page (issue #14).
 *
 * The page already shows the citation (GB/T 7714 and English) as text: it is computed when the site
 * is built (site_builder/render.py), so it is right without this script. This script adds what only
 * the reader's browser knows or does:
 *
 * - the access date ([引用日期] in GB/T 7714, "Accessed …" in English): today, in the reader's time
 *   zone (the pages themselves never carry the build date: a rebuild must not change them);
 * - the page's own address when the site was built without an absolute base_url (then the citation
 *   shows the path from the server's root; over http(s) the address in the location bar replaces it);
 * - copying (the Clipboard API, else a hidden textarea and execCommand('copy'), which also works
 *   from file://), and BibTeX, RIS and CSL-JSON, made on demand from the data-* attributes of
 *   section.cite (no files per speech);
 * - 复制引文: selecting text in the speech offers a button that copies the quotation, its citation
 *   and the link to the paragraph where the selection starts (its id, or the nearest element with an
 *   id inside the text; the page's address when there is none);
 * - the printing date on the print-only source line (on beforeprint and when print media applies);
 * - the speech's plain text (全文 → 纯文本), made from the page when the link is used and saved as a
 *   file (a Blob): line n is the text of block #p<n> — exactly what the build's plain text holds
 *   (site_builder/blocks.py: the block's text without its ¶ link, <br> a space, whitespace
 *   collapsed as Python's str.split does), so no text file is written per speech.
 *
 * A classic script (no modules, which file:// does not load), no inline code, no eval: it runs under
 * the pages' CSP (script-src 'self'). Everything from the content goes into the page as text.
 */
(function () {
  'use strict';

  /** An element with attributes and children (strings become text). */
  function make(tag, attrs, children) {
    var el = document.createElement(tag);
    Object.keys(attrs).forEach(function (name) { el.setAttribute(name, attrs[name]); });
    (children || []).forEach(function (c) { el.append(c); });
    return el;
  }
  function formatButton(format, label) {
    return make('button', {type: 'button', 'class': 'cite-format', 'data-cite-format': format,
      'aria-expanded': 'false', 'aria-controls': 'cite-output'}, [label]);
  }
  /** The buttons (they work only with this script, so it adds them) and the box BibTeX … go in. */
  function tools() {
    return [
      make('div', {'class': 'cite-tools', hidden: ''}, [
        make('button', {type: 'button', 'data-cite-copy': 'gb7714', 'aria-describedby': 'cite-gb-label'}, ['复制']),
        formatButton('bibtex', 'BibTeX'), formatButton('ris', 'RIS'), formatButton('csl', 'CSL-JSON')
      ]),
      make('div', {'class': 'cite-output', id: 'cite-output', hidden: ''}, [
        make('pre', {tabindex: '0', role: 'region', 'aria-label': '引文数据', 'data-cite-output': ''}),
        make('button', {type: 'button', 'data-cite-copy': 'output'}, ['复制'])
      ])
    ];
  }

  // ---------------------------------------------------------------- the plain text (纯文本)
  // Python's whitespace (str.split): JavaScript's \s lacks \x1c-\x1f and \x85, and has \ufeff.
  var PY_SPACE = /[\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
  var NO_TEXT = {SCRIPT: 1, STYLE: 1, TEMPLATE: 1};

  function textOf(node, out) {
    for (var child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === 3) out.push(child.data);
      else if (child.nodeType !== 1 || NO_TEXT[child.tagName]) continue;
      else if (child.tagName === 'BR') out.push(' ');
      else if (!(child.tagName === 'A' && child.classList.contains('permalink'))) textOf(child, out);
    }
    return out;
  }

  /** One line per block (#p1, #p2, … in the speech's body), each ending with a newline. */
  function plainText(root) {
    var lines = [];
    for (var n = 1, el; (el = document.getElementById('p' + n)) && root.contains(el); n++) {
      lines.push(textOf(el, []).join('').split(PY_SPACE).filter(Boolean).join(' '));
    }
    return lines.join('\n') + '\n';
  }

  var textLink = document.querySelector('[data-text-link]');
  var textRoot = document.querySelector('.speech-body');
  if (textLink && textRoot && window.Blob && window.URL && URL.createObjectURL) {
    var textHref = null;
    var prepareText = function () {
      if (textHref) return;
      var blob = new Blob([plainText(textRoot)], {type: 'text/plain;charset=utf-8'});
      textLink.href = textHref = URL.createObjectURL(blob);
    };
    // Made on first use (before the click's default action follows the link, or a menu shows it).
    ['pointerdown', 'focus', 'contextmenu', 'click'].forEach(function (type) {
      textLink.addEventListener(type, prepareText);
    });
    var shell = textLink.closest('[data-text]');
    if (shell) shell.hidden = false;
  }

  var block = document.querySelector('[data-cite-block]');
  if (!block) return;
  var data = block.dataset;
  var forms = block.querySelector('.cite-forms');
  if (forms && !block.querySelector('.cite-tools')) forms.after.apply(forms, tools());
  var body = document.querySelector('.speech-body');
  var MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September',
    'October', 'November', 'December'];

  function each(selector, fn) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), fn);
  }
  function pad(n) { return (n < 10 ? '0' : '') + n; }
  function today() {
    var d = new Date();
    return [d.getFullYear(), d.getMonth() + 1, d.getDate()];
  }
  function isoDay(t) { return t[0] + '-' + pad(t[1]) + '-' + pad(t[2]); }

  // ---------------------------------------------------------------- the address
  // data-url is the page's published address when base_url is absolute; otherwise a path from the
  // server's root, and the page's own address is better wherever it has one (http and https).
  var url = data.url;
  if (!/^[a-z][a-z0-9+.\-]*:/i.test(url) && /^https?:$/.test(location.protocol)) {
    url = location.origin + location.pathname;
  }
  each('[data-cite-url]', function (el) { el.textContent = url; });

  // ---------------------------------------------------------------- dates: access and printing
  function fillDates() {
    var t = today();
    each('[data-cite-accessed="gb7714"]', function (el) { el.textContent = '[' + isoDay(t) + ']'; });
    each('[data-cite-accessed="en"]', function (el) {
      el.textContent = 'Accessed ' + MONTHS[t[1] - 1] + ' ' + t[2] + ', ' + t[0] + '. ';
    });
    each('[data-print-date]', function (el) {
      el.textContent = '\u3000打印日期：' + t[0] + '年' + t[1] + '月' + t[2] + '日';
    });
    return t;
  }
  fillDates();
  window.addEventListener('beforeprint', fillDates);
  if (window.matchMedia) {
    var printMedia = window.matchMedia('print');
    var onPrint = function (e) { if (e.matches) fillDates(); };
    if (printMedia.addEventListener) printMedia.addEventListener('change', onPrint);
    else if (printMedia.addListener) printMedia.addListener(onPrint);
  }

  /** The citation as shown (GB/T 7714 or English), with today's access date. */
  function citation(kind) {
    fillDates();
    var el = block.querySelector('[data-cite="' + kind + '"]');
    return el ? el.textContent.replace(/[ \t\r\n]+/g, ' ').trim() : '';
  }

  // ---------------------------------------------------------------- BibTeX, RIS, CSL-JSON
  var parts = String(data.date || '').split('-').map(Number);  // [year], [year, month] or [y, m, d]
  var themes = [];
  try { themes = JSON.parse(data.themes || '[]'); } catch (e) { themes = []; }

  function oneLine(s) { return String(s || '').replace(/[\r\n]+/g, ' ').trim(); }

  /** A key for reference managers: speech + the date + the ASCII part of the page's file name. */
  function citeKey() {
    var file = url.split(/[?#]/)[0].split('/').pop().replace(/\.html?$/i, '');
    try { file = decodeURIComponent(file); } catch (e) { /* keep it encoded */ }
    var ascii = file.replace(/[^A-Za-z0-9_-]+/g, '').replace(/^[-_]+|[-_]+$/g, '');
    return 'speech' + String(data.date || '').replace(/-/g, '') + (ascii ? '-' + ascii : '');
  }

  var BIB_ESCAPES = {
    '\\': '\\textbackslash{}', '{': '\\{', '}': '\\}', '%': '\\%', '&': '\\&', '$': '\\$', '#': '\\#',
    '_': '\\_', '^': '\\^{}', '~': '\\~{}'
  };
  function bib(s) { return oneLine(s).replace(/[\\{}%&$#_^~]/g, function (c) { return BIB_ESCAPES[c]; }); }
  var BIB_MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

  function bibtex() {
    var t = fillDates();
    var fields = [
      // double braces: a name taken as a whole (a Chinese name or an organisation is not "Last, First")
      ['author', '{{' + bib(data.author) + '}}'],
      ['title', '{' + bib(data.title) + '}'],
      ['howpublished', '{' + bib(data.meeting) + '}']
    ];
    if (data.place) fields.push(['address', '{' + bib(data.place) + '}']);
    if (data.organization && data.organization !== data.author) fields.push(['organization', '{' + bib(data.organization) + '}']);
    fields.push(['publisher', '{' + bib(data.publisher) + '}']);
    fields.push(['date', '{' + data.date + '}']);
    fields.push(['year', '{' + parts[0] + '}']);
    if (parts.length > 1) fields.push(['month', BIB_MONTHS[parts[1] - 1]]);
    fields.push(['url', '{' + oneLine(url) + '}']);
    fields.push(['urldate', '{' + isoDay(t) + '}']);
    if (themes.length) fields.push(['keywords', '{' + themes.map(bib).join(', ') + '}']);
    fields.push(['language', '{chinese}']);
    var width = fields.reduce(function (w, f) { return Math.max(w, f[0].length); }, 0);
    return '@misc{' + citeKey() + ',\n' + fields.map(function (f) {
      return '  ' + f[0] + new Array(width - f[0].length + 1).join(' ') + ' = ' + f[1];
    }).join(',\n') + '\n}\n';
  }

  function ris() {
    var t = fillDates();
    var risDate = parts[0] + '/' + (parts[1] ? pad(parts[1]) : '') + '/' + (parts[2] ? pad(parts[2]) : '') + '/';
    var lines = [['TY', 'ELEC'], ['AU', data.author], ['TI', data.title],
      ['T2', data.publisher], ['PY', String(parts[0])], ['DA', risDate], ['N1', data.meeting]];
    if (data.place) lines.push(['CY', data.place]);
    lines.push(['PB', data.publisher]);
    themes.forEach(function (theme) { lines.push(['KW', theme]); });
    lines.push(['UR', url], ['Y2', t[0] + '/' + pad(t[1]) + '/' + pad(t[2]) + '/'], ['LA', 'zh-CN'], ['ER', '']);
    return lines.map(function (l) { return l[0] + '  - ' + oneLine(l[1]); }).join('\n') + '\n';
  }

  function csl() {
    var t = fillDates();
    var item = {
      id: citeKey(),
      type: 'speech',
      title: data.title,
      author: [{literal: data.author}],
      issued: {'date-parts': [parts]},
      accessed: {'date-parts': [t]},
      'event-title': data.meeting,
      publisher: data.publisher,
      URL: url,
      language: 'zh-CN'
    };
    if (data.place) item['event-place'] = data.place;
    if (themes.length) item.keyword = themes.join(', ');
    // Indented, with each date and name on one line.
    return JSON.stringify([item], null, 2)
      .replace(/\[\s*\[\s*([\d,\s]+?)\s*\]\s*\]/g, function (m, n) { return '[[' + n.split(/\s*,\s*/).join(', ') + ']]'; })
      .replace(/\[\s*\{\s*("literal": "(?:[^"\\]|\\.)*")\s*\}\s*\]/g, '[{$1}]') + '\n';
  }

  var FORMATS = {bibtex: ['BibTeX', bibtex], ris: ['RIS', ris], csl: ['CSL-JSON', csl]};

  // ---------------------------------------------------------------- copying
  var status = block.querySelector('.cite-status');

  /** Hidden textarea + execCommand('copy'): for file:// pages and browsers without the Clipboard API. */
  function legacyCopy(text) {
    var active = document.activeElement;
    var sel = document.getSelection();
    var saved = sel && sel.rangeCount ? sel.getRangeAt(0).cloneRange() : null;
    var area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.setAttribute('aria-hidden', 'true');
    area.className = 'cite-clipboard';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    area.remove();
    if (saved && sel) { sel.removeAllRanges(); sel.addRange(saved); }
    if (active && active.focus) active.focus();
    return ok;
  }

  /** Copies text; resolves to true when it reached the clipboard. */
  function copy(text) {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      var written;
      try { written = navigator.clipboard.writeText(text); } catch (e) { written = Promise.reject(e); }
      return Promise.resolve(written).then(function () { return true; }, function () { return legacyCopy(text); });
    }
    return Promise.resolve(legacyCopy(text));
  }

  function tell(button, ok, failedText) {
    if (!button.dataset.label) button.dataset.label = button.textContent;
    button.textContent = ok ? '已复制' : '复制失败';
    if (status) status.textContent = ok ? '已复制' : (failedText || '复制失败，请选中文字后手动复制');
    clearTimeout(button.citeTimer);
    button.citeTimer = setTimeout(function () {
      button.textContent = button.dataset.label;
      if (status) status.textContent = '';
    }, 2000);
  }

  function selectContents(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var sel = document.getSelection();
    sel.removeAllRanges();
    sel.addRange(range);
  }

  var output = block.querySelector('[data-cite-output]');
  var outputBox = document.getElementById('cite-output');
  var shown = null;

  block.addEventListener('click', function (event) {
    var button = event.target.closest('button');
    if (!button || !block.contains(button)) return;
    var what = button.getAttribute('data-cite-copy');
    var format = button.getAttribute('data-cite-format');
    if (what) {
      var source = what === 'output' ? output : block.querySelector('[data-cite="' + what + '"]');
      var text = what === 'output' ? output.textContent : citation(what);
      copy(text).then(function (ok) {
        tell(button, ok);
        if (!ok && source) selectContents(source);
      });
    } else if (format && FORMATS[format]) {
      var again = shown === format;
      shown = again ? null : format;
      each('[data-cite-format]', function (b) {
        b.setAttribute('aria-expanded', String(!again && b === button));
      });
      if (again) {
        outputBox.hidden = true;
        return;
      }
      output.textContent = FORMATS[format][1]();
      output.setAttribute('aria-label', FORMATS[format][0]);
      output.setAttribute('data-format', format);
      outputBox.hidden = false;
    }
  });
  block.querySelector('.cite-tools').hidden = false;

  // ---------------------------------------------------------------- 复制引文 on a selection
  if (!body) return;
  var quoteButton = null;
  var pending = null;  // {text, link} of the selection the button was offered for

  /** The link to the place where a selection starts: the nearest element with an id inside the text. */
  function permalink(range) {
    var node = range.startContainer;
    if (node.nodeType === 1 && node.childNodes[range.startOffset]) node = node.childNodes[range.startOffset];
    var el = node.nodeType === 1 ? node : node.parentElement;
    var target = el && el.closest('[id]');
    if (target && target !== body && body.contains(target)) return url.split('#')[0] + '#' + encodeURIComponent(target.id);
    return url;
  }

  /** The quotation, its citation and the paragraph's link, as they are copied. */
  function quotation(text, link) {
    var quote = text.replace(/\r\n?/g, '\n').replace(/[ \t]*\n[ \t\n]*/g, '\n').trim()
      .replace(/“/g, '‘').replace(/”/g, '’');  // quotation marks inside a quotation become single
    return '“' + quote + '”\n' + citation('gb7714') + '\n原文链接：' + link;
  }

  function selectionInBody() {
    var sel = document.getSelection();
    if (!sel || sel.isCollapsed || !sel.rangeCount) return null;
    var range = sel.getRangeAt(0);
    if (!body.contains(range.commonAncestorContainer)) return null;
    var text = sel.toString().trim();
    return text ? {range: range, text: text} : null;
  }

  function hideQuote() {
    if (quoteButton) quoteButton.hidden = true;
    pending = null;
  }

  function makeQuoteButton() {
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'cite-quote';
    b.textContent = '复制引文';
    b.hidden = true;
    // Pressing the button must not clear the selection it is about.
    b.addEventListener('mousedown', function (e) { e.preventDefault(); });
    b.addEventListener('click', function () {
      // The selection as it is now (it may have changed since the button was placed); the one the
      // button was offered for if a touch on the button cleared it.
      var s = selectionInBody();
      var chosen = s ? {text: s.text, link: permalink(s.range)} : pending;
      if (!chosen) return;
      var text = quotation(chosen.text, chosen.link);
      copy(text).then(function (ok) { tell(b, ok, '复制失败'); });
    });
    document.body.appendChild(b);
    return b;
  }

  function offerQuote() {
    var s = selectionInBody();
    if (!s) { hideQuote(); return; }
    if (!quoteButton) quoteButton = makeQuoteButton();
    pending = {text: s.text, link: permalink(s.range)};
    var rects = s.range.getClientRects();
    var r = rects.length ? rects[rects.length - 1] : s.range.getBoundingClientRect();
    quoteButton.hidden = false;
    var width = quoteButton.offsetWidth;
    var viewport = document.documentElement.clientWidth;
    var left = Math.max(8, Math.min(r.right - width / 2, viewport - width - 8));
    // CSSOM, not a style attribute in the markup: allowed by the style-src policy.
    quoteButton.style.left = (left + window.scrollX) + 'px';
    quoteButton.style.top = (r.bottom + window.scrollY + 8) + 'px';
  }

  var timer = null;
  document.addEventListener('selectionchange', function () {
    clearTimeout(timer);
    timer = setTimeout(offerQuote, 120);
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') hideQuote();
  });
})();
