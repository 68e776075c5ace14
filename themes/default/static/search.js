/* In-browser search over the static index written by site_builder/static_search/ (its format: wire.py).
 *
 * Same answers as `site-builder search`: the query parser below is a line-by-line port of
 * site_builder/search/query.py, folding uses the table of site_builder/search/analysis.py (data/fold.json,
 * shipped in shards, search/f/*.js), the year filter is search_index._parse_year, and hits are
 * ranked with search_index's formula from the counts the index ships (same scores, same order).
 * Index files are classic scripts that call __ssLoad(name, data), so everything works from file://
 * and under a CSP that allows only the site's own scripts. Nothing from the query or the content is
 * ever put into innerHTML: the DOM is built with textContent.
 *
 * The page (templates/search.html): ?q=…&year=…&meeting_type=…&theme=…&sort=relevance|newest|oldest
 * &offset=N&view=kwic. The list shows 10 hits at a time (更多结果 for more), each with its number
 * of occurrences; view=kwic lists every occurrence (date, title, left context, match, right
 * context), each linking to its paragraph; the trend chart counts speeches and occurrences per
 * year. Speech pages load this file too (static/passage.js) to mark the matches in the text.
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
  var KWIC_PAGE = 50;  // occurrences shown at a time in the KWIC view
  var KWIC_CONTEXT = 30;  // characters of context on each side (search.passages.CONTEXT)
  var SORTS = {relevance: '相关度', newest: '最新', oldest: '最早'};
  var MAX_OFFSET = 100000;

  // Python's str.isspace() (checked against Python in the tests).
  var SPACE = new Set([0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
    0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
    0x2028, 0x2029, 0x202f, 0x205f, 0x3000]);
  function isSpace(ch) { return SPACE.has(ch.codePointAt(0)); }
  function isCc(ch) { var c = ch.codePointAt(0); return c < 0x20 || (c >= 0x7f && c <= 0x9f); }
  function pyStrip(s) {  // str.strip()
    var cps = Array.from(s), i = 0, j = cps.length;
    while (i < j && isSpace(cps[i])) i++;
    while (j > i && isSpace(cps[j - 1])) j--;
    return cps.slice(i, j).join('');
  }

  // ---------------------------------------------------------------- loading index files
  var store = Object.create(null);
  var cache = Object.create(null);
  var indexBase = '';
  var isFile = location.protocol === 'file:';
  var FORMAT = 6, GROUP = 256, TAG = 10, FOLD_BITS = 11;  // static_search.wire: format, buckets per manifest, hex digits of a tag, fold shard bits

  // Chain to a loader installed before (static/compare.js on a speech page): it takes what it asked for.
  var earlierLoad = window.__ssLoad;
  window.__ssLoad = function (name, data) {
    if (name in cache) store[name] = data;
    if (typeof earlierLoad === 'function') earlierLoad(name, data);
  };

  /* The tag of an index file (static_search.wire): every file but meta.js is <name>.<tag>.js, named
     by its content; meta.files gives the tags of facets, the fold shards and the manifests, and a
     manifest (m/k<g>, m/p<g>: 256 buckets and their long postings; m/t<g>: 256 docs' text files)
     those of its files. A long posting's manifest is its bucket's. */
  function tagOf(name, bucket) {
    var p = name.split('/'), files = meta.files;
    if (name === 'facets' || p[0] === 'm') return Promise.resolve(files[name]);
    if (p[0] === 'f' || p[0] === 'r') return Promise.resolve(files.fold);
    if (p[0] === 't') {
      var n = parseInt(p[2], 10), g = parseInt(p[1], 10);
      return load('m/t' + g).then(function (m) { return m.d.substr((n - g * meta.tdir) * TAG, TAG); });
    }
    var b = p[1] === 'x' ? bucket : parseInt(p[1], 10);
    return load('m/' + p[0] + Math.floor(b / GROUP)).then(function (m) {
      return p[1] === 'x' ? (m.x || {})[p[2]] : m.d.substr((b % GROUP) * TAG, TAG);
    });
  }

  function load(name, bucket) {
    if (cache[name]) return cache[name];
    var tagged = name === 'meta' ? Promise.resolve('') : tagOf(name, bucket);
    cache[name] = tagged.then(function (tag) {
      return new Promise(function (resolve, reject) {
        if (name !== 'meta' && !tag) throw new Error('索引文件 ' + name + ' 不在索引中');
        var s = document.createElement('script');
        // meta.js is the one file replaced in place: never take it from the HTTP cache.
        s.src = indexBase + (name === 'meta' ? 'meta.js' + (isFile ? '' : '?t=' + Date.now()) : name + '.' + tag + '.js');
        s.async = true;
        s.onload = function () {
          s.remove();
          if (name in store) { var d = store[name]; delete store[name]; resolve(d); }
          else reject(new Error('索引文件 ' + name + '.js 无效'));
        };
        s.onerror = function () { s.remove(); reject(new Error('无法加载索引文件 ' + name + '.js')); };
        document.head.appendChild(s);
      });
    });
    cache[name].catch(function () { delete cache[name]; });
    return cache[name];
  }

  // ---------------------------------------------------------------- folding (analysis.fold)
  var foldMap = new Map();
  var foldBlocks = new Set();

  function loadFold(text) {
    var need = new Set();
    for (var ch of text) {
      var blk = ch.codePointAt(0) >> FOLD_BITS;
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

  /* Folding a page's text for a query (static/passage.js) without the shards of every character
     of the text: r/<block>.js lists every character whose fold has a character of the block, so with
     the shards of the query's folded characters (and their own f/ shards) a character that is not
     listed folds to no character of the query; it is left as it is (or dropped when it folds to
     nothing, meta.ign). */
  var rBlocks = new Set(), rMap = new Map(), ignoredChars = new Set();

  function loadPageFold(terms) {
    var text = terms.join(''), need = new Set();
    for (var ch of text) {
      var blk = ch.codePointAt(0) >> FOLD_BITS;
      if (rBlocks.has(blk)) need.add(blk);
    }
    return Promise.all([loadFold(text)].concat(Array.from(need).map(function (blk) {
      return load('r/' + blk.toString(16)).then(function (entries) {
        for (var k in entries) rMap.set(k, entries[k]);
        rBlocks.delete(blk);
      });
    })));
  }

  function pageFold(ch) {
    var f = foldMap.get(ch);
    if (f === undefined) f = rMap.get(ch);
    if (f === undefined) f = ignoredChars.has(ch) ? '' : ch;
    return f;
  }

  // ---------------------------------------------------------------- query language (query.py)
  /* query.MESSAGES, word for word (the tests compare them with Python's). */
  var MESSAGES = {
    not_text: '查询必须是文字',
    too_long: '查询太长（{n} 个字符，最多 {limit} 个）',
    empty: '查询为空：请输入要查找的词语',
    dangling_minus: '“-”后面要紧跟要排除的词，例如 -形式主义',
    unclosed_quote: '引号没有配对：请补上后引号，或删去前引号',
    empty_phrase: '引号里没有内容：请在引号中输入词语',
    or_operand: 'OR 两边都要有词语，例如 党建 OR 廉政',
    or_excluded: '排除的词（-…）不能用在 OR 中',
    too_many_terms: '词语太多（最多 {limit} 个）',
    only_excluded: '查询只有要排除的词：请加上要查找的词'
  };

  function QueryError(code, column, values) {
    this.code = code;
    this.message = MESSAGES[code].replace(/\{(\w+)\}/g, function (m, k) { return String((values || {})[k]); });
    this.column = column === undefined ? null : column;
  }
  QueryError.prototype.toString = function () {  // str(QueryError)
    return this.column === null ? this.message : this.message + '（第 ' + this.column + ' 个字符）';
  };

  /* query.FilterError (a year that cannot be read), or a sort or offset the page cannot use. */
  function FilterError(message, code) { this.message = message; this.code = code; }
  FilterError.prototype.toString = function () { return this.message; };

  /* What the reader is told for any error. */
  function describeError(err) {
    if (err instanceof FilterError) return err.message;
    if (err instanceof QueryError) return '查询有误：' + err.toString();
    return '搜索出错：' + (err && err.message || err);
  }

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
          throw new QueryError('dangling_minus', start + 1);
        }
        ch = raw[i];
      }
      if (ch === '"' || ch === '＂') {
        var end = -1;
        for (var j = i + 1; j < n; j++) if (raw[j] === '"' || raw[j] === '＂') { end = j; break; }
        if (end < 0) throw new QueryError('unclosed_quote', i + 1);
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
    if (!term) throw new QueryError('empty_phrase', tok.column);
    return term;
  }

  function unique(list) { return Array.from(new Set(list)); }

  /* Parse like query.parse; the fold shards for the query's characters must be loaded. */
  function parse(raw) {
    if (typeof raw !== 'string') throw new QueryError('not_text');
    var cps = Array.from(raw);
    if (cps.length > MAX_QUERY_CHARS) throw new QueryError('too_long', null, {n: cps.length, limit: MAX_QUERY_CHARS});
    // Like query._clean: no control characters, nothing that folds to nothing (zero-width, direction marks).
    var tokens = tokenize(cps.filter(function (ch) { return isSpace(ch) || (!isCc(ch) && fold(ch) !== ''); }));
    if (!tokens.length) throw new QueryError('empty');
    var groups = [], excluded = [], pendingOr = false;
    for (var k = 0; k < tokens.length; k++) {
      var tok = tokens[k];
      if (isOr(tok)) {
        if (!groups.length || pendingOr || k === tokens.length - 1) {
          throw new QueryError('or_operand', tok.column);
        }
        if (tokens[k - 1].negated) throw new QueryError('or_excluded', tok.column);
        pendingOr = true;
        continue;
      }
      var term = foldTerm(tok);
      if (tok.negated) {
        if (pendingOr) throw new QueryError('or_excluded', tok.column);
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
    if (count > MAX_TERMS) throw new QueryError('too_many_terms', null, {limit: MAX_TERMS});
    if (!groups.length) throw new QueryError('only_excluded');
    return {groups: groups.map(unique), excluded: unique(excluded)};
  }

  /* The positive terms, in order, without repeats (query.Query.terms): what is marked and counted. */
  function termsOf(parsed) { return unique([].concat.apply([], parsed.groups)); }

  /* query.Query.despaced + to_text: the query with the spaces inside its phrases taken out, as a
     query string; null when no phrase has one. */
  function despaced(parsed) {
    var any = parsed.groups.some(function (g) { return g.some(function (t) { return t.indexOf(' ') >= 0; }); });
    if (!any) return null;
    function term(t) {
      return t.indexOf(' ') >= 0 || t === 'or' || t === 'OR' || t.charAt(0) === '-' || t.charAt(0) === '－' ? '"' + t + '"' : t;
    }
    var groups = parsed.groups.map(function (g) { return unique(g.map(function (t) { return t.split(' ').join(''); })); });
    var parts = groups.map(function (g) { return g.map(term).join(' OR '); });
    parsed.excluded.forEach(function (t) { parts.push('-' + term(t)); });
    return parts.join(' ');
  }

  // ---------------------------------------------------------------- filters (search_index._parse_year)
  var SPACE_CLASS = '[' + Array.from(SPACE).map(function (c) { return '\\u{' + c.toString(16) + '}'; }).join('') + ']';
  var YEAR_RE = new RegExp('^(\\p{Nd}{4})(?:' + SPACE_CLASS + '*[-–—~至到]' + SPACE_CLASS + '*(\\p{Nd}{4}))?$', 'u');
  var ND = /^\p{Nd}$/u;

  function digitValue(ch) {  // int() of one Unicode decimal digit: digits come in runs of ten from 0
    var cp = ch.codePointAt(0);
    if (cp >= 0x30 && cp <= 0x39) return cp - 0x30;
    var k = 0;
    while (k < 10 && ND.test(String.fromCodePoint(cp - k - 1))) k++;
    return k % 10;
  }
  function pyInt(digits) {
    var n = 0;
    for (var ch of digits) n = n * 10 + digitValue(ch);
    return n;
  }

  /* query.parse_year: null (no filter) or [lo, hi]; a FilterError with its message otherwise. */
  function parseYear(spec) {
    if (spec === null || spec === undefined) return null;
    var raw = pyStrip(String(spec).normalize('NFKC'));
    if (raw === '') return null;
    var m = YEAR_RE.exec(raw);
    if (!m) throw new FilterError('年份应写成 2020 或 2018-2020 这样的形式，而不是“' + spec + '”', 'bad_year');
    var lo = pyInt(m[1]), hi = m[2] ? pyInt(m[2]) : lo;
    if (lo > hi) throw new FilterError('年份范围“' + spec + '”前大后小：请先写较早的年份，如 ' + hi + '-' + lo, 'bad_year');
    return [lo, hi];
  }

  function parseSort(spec) {
    var s = pyStrip(spec || '');
    if (!s) return 'relevance';
    if (!Object.prototype.hasOwnProperty.call(SORTS, s)) {
      throw new FilterError('排序方式只能是 relevance（相关度）、newest（最新）或 oldest（最早），而不是“' + spec + '”', 'bad_sort');
    }
    return s;
  }

  function parseOffset(spec) {
    var s = pyStrip(spec || '');
    if (!s) return 0;
    if (!/^[0-9]{1,9}$/.test(s)) throw new FilterError('offset 应是不小于 0 的整数，而不是“' + spec + '”', 'bad_offset');
    var n = +s;
    if (n > MAX_OFFSET) throw new FilterError('offset 最大为 ' + MAX_OFFSET, 'bad_offset');
    return n;
  }

  // ---------------------------------------------------------------- index access
  var meta = null;
  var docs = null;  // per doc: year, meeting type, title length, text length, date rank, themes

  function vlqReader(str) {
    var i = 0;
    return {
      more: function () { return i < str.length; },
      num: function () {
        var n = 0, shift = 0, v;
        do { v = DEC[str.charAt(i++)]; n += (v & 31) * Math.pow(2, shift); shift += 5; } while (v & 32);
        return n;
      }
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

  /* A key's bucket: shard h & (P-1), then (h >> log2 P) % count among that shard's buckets,
     which are numbered shard after shard (static_search.wire.Layout). */
  function bucketOf(counts, key) {
    var h = keyHash(key), P = counts.length, s = h & (P - 1), bits = Math.round(Math.log2(P)), off = 0;
    for (var i = 0; i < s; i++) off += counts[i];
    return off + (h >>> bits) % counts[s];
  }

  /* A key's entry in its bucket: the posting (a string), -df when the posting is in its own file
     (x/<hex>), or null when no doc has the key. */
  var buckets = new Map();
  function bucketEntry(prefix, counts, key) {
    var name = prefix + '/' + bucketOf(counts, key);
    if (!buckets.has(name)) {
      // "key posting key posting …" (a long posting's entry is -df), deflated in k/ and kn/; in p/
      // and pn/ "abcposting abcposting …" (a trigram is three code points).
      var tri = prefix.charAt(0) === 'p';
      buckets.set(name, load(name).then(function (data) {
        return tri ? data : inflate([bytesOf(data)]);
      }).then(function (text) {
        var m = new Map(), parts = text ? text.split(' ') : [];
        if (tri) {
          parts.forEach(function (e) {
            var at = 0;
            for (var j = 0; j < 3; j++) at += e.codePointAt(at) > 0xffff ? 2 : 1;
            var v = e.substring(at);
            m.set(e.substring(0, at), v.charAt(0) === '-' ? +v : v);
          });
          return m;
        }
        for (var i = 0; i + 1 < parts.length; i += 2) {
          var v = parts[i + 1];
          m.set(parts[i], v.charAt(0) === '-' ? +v : v);
        }
        return m;
      }));
      buckets.get(name).catch(function () { buckets.delete(name); });
    }
    return buckets.get(name).then(function (m) { return m.has(key) ? m.get(key) : null; });
  }

  function posting(prefix, counts, key) {
    return bucketEntry(prefix, counts, key).then(function (v) {
      return typeof v === 'number' ? load(prefix + '/x/' + hexName(key), bucketOf(counts, key)) : v;
    });
  }

  /* Doc-level posting of a char or pair: Map doc -> {body: count in the folded body, title: count
     in the folded title, heading: occurs in a heading line} (static_search.wire: per doc
     vlq(gap << 3 | heading << 2 | title << 1 | body != 1), vlq(body) if body != 1,
     vlq(title - 1) if title). */
  var kCache = new Map();
  function kPosting(key) {
    if (!kCache.has(key)) {
      kCache.set(key, both('k', key).then(function (strs) {
        var m = new Map();
        strs.forEach(function (str) {
          if (!str) return;
          var r = vlqReader(str), doc = -1;
          while (r.more()) {
            var v = r.num();
            doc += Math.floor(v / 8) + 1;
            var body = v & 1 ? r.num() : 1;
            var title = v & 2 ? r.num() + 1 : 0;
            m.set(doc, {body: body, title: title, heading: (v & 4) !== 0});
          }
        });
        return m;
      }));
    }
    return kCache.get(key);
  }

  /* A key's postings in the base (k/, p/: the docs before meta.tail) and in the tail (kn/, pn/:
     the newest docs, by their own numbers: static_search.wire.tail_start). */
  function both(kind, key) {
    return Promise.all([posting(kind, meta[kind + 'bs'], key), posting(kind + 'n', meta[kind + 'nbs'], key)]);
  }

  /* Number of docs whose search text has the key: the ranking's df (from its buckets alone when
     a posting is in a file of its own). */
  var dfCache = new Map();
  function entryDf(v) {
    if (typeof v === 'number') return -v;
    if (!v) return 0;
    var r = vlqReader(v), n = 0;
    while (r.more()) {
      var x = r.num();
      if (x & 1) r.num();
      if (x & 2) r.num();
      n++;
    }
    return n;
  }
  function keyDf(key) {
    if (!dfCache.has(key)) {
      var pair = Array.from(key).length === 2;
      dfCache.set(key, kCache.has(key) ? kCache.get(key).then(function (m) { return m.size; })
        : pair ? pairDf(key)
        : Promise.all([bucketEntry('k', meta.kbs, key), bucketEntry('kn', meta.knbs, key)]).then(function (vs) {
          return entryDf(vs[0]) + entryDf(vs[1]);
        }));
    }
    return dfCache.get(key);
  }

  /* A pair's number of docs from d/ (static_search.wire): one string "ab<vlq df>cd<vlq df>…",
     deflated; a pair that is not there is in one doc (a term with a hit has each of its pairs in
     some doc; a term without hits scores nothing). */
  var dBuckets = new Map();
  function pairDf(key) {
    var name = 'd/' + bucketOf(meta.dbs, key);
    if (!dBuckets.has(name)) {
      dBuckets.set(name, load(name).then(function (data) { return inflate([bytesOf(data)]); }).then(function (text) {
        var m = new Map(), i = 0;
        while (i < text.length) {
          var at = i;
          for (var j = 0; j < 2; j++) at += text.codePointAt(at) > 0xffff ? 2 : 1;
          var pair = text.substring(i, at), n = 0, shift = 0, v;
          do { v = DEC[text.charAt(at++)]; n += (v & 31) * Math.pow(2, shift); shift += 5; } while (v & 32);
          m.set(pair, n);
          i = at;
        }
        return m;
      }));
      dBuckets.get(name).catch(function () { dBuckets.delete(name); });
    }
    return dBuckets.get(name).then(function (m) { return m.has(key) ? m.get(key) : 1; });
  }

  /* Trigram positions: Map doc -> {pos: sorted offsets in the search text, head: null or the Set
     of those in heading lines}. */
  var pCache = new Map();
  function pPosting(tri) {
    if (!pCache.has(tri)) {
      pCache.set(tri, both('p', tri).then(function (strs) {
        var m = new Map();
        strs.forEach(function (str) {
          if (!str) return;
          var r = vlqReader(str), doc = -1;
          while (r.more()) {
            var h = r.num();
            doc += Math.floor(h / 4) + 1;
            var kind = h & 3, count = kind < 2 ? kind + 1 : kind === 2 ? 3 + r.num() : 1 + r.num();
            var idx = null;
            if (kind === 3) {
              idx = [];
              for (var nh = r.num(), j = 0, at = -1; j < nh; j++) { at += r.num() + 1; idx.push(at); }
            }
            var v = r.num(), vs = [v];
            for (var k = 1; k < count; k++) { v += r.num() + 1; vs.push(v); }
            m.set(doc, {pos: vs, head: idx && new Set(idx.map(function (i) { return vs[i]; }))});
          }
        });
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

  /* Non-overlapping count of sorted match starts (a match is len long). */
  function nonOverlapping(starts, len) {
    var n = 0, next = -1;
    for (var i = 0; i < starts.length; i++) if (starts[i] >= next) { n++; next = starts[i] + len; }
    return n;
  }

  /* What the ranking needs of a folded term (search.ranking): Promise<Map doc -> {tf, title,
     heading}> over the docs whose search text has it, with .df (n(t): the fewest docs having one
     of its keys). tf = occurrences in the body's lines, non-overlapping (the title excluded);
     title, heading: the term occurs in the title, in a heading line. */
  var termCache = new Map();
  function termDocs(term) {
    if (!termCache.has(term)) {
      termCache.set(term, Promise.all([termDocsUncached(term), Promise.all(termGrams(term).map(keyDf))]).then(function (r) {
        r[0].df = Math.min.apply(null, r[1]);
        return r[0];
      }));
    }
    return termCache.get(term);
  }

  function termDocsUncached(term) {
    var cps = Array.from(term);
    if (term.indexOf(' ') < 0 && cps.length <= 2 && cps[0] !== cps[1]) {
      return kPosting(term).then(function (m) {
        var out = new Map();
        m.forEach(function (c, doc) { out.set(doc, {tf: c.body, title: c.title > 0, heading: c.heading}); });
        return out;
      });
    }
    if (term.indexOf(' ') < 0 && cps.length === 2) {
      // 层层: the pair's count overlaps in 层层层; runs of three or more are in the trigram's positions.
      return Promise.all([kPosting(term), pPosting(term + cps[0])]).then(function (lists) {
        var out = new Map();
        lists[0].forEach(function (c, doc) {
          var tf = c.body, p = lists[1].get(doc);
          if (p) {
            var pos = p.pos, tl = docs.tlen[doc];
            for (var i = 0; i < pos.length;) {
              var j = i;
              while (j + 1 < pos.length && pos[j + 1] === pos[j] + 1) j++;
              if (pos[i] > tl) {  // a run of (j - i + 3) such characters in the body
                var run = j - i + 3;
                tf -= (run - 1) - Math.floor(run / 2);
              }
              i = j + 1;
            }
          }
          out.set(doc, {tf: tf, title: c.title > 0, heading: c.heading});
        });
        return out;
      });
    }
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
          var tl = docs.tlen[doc], body = [], title = false, heading = false, any = false;
          per[0].pos.forEach(function (v) {
            for (var i = 1; i < per.length; i++) if (!hasSorted(per[i].pos, v + offs[i])) return;
            any = true;
            if (v < tl) title = true;
            else body.push(v);
            if (per[0].head && per[0].head.has(v)) heading = true;
          });
          if (any) out.set(doc, {tf: nonOverlapping(body, n), title: title, heading: heading, starts: body, len: n});
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
          var at = t.text.indexOf(term);
          if (at < 0) return null;
          var tf = 0, heading = false;
          t.lines.forEach(function (line, i) {
            var c = countIn(line, term);
            tf += c;
            if (c && t.headings.has(i)) heading = true;
          });
          return [doc, {tf: tf, title: at < t.bodyStart, heading: heading}];
        });
      })).then(function (pairs) {
        var out = new Map();
        pairs.forEach(function (p) { if (p) out.set(p[0], p[1]); });
        return out;
      });
    });
  }

  function countIn(text, term) {  // str.count
    var n = 0, at = text.indexOf(term);
    while (at >= 0) { n++; at = text.indexOf(term, at + term.length); }
    return n;
  }

  /* A doc's text (one file: the card, the fold map, the heading lines and the body as one raw
     deflate stream). Promise<{c: card, f: fold map, h: heading lines, body: text}>. */
  var textCache = new Map();
  function bytesOf(b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return bytes;
  }
  function inflate(parts) {
    var stream = new Blob(parts).stream().pipeThrough(new DecompressionStream('deflate-raw'));
    return new Response(stream).text();
  }
  function textName(doc) { return 't/' + Math.floor(doc / meta.tdir) + '/' + doc; }
  function fullText(doc) {
    if (!textCache.has(doc)) {
      textCache.set(doc, load(textName(doc)).then(function (t) {
        return inflate([bytesOf(t.z)]).then(function (body) {
          return {c: t.c, f: t.f, h: t.h || [], body: body};
        });
      }));
    }
    return textCache.get(doc);
  }

  function foldWith(text, fmap) {  // folded text + offsets (index of source code point per folded unit)
    var out = '', offs = [], src = Array.from(text);
    for (var i = 0; i < src.length; i++) {
      var f = Object.prototype.hasOwnProperty.call(fmap, src[i]) ? fmap[src[i]] : src[i];
      out += f;
      for (var u = 0; u < f.length; u++) offs.push(i);
    }
    offs.push(src.length);
    return {text: out, offs: offs, src: src};
  }

  /* A doc's folded search_text, its body's lines folded and its heading lines. */
  var docTextCache = new Map();
  function docText(doc) {
    if (!docTextCache.has(doc)) {
      docTextCache.set(doc, fullText(doc).then(function (t) {
        var title = foldWith(t.c[0], t.f).text;
        var lines = t.body.split('\n').map(function (line) { return foldWith(line, t.f).text; });
        return {text: title + SEPARATOR + lines.join(' '), bodyStart: title.length + 1, lines: lines,
          headings: new Set(t.h)};
      }));
    }
    return docTextCache.get(doc);
  }

  // ---------------------------------------------------------------- occurrences (search.passages)
  function cpCompare(a, b) {  // Python's str order (code points)
    var x = Array.from(a), y = Array.from(b);
    for (var i = 0; i < Math.min(x.length, y.length); i++) {
      var d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d) return d;
    }
    return x.length - y.length;
  }

  /* passages.matcher: a pattern whose matches over a folded line are the occurrences
     (leftmost-longest: the longest term first). */
  function matcher(terms) {
    var ordered = unique(terms.filter(Boolean)).sort(function (a, b) {
      return Array.from(b).length - Array.from(a).length || cpCompare(a, b);
    });
    var alts = ordered.map(function (t) { return t.replace(/[.*+?^${}()|[\]\\\/]/g, '\\$&'); });
    return new RegExp(alts.length ? alts.join('|') : '(?!)', 'gu');
  }

  /* passages.may_overlap: whether matches of two different terms can overlap. */
  function mayOverlap(terms) {
    terms = unique(terms);
    for (var i = 0; i < terms.length; i++) {
      for (var j = i + 1; j < terms.length; j++) {
        var a = terms[i], b = terms[j];
        if (a.indexOf(b) >= 0 || b.indexOf(a) >= 0) return true;
        var pairs = [[a, b], [b, a]];
        for (var p = 0; p < 2; p++) {
          var x = Array.from(pairs[p][0]), y = Array.from(pairs[p][1]);
          for (var k = 1; k < Math.min(x.length, y.length); k++) {
            if (x.slice(x.length - k).join('') === y.slice(0, k).join('')) return true;
          }
        }
      }
    }
    return false;
  }

  /* Leftmost-longest occurrences from the body positions of terms without spaces (a match never
     crosses a line, so the whole body can be walked at once): the first start at or after the end of
     the last match, the longest term there. */
  function leftmostLongest(infos) {
    var m = [];
    infos.forEach(function (info) { info.starts.forEach(function (s) { m.push([s, info.len]); }); });
    m.sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var n = 0, next = -1;
    m.forEach(function (x) { if (x[0] >= next) { n++; next = x[0] + x[1]; } });
    return n;
  }

  /* The occurrences of the terms in one doc, from its text (terms that may overlap). */
  function occurrencesInText(doc, terms) {
    return docText(doc).then(function (t) {
      var re = matcher(terms), n = 0;
      t.lines.forEach(function (line) {
        re.lastIndex = 0;
        while (re.exec(line)) n++;
      });
      return n;
    });
  }

  /* Every occurrence in one doc's body (passages.kwic_rows): [{line, left, match, right}]. */
  function kwicRows(doc, terms) {
    return fullText(doc).then(function (t) {
      var rows = [], re = matcher(terms);
      t.body.split('\n').forEach(function (line, li) {
        var f = foldWith(line, t.f), m;
        re.lastIndex = 0;
        while ((m = re.exec(f.text))) {
          var start = f.offs[m.index], end = f.offs[m.index + m[0].length - 1] + 1;
          rows.push({
            line: li,
            left: f.src.slice(Math.max(0, start - KWIC_CONTEXT), start).join(''),
            match: f.src.slice(start, end).join(''),
            right: f.src.slice(end, end + KWIC_CONTEXT).join('')
          });
        }
      });
      return {card: t.c, rows: rows};
    });
  }

  // ---------------------------------------------------------------- search
  function open(metaUrl) {
    if (!open.promise) {
      indexBase = metaUrl.replace(/meta\.js(\?.*)?$/, '');
      open.promise = load('meta').then(function (m) {
        if (m.format !== FORMAT) {  // an index written by another version than this script
          delete open.promise;
          throw new Error('搜索索引（格式 ' + m.format + '）与本页的脚本（格式 ' + FORMAT + '）不是同一版本：请刷新页面，或重新构建网站');
        }
        meta = m;
        m.fold.forEach(function (b) { foldBlocks.add(b); });
        (m.rfold || []).forEach(function (b) { rBlocks.add(b); });
        Array.from(m.ign || '').forEach(function (c) { ignoredChars.add(c); });
        return m;
      });
    }
    return open.promise;
  }

  /* Per-doc data from facets.js: per doc vlq(meeting type << 1 | same date_key as the doc before),
     vlq(folded title length), vlq(folded body length), vlq(number of themes), themes,
     vlq(1 + speaker) and vlq(1 + organisation) (0: none). */
  function loadDocs() {
    if (!loadDocs.promise) {
      loadDocs.promise = load('facets').then(function (facets) {
        var m = meta, n = m.n;
        var d = {year: new Int32Array(n), type: new Int32Array(n), tlen: new Int32Array(n), blen: new Int32Array(n),
          date: new Int32Array(n), themes: new Array(n), speaker: new Int32Array(n), org: new Int32Array(n), avglen: 1};
        var k = 0;
        m.years.forEach(function (y) { for (var i = 0; i < y[1]; i++) d.year[k++] = y[0]; });
        var r = vlqReader(facets), rank = -1, total = 0;
        for (k = 0; k < n; k++) {
          var v = r.num();
          d.type[k] = Math.floor(v / 2);
          if (!(v & 1) || k === 0) rank++;
          d.date[k] = rank;
          d.tlen[k] = r.num();
          d.blen[k] = r.num();
          total += d.blen[k];
          var nt = r.num(), ts = [];
          for (var j = 0; j < nt; j++) ts.push(r.num());
          d.themes[k] = ts;
          d.speaker[k] = r.num() - 1;  // -1: none
          d.org[k] = r.num() - 1;
        }
        d.avglen = n ? total / n : 1;
        if (!d.avglen) d.avglen = 1;
        docs = d;
        return d;
      });
    }
    return loadDocs.promise;
  }

  // search.ranking's constants (its module docstring has the formula).
  var K1 = 1.2, B = 0.75, TITLE = 2.0, HEADING = 1.0;

  /* Python's round(x, nd) for x >= 0: round half to even on x's exact value. */
  function pyRound(x, nd) {
    var t = x * Math.pow(2, nd + 1);  // exact: a tie is x = odd / 2^(nd+1) (times 5^-nd, cancelled)
    if (Number.isInteger(t) && t % 2 === 1 && nd <= 20) {
      var k = Math.floor(x * Math.pow(10, nd));
      return (k % 2 === 0 ? k : k + 1) / Math.pow(10, nd);
    }
    return Number(x.toFixed(nd));
  }

  /* search.ranking: score(d) = Σ_t idf(t)·(tf·(K1+1)/(tf + norm(d)) + TITLE·title + HEADING·heading). */
  function scores(hits, terms, byTerm) {
    var N = meta.n;
    var out = new Map();
    hits.forEach(function (doc) {
      var norm = K1 * (1 - B + B * Math.max(docs.blen[doc], docs.avglen) / docs.avglen);
      var s = 0;
      terms.forEach(function (t) {
        var m = byTerm.get(t), info = m.get(doc);
        if (!info || !(info.tf || info.title || info.heading)) return;
        var idf = Math.log(1 + (N - m.df + 0.5) / (m.df + 0.5));
        s += idf * (info.tf * (K1 + 1) / (info.tf + norm) + TITLE * (info.title ? 1 : 0) + HEADING * (info.heading ? 1 : 0));
      });
      out.set(doc, s);
    });
    return out;
  }

  /* ranking.sort_key: relevance (score to 6 decimals), then the newer, then the source path (the
     docs are numbered in (date, path) order); newest/oldest by date, then the path. */
  function order(hits, sort, score) {
    var date = docs.date;
    if (sort === 'newest') return hits.sort(function (x, y) { return date[y] - date[x] || x - y; });
    if (sort === 'oldest') return hits.sort(function (x, y) { return date[x] - date[y] || x - y; });
    var r = new Map();
    hits.forEach(function (d) { r.set(d, pyRound(score.get(d), 6)); });
    return hits.sort(function (x, y) { return r.get(y) - r.get(x) || date[y] - date[x] || x - y; });
  }

  /* Everything the page shows for a query, except texts: Promise<{query, terms, hits (ordered),
     occ (Map doc -> occurrences), occurrencesTotal, facets, trend}>. */
  function runQuery(q, filters) {
    var years = parseYear(filters.year);
    var sort = parseSort(filters.sort);
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
        // A filter's value, exactly (an empty value is no filter; an unknown one matches nothing).
        function index(list, v) { return v ? list.indexOf(v) : null; }
        var mt = index(meta.mtypes, filters.meeting_type), th = index(meta.themes, filters.theme);
        var sp = index(meta.speakers || [], filters.speaker), og = index(meta.orgs || [], filters.organization);
        function passes(doc) {
          if (years && (docs.year[doc] < years[0] || docs.year[doc] > years[1])) return false;
          if (mt !== null && docs.type[doc] !== mt) return false;
          if (th !== null && docs.themes[doc].indexOf(th) < 0) return false;
          if (sp !== null && docs.speaker[doc] !== sp) return false;
          if (og !== null && docs.org[doc] !== og) return false;
          return true;
        }
        var hits = [];
        groupSets[0].forEach(function (doc) {
          for (var i = 1; i < groupSets.length; i++) if (!groupSets[i].has(doc)) return;
          for (var j = 0; j < query.excluded.length; j++) if (byTerm.get(query.excluded[j]).has(doc)) return;
          if (passes(doc)) hits.push(doc);
        });
        var positive = termsOf(query);
        var score = sort === 'relevance' ? scores(hits, positive, byTerm) : null;
        order(hits, sort, score);
        // Occurrences: the sum of the terms' counts, unless matches of two terms can overlap in a
        // speech that has both; then leftmost-longest from the positions (terms of three or more
        // characters) or from the text.
        var occ = new Map(), mixed = [];
        var overlap = positive.length > 1 && mayOverlap(positive);
        hits.forEach(function (doc) {
          var o = 0, present = [];
          positive.forEach(function (t) { var info = byTerm.get(t).get(doc); if (info && info.tf) { o += info.tf; present.push(info); } });
          occ.set(doc, o);
          if (overlap && present.length > 1) {
            if (present.every(function (info) { return info.starts; })) occ.set(doc, leftmostLongest(present));
            else mixed.push(doc);
          }
        });
        var counted = Promise.all(mixed.map(function (doc) { return occurrencesInText(doc, positive); })).then(function (ns) {
          mixed.forEach(function (doc, i) { occ.set(doc, ns[i]); });
        });
        return counted.then(function () {
          var occTotal = 0;
          var facets = {year: new Map(), meeting_type: new Map(), theme: new Map(), speaker: new Map(), organization: new Map()};
          function bump(m, k) { m.set(k, (m.get(k) || 0) + 1); }
          var perYear = new Map();
          meta.years.forEach(function (y) {
            if (!years || (y[0] >= years[0] && y[0] <= years[1])) perYear.set(y[0], {year: y[0], speeches: 0, occurrences: 0, chars: 0});
          });
          for (var d = 0; d < meta.n; d++) {
            var row = perYear.get(docs.year[d]);
            if (row && passes(d)) row.chars += docs.blen[d];
          }
          hits.forEach(function (doc) {
            bump(facets.year, docs.year[doc]);
            if (meta.mtypes[docs.type[doc]]) bump(facets.meeting_type, meta.mtypes[docs.type[doc]]);
            docs.themes[doc].forEach(function (t) { bump(facets.theme, meta.themes[t]); });
            if (docs.speaker[doc] >= 0) bump(facets.speaker, meta.speakers[docs.speaker[doc]]);
            if (docs.org[doc] >= 0) bump(facets.organization, meta.orgs[docs.org[doc]]);
            var py = perYear.get(docs.year[doc]);
            py.speeches++;
            py.occurrences += occ.get(doc);
            occTotal += occ.get(doc);
          });
          var trend = Array.from(perYear.values()).sort(function (x, y) { return x.year - y.year; }).map(function (t) {
            return {year: t.year, speeches: t.speeches, occurrences: t.occurrences,
              per_10k_chars: t.chars ? pyRound(t.occurrences * 10000 / t.chars, 2) : 0};
          });
          return {query: query, terms: positive, hits: hits, occ: occ, occurrencesTotal: occTotal,
            facets: facets, trend: trend, score: score, sort: sort};
        });
      });
    });
  }

  /* The card and an excerpt of one hit: the matched characters are marked. */
  function excerpt(doc, terms) {
    return fullText(doc).then(function (t) {
      var f = foldWith(t.body, t.f);
      return {card: t.c, fmap: t.f, page: f, spans: findSpans(f, terms), body: t.body};
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

  /* Line number (0-based) of a code point offset in a body: the paragraph is #p{line + 1}. */
  function lineOf(src, offset) {
    var n = 0;
    for (var i = 0; i < offset && i < src.length; i++) if (src[i] === '\n') n++;
    return n;
  }

  // ---------------------------------------------------------------- display
  var ui = {};
  var state = {token: 0, result: null, shown: 0, skip: 0, filters: {}, q: '', view: 'list'};

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

  /* The link to a speech page that marks the query there (static/passage.js) and opens at
     paragraph `line` (0-based; the paragraph's id is p{line + 1}). */
  function passageUrl(url, q, line) {
    return ui.root + quotePath(url) + '?q=' + encodeURIComponent(q) + (line === null || line === undefined ? '' : '#p' + (line + 1));
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

  function renderHit(doc, ex, terms, res) {
    var li = el('li', 'search-hit');
    li.setAttribute('data-search-result', '');
    var card = ex.card;
    var src = ex.page.src, spans = ex.spans;
    var h = el('h2', 'search-hit-title');
    var a = el('a');
    a.href = passageUrl(card[1], state.q, spans.length ? lineOf(src, spans[0][0]) : null);
    var ft = foldWith(card[0], ex.fmap);
    appendMarked(a, ft.src, findSpans(ft, terms), 0, ft.src.length);
    h.appendChild(a);
    li.appendChild(h);
    var info = el('p', 'search-hit-meta');
    info.appendChild(el('time', null, chineseDate(card[2])));
    if (card[3]) { info.appendChild(document.createTextNode(' · ')); info.appendChild(el('span', null, card[3])); }
    var n = res.occ.get(doc);
    info.appendChild(document.createTextNode(' · '));
    var occ = el('span', 'search-hit-occ', n + ' 处');
    occ.setAttribute('data-occurrences', String(n));
    occ.title = '正文中出现 ' + n + ' 处';
    info.appendChild(occ);
    li.appendChild(info);
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
    return state.view === 'kwic' ? showMoreKwic() : showMoreHits();
  }

  function showMoreHits() {
    var res = state.result, token = state.token;
    if (!res) return Promise.resolve();
    var slice = res.hits.slice(state.shown, state.shown + PAGE_SIZE);
    var terms = res.terms;
    ui.more.disabled = true;
    return Promise.all(slice.map(function (doc) {
      return excerpt(doc, terms);
    })).then(function (exs) {
      if (token !== state.token) return;
      var first = null;
      exs.forEach(function (ex, i) {
        var li = renderHit(slice[i], ex, terms, res);
        if (!first) first = li;
        ui.results.appendChild(li);
      });
      state.shown += slice.length;
      ui.more.hidden = state.shown >= res.hits.length;
      ui.more.disabled = false;
      return first;
    });
  }

  /* KWIC: the occurrences of the next hits (in the list's order) until KWIC_PAGE more rows; the
     first state.skip occurrences of the first of them are passed over (offset counts occurrences
     in this view, as search --kwic --offset does). */
  function showMoreKwic() {
    var res = state.result, token = state.token;
    if (!res) return Promise.resolve();
    ui.more.disabled = true;
    var first = null, added = 0;
    function step() {
      if (token !== state.token) return null;
      if (added >= KWIC_PAGE || state.shown >= res.hits.length) return null;
      // Texts of a few hits at a time, in parallel.
      var slice = [], need = 0;
      for (var i = state.shown; i < res.hits.length && need < KWIC_PAGE - added; i++) {
        slice.push(res.hits[i]);
        need += res.occ.get(res.hits[i]) || 1;
        if (slice.length >= PAGE_SIZE) break;
      }
      return Promise.all(slice.map(function (doc) { return kwicRows(doc, res.terms); })).then(function (all) {
        if (token !== state.token) return null;
        all.forEach(function (k, i) {
          var rows = k.rows;
          if (state.skip) { rows = rows.slice(state.skip); state.skip = 0; }
          rows.forEach(function (row) {
            var tr = renderKwicRow(slice[i], k.card, row);
            if (!first) first = tr;
            ui.kwicBody.appendChild(tr);
            added++;
          });
        });
        state.shown += slice.length;
        return step();
      });
    }
    return Promise.resolve(step()).then(function () {
      if (token !== state.token) return;
      ui.more.hidden = state.shown >= res.hits.length;
      ui.more.disabled = false;
      return first;
    });
  }

  function renderKwicRow(doc, card, row) {
    var tr = el('tr', 'kwic-row');
    tr.setAttribute('data-kwic-row', '');
    var date = el('td', 'kwic-date');
    date.appendChild(el('time', null, chineseDate(card[2])));
    tr.appendChild(date);
    var title = el('td', 'kwic-title', card[0]);
    title.title = card[0];
    tr.appendChild(title);
    var left = el('td', 'kwic-left');
    left.appendChild(el('span', null, row.left));
    tr.appendChild(left);
    var mid = el('td', 'kwic-match');
    var a = el('a', null, row.match);
    a.href = passageUrl(card[1], state.q, row.line);
    a.setAttribute('aria-label', row.match + '（' + card[0] + '，第 ' + (row.line + 1) + ' 段）');
    mid.appendChild(a);
    tr.appendChild(mid);
    var right = el('td', 'kwic-right');
    right.appendChild(el('span', null, row.right));
    tr.appendChild(right);
    return tr;
  }

  function currentParams(changes) {
    var f = Object.assign({q: state.q}, state.filters, {view: state.view === 'kwic' ? 'kwic' : ''}, changes || {});
    var params = new URLSearchParams();
    ['q', 'year', 'meeting_type', 'theme', 'speaker', 'organization', 'sort', 'offset', 'view'].forEach(function (k) {
      var v = f[k];
      if (k === 'sort' && v === 'relevance') return;
      if (k === 'offset' && (v === 0 || v === '0')) return;
      if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
    });
    return params;
  }

  function pageUrl(changes) {
    var s = currentParams(changes).toString();
    return location.pathname + (s ? '?' + s : '');
  }

  var FACET_LABELS = {year: '年份', meeting_type: '会议类型', theme: '主题', speaker: '讲话人', organization: '单位'};

  function renderFacets(res) {
    ui.facets.textContent = '';
    Object.keys(FACET_LABELS).forEach(function (key) {
      var counts = Array.from(res.facets[key].entries());
      if (!counts.length && !state.filters[key]) return;
      if (key === 'year') counts.sort(function (x, y) { return y[0] - x[0]; });
      else counts.sort(function (x, y) { return y[1] - x[1] || cpCompare(x[0], y[0]); });
      var box = el('section', 'search-facet');
      box.appendChild(el('h2', null, FACET_LABELS[key]));
      var ul = el('ul');
      if (state.filters[key]) {
        var li0 = el('li', 'search-facet-active');
        var clear = el('a', null, '× ' + state.filters[key]);
        clear.href = pageUrl(change(key, ''));
        clear.setAttribute('data-nav', '');
        clear.setAttribute('aria-label', '取消筛选：' + state.filters[key]);
        li0.appendChild(clear);
        ul.appendChild(li0);
      }
      counts.forEach(function (c) {
        if (String(c[0]) === state.filters[key]) return;
        var li = el('li');
        var link = el('a', null, c[0] === '' ? '（未注明）' : c[0]);
        link.href = pageUrl(change(key, String(c[0])));
        link.setAttribute('data-nav', '');
        li.appendChild(link);
        li.appendChild(el('span', 'search-facet-count', c[1]));
        ul.appendChild(li);
      });
      box.appendChild(ul);
      ui.facets.appendChild(box);
    });
  }
  function change(k, v) { var o = {offset: ''}; o[k] = v; return o; }

  function renderTools(res) {
    ui.sort.textContent = '';
    Object.keys(SORTS).forEach(function (k) {
      var a = el('a', null, SORTS[k]);
      a.href = pageUrl({sort: k, offset: ''});
      a.setAttribute('data-nav', '');
      a.setAttribute('data-sort', k);
      if (res.sort === k) a.setAttribute('aria-current', 'true');
      ui.sort.appendChild(a);
    });
    ui.views.textContent = '';
    [['list', '篇目'], ['kwic', '逐处（KWIC）']].forEach(function (v) {
      var a = el('a', null, v[1]);
      a.href = pageUrl({view: v[0] === 'kwic' ? 'kwic' : '', offset: ''});
      a.setAttribute('data-nav', '');
      a.setAttribute('data-view', v[0]);
      if (state.view === v[0]) a.setAttribute('aria-current', 'true');
      ui.views.appendChild(a);
    });
    ui.tools.hidden = false;
  }

  // ---------------------------------------------------------------- the trend chart
  var SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function trendSentence(t) {
    return t.year + '年：' + t.speeches + ' 篇，' + t.occurrences + ' 处，每万字 ' + t.per_10k_chars.toFixed(2) + ' 处';
  }

  /* Bars: speeches per year; line: occurrences per year (each on its own scale, both axes marked).
     Every year in the range has a column (with a <title>: speeches, occurrences, per 10,000
     characters); the table below lists the same numbers. */
  function renderTrend(res) {
    var fig = ui.trend;
    fig.textContent = '';
    var trend = res.trend;
    if (!trend.length) { ui.trendBox.hidden = true; return; }
    ui.trendBox.hidden = false;
    var byYear = new Map(trend.map(function (t) { return [t.year, t]; }));
    var y0 = trend[0].year, y1 = trend[trend.length - 1].year;
    var years = [];
    for (var y = y0; y <= y1; y++) years.push(byYear.get(y) || {year: y, speeches: 0, occurrences: 0, per_10k_chars: 0});
    var maxS = Math.max.apply(null, years.map(function (t) { return t.speeches; })) || 1;
    var maxO = Math.max.apply(null, years.map(function (t) { return t.occurrences; })) || 1;
    var W = 320, H = 150, padL = 30, padR = 34, padT = 12, padB = 24;
    var cw = (W - padL - padR) / years.length;
    var ch = H - padT - padB;
    var root = svg('svg', {viewBox: '0 0 ' + W + ' ' + H, 'class': 'trend-chart', role: 'img',
      'aria-labelledby': 'trend-caption'});
    root.appendChild(svg('line', {x1: padL, x2: W - padR, y1: H - padB, y2: H - padB, 'class': 'trend-axis'}));
    var pts = [];
    years.forEach(function (t, i) {
      var x = padL + i * cw;
      var g = svg('g', {'class': 'trend-year', 'data-year': String(t.year)});
      g.appendChild(svg('title', {}, trendSentence(t)));
      g.appendChild(svg('rect', {x: x, y: padT, width: cw, height: ch, 'class': 'trend-hit'}));
      var bh = t.speeches / maxS * ch;
      if (t.speeches) {
        g.appendChild(svg('rect', {x: x + cw * 0.15, y: H - padB - bh, width: Math.max(cw * 0.7, 1), height: bh,
          'class': 'trend-bar'}));
      }
      root.appendChild(g);
      pts.push((x + cw / 2).toFixed(1) + ',' + (H - padB - t.occurrences / maxO * ch).toFixed(1));
    });
    root.appendChild(svg('polyline', {points: pts.join(' '), 'class': 'trend-line'}));
    years.forEach(function (t, i) {
      if (!t.occurrences) return;
      var p = pts[i].split(',');
      root.appendChild(svg('circle', {cx: p[0], cy: p[1], r: Math.min(3, cw / 3), 'class': 'trend-dot'}));
    });
    // Axis labels: first and last year (and one between when there is room); the maxima.
    var labels = [0, years.length - 1];
    if (years.length >= 5) labels.splice(1, 0, Math.floor((years.length - 1) / 2));
    unique(labels).forEach(function (i) {
      root.appendChild(svg('text', {x: padL + (i + 0.5) * cw, y: H - 6, 'class': 'trend-label', 'text-anchor': 'middle'},
        String(years[i].year)));
    });
    root.appendChild(svg('text', {x: padL - 4, y: padT + 10, 'class': 'trend-label trend-label-bar', 'text-anchor': 'end'}, String(maxS)));
    root.appendChild(svg('text', {x: padL - 4, y: H - padB, 'class': 'trend-label', 'text-anchor': 'end'}, '0'));
    root.appendChild(svg('text', {x: W - padR + 4, y: padT + 10, 'class': 'trend-label trend-label-line'}, String(maxO)));
    fig.appendChild(root);
    var cap = el('figcaption', 'trend-caption');
    cap.id = 'trend-caption';
    cap.appendChild(el('span', 'trend-key trend-key-bar', '篇数'));
    cap.appendChild(document.createTextNode('（柱，左轴）与'));
    cap.appendChild(el('span', 'trend-key trend-key-line', '处数'));
    cap.appendChild(document.createTextNode('（线，右轴），' + y0 + (y1 > y0 ? '–' + y1 : '') + '年，共 ' +
      res.hits.length + ' 篇、' + res.occurrencesTotal + ' 处'));
    fig.appendChild(cap);
    var detail = el('p', 'trend-detail');
    detail.setAttribute('aria-live', 'polite');
    fig.appendChild(detail);
    root.addEventListener('pointerover', function (e) {
      var g = e.target.closest && e.target.closest('.trend-year');
      if (g) detail.textContent = g.querySelector('title').textContent;
    });
    root.addEventListener('click', function (e) {
      var g = e.target.closest && e.target.closest('.trend-year');
      if (g) detail.textContent = g.querySelector('title').textContent;
    });
    var more = el('details', 'trend-table');
    more.appendChild(el('summary', null, '逐年数字'));
    var table = el('table');
    var head = el('tr');
    ['年份', '篇数', '处数', '每万字'].forEach(function (h) { var th = el('th', null, h); th.scope = 'col'; head.appendChild(th); });
    var thead = el('thead');
    thead.appendChild(head);
    table.appendChild(thead);
    var tbody = el('tbody');
    trend.forEach(function (t) {
      var tr = el('tr');
      tr.setAttribute('data-trend-year', String(t.year));
      var th = el('th', null, t.year);
      th.scope = 'row';
      tr.appendChild(th);
      tr.appendChild(el('td', null, t.speeches));
      tr.appendChild(el('td', null, t.occurrences));
      tr.appendChild(el('td', null, t.per_10k_chars.toFixed(2)));
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    more.appendChild(table);
    fig.appendChild(more);
    fig.setAttribute('data-trend-speeches', String(trend.reduce(function (s, t) { return s + t.speeches; }, 0)));
    fig.setAttribute('data-trend-occurrences', String(trend.reduce(function (s, t) { return s + t.occurrences; }, 0)));
  }

  // ---------------------------------------------------------------- the page
  function readUrl() {
    var params = new URLSearchParams(location.search);
    state.q = params.get('q') || '';
    state.filters = {year: params.get('year') || '', meeting_type: params.get('meeting_type') || '',
      theme: params.get('theme') || '', speaker: params.get('speaker') || '', organization: params.get('organization') || '',
      sort: params.get('sort') || '', offset: params.get('offset') || ''};
    state.view = params.get('view') === 'kwic' ? 'kwic' : 'list';
    ui.input.value = state.q;
  }

  function setState(s) {
    ui.root_el.setAttribute('data-search-state', s);
    if (s === 'busy') ui.root_el.setAttribute('aria-busy', 'true'); else ui.root_el.removeAttribute('aria-busy');
  }

  function reset() {
    state.result = null;
    state.shown = 0;
    ui.results.textContent = '';
    ui.kwicBody.textContent = '';
    ui.facets.textContent = '';
    ui.trend.textContent = '';
    ui.error.hidden = true;
    ui.hint.hidden = true;
    ui.hint.textContent = '';
    ui.empty.hidden = true;
    ui.more.hidden = true;
    ui.total.textContent = '';
    ui.status.hidden = true;
    ui.tools.hidden = true;
    ui.side.hidden = true;
    ui.prev.hidden = true;
    ui.results.hidden = state.view === 'kwic';
    ui.kwic.hidden = state.view !== 'kwic';
  }

  function showError(err) {
    ui.error.textContent = describeError(err);
    ui.error.hidden = false;
    ui.total.textContent = '0';
    setState('error');
  }

  /* No hit, but the query with the spaces inside its phrases taken out finds some (query.despaced):
     say so, with the link. */
  function spacesHint(token, parsed) {
    var q2 = despaced(parsed);
    if (!q2) return Promise.resolve();
    return runQuery(q2, state.filters).then(function (res) {
      if (token !== state.token || !res.hits.length) return;
      ui.hint.textContent = '';
      ui.hint.appendChild(document.createTextNode('去掉空格后找到 ' + res.hits.length + ' 篇：'));
      var a = el('a', null, q2);
      a.href = pageUrl({q: q2, offset: ''});
      a.setAttribute('data-nav', '');
      ui.hint.appendChild(a);
      ui.hint.hidden = false;
    }, function () { /* no hint */ });
  }

  function search() {
    var token = ++state.token;
    reset();
    if (!state.q.trim()) { setState('idle'); return Promise.resolve(); }
    setState('busy');
    var offset;
    return Promise.resolve().then(function () {
      offset = parseOffset(state.filters.offset);
      return runQuery(state.q, state.filters);
    }).then(function (res) {
      if (token !== state.token) return;
      state.result = res;
      state.skip = 0;
      if (state.view === 'kwic') {  // offset: occurrences to pass over
        var skip = offset;
        while (state.shown < res.hits.length && skip >= res.occ.get(res.hits[state.shown])) {
          skip -= res.occ.get(res.hits[state.shown]);
          state.shown++;
        }
        state.skip = state.shown < res.hits.length ? skip : 0;
      } else {
        state.shown = Math.min(offset, res.hits.length);
      }
      renderFacets(res);
      renderTrend(res);
      renderTools(res);
      ui.side.hidden = !res.hits.length;
      if (offset > 0) {
        ui.prev.hidden = false;
        var step = state.view === 'kwic' ? KWIC_PAGE : PAGE_SIZE;
        ui.prev.href = pageUrl({offset: Math.max(0, offset - step)});
        ui.prev.textContent = '← 前 ' + Math.min(offset, step) + (state.view === 'kwic' ? ' 处' : ' 篇');
      }
      return showMore().then(function () {
        if (token !== state.token) return;
        ui.total.textContent = String(res.hits.length);
        ui.occTotal.textContent = String(res.occurrencesTotal);
        ui.echo.textContent = state.q;
        ui.range.textContent = res.hits.length && offset ? '（从第 ' + (offset + 1) + (state.view === 'kwic' ? ' 处起）' : ' 篇起）') : '';
        ui.status.hidden = false;
        if (!res.hits.length) {
          ui.empty.hidden = false;
          return spacesHint(token, res.query);
        }
      }).then(function () {
        if (token === state.token) setState('done');
      });
    }).catch(function (err) {
      if (token !== state.token) return;
      showError(err);
    });
  }

  function navigate(url, push) {
    if (push) history.pushState(null, '', url);
    readUrl();
    return search();
  }

  function openWide(details) {
    var wide = !window.matchMedia || window.matchMedia('(min-width: 48rem)').matches;
    details.forEach(function (d) { if (d) d.open = wide; });
  }

  function init() {
    var root = document.getElementById('search-app');
    if (!root) return;
    ui.root_el = root;
    ui.input = root.querySelector('input[name=q]');
    ui.form = root.querySelector('form');
    ui.results = root.querySelector('.search-results');
    ui.kwic = root.querySelector('.kwic');
    ui.kwicBody = root.querySelector('.kwic tbody');
    ui.facets = root.querySelector('.search-facets');
    ui.facetsBox = root.querySelector('.search-facets-box');
    ui.trend = root.querySelector('[data-trend]');
    ui.trendBox = root.querySelector('.search-trend-box');
    ui.side = root.querySelector('.search-side');
    ui.total = root.querySelector('[data-search-total]');
    ui.occTotal = root.querySelector('[data-search-occurrences]');
    ui.range = root.querySelector('.search-range');
    ui.status = root.querySelector('.search-status');
    ui.empty = root.querySelector('.search-empty');
    ui.echo = root.querySelector('.search-echo');
    ui.error = root.querySelector('.search-error');
    ui.hint = root.querySelector('.search-hint');
    ui.more = root.querySelector('.search-more');
    ui.prev = root.querySelector('.search-prev');
    ui.tools = root.querySelector('.search-tools');
    ui.sort = root.querySelector('.search-sort-links');
    ui.views = root.querySelector('.search-view-links');
    ui.root = root.getAttribute('data-root').replace(/index\.html$/, '');
    openWide([ui.facetsBox, ui.trendBox]);
    ui.form.addEventListener('submit', function (e) {
      e.preventDefault();
      state.q = ui.input.value;
      navigate(pageUrl({q: ui.input.value, offset: ''}), true);
    });
    root.addEventListener('click', function (e) {
      var a = e.target.closest && e.target.closest('a[data-nav]');
      if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      navigate(a.getAttribute('href'), true);
    });
    ui.more.addEventListener('click', function () {
      showMore().then(function (first) {
        if (first) { var link = first.querySelector('a'); if (link) link.focus(); }
      });
    });
    window.addEventListener('popstate', function () { readUrl(); search(); });
    open(root.getAttribute('data-index')).then(loadDocs).then(function () {
      root.setAttribute('data-search-ready', '');
      readUrl();
      return search();
    }).catch(function (err) {
      ui.error.textContent = '搜索索引无法加载：' + (err && err.message || err);
      ui.error.hidden = false;
      setState('error');
    });
  }

  // For static/passage.js and the tests: the same functions the page uses.
  window.siteSearch = {
    open: open, fold: fold, loadFold: loadFold, parse: parse, termsOf: termsOf, isSpace: isSpace, matcher: matcher,
    loadPageFold: loadPageFold, pageFold: pageFold,
    describeError: describeError, QueryError: QueryError,
    parseJSON: function (q) {
      return loadFold(q).then(function () {
        try { var r = parse(q); return {groups: r.groups, excluded: r.excluded}; }
        catch (e) { if (e instanceof QueryError) return {error: e.message, column: e.column, code: e.code}; throw e; }
      });
    },
    parseYear: function (spec) {
      try { return parseYear(spec); } catch (e) { if (e instanceof FilterError) return {error: e.message}; throw e; }
    },
    loadAllFold: function () {
      return Promise.all(Array.from(foldBlocks).map(function (b) {
        return load('f/' + b.toString(16)).then(function (entries) { for (var k in entries) foldMap.set(k, entries[k]); });
      })).then(function () { foldBlocks.clear(); });
    },
    run: function (q, filters) { return runQuery(q, filters || {}).then(function (r) { return r.hits; }); },
    /* The full answer, as plain data, for the tests: hits in order with their scores. */
    answer: function (q, filters) {
      return loadDocs().then(function () { return runQuery(q, filters || {}); }).then(function (r) {
        return {hits: r.hits, scores: r.score ? r.hits.map(function (d) { return r.score.get(d); }) : null,
          occurrences: r.hits.map(function (d) { return r.occ.get(d); }), occurrences_total: r.occurrencesTotal,
          trend: r.trend};
      });
    },
    kwic: function (doc, terms) { return kwicRows(doc, terms); }
  };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
