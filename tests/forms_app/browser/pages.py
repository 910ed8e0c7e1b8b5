"""Host pages for the browser tests: a marketer's site with hostile CSS around the embed."""

from __future__ import annotations

# CSS a careless (or hostile) host site might ship: universal `!important` rules that
# would wreck any form living in the light DOM.
HOSTILE_CSS = """
* { color: #ff00ff !important; font-size: 9px !important; line-height: 3 !important;
    letter-spacing: 3px !important; font-family: "Comic Sans MS", cursive !important;
    box-sizing: content-box !important; text-transform: uppercase !important; }
input, button, select, label, form, p { display: none !important; visibility: hidden !important;
    width: 1px !important; height: 1px !important; }
button { background: #000 !important; }
body { margin: 0; background: repeating-linear-gradient(45deg, #ffe, #ffe 10px, #fef 10px, #fef 20px); }
section { min-height: 900px; border-top: 4px dotted #0a0; }
"""


def host_page(
    *,
    script_src: str,
    slug: str,
    sections: list[str] | None = None,
    download: str | None = None,
    extra_script_attrs: str = "",
    css: str = HOSTILE_CSS,
    lang: str = "en",
) -> str:
    sections_html = "".join(
        f'<section data-leadgate-section="{key}"><h2>{key}</h2><p>Text of {key}.</p></section>'
        for key in (sections or [])
    )
    download_html = (
        f'<a id="dl" href="/files/map.pdf" data-leadgate-download="{download}">Network map</a>'
        if download
        else ""
    )
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Fibre blog</title><style>{css}</style></head>
<body>
<h1 id="host-title">Acme Fibre blog</h1>
<div id="lg" data-leadgate-form="{slug}"></div>
{sections_html}
{download_html}
<div id="host-button" role="button" tabindex="0" style="display:block">host</div>
<script>
  // The host site's own script: it must keep working whatever leadgate does.
  window.hostErrors = [];
  window.addEventListener("error", function (e) {{ window.hostErrors.push(String(e.message)); }});
  window.addEventListener("unhandledrejection", function (e) {{ window.hostErrors.push("rejection: " + e.reason); }});
  window.hostTicks = 0;
  setInterval(function () {{ window.hostTicks++; }}, 50);
  document.addEventListener("leadgate:submitted", function (e) {{ window.hostSubmitted = e.detail; }});
  document.getElementById("host-button").addEventListener("click", function () {{
    document.getElementById("host-title").setAttribute("data-clicked", "yes");
  }});
</script>
<script src="{script_src}" data-gate="{slug}" {extra_script_attrs} async></script>
</body></html>"""
