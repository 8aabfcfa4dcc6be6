"""Middleware for htmx-boosted pages."""


def htmx_push_url(get_response):
    """Tell htmx the address of the page it finally received.

    A boosted form posts, the server redirects, and the browser's XHR follows the redirect
    silently: without this header the address bar would keep the form's URL, and a reload
    would open the wrong page."""

    def middleware(request):
        response = get_response(request)
        if (
            getattr(request, "htmx", False)
            and request.method == "GET"
            and response.status_code == 200
        ):
            response["HX-Push-Url"] = request.get_full_path()
        return response

    return middleware
