/* In-browser search over the static index written by site_builder/static_index.py.
 *
 * Same answers as `site-builder search`: the query parser below is a line-by-line port of
 * site_builder/query.py and folding uses the table of site_builder/analysis.py (data/fold.json),
 * shipped in shards (search/f/*.js). Index files are classic scripts that call __ssLoad(name, data),
 * so everything works from file:// and under a CSP that allows only the site's own scripts.
 * Nothing from the query or the content is ever put into innerHTML: the DOM is built with
 * textContent.
 */
(function () {
  'use strict';

  var ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  var DEC = {};
  for (var a = 0; a < 64; a++) DEC[ALPHA.charAt(a)] = a;
  var SEPARATOR = '\u0000';
  var MAX_QUERY_CHARS = 500;
  var MAX_TERMS = 32;
  var PAGE_SIZE = 10;

  // Python's str.isspace() (checked against Python in the tests).
  var SPACE = new Set([0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
    0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);
  function isSpace(ch) { return SPACE.has(ch.codePointAt(0)); }
  function isCc(ch) { var c = ch.codePointAt(0); return c < 0x20 || (c >= 0x7f && c <= 0x9f); }

  // ---------------------------------------------------------------- loading index files
  var store = Object.create(null);
  var cache = Object.create(null);
  var indexBase = '';
  var version = '';
  var isFile = location.protocol === 'file:';

  window.__ssLoad = function (name, data) { store[name] = data; };

  function load(name) {
    if (cache[name]) return cache[name];
    cache[name] = new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      // meta.js names the version of every other file: never take it from the HTTP cache.
      var tag = isFile ? '' : name === 'meta' ? '?t=' + Date.now() : '?v=' + version;
      s.src = indexBase + name + '.js' + tag;
      s.async = true;
      s.onload = function () {
        s.remove();
        if (name in store) { var d = store[name]; delete store[name]; resolve(d); }
        else reject(new Error('索引文件 ' + name + ' 无效'));
      };
      s.onerror = function () { s.remove(); delete cache[name]; reject(new Error('无法加载索引文件 ' + name)); };
      document.head.appendChild(s);
    });
    return cache[name];
  }

  // ---------------------------------------------------------------- folding (analysis.fold)
  var foldMap = new Map();
  var foldBlocks = new Set();

  function loadFold(text) {
    var need = new Set();
    for (var ch of text) {
      var blk = ch.codePointAt(0) >> 8;
      if (foldBlocks.has(blk)) need.add(blk);
    }
    return Promise.all(Array.from(need).map(function (blk) {
      return load('f/' + blk.toString(16)).then(function (entries) {
        for (var k in entries) foldMap.set(k, entries[k]);
        foldBlocks.delete(blk);
      });
    }));
  }

  function fold(text) {
    var out = '';
    for (var ch of text) {
      var f = foldMap.get(ch);
      out += f === undefined ? ch : f;
    }
    return out;
  }

  // ---------------------------------------------------------------- query language (query.py)
  function QueryError(message, column) {
    this.message = message;
    this.column = column === undefined ? null : column;
  }
  QueryError.prototype.toString = function () {
    return this.column === null ? this.message : this.message + ' (column ' + this.column + ')';
  };

  function pySplit(text) {
    var parts = [], cur = '';
    for (var ch of text) {
      if (isSpace(ch)) { if (cur) parts.push(cur); cur = ''; } else cur += ch;
    }
    if (cur) parts.push(cur);
    return parts;
  }

  function tokenize(raw) {  // raw: array of code points (strings)
    var tokens = [], i = 0, n = raw.length;
    while (i < n) {
      var ch = raw[i];
      if (isSpace(ch)) { i++; continue; }
      var start = i, negated = false;
      if (ch === '-' || ch === '－') {
        negated = true;
        i++;
        if (i >= n || isSpace(raw[i])) {
          throw new QueryError("'-' must be followed by a term to exclude, e.g. -形式主义", start + 1);
        }
        ch = raw[i];
      }
      if (ch === '"' || ch === '＂') {
        var end = -1;
        for (var j = i + 1; j < n; j++) if (raw[j] === '"' || raw[j] === '＂') { end = j; break; }
        if (end < 0) throw new QueryError('unclosed quote: add the closing " or remove the opening one', i + 1);
        tokens.push({text: raw.slice(i + 1, end).join(''), column: start + 1, quoted: true, negated: negated});
        i = end + 1;
        continue;
      }
      var k = i;
      while (k < n && !isSpace(raw[k]) && raw[k] !== '"' && raw[k] !== '＂') k++;
      tokens.push({text: raw.slice(i, k).join(''), column: start + 1, quoted: false, negated: negated});
      i = k;
    }
    return tokens;
  }

  function isOr(tok) { return !tok.quoted && !tok.negated && tok.text.normalize('NFKC') === 'OR'; }

  function foldTerm(tok) {
    var term = pySplit(fold(tok.text)).join(' ');
    if (!term) throw new QueryError('empty quoted phrase: put words between the quotes', tok.column);
    return term;
  }

  function unique(list) { return Array.from(new Set(list)); }

  /* Parse like query.parse; the fold shards for the query's characters must be loaded. */
  function parse(raw) {
    if (typeof raw !== 'string') throw new QueryError('the query must be text');
    var cps = Array.from(raw);
    if (cps.length > MAX_QUERY_CHARS) {
      throw new QueryError('the query is too long (' + cps.length + ' characters; at most ' + MAX_QUERY_CHARS + ')');
    }
    // Like query._clean: no control characters, nothing that folds to nothing (zero-width, direction marks).
    var tokens = tokenize(cps.filter(function (ch) { return isSpace(ch) || (!isCc(ch) && fold(ch) !== ''); }));
    if (!tokens.length) throw new QueryError('the query is empty: type a word or phrase to search for');
    var groups = [], excluded = [], pendingOr = false;
    for (var k = 0; k < tokens.length; k++) {
      var tok = tokens[k];
      if (isOr(tok)) {
        if (!groups.length || pendingOr || k === tokens.length - 1) {
          throw new QueryError('OR needs a term on both sides, e.g. 党建 OR 廉政', tok.column);
        }
        if (tokens[k - 1].negated) throw new QueryError('an excluded term (-…) cannot be part of OR', tok.column);
        pendingOr = true;
        continue;
      }
      var term = foldTerm(tok);
      if (tok.negated) {
        if (pendingOr) throw new QueryError('an excluded term (-…) cannot be part of OR', tok.column);
        excluded.push(term);
      } else if (pendingOr) {
        groups[groups.length - 1].push(term);
      } else {
        groups.push([term]);
      }
      pendingOr = false;
    }
    var count = excluded.length;
    groups.forEach(function (g) { count += g.length; });
    if (count > MAX_TERMS) throw new QueryError('too many terms (at most ' + MAX_TERMS + ')');
    if (!groups.length) throw new QueryError('the query only excludes terms: add a term to search for');
    return {groups: groups.map(unique), excluded: unique(excluded)};
  }

  // ---------------------------------------------------------------- index access
  var meta = null;
  var docYear, docType, docThemes, docTlen;

  function vlqReader(str) {
    var i = 0;
    return {
      more: function () { return i < str.length; },
      num: function () {
        var n = 0, shift = 0, v;
        do { v = DEC[str.charAt(i++)]; n += (v & 31) * Math.pow(2, shift); shift += 5; } while (v & 32);
        return n;
      },
      code: function () { return DEC[str.charAt(i++)]; }
    };
  }

  var CRC = new Int32Array(256);
  for (var c0 = 0; c0 < 256; c0++) {
    var c1 = c0;
    for (var b0 = 0; b0 < 8; b0++) c1 = c1 & 1 ? 0xedb88320 ^ (c1 >>> 1) : c1 >>> 1;
    CRC[c0] = c1;
  }
  function keyHash(key) {  // zlib.crc32(key.encode('utf-16-le'))
    var h = -1;
    for (var i = 0; i < key.length; i++) {
      var u = key.charCodeAt(i);
      h = CRC[(h ^ u) & 0xff] ^ (h >>> 8);
      h = CRC[(h ^ (u >>> 8)) & 0xff] ^ (h >>> 8);
    }
    return (h ^ -1) >>> 0;
  }
  function hexName(key) { return Array.from(key).map(function (c) { return c.codePointAt(0).toString(16); }).join('-'); }

  /* A key's bucket: shard h & (P-1), then (h >> log2 P) & (count - 1) among that shard's buckets,
     which are numbered shard after shard (static_index._Layout). */
  function bucketOf(counts, key) {
    var h = keyHash(key), P = counts.length, s = h & (P - 1), bits = Math.round(Math.log2(P)), off = 0;
    for (var i = 0; i < s; i++) off += counts[i];
    return off + ((h >>> bits) & (counts[s] - 1));
  }

  function posting(prefix, counts, key) {
    var b = bucketOf(counts, key);
    return load(prefix + '/' + b).then(function (bucket) {
      var v = Object.prototype.hasOwnProperty.call(bucket, key) ? bucket[key] : null;
      if (v === 0) return load(prefix + '/x/' + hexName(key));
      return v;
    });
  }

  /* Doc-level posting of a char or pair: Map doc -> {tf, title}. */
  var kCache = new Map();
  function kPosting(key) {
    if (!kCache.has(key)) {
      kCache.set(key, posting('k', meta.kbs, key).then(function (str) {
        var m = new Map();
        if (!str) return m;
        var r = vlqReader(str), doc = -1;
        while (r.more()) {
          var v = r.num();
          doc += Math.floor(v / 8) + 1;
          m.set(doc, {tf: 1 + (v & 3) * 2, title: (v & 4) !== 0});
        }
        return m;
      }));
    }
    return kCache.get(key);
  }

  /* Trigram positions: Map doc -> sorted array of offsets in the search text. */
  var pCache = new Map();
  function pPosting(tri) {
    if (!pCache.has(tri)) {
      pCache.set(tri, posting('p', meta.pbs, tri).then(function (str) {
        var m = new Map();
        if (!str) return m;
        var r = vlqReader(str), doc = -1;
        while (r.more()) {
          var h = r.num();
          doc += Math.floor(h / 4) + 1;
          var count = (h & 3) + 1;
          if (count === 4) count += r.num();
          var v = r.num(), vs = [v];
          for (var k = 1; k < count; k++) { v += r.num() + 1; vs.push(v); }
          m.set(doc, vs);
        }
        return m;
      }));
    }
    return pCache.get(tri);
  }

  function hasSorted(arr, x) {
    var lo = 0, hi = arr.length - 1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (arr[mid] === x) return true;
      if (arr[mid] < x) lo = mid + 1; else hi = mid - 1;
    }
    return false;
  }

  function termGrams(term) {  // analysis.term_grams
    var keys = [];
    term.split(' ').filter(Boolean).forEach(function (piece) {
      var cp = Array.from(piece);
      if (cp.length <= 2) keys.push(piece);
      else for (var i = 0; i + 1 < cp.length; i++) keys.push(cp[i] + cp[i + 1]);
    });
    return unique(keys);
  }

  /* Docs containing a folded term: Promise<Map doc -> {tf, title}>. */
  function termDocs(term) {
    var cps = Array.from(term);
    if (term.indexOf(' ') < 0 && cps.length <= 2) return kPosting(term);
    if (term.indexOf(' ') < 0) {
      var n = cps.length, offs = [];
      for (var o = 0; o + 3 <= n; o += 3) offs.push(o);
      if (offs[offs.length - 1] + 3 < n) offs.push(n - 3);
      var tris = offs.map(function (o) { return cps.slice(o, o + 3).join(''); });
      return Promise.all(tris.map(pPosting)).then(function (lists) {
        var out = new Map();
        var order = lists.map(function (l, i) { return i; }).sort(function (x, y) { return lists[x].size - lists[y].size; });
        lists[order[0]].forEach(function (vs0, doc) {
          var per = [];
          for (var i = 0; i < lists.length; i++) { var l = lists[i].get(doc); if (!l) return; per.push(l); }
          var count = 0, title = false;
          per[0].forEach(function (v) {
            for (var i = 1; i < per.length; i++) if (!hasSorted(per[i], v + offs[i])) return;
            count++;
            if (v < docTlen[doc]) title = true;
          });
          if (count) out.set(doc, {tf: count, title: title});
        });
        return out;
      });
    }
    // A quoted phrase with spaces: candidates from the grams, verified on the text itself.
    return Promise.all(termGrams(term).map(kPosting)).then(function (lists) {
      lists.sort(function (x, y) { return x.size - y.size; });
      var cands = [];
      lists[0].forEach(function (v, doc) { if (lists.every(function (l) { return l.has(doc); })) cands.push(doc); });
      return Promise.all(cands.map(function (doc) {
        return docText(doc).then(function (t) {
          var at = t.text.indexOf(term), count = 0, title = false;
          while (at >= 0) {
            count++;
            if (at < t.bodyStart) title = true;
            at = t.text.indexOf(term, at + 1);
          }
          return count ? [doc, {tf: count, title: title}] : null;
        });
      })).then(function (pairs) {
        var out = new Map();
        pairs.forEach(function (p) { if (p) out.set(p[0], p[1]); });
        return out;
      });
    });
  }

  /* A doc's text: part 0 has the card, the fold map and the start of the body (a raw deflate
     stream flushed at a byte boundary: an empty final block makes it complete); parts 0 + 1 are
     the whole body. Promise<{c: card, f: fold map, body: text, complete: bool}>. */
  var FINAL_BLOCK = new Uint8Array([1, 0, 0, 255, 255]);
  var textCache = new Map(), fullCache = new Map();
  function bytesOf(b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  function inflate(parts) {
    var stream = new Blob(parts).stream().pipeThrough(new DecompressionStream('deflate-raw'));
    return new Response(stream).text();
  }
  function textName(doc, part) { return 't/' + Math.floor(doc / meta.tdir) + '/' + doc + '-' + part; }
  function textFile(doc) {
    if (!textCache.has(doc)) {
      textCache.set(doc, load(textName(doc, 0)).then(function (t) {
        var z0 = bytesOf(t.z);
        return inflate(t.more ? [z0, FINAL_BLOCK] : [z0]).then(function (body) {
          return {c: t.c, f: t.f, body: body, complete: !t.more, z0: z0};
        });
      }));
    }
    return textCache.get(doc);
  }
  function fullText(doc) {
    return textFile(doc).then(function (t) {
      if (t.complete) return t;
      if (!fullCache.has(doc)) {
        fullCache.set(doc, load(textName(doc, 1)).then(function (z1) {
          return inflate([t.z0, bytesOf(z1)]).then(function (body) { return {c: t.c, f: t.f, body: body, complete: true}; });
        }));
      }
      return fullCache.get(doc);
    });
  }

  function foldPage(text, fmap) {  // folded text + offsets (index of source code point per folded unit)
    var out = '', offs = [], src = Array.from(text);
    for (var i = 0; i < src.length; i++) {
      var f = Object.prototype.hasOwnProperty.call(fmap, src[i]) ? fmap[src[i]] : src[i];
      out += f;
      for (var u = 0; u < f.length; u++) offs.push(i);
    }
    offs.push(src.length);
    return {text: out, offs: offs, src: src};
  }

  /* The whole folded search_text of a doc (only for quoted phrases with spaces). */
  function docText(doc) {
    return fullText(doc).then(function (t) {
      var title = foldPage(t.c[0], t.f).text;
      return {text: title + SEPARATOR + foldPage(t.body, t.f).text, bodyStart: title.length + 1};
    });
  }

  // ---------------------------------------------------------------- search
  function yearFilter(spec) {
    if (!spec) return null;
    var m = /^\s*(\d{4})\s*(?:[-–~]\s*(\d{4}))?\s*$/.exec(spec);
    if (!m) return function () { return false; };
    var lo = +m[1], hi = m[2] ? +m[2] : lo;
    if (lo > hi) { var t = lo; lo = hi; hi = t; }
    return function (y) { return y >= lo && y <= hi; };
  }

  function runQuery(q, filters) {
    return loadFold(q).then(function () {
      var query = parse(q);
      var terms = unique([].concat.apply([], query.groups).concat(query.excluded));
      return Promise.all(terms.map(termDocs)).then(function (lists) {
        var byTerm = new Map();
        terms.forEach(function (t, i) { byTerm.set(t, lists[i]); });
        var groupSets = query.groups.map(function (g) {
          var s = new Set();
          g.forEach(function (t) { byTerm.get(t).forEach(function (v, doc) { s.add(doc); }); });
          return s;
        }).sort(function (x, y) { return x.size - y.size; });
        var yf = yearFilter(filters.year);
        var mt = filters.meeting_type ? meta.mtypes.indexOf(filters.meeting_type) : null;
        var th = filters.theme ? meta.themes.indexOf(filters.theme) : null;
        var hits = [];
        groupSets[0].forEach(function (doc) {
          for (var i = 1; i < groupSets.length; i++) if (!groupSets[i].has(doc)) return;
          for (var j = 0; j < query.excluded.length; j++) if (byTerm.get(query.excluded[j]).has(doc)) return;
          if (yf && !yf(docYear[doc])) return;
          if (mt !== null && docType[doc] !== mt) return;
          if (th !== null && docThemes[doc].indexOf(th) < 0) return;
          hits.push(doc);
        });
        // Rank: each positive term adds idf * (1 + log tf), twice that in the title; ties newest first.
        var positive = unique([].concat.apply([], query.groups));
        var score = new Map();
        hits.forEach(function (doc) {
          var s = 0;
          positive.forEach(function (t) {
            var info = byTerm.get(t).get(doc);
            if (!info) return;
            var idf = Math.log(1 + meta.n / byTerm.get(t).size);
            s += idf * (1 + Math.log(info.tf)) + (info.title ? 2 * idf : 0);
          });
          score.set(doc, s);
        });
        hits.sort(function (x, y) { return score.get(y) - score.get(x) || y - x; });
        var facets = {year: new Map(), meeting_type: new Map(), theme: new Map()};
        function bump(m, k) { m.set(k, (m.get(k) || 0) + 1); }
        hits.forEach(function (doc) {
          bump(facets.year, docYear[doc]);
          bump(facets.meeting_type, meta.mtypes[docType[doc]]);
          docThemes[doc].forEach(function (t) { bump(facets.theme, meta.themes[t]); });
        });
        return {query: query, hits: hits, facets: facets};
      });
    });
  }

  /* The card and an excerpt of one hit: the matched characters are marked. */
  function excerpt(doc, terms) {
    function cut(t) {
      var f = foldPage(t.body, t.f);
      return {card: t.c, fmap: t.f, page: f, spans: findSpans(f, terms)};
    }
    return textFile(doc).then(function (t) {
      var ex = cut(t);
      // No match in the start of the body (or too near its end for the excerpt): read it all.
      if (t.complete || (ex.spans.length && ex.spans[0][0] + 110 <= ex.page.src.length)) return ex;
      return fullText(doc).then(cut);
    });
  }

  function findSpans(f, terms) {  // merged [start, end) in source code points
    var spans = [];
    terms.forEach(function (t) {
      var at = f.text.indexOf(t);
      while (at >= 0) {
        spans.push([f.offs[at], f.offs[at + t.length - 1] + 1]);
        at = f.text.indexOf(t, at + 1);
      }
    });
    spans.sort(function (x, y) { return x[0] - y[0] || x[1] - y[1]; });
    var merged = [];
    spans.forEach(function (s) {
      var m = merged[merged.length - 1];
      if (m && s[0] <= m[1]) m[1] = Math.max(m[1], s[1]); else merged.push([s[0], s[1]]);
    });
    return merged;
  }

  // ---------------------------------------------------------------- display
  var ui = {};
  var state = {token: 0, result: null, shown: 0, filters: {}, q: ''};

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function chineseDate(iso) {
    var p = String(iso || '').split('-');
    var out = p[0] ? p[0] + '年' : '';
    if (p[1]) out += (+p[1]) + '月';
    if (p[2]) out += (+p[2]) + '日';
    return out;
  }

  function quotePath(path) {  // like urllib.parse.quote(path, safe="/#?=&")
    return path.split('/').map(function (seg) {
      return encodeURIComponent(seg).replace(/[!'()*]/g, function (c) {
        return '%' + c.charCodeAt(0).toString(16).toUpperCase();
      }).replace(/%23/g, '#').replace(/%3F/g, '?').replace(/%3D/g, '=').replace(/%26/g, '&');
    }).join('/');
  }

  function appendMarked(parent, src, spans, from, to) {
    var pos = from;
    spans.forEach(function (s) {
      var a = Math.max(s[0], from), b = Math.min(s[1], to);
      if (b <= a) return;
      if (a > pos) parent.appendChild(document.createTextNode(src.slice(pos, a).join('')));
      parent.appendChild(el('mark', null, src.slice(a, b).join('')));
      pos = b;
    });
    if (pos < to) parent.appendChild(document.createTextNode(src.slice(pos, to).join('')));
  }

  function renderHit(doc, ex, terms) {
    var li = el('li', 'search-hit');
    li.setAttribute('data-search-result', '');
    var card = ex.card;
    var h = el('h2', 'search-hit-title');
    var a = el('a');
    a.href = ui.root + quotePath(card[1]);
    var ft = foldPage(card[0], ex.fmap);
    appendMarked(a, ft.src, findSpans(ft, terms), 0, ft.src.length);
    h.appendChild(a);
    li.appendChild(h);
    var info = el('p', 'search-hit-meta');
    info.appendChild(el('time', null, chineseDate(card[2])));
    if (card[3]) { info.appendChild(document.createTextNode(' · ')); info.appendChild(el('span', null, card[3])); }
    li.appendChild(info);
    var src = ex.page.src, spans = ex.spans;
    var center = spans.length ? spans[0][0] : 0;
    var from = Math.max(0, center - 40), to = Math.min(src.length, center + 110);
    var p = el('p', 'search-hit-excerpt');
    if (from > 0) p.appendChild(document.createTextNode('…'));
    appendMarked(p, src, spans, from, to);
    if (to < src.length) p.appendChild(document.createTextNode('…'));
    li.appendChild(p);
    return li;
  }

  function showMore() {
    var res = state.result, token = state.token;
    if (!res) return Promise.resolve();
    var slice = res.hits.slice(state.shown, state.shown + PAGE_SIZE);
    var terms = res.query.terms;
    ui.more.disabled = true;
    return Promise.all(slice.map(function (doc) {
      return excerpt(doc, terms);
    })).then(function (exs) {
      if (token !== state.token) return;
      var first = null;
      exs.forEach(function (ex, i) {
        var li = renderHit(slice[i], ex, terms);
        if (!first) first = li;
        ui.results.appendChild(li);
      });
      state.shown += slice.length;
      ui.more.hidden = state.shown >= res.hits.length;
      ui.more.disabled = false;
      return first;
    });
  }

  function filterUrl(changes) {
    var params = new URLSearchParams();
    var f = Object.assign({}, state.filters, changes);
    if (state.q) params.set('q', state.q);
    ['year', 'meeting_type', 'theme'].forEach(function (k) { if (f[k]) params.set(k, f[k]); });
    var s = params.toString();
    return location.pathname + (s ? '?' + s : '');
  }

  var FACET_LABELS = {year: '年份', meeting_type: '会议类型', theme: '主题'};

  function renderFacets(res) {
    ui.facets.textContent = '';
    ['year', 'meeting_type', 'theme'].forEach(function (key) {
      var counts = Array.from(res.facets[key].entries());
      if (!counts.length && !state.filters[key]) return;
      if (key === 'year') counts.sort(function (x, y) { return y[0] - x[0]; });
      else counts.sort(function (x, y) { return y[1] - x[1] || (x[0] < y[0] ? -1 : 1); });
      var box = el('section', 'search-facet');
      box.appendChild(el('h2', null, FACET_LABELS[key]));
      var ul = el('ul');
      if (state.filters[key]) {
        var li0 = el('li', 'search-facet-active');
        var clear = el('a', null, '× ' + state.filters[key]);
        clear.href = filterUrl(makeChange(key, ''));
        clear.setAttribute('data-nav', '');
        clear.setAttribute('aria-label', '取消筛选：' + state.filters[key]);
        li0.appendChild(clear);
        ul.appendChild(li0);
      }
      counts.forEach(function (c) {
        if (String(c[0]) === state.filters[key]) return;
        var li = el('li');
        var link = el('a', null, c[0] === '' ? '（未注明）' : c[0]);
        link.href = filterUrl(makeChange(key, String(c[0])));
        link.setAttribute('data-nav', '');
        li.appendChild(link);
        li.appendChild(el('span', 'search-facet-count', c[1]));
        ul.appendChild(li);
      });
      box.appendChild(ul);
      ui.facets.appendChild(box);
    });
  }
  function makeChange(k, v) { var o = {}; o[k] = v; return o; }

  function readUrl() {
    var params = new URLSearchParams(location.search);
    state.q = params.get('q') || '';
    state.filters = {year: params.get('year') || '', meeting_type: params.get('meeting_type') || '', theme: params.get('theme') || ''};
    ui.input.value = state.q;
  }

  function search() {
    var token = ++state.token;
    state.result = null;
    state.shown = 0;
    ui.results.textContent = '';
    ui.facets.textContent = '';
    ui.error.hidden = true;
    ui.more.hidden = true;
    ui.total.textContent = '';
    ui.status.hidden = true;
    if (!state.q.trim()) { ui.root_el.removeAttribute('aria-busy'); ui.root_el.setAttribute('data-search-state', 'idle'); return Promise.resolve(); }
    ui.root_el.setAttribute('aria-busy', 'true');
    ui.root_el.setAttribute('data-search-state', 'busy');
    return runQuery(state.q, state.filters).then(function (res) {
      if (token !== state.token) return;
      res.query.terms = unique([].concat.apply([], res.query.groups));
      state.result = res;
      renderFacets(res);
      return showMore().then(function () {
        if (token !== state.token) return;
        ui.total.textContent = String(res.hits.length);
        ui.echo.textContent = state.q;
        ui.status.hidden = false;
        ui.root_el.setAttribute('data-search-state', 'done');
        ui.root_el.removeAttribute('aria-busy');
      });
    }).catch(function (err) {
      if (token !== state.token) return;
      ui.error.textContent = err instanceof QueryError ? '查询有误：' + err.toString() : '搜索出错：' + (err && err.message || err);
      ui.error.hidden = false;
      ui.total.textContent = '0';
      ui.root_el.setAttribute('data-search-state', 'error');
      ui.root_el.removeAttribute('aria-busy');
    });
  }

  function navigate(url, push) {
    if (push) history.pushState(null, '', url);
    readUrl();
    return search();
  }

  function init() {
    var root = document.getElementById('search-app');
    if (!root) return;
    ui.root_el = root;
    ui.input = root.querySelector('input[name=q]');
    ui.form = root.querySelector('form');
    ui.results = root.querySelector('.search-results');
    ui.facets = root.querySelector('.search-facets');
    ui.total = root.querySelector('[data-search-total]');
    ui.status = root.querySelector('.search-status');
    ui.echo = root.querySelector('.search-echo');
    ui.error = root.querySelector('.search-error');
    ui.more = root.querySelector('.search-more');
    var metaUrl = root.getAttribute('data-index');
    indexBase = metaUrl.replace(/meta\.js$/, '');
    ui.root = root.getAttribute('data-root').replace(/index\.html$/, '');
    ui.form.addEventListener('submit', function (e) {
      e.preventDefault();
      state.q = ui.input.value;
      var url = filterUrl({});
      history.pushState(null, '', url);
      readUrl();
      search();
    });
    ui.facets.addEventListener('click', function (e) {
      var a = e.target.closest('a[data-nav]');
      if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      navigate(a.getAttribute('href'), true);
    });
    ui.more.addEventListener('click', function () {
      showMore().then(function (first) {
        if (first) { var link = first.querySelector('a'); if (link) link.focus(); }
      });
    });
    window.addEventListener('popstate', function () { readUrl(); search(); });
    load('meta').then(function (m) {
      meta = m;
      version = m.ver;
      m.fold.forEach(function (b) { foldBlocks.add(b); });
      docYear = new Int32Array(m.n);
      var d = 0;
      m.years.forEach(function (y) { for (var i = 0; i < y[1]; i++) docYear[d++] = y[0]; });
      return load('facets');
    }).then(function (facets) {
      var m = meta;
      docType = new Int32Array(m.n);
      docTlen = new Int32Array(m.n);
      docThemes = new Array(m.n);
      var r = vlqReader(facets);
      for (var k = 0; k < m.n; k++) {
        docType[k] = r.num();
        docTlen[k] = r.num();
        var nt = r.num(), ts = [];
        for (var j = 0; j < nt; j++) ts.push(r.num());
        docThemes[k] = ts;
      }
      root.setAttribute('data-search-ready', '');
      readUrl();
      return search();
    }).catch(function (err) {
      ui.error.textContent = '搜索索引无法加载：' + (err && err.message || err);
      ui.error.hidden = false;
    });
  }

  // For the tests: the same functions the page uses.
  window.siteSearch = {
    fold: fold, loadFold: loadFold, parse: parse, isSpace: isSpace,
    parseJSON: function (q) {
      return loadFold(q).then(function () {
        try { var r = parse(q); return {groups: r.groups, excluded: r.excluded}; }
        catch (e) { if (e instanceof QueryError) return {error: e.message, column: e.column}; throw e; }
      });
    },
    loadAllFold: function () {
      return Promise.all(Array.from(foldBlocks).map(function (b) {
        return load('f/' + b.toString(16)).then(function (entries) { for (var k in entries) foldMap.set(k, entries[k]); });
      })).then(function () { foldBlocks.clear(); });
    },
    run: function (q, filters) { return runQuery(q, filters || {}).then(function (r) { return r.hits; }); }
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
