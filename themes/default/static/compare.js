/* Compare two speeches: the compare page (templates/compare.html) and the 对比 block of every
 * speech page (templates/speech.html).
 *
 * The comparison is a line-by-line port of site_builder/compare.py — sentences aligned first,
 * then character-level differences inside the sentences that changed, with the same library
 * (diff-match-patch, static/diff_match_patch.min.js) — so the page and
 * `site-builder compare --json` give the same chunks (the tests check it in Chromium).
 *
 * Texts come from the static search index that the build writes (its text files t/<N/256>/<N>-0
 * and -1, found through meta.js and the manifest m/t<N/256>: site_builder/static_search/wire.py),
 * the list of speeches from compare/docs.js (its entry N is
 * the index's document N). All are classic scripts calling __ssLoad(name, data), so the page
 * works from file:// and under the site's CSP (only the site's own script files). Nothing from
 * the texts is ever put into innerHTML: the DOM is built with textContent.
 */
(function () {
  'use strict';

  // ---------------------------------------------------------------- the comparison (compare.py)
  var END = '。！？；\n';
  var CLOSE = '”’」』）)】》';
  var PAIR_MIN = 0.4;
  var MAX_PAIRS = 400000;
  var CHAR_TIMEOUT = 1.0;
  var BMP_GAP = 0x800;

  function isEnd(ch) { return END.indexOf(ch) >= 0; }
  function isClose(ch) { return CLOSE.indexOf(ch) >= 0; }

  function sentences(text) {
    var out = [], start = 0, i = 0, n = text.length;
    while (i < n) {
      if (isEnd(text[i])) {
        var j = i + 1;
        while (j < n && (isEnd(text[j]) || isClose(text[j]))) j++;
        out.push(text.slice(start, j));
        start = i = j;
      } else {
        i++;
      }
    }
    if (start < n) out.push(text.slice(start));
    return out;
  }

  function chunk(op, a, b) { return {op: op, a: a, b: b}; }
  function opOf(a, b) { return a && b ? 'replace' : a ? 'delete' : 'insert'; }

  function normalise(chunks) {
    var out = [];
    for (var k = 0; k < chunks.length; k++) {
      var c = chunks[k];
      if (!c.a && !c.b) continue;
      var equal = c.op === 'equal';
      var last = out.length ? out[out.length - 1] : null;
      if (last && (last.op === 'equal') === equal) {
        var a = last.a + c.a, b = last.b + c.b;
        out[out.length - 1] = equal ? chunk('equal', a, b) : chunk(opOf(a, b), a, b);
      } else {
        out.push(equal ? chunk('equal', c.a, c.a) : chunk(opOf(c.a, c.b), c.a, c.b));
      }
    }
    return out;
  }

  function pairs(s) {  // adjacent code points, as Python's s[i:i + 2]
    var cps = Array.from(s), set = new Set();
    for (var i = 0; i < cps.length - 1; i++) set.add(cps[i] + cps[i + 1]);
    return set;
  }

  function dice(x, y) {
    var small = x.size <= y.size ? x : y, big = small === x ? y : x, inter = 0;
    small.forEach(function (p) { if (big.has(p)) inter++; });
    return 2 * inter / (x.size + y.size);
  }

  function align(dels, inss) {
    var m = dels.length, n = inss.length;
    if (!m || !n || m * n > MAX_PAIRS) return [];
    var dp = dels.map(pairs), ip = inss.map(pairs);
    var sim = [], i, j;
    for (i = 0; i < m; i++) {
      var row = new Float64Array(n), x = dp[i], lx = x.size;
      for (j = 0; j < n; j++) {
        var ly = ip[j].size;
        if (lx + ly === 0 || 2 * Math.min(lx, ly) < PAIR_MIN * (lx + ly)) continue;
        row[j] = dice(x, ip[j]);
      }
      sim.push(row);
    }
    var best = [];
    for (i = 0; i <= m; i++) best.push(new Float64Array(n + 1));
    for (i = 1; i <= m; i++) {
      var prev = best[i - 1], cur = best[i], srow = sim[i - 1];
      for (j = 1; j <= n; j++) {
        var v = prev[j] >= cur[j - 1] ? prev[j] : cur[j - 1];
        var s = srow[j - 1];
        if (s >= PAIR_MIN && prev[j - 1] + s > v) v = prev[j - 1] + s;
        cur[j] = v;
      }
    }
    var out = [];
    i = m; j = n;
    while (i > 0 && j > 0) {
      var t = sim[i - 1][j - 1];
      if (t >= PAIR_MIN && best[i][j] === best[i - 1][j - 1] + t) { out.push([i - 1, j - 1]); i--; j--; }
      else if (best[i][j] === best[i - 1][j]) i--;
      else j--;
    }
    return out.reverse();
  }

  /* diff-match-patch's clean-up slides an edit to the best boundary nearby, scored with "is this
     character a letter or digit" and "is it a space". Its JavaScript port asks /[^a-zA-Z0-9]/ and
     /\s/, its Python port (compare.py's) str.isalnum() and str.isspace(): for Chinese text these
     differ (a CJK character is alphanumeric to Python), so the JavaScript port is given Python's
     definitions — the library reads them from these two properties. */
  var PY_SPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
  var PY_ALNUM = /[\p{L}\p{N}]/u;
  var swapped = null;  // while characters outside the BMP are swapped (toBmp): substitute → original
  var configured = false;
  function newDmp(timeout) {
    if (!configured) {
      var nonAlphaNumeric = {};
      nonAlphaNumeric[Symbol.match] = function (ch) {
        return PY_ALNUM.test((swapped && swapped.get(ch)) || ch) ? null : [ch];
      };
      diff_match_patch.nonAlphaNumericRegex_ = nonAlphaNumeric;
      diff_match_patch.whitespaceRegex_ = PY_SPACE;
      configured = true;
    }
    var d = new diff_match_patch();  // eslint-disable-line new-cap
    d.Diff_Timeout = timeout;
    return d;
  }

  /* diff-match-patch works on UTF-16 code units (Python's on code points): characters outside the
     BMP are swapped for private-use characters that neither text has, and back. */
  function toBmp(a, b) {
    if (!/[\uD800-\uDFFF]/.test(a + b)) return null;
    var used = new Set(Array.from(a + b)), fwd = new Map(), back = new Map(), next = 0xE000;
    Array.from(a + b).forEach(function (ch) {
      if (ch.length === 1 || fwd.has(ch)) return;
      while (next <= 0xF8FF && used.has(String.fromCharCode(next))) next++;
      if (next > 0xF8FF) return;
      var sub = String.fromCharCode(next++);
      fwd.set(ch, sub);
      back.set(sub, ch);
    });
    function map(s, table) { return Array.from(s).map(function (ch) { return table.get(ch) || ch; }).join(''); }
    return {a: map(a, fwd), b: map(b, fwd), table: back, back: function (s) { return map(s, back); }};
  }

  function charChunks(a, b, dmp) {
    var swap = toBmp(a, b), diffs;
    swapped = swap && swap.table;
    try {
      diffs = dmp.diff_main(swap ? swap.a : a, swap ? swap.b : b, false);
      dmp.diff_cleanupSemantic(diffs);
    } finally {
      swapped = null;
    }
    var out = [];
    for (var k = 0; k < diffs.length; k++) {
      var op = diffs[k][0], text = swap ? swap.back(diffs[k][1]) : diffs[k][1];
      out.push(op === 0 ? chunk('equal', text, text) : op < 0 ? chunk('delete', text, '') : chunk('insert', '', text));
    }
    return normalise(out);
  }

  function isHigh(c) { return c >= 0xD800 && c <= 0xDBFF; }
  function isLow(c) { return c >= 0xDC00 && c <= 0xDFFF; }

  function peeled(a, b) {
    var n = Math.min(a.length, b.length), p = 0, q = 0;
    while (p < n && a.charCodeAt(p) === b.charCodeAt(p)) p++;
    if (p && isHigh(a.charCodeAt(p - 1))) p--;  // never half a character
    n -= p;
    while (q < n && a.charCodeAt(a.length - 1 - q) === b.charCodeAt(b.length - 1 - q)) q++;
    if (q && isLow(a.charCodeAt(a.length - q))) q--;
    return [chunk('equal', a.slice(0, p), a.slice(0, p)),
      chunk('replace', a.slice(p, a.length - q), b.slice(p, b.length - q)),
      chunk('equal', a.slice(a.length - q), a.slice(a.length - q))];
  }

  function region(dels, inss, dmp) {
    var out = [], di = 0, ij = 0;
    align(dels, inss).forEach(function (pair) {
      var i = pair[0], j = pair[1];
      out.push.apply(out, peeled(dels.slice(di, i).join(''), inss.slice(ij, j).join('')));
      out.push.apply(out, charChunks(dels[i], inss[j], dmp));
      di = i + 1; ij = j + 1;
    });
    out.push.apply(out, peeled(dels.slice(di).join(''), inss.slice(ij).join('')));
    return normalise(out);
  }

  function cpLen(s) {
    var n = 0;
    for (var i = 0; i < s.length; i++) if (!isLow(s.charCodeAt(i))) n++;
    return n;
  }

  /* {a, b, blocks: [['same', text] | ['changed', chunks]], chunks, similarity} */
  function compareTexts(a, b) {
    var sa = sentences(a), sb = sentences(b), codes = new Map();
    function encode(parts) {
      var out = [];
      parts.forEach(function (s) {
        var c = codes.get(s);
        if (c === undefined) {
          var k = codes.size;
          c = String.fromCharCode(k < 0xD800 ? k : k + BMP_GAP);
          codes.set(s, c);
        }
        out.push(c);
      });
      return out.join('');
    }
    var ea = encode(sa), eb = encode(sb);
    var dmp = newDmp(CHAR_TIMEOUT);
    var sentenceDiffs = newDmp(0).diff_main(ea, eb, false);
    var blocks = [], ia = 0, ib = 0, dels = [], inss = [];
    function flush() {
      if (dels.length || inss.length) {
        blocks.push(['changed', region(dels, inss, dmp)]);
        dels = []; inss = [];
      }
    }
    sentenceDiffs.forEach(function (d) {
      var op = d[0], k = d[1].length;
      if (op === 0) {
        flush();
        blocks.push(['same', sa.slice(ia, ia + k).join('')]);
        ia += k; ib += k;
      } else if (op < 0) {
        dels.push.apply(dels, sa.slice(ia, ia + k)); ia += k;
      } else {
        inss.push.apply(inss, sb.slice(ib, ib + k)); ib += k;
      }
    });
    flush();
    var flat = [];
    blocks.forEach(function (blk) {
      if (blk[0] === 'same') flat.push(chunk('equal', blk[1], blk[1]));
      else flat.push.apply(flat, blk[1]);
    });
    var chunks = normalise(flat), same = 0, deleted = 0, inserted = 0;
    chunks.forEach(function (c) {
      if (c.op === 'equal') same += cpLen(c.a);
      else { deleted += cpLen(c.a); inserted += cpLen(c.b); }
    });
    var total = cpLen(a) + cpLen(b);
    return {a: a, b: b, blocks: blocks, chunks: chunks, similarity: total ? 2 * same / total : 1,
      counts: {same: same, deleted: deleted, inserted: inserted}};
  }

  // ---------------------------------------------------------------- folding (compare.fold)
  var FOLD_CONTEXT = 40, FOLD_MIN = 40;

  function within(parts, context) {
    var total = 0, n = 0;
    for (var k = 0; k < parts.length; k++) {
      if (total + parts[k].length > (n ? context : 3 * context)) break;
      total += parts[k].length;
      n++;
    }
    return n;
  }

  function fold(text, first, last) {
    var parts = sentences(text), head = '', tail = '', n;
    if (!first) {
      n = within(parts, FOLD_CONTEXT);
      head = n ? parts.slice(0, n).join('') : Array.from(text).slice(0, FOLD_CONTEXT).join('');
    }
    if (!last) {
      n = within(parts.slice().reverse(), FOLD_CONTEXT);
      tail = n ? parts.slice(parts.length - n).join('') : Array.from(text).slice(-FOLD_CONTEXT).join('');
    }
    if (text.length - head.length - tail.length < FOLD_MIN) return [text, '', ''];
    return [head, text.slice(head.length, text.length - tail.length), tail];
  }

  // ---------------------------------------------------------------- loading (as search.js)
  var isFile = location.protocol === 'file:';
  var store = Object.create(null), loading = Object.create(null);
  var earlier = window.__ssLoad;
  window.__ssLoad = function (name, data) {
    if (name in loading) store[name] = data;
    else if (typeof earlier === 'function') earlier(name, data);
  };

  function load(base, name, tag, key) {
    key = key || name;  // the name the file gives to __ssLoad
    if (!loading[key]) {
      loading[key] = new Promise(function (resolve, reject) {
        var s = document.createElement('script');
        s.src = base + name + '.js' + (isFile ? '' : tag || '');
        s.async = true;
        s.onload = function () {
          s.remove();
          if (key in store) { var d = store[key]; delete store[key]; resolve(d); }
          else reject(new Error('文件 ' + name + '.js 无效'));
        };
        s.onerror = function () { s.remove(); delete loading[key]; reject(new Error('无法加载 ' + name + '.js')); };
        document.head.appendChild(s);
      });
    }
    return loading[key];
  }

  function dirOf(url) { return url.slice(0, url.lastIndexOf('/') + 1); }
  function baseName(url) { return url.slice(url.lastIndexOf('/') + 1); }

  /* meta.js (never from the HTTP cache) names the version of every other index file; the list of
     speeches changes only with them. */
  function loadDocs(indexUrl, docsUrl) {
    var indexBase = dirOf(indexUrl);
    return load(indexBase, 'meta', '?t=' + Date.now()).catch(function () { return null; }).then(function (meta) {
      var tag = meta ? '?v=' + meta.ver : '?t=' + Date.now();
      return load(dirOf(docsUrl), baseName(docsUrl).replace(/\.js$/, ''), tag, 'compare-docs').then(function (docs) {
        return {meta: meta, docs: docs, indexBase: indexBase, tag: tag};
      });
    });
  }

  function bytesOf(b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  function inflate(parts) {
    var stream = new Blob(parts).stream().pipeThrough(new DecompressionStream('deflate-raw'));
    return new Response(stream).text();
  }

  /* The plain text of document n (the search index's text file: the card and the body). */
  function loadText(index, n, url) {
    // Files are named by their content (<name>.<tag>.js): the manifest m/t<g> has the tags of the
    // text files of docs 256 g …, meta.files the manifest's.
    var g = Math.floor(n / index.meta.tdir), name = 't/' + g + '/' + n, TAG = 10;
    return load(index.indexBase, 'm/t' + g + '.' + index.meta.files['m/t' + g], '', 'm/t' + g).then(function (m) {
      var tag = '.' + m.d.substr((n - g * index.meta.tdir) * TAG, TAG);
      return load(index.indexBase, name + tag, '', name).then(function (t) {
        if (t.c[1] !== url) throw new Error('搜索索引与讲话列表不一致（' + url + '）：请重新构建网站');
        return inflate([bytesOf(t.z)]);
      });
    });
  }

  /* A speech named by its page's path (as `site-builder search --json` gives it in "url"), a URL
     or relative link ending in it, its slug (the file name without .html) or its exact title. */
  function resolveDoc(value, docs) {
    var v = (value || '').trim(), i, hits;
    if (!v) return -1;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
      try { v = decodeURIComponent(new URL(v).pathname); } catch (e) { /* keep it */ }
    }
    v = v.split('#')[0].split('?')[0];
    while (v.indexOf('../') === 0) v = v.slice(3);
    v = v.replace(/^\.?\//, '');
    for (i = 0; i < docs.length; i++) if (docs[i][1] === v) return i;
    for (i = 0; i < docs.length; i++) if (v.endsWith('/' + docs[i][1])) return i;
    hits = [];
    for (i = 0; i < docs.length; i++) if (baseName(docs[i][1]).replace(/\.html$/, '') === v) hits.push(i);
    if (hits.length === 1) return hits[0];
    hits = [];
    for (i = 0; i < docs.length; i++) if (docs[i][0] === v) hits.push(i);
    return hits.length === 1 ? hits[0] : -1;
  }

  function fillList(datalist, docs, skip) {
    var frag = document.createDocumentFragment();
    for (var i = docs.length - 1; i >= 0; i--) {  // newest first
      if (docs[i][1] === skip) continue;
      var o = document.createElement('option');
      o.value = docs[i][1];
      o.label = docs[i][0] + '（' + docs[i][3] + '，' + docs[i][4] + '）';
      frag.appendChild(o);
    }
    datalist.textContent = '';
    datalist.appendChild(frag);
  }

  // ---------------------------------------------------------------- rendering
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function num(n) { return n.toLocaleString('zh-CN'); }

  function foldBox(middle, inner) {
    var d = el('details', 'diff-fold');
    d.appendChild(el('summary', null, '相同 ' + num(cpLen(middle)) + ' 字（展开）'));
    d.appendChild(inner);
    return d;
  }

  function sideCell(chunks, side) {
    var cell = el('div', 'diff-cell');
    chunks.forEach(function (c) {
      var text = c[side];
      if (!text) return;
      if (c.op === 'equal') cell.appendChild(document.createTextNode(text));
      else cell.appendChild(el(side === 'a' ? 'del' : 'ins', null, text));
    });
    return cell;
  }

  function row(left, right, cls) {
    var r = el('div', 'diff-row' + (cls ? ' ' + cls : ''));
    r.appendChild(left);
    r.appendChild(right);
    return r;
  }
  function sameRow(text) { return row(el('div', 'diff-cell', text), el('div', 'diff-cell', text), 'diff-same'); }

  function renderSide(result, box) {
    var frag = document.createDocumentFragment(), n = result.blocks.length;
    result.blocks.forEach(function (blk, k) {
      if (blk[0] === 'changed') {
        frag.appendChild(row(sideCell(blk[1], 'a'), sideCell(blk[1], 'b'), 'diff-changed'));
        return;
      }
      var f = fold(blk[1], k === 0, k === n - 1);
      if (!f[1]) { frag.appendChild(sameRow(blk[1])); return; }
      if (f[0]) frag.appendChild(sameRow(f[0]));
      frag.appendChild(foldBox(f[1], sameRow(f[1])));
      if (f[2]) frag.appendChild(sameRow(f[2]));
    });
    box.textContent = '';
    box.appendChild(frag);
  }

  function renderInline(result, box) {
    var frag = document.createDocumentFragment(), n = result.blocks.length;
    result.blocks.forEach(function (blk, k) {
      if (blk[0] === 'changed') {
        blk[1].forEach(function (c) {
          if (c.op === 'equal') { frag.appendChild(document.createTextNode(c.a)); return; }
          if (c.a) frag.appendChild(el('del', null, c.a));
          if (c.b) frag.appendChild(el('ins', null, c.b));
        });
        return;
      }
      var f = fold(blk[1], k === 0, k === n - 1);
      if (!f[1]) { frag.appendChild(document.createTextNode(blk[1])); return; }
      if (f[0]) frag.appendChild(document.createTextNode(f[0]));
      frag.appendChild(foldBox(f[1], el('span', 'diff-hidden', f[1])));
      if (f[2]) frag.appendChild(document.createTextNode(f[2]));
    });
    box.textContent = '';
    box.appendChild(frag);
  }

  // ---------------------------------------------------------------- the compare page
  function comparePage(app) {
    var root = dirOf(app.getAttribute('data-root'));
    var ui = {
      form: app.querySelector('.compare-form'),
      a: app.querySelector('#compare-a'),
      b: app.querySelector('#compare-b'),
      list: app.querySelector('#compare-list'),
      status: app.querySelector('.compare-status'),
      error: app.querySelector('.compare-error'),
      result: app.querySelector('.compare-result'),
      side: app.querySelector('[data-diff="side"]'),
      inline: app.querySelector('[data-diff="inline"]'),
      views: app.querySelectorAll('[data-view]'),
      swap: app.querySelector('.compare-swap')
    };
    var params = new URLSearchParams(location.search);
    var qa = params.get('a') || '', qb = params.get('b') || '';
    ui.a.value = qa;
    ui.b.value = qb;

    function fail(message) {
      ui.error.textContent = message;
      ui.error.hidden = false;
      ui.status.hidden = true;
      app.setAttribute('data-compare-state', 'error');
    }

    function setView(view) {
      ui.views.forEach(function (btn) { btn.setAttribute('aria-pressed', String(btn.getAttribute('data-view') === view)); });
      ui.side.hidden = view !== 'side';
      ui.inline.hidden = view !== 'inline';
    }
    ui.views.forEach(function (btn) {
      btn.addEventListener('click', function () { setView(btn.getAttribute('data-view')); });
    });
    setView(window.matchMedia && window.matchMedia('(max-width: 40rem)').matches ? 'inline' : 'side');

    function describe(which, doc, text) {
      var dd = app.querySelector('[data-side="' + which + '"]');
      dd.textContent = '';
      var link = el('a', null, doc[0]);
      link.href = root + doc[1].split('/').map(encodeURIComponent).join('/');
      dd.appendChild(link);
      dd.appendChild(el('small', null, ' ' + doc[3] + '，' + doc[4] + '，' + num(cpLen(text)) + ' 字'));
    }

    var started = performance.now();
    app.setAttribute('data-compare-state', qa || qb ? 'loading' : 'idle');
    loadDocs(app.getAttribute('data-index'), app.getAttribute('data-docs')).then(function (index) {
      fillList(ui.list, index.docs, null);
      if (!qa && !qb) return null;
      if (!qa || !qb) throw new Error('请给出两篇讲话（a 和 b）。');
      var ia = resolveDoc(qa, index.docs), ib = resolveDoc(qb, index.docs);
      if (ia < 0) throw new Error('找不到讲话 A：' + qa);
      if (ib < 0) throw new Error('找不到讲话 B：' + qb);
      if (!index.meta) throw new Error('搜索索引无法加载：请先构建网站（site-builder build）');
      ui.status.textContent = '正在载入两篇讲话……';
      ui.status.hidden = false;
      var da = index.docs[ia], db = index.docs[ib];
      return Promise.all([loadText(index, ia, da[1]), loadText(index, ib, db[1])]).then(function (texts) {
        var loaded = performance.now();
        var result = compareTexts(texts[0], texts[1]);
        var compared = performance.now();
        describe('a', da, texts[0]);
        describe('b', db, texts[1]);
        app.querySelector('[data-similarity]').setAttribute('data-similarity', result.similarity.toFixed(6));
        app.querySelector('[data-similarity]').textContent = (result.similarity * 100).toFixed(1) + '%（相同 ' +
          num(result.counts.same) + ' 字，删 ' + num(result.counts.deleted) + ' 字，增 ' + num(result.counts.inserted) + ' 字）';
        renderSide(result, ui.side);
        renderInline(result, ui.inline);
        ui.swap.href = '?a=' + encodeURIComponent(qb) + '&b=' + encodeURIComponent(qa);
        ui.result.hidden = false;
        ui.status.textContent = '对比完成：相似度 ' + (result.similarity * 100).toFixed(1) + '%';
        var done = performance.now();
        app.setAttribute('data-compare-ms', (done - loaded).toFixed(1));
        app.setAttribute('data-compare-diff-ms', (compared - loaded).toFixed(1));
        app.setAttribute('data-compare-total-ms', (done - started).toFixed(1));
        app.setAttribute('data-compare-state', 'done');
        document.title = da[0] + ' ⇄ ' + db[0] + ' - ' + document.title;
        return result;
      });
    }).catch(function (err) { fail(err && err.message || String(err)); });
  }

  // ---------------------------------------------------------------- the speech page's 对比 block
  function offer(box) {
    var input = box.querySelector('input[list]');
    var list = box.querySelector('datalist');
    if (!input || !list) return;
    var filled = false;
    function fill() {
      if (filled) return;
      filled = true;
      loadDocs(box.getAttribute('data-index'), box.getAttribute('data-docs')).then(function (index) {
        fillList(list, index.docs, box.getAttribute('data-self'));
        box.setAttribute('data-compare-ready', '');
      }).catch(function () { filled = false; });
    }
    input.addEventListener('focus', fill);
    input.addEventListener('pointerenter', fill);
  }

  // For the tests: the functions the page uses.
  window.siteCompare = {compareTexts: compareTexts, sentences: sentences, fold: fold, resolveDoc: resolveDoc};

  function init() {
    var app = document.getElementById('compare-app');
    if (app) comparePage(app);
    document.querySelectorAll('.compare-offer').forEach(offer);
  }
  if (typeof document === 'undefined') return;
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
