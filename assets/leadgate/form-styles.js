// The form's styles, inside its shadow root: the host page's CSS cannot reach the form,
// and these rules cannot leak out. Class names are kept short because they are shipped:
//   .f field wrapper, .c checkbox field, .e error message, .n consent notice,
//   .s status line (announced), .hp honeypot (hidden from people, filled by bots).
export const FORM_CSS =
  ":host{all:initial;display:block}*{box-sizing:border-box}" +
  // The host page's inherited styles (color, letter-spacing...) stop here.
  ":host>:not(style){all:initial;display:block;font:16px/1.5 system-ui,sans-serif;color:#1c2430}" +
  ":host>form{background:#fff;border:1px solid #d5dbe3;border-radius:12px;padding:20px;max-width:30em;margin:0}" +
  "h2{font-size:1.25em;margin:0 0 12px}.f{margin:0 0 14px}label{display:block;font-weight:600;margin:0 0 4px}" +
  // 48 px tall controls: comfortable touch targets.
  "input,select,button{font:inherit;width:100%;min-height:48px;padding:10px 12px;border:1px solid #6b7785;border-radius:8px;background:#fff;color:#1c2430}" +
  ".c{display:flex;gap:10px;align-items:flex-start}.c input{width:24px;min-height:24px;height:24px;margin:10px 0;flex:none}.c label{font-weight:400;min-height:44px;padding:8px 0}" +
  "button{background:#00727e;color:#fff;border:0;font-weight:700}button[disabled]{opacity:.6}" +
  ":focus-visible{outline:3px solid #f0a000;outline-offset:2px}[aria-invalid=true]{border:2px solid #b3261e}" +
  ".e{color:#b3261e;margin:4px 0 0;font-size:.95em}.n{font-size:.85em;color:#5a6472;margin:8px 0 0}" +
  ".hp{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}.s:empty{display:none}.s{margin:10px 0 0}a{color:#00727e}";
