"""CSS and the one script of the UI, as strings (so they ship inside the package without package data)."""

from __future__ import annotations

CSS = """
.rag-status { font-size: 0.92em; opacity: 0.85; padding: 2px 4px; }
.rag-banner { border-radius: 6px; padding: 6px 10px; margin: 4px 0; font-size: 0.92em; }
.rag-warn { background: #fff3cd; color: #664d03; border: 1px solid #ffe69c; }
.rag-info { background: #e7f1ff; color: #084298; border: 1px solid #b6d4fe; }
.rag-error { color: #842029; }
.rag-meta { font-size: 0.8em; opacity: 0.75; margin-top: 6px; }
.rag-note { font-size: 0.8em; color: #9a6700; }
.rag-rewritten { cursor: help; border-bottom: 1px dotted currentColor; }
.rag-searched { font-size: 0.85em; opacity: 0.8; margin: 0.2em 0 0.4em; }
.rag-typing { opacity: 0.6; }
.rag-abstained { font-style: italic; }
a.rag-cite { text-decoration: none; font-weight: 600; padding: 0 1px; }
.rag-cite-missing { text-decoration: line-through; opacity: 0.6; }
mark.rag-flagged { background: #f8d7da; text-decoration: underline wavy #dc3545; }
sup.rag-flag { color: #dc3545; font-size: 0.7em; cursor: help; }
/* The sources scroll inside their panel, which always fits the window: gradio's own `.block` rule
   sets overflow visible (so the sources ran past the page and under the footer), hence !important */
#rag-sources { max-height: min(640px, calc(100vh - 80px)); overflow-y: auto !important; overscroll-behavior: contain; }
#rag-conversations { max-height: min(420px, 50vh); overflow-y: auto !important; }
#rag-conversations .wrap { flex-direction: column; align-items: stretch; }
#rag-conversations label { width: 100%; font-size: 0.9em; }
.rag-turn > summary { font-weight: 600; cursor: pointer; margin: 6px 0; }
.rag-source { border: 1px solid var(--border-color-primary); border-radius: 6px; margin: 6px 0; padding: 4px 8px; }
.rag-source > summary { cursor: pointer; }
.rag-source.rag-flash { outline: 3px solid var(--color-accent); }
.rag-passage { white-space: normal; font-size: 0.9em; margin-top: 4px; max-height: 260px; overflow-y: auto; }
mark.rag-cited { background: #fff3a3; }
.rag-sources-empty { opacity: 0.6; font-size: 0.9em; }
.rag-also-near { opacity: 0.7; font-size: 0.85em; margin: 4px 0 6px; }
.rag-images { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0; align-items: flex-start; }
.rag-images > small { flex-basis: 100%; opacity: 0.7; }
figure.rag-image { margin: 0; max-width: 160px; font-size: 0.8em; }
figure.rag-image img { max-width: 160px; max-height: 160px; border-radius: 4px; display: block; }
"""

# Citations link to `#src-<turn>-<n>`; this opens the source (and its turn) and scrolls to it,
# since a closed <details> would hide the target of a plain anchor link.
JS = """
document.addEventListener('click', function (event) {
  var link = event.target.closest && event.target.closest('a.rag-cite');
  if (!link) { return; }
  var target = document.getElementById(link.getAttribute('data-src') || link.hash.slice(1));
  if (!target) { return; }
  event.preventDefault();
  for (var el = target; el; el = el.parentElement) { if (el.tagName === 'DETAILS') { el.open = true; } }
  target.scrollIntoView({block: 'nearest', behavior: 'smooth'});
  target.classList.add('rag-flash');
  setTimeout(function () { target.classList.remove('rag-flash'); }, 1600);
}, true);
"""
