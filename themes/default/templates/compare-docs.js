{#- The list of speeches for the compare page and the 对比 blocks (static/compare.js): [title,
    page path, date, date in Chinese, meeting type], entry N being document N of the static search
    index (compare.browser_docs). A classic script, so that it loads from file:// too. -#}
__ssLoad("compare-docs",{{ docs_json|safe }});
