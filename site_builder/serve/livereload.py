"""Live reload: the script HTML pages get, the event stream it listens to, and its polling fallback.

HTML responses (never the files on disk) get ``<script src="/__livereload.js?g=GENERATION" defer>``
before ``</body>``. The script (a separate file, so a Content-Security-Policy of ``script-src
'self'`` allows it) opens an EventSource on ``/__livereload``; the server sends the current
generation at once and after every rebuild; the page reloads when it differs from the one it was
served with, and shows a banner when a rebuild failed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, quote

from .limits import HEARTBEAT_SECONDS, LIVERELOAD_JS_PATH, MAX_PARAMS
from .state import BuildState

LIVERELOAD_JS = r"""// Live reload for `site-builder serve` (never part of the built site).
(function () {
  "use strict";
  var me = document.currentScript;
  var served = me ? new URL(me.src, location.href).searchParams.get("g") : null;
  var banner = null;

  function show(message) {
    if (!banner) {
      banner = document.createElement("div");
      banner.setAttribute("role", "alert");
      banner.id = "site-builder-livereload-banner";
      var s = banner.style;
      s.position = "fixed"; s.left = "0"; s.right = "0"; s.bottom = "0"; s.zIndex = "2147483647";
      s.padding = "0.6em 1em"; s.background = "#8b0000"; s.color = "#fff";
      s.font = "14px/1.5 monospace"; s.whiteSpace = "pre-wrap"; s.maxHeight = "40vh"; s.overflow = "auto";
      document.body.appendChild(banner);
    }
    banner.textContent = message;
  }

  function hide() {
    if (banner) { banner.remove(); banner = null; }
  }

  function update(state) {
    if (served === null) { served = state.generation; }
    if (state.generation !== served) { location.reload(); return true; }
    if (state.error) { show("site-builder：重新生成时出错，页面仍是上一次成功生成的样子。\n" + state.error); } else { hide(); }
    return false;
  }

  function poll() {
    fetch("/__livereload?format=json&g=" + encodeURIComponent(served || ""), {cache: "no-store"})
      .then(function (r) { return r.json(); })
      .then(function (state) { if (!update(state)) { setTimeout(poll, 500); } })
      .catch(function () { setTimeout(poll, 2000); });
  }

  if (!window.EventSource) { poll(); return; }
  var source = new EventSource("/__livereload?g=" + encodeURIComponent(served || ""));
  source.addEventListener("build", function (event) {
    if (update(JSON.parse(event.data))) { source.close(); }
  });
})();
"""

_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)


def inject(body: bytes, generation: str) -> bytes:
    """``body`` (an HTML page) with the live-reload script before its last ``</body>``."""
    tag = f'<script src="{LIVERELOAD_JS_PATH}?g={quote(generation)}" defer></script>\n'.encode()
    ends = list(_BODY_END.finditer(body))
    if ends:
        at = ends[-1].start()
        return body[:at] + tag + body[at:]
    return body + tag


def wants_polling(query: str) -> dict | None:
    """The polling fallback's state as the page last saw it (``?format=json&g=…``), or None for
    the event stream."""
    params = parse_qs(query, max_num_fields=MAX_PARAMS) if len(query) < 200 else {}
    if params.get("format") == ["json"]:
        return {"generation": (params.get("g") or [""])[0]}
    return None


def poll(state: BuildState, seen_generation: str) -> dict:
    """Answer once the state differs from what the page saw (or after a heartbeat)."""
    seen = {"generation": seen_generation, "error": state.snapshot()["error"]}
    return state.wait_change(seen, timeout=HEARTBEAT_SECONDS)


def event(data: dict) -> bytes:
    return b"retry: 1000\nevent: build\ndata: " + json.dumps(data, ensure_ascii=False).encode() + b"\n\n"


def events(state: BuildState) -> Iterator[bytes]:
    """The event stream: the current state at once, then every change, a comment as heartbeat;
    ends when the server stops. Counts itself in ``state.listeners`` while it runs."""
    state.add_listener(1)
    try:
        current = state.snapshot()
        yield event(current)
        while not state.stopping:
            new = state.wait_change(current, timeout=HEARTBEAT_SECONDS)
            if state.stopping:
                break
            if new != current:
                current = new
                yield event(current)
            else:
                yield b": keep-alive\n\n"
    finally:
        state.add_listener(-1)
