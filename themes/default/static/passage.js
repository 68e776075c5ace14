/* Hit → passage (issue #13): a speech page opened from search results, `…/speech.html?q=党建#p12`.
 * (Also: the table of contents, closed in the page, is opened on screens wider than a phone.)
 *
 * Every match of the query's terms in the speech's text is marked `<mark data-match>` (a match
 * that crosses an element, as in 如履<b>薄冰</b>, is one <mark data-match> and further
 * <mark data-match-part> pieces), the page scrolls to the first match (to the first one in or after
 * the paragraph named by the hash, #p12), and a bar at the bottom of the window shows
 * "第 n / N 处" (aria-live) with the query in a field and buttons for the previous and the next
 * match. Keys: n or j (next), p or k (previous), Enter / Shift+Enter in the field, Escape clears
 * the marks and the bar. Editing the field and pressing Enter searches the text for the new query.
 *
 * Matching is the site's search: the query is parsed by search.js (the port of query.py, loaded
 * from static/ only when the address has ?q=) and folded with the fold table the static index
 * ships, so 黨建 marks 党建 and zero-width marks inside a word are ignored; the text is folded with
 * the table's shards for the query's characters only (search/f/ and, by what characters fold to,
 * search/r/: a few small files, not one per block of the text's characters). Like
 * the text the indexes store (one line per paragraph or heading, runs of white space as one
 * space), a match never crosses a paragraph, a heading, a list item or a table cell; in each such
 * block the matches are found as `site-builder search --kwic` finds occurrences (leftmost-longest,
 * without overlap), so N is the hit's number of occurrences. Terms after a minus (-形式主义) are not
 * marked.
 *
 * A classic script with no inline code: it runs from file:// and under the pages' CSP
 * (script-src 'self'). Nothing from the address or the text is put into the page as HTML.
 */
(function () {
  'use strict';

  var script = document.currentScript;

  // The table of contents is closed in the page (a phone shows the text first); open it where
  // there is room for it.
  var toc = document.querySelector('details[data-toc]');
  if (toc && window.matchMedia && window.matchMedia('(min-width: 40.0625rem)').matches) toc.open = true;

  var body = document.querySelector('.speech-body');
  if (!body || !script) return;

  // Elements that end a line of the indexed text (markup.plain_text) and the blocks with ids.
  var BLOCK = /^(P|H[1-6]|LI|DT|DD|TD|TH|TR|BLOCKQUOTE|PRE|DIV|TABLE|FIGURE|UL|OL|DL|SECTION|HR)$/;
  var SKIP = /^(SCRIPT|STYLE|TEMPLATE|NOSCRIPT|svg)$/i;

  var lib = null;  // window.siteSearch once loaded
  var state = {q: '', marks: [], current: -1, bar: null, token: 0};

  function paramQ() {
    try { return new URLSearchParams(location.search).get('q') || ''; } catch (e) { return ''; }
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = function () { resolve(); };
      s.onerror = function () { reject(new Error('无法加载 ' + src)); };
      document.head.appendChild(s);
    });
  }

  function library() {
    if (window.siteSearch) return Promise.resolve(window.siteSearch);
    return loadScript(script.getAttribute('data-search-js')).then(function () {
      if (!window.siteSearch) throw new Error('search.js 无效');
      return window.siteSearch;
    });
  }

  // ---------------------------------------------------------------- the text, block by block
  /* The block a text node belongs to: the nearest element with an id p{n} (blocks.py numbers
     every text block; its text is one line of the indexed text), else (pages built before the
     blocks had ids) the nearest block-level element. */
  function blockOf(node) {
    var fallback = null;
    for (var e = node.parentNode; e && e !== body; e = e.parentNode) {
      if (e.nodeType !== 1) continue;
      if (/^p\d+$/.test(e.id)) return e;
      if (!fallback && BLOCK.test(e.nodeName)) fallback = e;
    }
    return fallback || body;
  }

  function skipped(el) {
    return SKIP.test(el.nodeName) || el.classList.contains('permalink') || el.hasAttribute('data-no-find') ||
      el.getAttribute('aria-hidden') === 'true';
  }

  /* Segments of the body's text: one per line of the indexed text. Each has its text nodes, the
     folded text (white space runs as one space, trimmed, as markup.plain_text) and, for each UTF-16
     unit of the folded text, the text node and the source range it came from. */
  function segments() {
    var segs = [], seg = null, lastBlock = null;
    function close() {
      if (seg && seg.text.length) {
        if (seg.text.charAt(seg.text.length - 1) === ' ') {  // trailing space: drop
          seg.text = seg.text.slice(0, -1); seg.node.pop(); seg.from.pop(); seg.to.pop();
        }
        if (seg.text.length) segs.push(seg);
      }
      seg = null;
    }
    var walker = document.createTreeWalker(body, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT, {
      acceptNode: function (n) {
        if (n.nodeType === 1 && skipped(n)) return NodeFilter.FILTER_REJECT;
        return NodeFilter.FILTER_ACCEPT;
      }
    });
    var n;
    while ((n = walker.nextNode())) {
      if (n.nodeType === 1) {
        // <br> is a space in the indexed text (blocks.py): it does not end the line.
        if (n.nodeName === 'BR' && seg && seg.text.length && seg.text.charAt(seg.text.length - 1) !== ' ') {
          var last = seg.nodes.length - 1;
          seg.text += ' '; seg.node.push(last); seg.from.push(seg.nodes[last].data.length); seg.to.push(seg.nodes[last].data.length);
        }
        continue;
      }
      var blk = blockOf(n);
      if (blk !== lastBlock) { close(); lastBlock = blk; }
      if (!seg) seg = {nodes: [], text: '', node: [], from: [], to: []};
      var k = seg.nodes.length;
      seg.nodes.push(n);
      var data = n.data, i = 0;
      while (i < data.length) {
        var cp = data.codePointAt(i), w = cp > 0xffff ? 2 : 1, ch = data.substr(i, w);
        if (lib.isSpace(ch)) {
          if (seg.text.length && seg.text.charAt(seg.text.length - 1) !== ' ') {
            seg.text += ' '; seg.node.push(k); seg.from.push(i); seg.to.push(i + w);
          }
        } else {
          var f = lib.pageFold(ch);
          for (var u = 0; u < f.length; u++) { seg.node.push(k); seg.from.push(i); seg.to.push(i + w); }
          seg.text += f;
        }
        i += w;
      }
    }
    close();
    return segs;
  }

  /* The occurrences in a segment, as search counts them (search.passages): leftmost-longest, no
     overlaps. [start, end) in the segment's folded text. */
  function matchesIn(text, re) {
    var out = [], m;
    re.lastIndex = 0;
    while ((m = re.exec(text))) out.push([m.index, m.index + m[0].length]);
    return out;
  }

  function mark(terms) {
    var pieces = [];  // [text node, from, to, match number]
    var count = 0, re = lib.matcher(terms);
    segments().forEach(function (seg) {
      matchesIn(seg.text, re).forEach(function (m) {
        var a = m[0], b = m[1] - 1;
        for (var k = seg.node[a]; k <= seg.node[b]; k++) {
          var node = seg.nodes[k];
          var from = k === seg.node[a] ? seg.from[a] : 0;
          var to = k === seg.node[b] ? seg.to[b] : node.data.length;
          if (to > from) pieces.push([node, from, to, count]);
        }
        count++;
      });
    });
    // Wrap from the end of each text node backwards, so that earlier offsets stay valid.
    var marks = new Array(count);
    for (var j = 0; j < count; j++) marks[j] = [];
    var byNode = new Map();
    pieces.forEach(function (p) {
      if (!byNode.has(p[0])) byNode.set(p[0], []);
      byNode.get(p[0]).push(p);
    });
    byNode.forEach(function (list, node) {
      list.sort(function (x, y) { return y[1] - x[1]; });
      list.forEach(function (p) {
        if (p[2] < node.data.length) node.splitText(p[2]);
        var mid = p[1] > 0 ? node.splitText(p[1]) : node;
        var el = document.createElement('mark');
        el.className = 'passage-mark';
        mid.parentNode.insertBefore(el, mid);
        el.appendChild(mid);
        marks[p[3]].unshift(el);
      });
    });
    marks = marks.filter(function (m) { return m.length; });
    marks.forEach(function (pieces, i) {
      pieces.forEach(function (el, j) {
        el.setAttribute(j === 0 ? 'data-match' : 'data-match-part', String(i + 1));
      });
    });
    return marks;
  }

  function unmark() {
    state.marks.forEach(function (pieces) {
      pieces.forEach(function (el) {
        var parent = el.parentNode;
        if (!parent) return;
        while (el.firstChild) parent.insertBefore(el.firstChild, el);
        parent.removeChild(el);
        parent.normalize();
      });
    });
    state.marks = [];
    state.current = -1;
  }

  // ---------------------------------------------------------------- the bar
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function buildBar() {
    var bar = el('div', {'class': 'passage-bar', role: 'region', 'aria-label': '在本文中查找', 'data-passage-bar': ''});
    var form = el('form', {'class': 'passage-find', role: 'search'});
    var label = el('label', {'for': 'passage-q', 'class': 'visually-hidden'}, '在本文中查找');
    var input = el('input', {id: 'passage-q', type: 'search', autocomplete: 'off', enterkeyhint: 'next',
      'aria-describedby': 'passage-count', 'data-passage-input': ''});
    var count = el('output', {id: 'passage-count', 'class': 'passage-count', role: 'status', 'aria-live': 'polite',
      'aria-atomic': 'true', 'data-passage-count': ''});
    var prev = el('button', {type: 'button', 'class': 'passage-prev', 'aria-label': '上一处（快捷键 p 或 k）',
      title: '上一处（p / k，输入框中 Shift+Enter）', 'data-passage-prev': ''}, '▲');
    var next = el('button', {type: 'button', 'class': 'passage-next', 'aria-label': '下一处（快捷键 n 或 j）',
      title: '下一处（n / j，输入框中 Enter）', 'data-passage-next': ''}, '▼');
    var close = el('button', {type: 'button', 'class': 'passage-close', 'aria-label': '清除标记（Esc）',
      title: '清除标记（Esc）', 'data-passage-close': ''}, '✕');
    form.appendChild(label);
    form.appendChild(input);
    bar.appendChild(form);
    bar.appendChild(count);
    bar.appendChild(prev);
    bar.appendChild(next);
    bar.appendChild(close);
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (input.value !== state.q) run(input.value, true);
      else go(state.current + 1);
    });
    input.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && e.shiftKey && !e.isComposing) {
        e.preventDefault();
        if (input.value !== state.q) run(input.value, true); else go(state.current - 1);
      } else if (e.key === 'Escape') {
        e.preventDefault();
        clear();
      }
    });
    prev.addEventListener('click', function () { go(state.current - 1); });
    next.addEventListener('click', function () { go(state.current + 1); });
    close.addEventListener('click', clear);
    document.body.appendChild(bar);
    document.documentElement.classList.add('has-passage-bar');
    return {root: bar, input: input, count: count, prev: prev, next: next};
  }

  function say(text) {
    state.bar.count.textContent = text;
    state.bar.count.classList.toggle('passage-message', !/^第 /.test(text));
  }

  function go(i, how) {
    var n = state.marks.length;
    if (!n) return;
    i = ((i % n) + n) % n;
    if (state.current >= 0 && state.marks[state.current]) {
      state.marks[state.current].forEach(function (m) { m.classList.remove('is-current'); m.removeAttribute('aria-current'); });
    }
    state.current = i;
    var pieces = state.marks[i];
    pieces.forEach(function (m) { m.classList.add('is-current'); });
    pieces[0].setAttribute('aria-current', 'true');
    var reduce = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    pieces[0].scrollIntoView({block: 'center', inline: 'nearest', behavior: how === 'instant' || reduce ? 'auto' : 'smooth'});
    say('第 ' + (i + 1) + ' / ' + n + ' 处');
  }

  /* The first match in or after the element the address's hash names (#p12), else the first. */
  function startIndex() {
    var id = '';
    try { id = decodeURIComponent(location.hash.slice(1)); } catch (e) { id = location.hash.slice(1); }
    var target = id && document.getElementById(id);
    if (!target || !body.contains(target)) return 0;
    for (var i = 0; i < state.marks.length; i++) {
      var m = state.marks[i][0];
      if (target.contains(m) || (target.compareDocumentPosition(m) & Node.DOCUMENT_POSITION_FOLLOWING)) return i;
    }
    return 0;
  }

  function setAddress(q) {
    try {
      var url = new URL(location.href);
      if (q) url.searchParams.set('q', q); else url.searchParams.delete('q');
      history.replaceState(history.state, '', url.pathname + url.search + url.hash);
    } catch (e) { /* an address the browser will not rewrite (some file:// set-ups): keep it */ }
  }

  /* Parse the query (after loading the fold table's shards for its characters), then load what
     folding the text needs for its terms. Promise<terms, or null for a query error (said in the bar)>. */
  function prepare(q) {
    return lib.loadFold(q).then(function () {
      var parsed;
      try {
        parsed = lib.parse(q);
      } catch (err) {
        if (!lib.QueryError || !(err instanceof lib.QueryError)) throw err;
        document.documentElement.setAttribute('data-passage', 'error');
        body.removeAttribute('data-match-count');
        say(lib.describeError(err));
        return null;
      }
      var terms = lib.termsOf(parsed);
      return lib.loadPageFold(terms).then(function () { return terms; });
    });
  }

  function run(q, edited) {
    var token = ++state.token;
    unmark();
    state.q = q;
    return prepare(q).then(function (terms) {
      if (token !== state.token || !terms) return;
      show(q, terms, edited);
    }, function (err) {
      if (token === state.token) say('无法标出搜索词：' + (err && err.message || err));
    });
  }

  function show(q, terms, edited) {
    unmark();
    state.q = q;
    state.bar.input.value = q;
    state.marks = mark(terms);
    body.setAttribute('data-match-count', String(state.marks.length));
    document.documentElement.setAttribute('data-passage', 'ready');
    if (edited) setAddress(q);
    if (!state.marks.length) {
      say('正文中没有找到“' + q.trim() + '”');
      return;
    }
    go(edited ? 0 : startIndex(), 'instant');
  }

  function clear() {
    state.token++;
    unmark();
    body.removeAttribute('data-match-count');
    if (state.bar) {
      state.bar.root.remove();
      state.bar = null;
    }
    document.documentElement.classList.remove('has-passage-bar');
    document.documentElement.setAttribute('data-passage', 'cleared');
    state.q = '';
    setAddress('');
    var main = document.getElementById('main');
    if (main && document.activeElement && document.activeElement !== document.body &&
        !document.activeElement.isConnected) main.focus();
  }

  function typing(t) {
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.nodeName));
  }

  document.addEventListener('keydown', function (e) {
    if (!state.bar || e.ctrlKey || e.metaKey || e.altKey || e.isComposing || typing(e.target)) return;
    if (e.key === 'n' || e.key === 'j') { e.preventDefault(); go(state.current + 1); }
    else if (e.key === 'p' || e.key === 'k') { e.preventDefault(); go(state.current - 1); }
    else if (e.key === 'Escape') { clear(); }
  });

  var q = paramQ();
  if (!q.trim()) return;
  document.documentElement.setAttribute('data-passage', 'loading');
  library().then(function (l) {
    lib = l;
    return lib.open(script.getAttribute('data-index'));
  }).then(function () {
    state.bar = buildBar();
    state.bar.input.value = q;
    return run(q, false);
  }).catch(function (err) {
    // Without the index (a copy of the pages alone) the text is still there; say why nothing is marked.
    document.documentElement.setAttribute('data-passage', 'error');
    if (!state.bar) state.bar = buildBar();
    state.bar.input.value = q;
    say('无法标出搜索词：' + (err && err.message || err));
  });

  window.sitePassage = {run: function (q) { return run(q, true); }, clear: clear,
    count: function () { return state.marks.length; }, current: function () { return state.current; }};
})();
