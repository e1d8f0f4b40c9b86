(function () {
  "use strict";
  // The rows live in the JSON island; this script pages, searches, sorts and filters them.
  // Cells are built with textContent only: no user string is ever parsed as markup.
  var island = document.getElementById("la-data");
  var body = document.getElementById("rows");
  if (!island || !body) { return; }
  var D = JSON.parse(island.textContent);
  var N = D.n, cols = D.columns, data = D.data, cats = D.cats;
  var byKey = {};
  cols.forEach(function (c) { byKey[c.key] = c; });
  var state = { q: "", filters: {}, flag: "", sortKey: null, sortDir: 1, page: 0, pageSize: D.pageSize };
  var visible = null; // Int32Array of row positions in display order
  var haystack = null; // lower-cased searchable text per row, built on the first search
  var catRank = {}; // per category list: code -> position in name order (for sorting)

  function rankOf(listName) {
    if (!catRank[listName]) {
      var names = cats[listName], idx = names.map(function (_, i) { return i; });
      idx.sort(function (a, b) { return names[a] < names[b] ? -1 : names[a] > names[b] ? 1 : 0; });
      var r = new Int32Array(names.length);
      idx.forEach(function (code, pos) { r[code] = pos; });
      catRank[listName] = r;
    }
    return catRank[listName];
  }

  function textOf(c, i) {
    var v = data[c.key][i];
    if (v === null || v === undefined) { return ""; }
    if (c.type === "cat") { return cats[c.cat][v]; }
    if (c.type === "top") {
      var out = [];
      for (var j = 0; j < v.length; j += 2) { out.push(cats[c.cat][v[j]] + " " + v[j + 1].toFixed(2)); }
      return out.join(" · ");
    }
    if (c.type === "bool") { return v ? "yes" : ""; }
    if (c.type === "float") { return v.toFixed(4); }
    if (c.type === "int") { return String(v); }
    return String(v);
  }

  function buildHaystack() {
    var searchable = cols.filter(function (c) {
      return c.type === "str" || c.type === "cat" || c.type === "tags" || c.type === "thumb" || c.key === "row";
    });
    haystack = new Array(N);
    for (var i = 0; i < N; i++) {
      var parts = [];
      for (var k = 0; k < searchable.length; k++) { parts.push(textOf(searchable[k], i)); }
      haystack[i] = parts.join("\u0001").toLowerCase();
    }
  }

  function hasTag(value, code, listName) {
    if (!value) { return false; }
    var name = cats[listName][code];
    return value.split(D.sep).indexOf(name) >= 0;
  }

  function sortValue(c) {
    var v = data[c.key];
    if (c.type === "cat") {
      var r = rankOf(c.cat);
      return function (i) { return r[v[i]]; };
    }
    if (c.type === "top") { return function (i) { return v[i].length ? v[i][1] : -1; }; }
    if (c.type === "int" || c.type === "float" || c.type === "bool") {
      return function (i) { return v[i] === null ? -Infinity : v[i]; };
    }
    return function (i) { return v[i] === null ? "" : String(v[i]).toLowerCase(); };
  }

  function recompute() {
    var q = state.q.trim().toLowerCase();
    if (q && !haystack) { buildHaystack(); }
    var active = D.filters.filter(function (f) { return state.filters[f.key]; });
    var codes = active.map(function (f) { return +state.filters[f.key]; });
    var flag = D.flag && state.flag !== "" ? data[D.flag] : null, want = state.flag === "1" ? 1 : 0;
    var keep = new Int32Array(N), m = 0;
    for (var i = 0; i < N; i++) {
      if (q && haystack[i].indexOf(q) < 0) { continue; }
      if (flag && (flag[i] ? 1 : 0) !== want) { continue; }
      var ok = true;
      for (var a = 0; a < active.length && ok; a++) {
        var f = active[a];
        ok = f.match === "tag" ? hasTag(data[f.key][i], codes[a], "_labels") : data[f.key][i] === codes[a];
      }
      if (ok) { keep[m++] = i; }
    }
    visible = keep.slice(0, m);
    if (state.sortKey) {
      var get = sortValue(byKey[state.sortKey]), dir = state.sortDir;
      var arr = Array.prototype.slice.call(visible);
      var keys = new Array(N);
      for (var s = 0; s < arr.length; s++) { keys[arr[s]] = get(arr[s]); }
      // ties keep the ranked order (positions are ranked), whichever direction
      arr.sort(function (x, y) { var p = keys[x], r = keys[y]; return p < r ? -dir : p > r ? dir : x - y; });
      visible = Int32Array.from(arr);
    }
    state.page = 0;
    draw();
  }

  function cell(c, i) {
    var td = document.createElement("td"), v = data[c.key][i];
    if (c.type === "int" || c.type === "float") { td.className = "n"; }
    if (c.type === "bool" && v) { td.className = "flag"; }
    if (c.type === "top") { td.className = "top"; }
    if (c.key === "suggested_label") { td.className = "sugg"; }
    if (c.type === "tags") {
      (v || "").split(D.sep).forEach(function (t) {
        if (!t) { return; }
        var chip = document.createElement("span");
        chip.className = "chip " + c.chip;
        chip.textContent = t;
        td.appendChild(chip);
      });
      return td;
    }
    var text = textOf(c, i);
    if (c.type === "thumb" && typeof c.src[i] === "string" && c.src[i].indexOf("data:image/") === 0) {
      td.className = "thumb";
      var img = document.createElement("img");
      img.src = c.src[i];
      img.alt = text;
      img.width = 64;
      var path = document.createElement("span");
      path.className = "path";
      path.textContent = text;
      td.appendChild(img);
      td.appendChild(path);
      return td;
    }
    if ((c.type === "str" || c.type === "thumb") && /^https?:\/\//i.test(text)) {
      var a = document.createElement("a");
      a.href = text;
      a.rel = "noopener noreferrer";
      a.target = "_blank";
      a.textContent = text;
      td.appendChild(a);
      return td;
    }
    td.textContent = text;
    return td;
  }

  function draw() {
    var size = state.pageSize, pages = Math.max(1, Math.ceil(visible.length / size));
    if (state.page >= pages) { state.page = pages - 1; }
    var start = state.page * size, end = Math.min(visible.length, start + size);
    var frag = document.createDocumentFragment();
    var given = data.given_label, sugg = data.suggested_label;
    for (var r = start; r < end; r++) {
      var i = visible[r], tr = document.createElement("tr");
      tr.setAttribute("data-pos", String(i));
      if (given && sugg && given[i] !== sugg[i]) { tr.className = "differs"; }
      for (var k = 0; k < cols.length; k++) { tr.appendChild(cell(cols[k], i)); }
      frag.appendChild(tr);
    }
    body.replaceChildren(frag);
    var shown = visible.length ? (start + 1).toLocaleString("en-US") + "–" + end.toLocaleString("en-US") : "0";
    document.getElementById("status").textContent = shown + " of " + visible.length.toLocaleString("en-US") +
      " matching rows (" + N.toLocaleString("en-US") + " in the table)";
    document.getElementById("page").textContent = "page " + (state.page + 1) + " of " + pages;
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
    document.querySelectorAll("#rows-table th").forEach(function (th) {
      var key = th.getAttribute("data-key");
      if (key === state.sortKey) { th.setAttribute("aria-sort", state.sortDir > 0 ? "ascending" : "descending"); }
      else { th.removeAttribute("aria-sort"); }
    });
  }

  document.getElementById("controls").hidden = false;
  document.getElementById("pager").hidden = false;
  var timer = null;
  document.getElementById("q").addEventListener("input", function (e) {
    state.q = e.target.value;
    clearTimeout(timer);
    timer = setTimeout(recompute, N > 20000 ? 200 : 60);
  });
  D.filters.forEach(function (f, n) {
    var el = document.getElementById("filter-" + n);
    if (el) { el.addEventListener("change", function () { state.filters[f.key] = el.value; recompute(); }); }
  });
  var flagSelect = document.getElementById("flag");
  if (flagSelect) { flagSelect.addEventListener("change", function () { state.flag = flagSelect.value; recompute(); }); }
  document.getElementById("page-size").addEventListener("change", function (e) {
    state.pageSize = +e.target.value;
    state.page = 0;
    draw();
  });
  document.getElementById("prev").addEventListener("click", function () { state.page--; draw(); });
  document.getElementById("next").addEventListener("click", function () { state.page++; draw(); });
  document.querySelectorAll("#rows-table th").forEach(function (th) {
    th.tabIndex = 0;
    function sortBy() {
      var key = th.getAttribute("data-key");
      if (state.sortKey === key) { state.sortDir = -state.sortDir; } else { state.sortKey = key; state.sortDir = 1; }
      recompute();
    }
    th.addEventListener("click", sortBy);
    th.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(); } });
  });
  recompute();
  // when the table became interactive (read by the tests and benchmarks/bench_html.py)
  document.documentElement.setAttribute("data-ready", String(Math.round(performance.now())));
})();
