"""What the device's web view shows of an MDM's page: its title, its text, its forms and links.

Parsed with the standard library's HTML parser (no scripts run, as none would without a
browser engine): enough for a person in the console or a test through the control API to fill
a form or follow a link the way the user would in Setup Assistant's web view.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from .models import DeviceWebView
from .schemas import WebViewOut

MAX_TEXT = 4000
_SKIP = {"script", "style", "head", "template", "noscript"}


class _Page(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base_url
        self.title = ""
        self.text: list[str] = []
        self.forms: list[dict[str, Any]] = []
        self.links: list[dict[str, Any]] = []
        self.labels: dict[str, str] = {}
        self._skip = 0
        self._in_title = False
        self._form: dict[str, Any] | None = None
        self._link: dict[str, Any] | None = None
        self._label_for: str | None = None
        self._button: dict[str, Any] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag in _SKIP and tag != "head":
            self._skip += 1
        if tag == "title":
            self._in_title = True
        elif tag == "form":
            self._form = {
                "index": len(self.forms),
                "action": urljoin(self.base, a.get("action") or self.base),
                "method": (a.get("method") or "get").upper(),
                "fields": [],
                "submit": None,
            }
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea") and self._form is not None:
            kind = (a.get("type") or ("text" if tag == "input" else tag)).lower()
            if kind in ("submit", "button", "image"):
                self._form["submit"] = self._form["submit"] or a.get("value") or "Submit"
            elif a.get("name"):
                self._form["fields"].append(
                    {"name": a["name"], "type": kind, "value": a.get("value", ""), "id": a.get("id", "")}
                )
        elif tag == "button" and self._form is not None:
            self._button = {"text": ""}
        elif tag == "a" and a.get("href"):
            self._link = {"index": len(self.links), "href": urljoin(self.base, a["href"]), "text": ""}
            self.links.append(self._link)
        elif tag == "label":
            self._label_for = a.get("for") or None

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP and tag != "head" and self._skip:
            self._skip -= 1
        if tag == "title":
            self._in_title = False
        elif tag == "form":
            self._form = None
        elif tag == "a":
            self._link = None
        elif tag == "label":
            self._label_for = None
        elif tag == "button" and self._button is not None and self._form is not None:
            self._form["submit"] = self._form["submit"] or self._button["text"].strip() or "Submit"
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._skip:
            return
        words = " ".join(data.split())
        if not words:
            return
        if self._form is None and self._link is None:  # forms and links are listed apart
            self.text.append(words)
        if self._link is not None:
            self._link["text"] = (self._link["text"] + " " + words).strip()
        if self._button is not None:
            self._button["text"] += " " + words
        if self._label_for:
            self.labels[self._label_for] = (self.labels.get(self._label_for, "") + " " + words).strip()


def parse(html: str, base_url: str) -> dict[str, Any]:
    """{title, text, forms: [{index, action, method, fields: [{name, type, value, label}], submit}],
    links: [{index, href, text}]}, URLs made absolute against `base_url`."""
    page = _Page(base_url)
    try:
        page.feed(html)
        page.close()
    except Exception:  # html.parser is lenient; a pathological page still shows what was read
        pass
    for form in page.forms:
        for f in form["fields"]:
            f["label"] = page.labels.get(f.pop("id") or "\0") or f["name"]
    return {
        "title": " ".join(page.title.split()),
        "text": " ".join(page.text)[:MAX_TEXT],
        "forms": page.forms,
        "links": page.links,
    }


def host_allowed(profile_url: str, start_url: str, rule: str) -> bool:
    got, want = (urlsplit(u).hostname or "" for u in (profile_url, start_url))
    if rule == "last_two_labels":
        return got.lower().split(".")[-2:] == want.lower().split(".")[-2:]
    return got.lower() == want.lower()


def cookie_jar(cookies: list[dict[str, Any]]) -> httpx.Cookies:
    jar = httpx.Cookies()
    for c in cookies:
        jar.set(c["name"], c["value"], domain=c.get("domain") or "", path=c.get("path") or "/")
    return jar


def saved_cookies(jar: httpx.Cookies) -> list[dict[str, Any]]:
    return [{"name": c.name, "value": c.value or "", "domain": c.domain, "path": c.path} for c in jar.jar]


def out(view: DeviceWebView, serial: str) -> WebViewOut:
    page = parse(view.page, view.url) if view.page else {"title": "", "text": "", "forms": [], "links": []}
    return WebViewOut(
        serial_number=serial,
        state=view.state,
        start_url=view.start_url,
        url=view.url,
        status=view.status,
        content_type=view.content_type,
        steps=view.steps,
        detail=view.detail,
        host_rule=view.host_rule,
        **page,
    )
