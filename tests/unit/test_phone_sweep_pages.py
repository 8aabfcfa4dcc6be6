"""The phone sweep (tests/browser/test_phone_sweep.py) visits every page of the site: each
named URL outside the admin is either visited or exempted with a reason, so that a new page
cannot be left out of it unnoticed."""

from django.urls import URLPattern, URLResolver, get_resolver

from tests.browser.test_phone_sweep import EXEMPT, PAGES, ROLES

# The admin is desktop-first: out of the sweep.
OUT_OF_SCOPE_NAMESPACES = ("admin",)


def _names(resolver, namespace=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            if entry.namespace not in OUT_OF_SCOPE_NAMESPACES:
                yield from _names(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name


def test_the_phone_sweep_visits_or_exempts_every_page_of_the_site():
    site = set(_names(get_resolver()))
    visited = {page.name for page in PAGES}
    assert any(name.startswith("questions:") for name in site)

    missing = site - visited - set(EXEMPT)

    assert not missing, (
        "add these URLs to PAGES in tests/browser/test_phone_sweep.py (with the objects "
        f"they need), or to EXEMPT with the reason they are not a page: {sorted(missing)}"
    )


def test_the_phone_sweep_lists_no_url_that_is_gone_nor_one_twice():
    site = set(_names(get_resolver()))
    visited = {page.name for page in PAGES}

    assert not (visited | set(EXEMPT)) - site, "PAGES or EXEMPT names a URL the site lacks"
    assert not visited & set(EXEMPT), "a URL is both visited and exempted"
    assert all(reason.strip() for reason in EXEMPT.values())


def test_every_visit_is_made_by_a_role_of_the_sweep():
    assert all(page.roles and set(page.roles) <= set(ROLES) for page in PAGES)
