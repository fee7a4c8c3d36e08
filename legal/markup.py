"""Agreement text: Markdown rendered to sanitised HTML, and readable diffs between versions."""

import difflib
import re

import markdown
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "dl", "dt", "em", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "th": {"align"}, "td": {"align"}}


def render_markdown(text):
    """Markdown -> HTML that is safe to mark_safe: scripts, handlers, styles and raw HTML
    other than the formatting tags above are removed. ``<u>`` stays, for underlined clauses.
    A leading "# Heading" becomes h2 (the page already has its h1)."""
    html = markdown.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
    html = re.sub(r"<(/?)h1\b", r"<\1h2", html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


_WORD = re.compile(r"\s+|[^\s]+")


def _words(line):
    return _WORD.findall(line)


def _inline(old, new):
    """Word-level changes inside one changed line: two lists of (changed, text) parts."""
    a, b = _words(old), _words(new)
    old_parts, new_parts = [], []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            old_parts.append((False, "".join(a[i1:i2])))
            new_parts.append((False, "".join(b[j1:j2])))
        else:
            if i2 > i1:
                old_parts.append((True, "".join(a[i1:i2])))
            if j2 > j1:
                new_parts.append((True, "".join(b[j1:j2])))
    return old_parts, new_parts


def diff_rows(old_text, new_text, context=2):
    """The difference between two texts as rows for a template (auto-escaped there).

    Each row: {"kind": "same" | "removed" | "added" | "gap", "parts": [(changed, text)], "skipped": n}.
    Unchanged stretches longer than 2 × ``context`` lines collapse to a "gap" row.
    """
    a = (old_text or "").splitlines()
    b = (new_text or "").splitlines()
    rows = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            same = a[i1:i2]
            if len(same) > 2 * context + 1:
                head = same[:context] if rows else []
                tail = same[-context:] if i2 < len(a) or j2 < len(b) else []
                rows += [{"kind": "same", "parts": [(False, line)]} for line in head]
                rows.append({"kind": "gap", "parts": [], "skipped": len(same) - len(head) - len(tail)})
                rows += [{"kind": "same", "parts": [(False, line)]} for line in tail]
            else:
                rows += [{"kind": "same", "parts": [(False, line)]} for line in same]
        elif op == "replace":
            # Pair the changed lines so a reworded sentence shows the words that changed;
            # lines left over on either side are wholly removed or added.
            paired = min(i2 - i1, j2 - j1)
            removed, added = [], []
            for old, new in zip(a[i1 : i1 + paired], b[j1 : j1 + paired], strict=True):
                old_parts, new_parts = _inline(old, new)
                removed.append({"kind": "removed", "parts": old_parts})
                added.append({"kind": "added", "parts": new_parts})
            removed += [{"kind": "removed", "parts": [(bool(line), line)]} for line in a[i1 + paired : i2]]
            added += [{"kind": "added", "parts": [(bool(line), line)]} for line in b[j1 + paired : j2]]
            rows += removed + added
        else:
            rows += [{"kind": "removed", "parts": [(bool(line), line)]} for line in a[i1:i2]]
            rows += [{"kind": "added", "parts": [(bool(line), line)]} for line in b[j1:j2]]
    # A trailing gap with nothing after it says nothing.
    if rows and rows[-1]["kind"] == "gap":
        rows.pop()
    return rows


def diff_stats(rows):
    return {
        "added": sum(1 for r in rows if r["kind"] == "added"),
        "removed": sum(1 for r in rows if r["kind"] == "removed"),
    }
